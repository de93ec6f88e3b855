"""Benchmarks for ds-slowmo.

- ``pytest bench/``: pytest-benchmark micro-benchmarks of the hot pure parts (``test_micro.py``).
- ``python -m bench``: end to end, ds-slowmo side by side with ffmpeg alone and with the
  PaddleGAN-style disk pipeline (``e2e.py``, ``disk.py``, ``child.py``).

Nothing here is collected by the normal test run (``testpaths = ["tests"]``).
"""
