"""ds-slowmo: streaming slow motion and frame interpolation.

>>> import ds_slowmo
>>> stats = ds_slowmo.slowmo("in.mp4", "out.mp4", factor=4, ranges=["4.8s:6.0s"])  # doctest: +SKIP
>>> for frame in ds_slowmo.slowmo_frames(frames, factor=2, model="blend"): ...  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .config import Config
from .errors import (
    FFmpegError,
    InputError,
    ModelError,
    ModelUnavailable,
    OutputClosed,
    SlowmoError,
    UsageError,
)
from .options import in_api_words
from .pipeline import slowmo_frames
from .progress import progress_for
from .stats import RunStats

#: the details stay quiet unless the application asks for them (sets a level of its own)
if logging.getLogger("ds_slowmo").level == logging.NOTSET:
    logging.getLogger("ds_slowmo").setLevel(logging.WARNING)

__version__ = "0.1.0"
__all__ = ["__version__", "slowmo", "slowmo_frames", "Config", "RunStats"] + [
    "SlowmoError", "UsageError", "InputError", "FFmpegError", "ModelError", "ModelUnavailable", "OutputClosed",
]  # fmt: skip


def slowmo(src: "str | os.PathLike[str]", dst: "str | os.PathLike[str]", **options: Any) -> RunStats:
    """Run one job, file or pipe (``"-"``), with the command line's options as keywords (a long
    option's name: ``--chunk-seconds`` is ``chunk_seconds``) and its defaults: ``factor=2``,
    ``mode="slowmo"``, ``model="rife"``, ``audio="stretch"``, ``overwrite=False``,
    ``progress=None`` (shown when stderr is a terminal). An existing ``dst`` needs
    ``overwrite=True``. Values may be written as on the command line (``crf="20"``,
    ``ranges="10:20"``) or as Python values (``ranges=["4.8s:6.0s", "10s:12s"]``, ``factor=4``).

    A wrong value raises :class:`UsageError`, and every error names keywords, not flags
    (``overwrite=True``, not ``-y``). Messages go to the ``ds_slowmo`` logger: warnings (what
    could not be kept) reach stderr even when logging is not configured; the details the
    command line shows with ``-v`` appear once its level is ``logging.INFO``."""
    from .pipeline import run

    try:
        cfg = Config.from_strings(input=src, output=dst, **options)
        with progress_for(cfg.progress):
            return run(cfg)
    except SlowmoError as exc:
        in_api_words(exc)
        raise

