"""ds-slowmo: streaming slow motion and frame interpolation.

>>> import ds_slowmo
>>> stats = ds_slowmo.slowmo("in.mp4", "out.mp4", factor=4, ranges=["4.8s:6.0s"])  # doctest: +SKIP
>>> for frame in ds_slowmo.slowmo_frames(frames, factor=2, model="blend"): ...  # doctest: +SKIP
"""

from __future__ import annotations

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
from .pipeline import slowmo_frames
from .stats import RunStats

__version__ = "0.1.0"
__all__ = ["__version__", "slowmo", "slowmo_frames", "Config", "RunStats"] + [
    "SlowmoError", "UsageError", "InputError", "FFmpegError", "ModelError", "ModelUnavailable", "OutputClosed",
]  # fmt: skip


def slowmo(src: "str | os.PathLike[str]", dst: "str | os.PathLike[str]", **options: Any) -> RunStats:
    """Run one job, file or pipe (``"-"``), with the command line's options as keywords and the
    same defaults (``factor=4, ranges=["4.8s:6.0s"], mode="fps", model="blend", overwrite=True,
    audio="mute", ...``). Values may be written as on the command line (``crf="20"``,
    ``ranges="10:20"``); a wrong one raises :class:`UsageError` naming the option."""
    from .pipeline import run

    return run(Config.from_strings(input=src, output=dst, **options))
