"""RIFE's flow scale (``--scale``), shared by both versions: the values, the rule ``--scale
auto`` picks by frame height, and their validation. Pure; no Paddle."""

from __future__ import annotations

import logging

from ..errors import UsageError

__all__ = ["AUTO_SCALES", "SCALES", "auto_scale", "check_scale", "resolve_scale"]

log = logging.getLogger(__name__)

SCALES = (1.0, 0.5, 0.25)

#: ``--scale auto``: the flow scale for frames up to this many rows; see :func:`auto_scale`.
#: Set from held-out x2 PSNR of v4.25 (``python -m bench.quality --model rife4 --size WxH``,
#: 2026-11-29): at 360p, 720p and bigbuckbunny's 1080p, scale 0.5 costs 1 to 11 dB; at bikes
#: upscaled to 2560x1088 (motion of 100+ pixels) it gains 1.4 dB; at 4K it costs 0.13 dB and
#: saves about a third of the time; 0.25 costs 2 dB or more wherever measured. Above 2160 rows
#: 0.25 is extrapolated: 4320 rows at 0.25 see the flow at 4K's 0.5 resolution.
#: HDv3 shares the table; at 720p 0.5 costs it 1.0 dB for 2.25x the speed.
AUTO_SCALES = ((1088, 1.0), (2160, 0.5))


def auto_scale(height: int) -> float:
    """The flow scale ``--scale auto`` picks for frames ``height`` rows high: 1 up to 1080p,
    0.5 up to 4K, 0.25 above."""
    for rows, scale in AUTO_SCALES:
        if height <= rows:
            return scale
    return 0.25


def resolve_scale(scale: float | str, height: int, name: str) -> float:
    """``scale`` as a float; ``"auto"`` resolved by :func:`auto_scale` and logged."""
    if scale == "auto":
        chosen = auto_scale(height)
        log.info("%s: --scale auto chose %g for %d rows", name, chosen, height)
        return chosen
    return float(scale)


def check_scale(scale: float | str, model: str) -> None:
    if scale != "auto" and (isinstance(scale, str) or float(scale) not in SCALES):
        raise UsageError(f"--model {model} supports --scale auto, 1, 0.5 or 0.25 (got {scale})")
