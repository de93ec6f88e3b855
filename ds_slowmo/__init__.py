"""ds-slowmo: streaming slow motion and frame interpolation.

>>> import ds_slowmo
>>> stats = ds_slowmo.slowmo("in.mp4", "out.mp4", factor=4, ranges=["4.8s:6.0s"])  # doctest: +SKIP
>>> for frame in ds_slowmo.slowmo_frames(frames, factor=2, model="blend"): ...  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

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
from .pipeline import RunStats, slowmo_frames

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "slowmo",
    "slowmo_frames",
    "Config",
    "RunStats",
    "SlowmoError",
    "UsageError",
    "InputError",
    "FFmpegError",
    "ModelError",
    "ModelUnavailable",
    "OutputClosed",
]


def slowmo(
    src: str,
    dst: str,
    *,
    ranges: Sequence[str] = (),
    trim: Optional[str] = None,
    slow_rate: Optional[str] = None,
    input_rate: Optional[str] = None,
    encoder_args: Optional[str] = None,
    **options: Any,
) -> RunStats:
    """Run one job, file or pipe (``"-"``), with the CLI's options as keywords
    (``factor=4, mode="fps", model="rife", overwrite=True, audio="mute", ...``)."""
    from .pipeline import run

    cfg = Config.from_strings(
        input=src, output=dst, ranges=tuple(ranges), trim=trim, slow_rate=slow_rate,
        input_rate=input_rate, encoder_args=encoder_args, **options,
    )  # fmt: skip
    return run(cfg)
