"""Looking at a result before publishing it: a side-by-side video and a contact sheet of a gap.

- ``--compare OUT``: original on the left, result on the right, labelled, time-aligned: output
  frame ``k`` (shown at ``k / out_rate``) sits beside the original frame shown at that same
  moment, so inside a slowed stretch the right side visibly falls behind. The original comes
  from a second decoder of the input file, so memory stays bounded however far it runs ahead.
- ``--inspect GAP``: one PNG with the gap's left frame, its in-betweens and its right frame.

Labels are drawn by ffmpeg's ``drawtext`` with a system TrueType font; with no font on the
machine the pictures are made without labels (and a warning says so).
"""

from __future__ import annotations

import glob
import logging
import os
import subprocess
from fractions import Fraction
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from .cache import temp_beside
from .errors import FFmpegError

__all__ = ["find_font", "label_filter", "side_by_side", "contact_sheet", "write_png"]

log = logging.getLogger("ds_slowmo")

_FONT_GLOBS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/**/DejaVuSans*.ttf",
    "/usr/share/fonts/**/*.ttf",
    "/usr/local/share/fonts/**/*.ttf",
    "/Library/Fonts/*.ttf",
    "/System/Library/Fonts/*.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


@lru_cache(maxsize=1)
def find_font() -> Optional[str]:
    """``$DS_SLOWMO_FONT``, else a TrueType font from the usual system folders, else None."""
    env = os.environ.get("DS_SLOWMO_FONT")
    if env:
        return env if os.path.isfile(env) else None
    for pattern in _FONT_GLOBS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            if os.path.isfile(path):
                return path
    return None


def _escape(text: str) -> str:
    # drawtext option values inside a single-quoted filter argument
    return text.replace("\\", "\\\\").replace("'", "\u2019").replace(":", "\\:").replace("%", "\\%")


def label_filter(labels: Sequence[tuple[str, int]], height: int) -> Optional[str]:
    """A ``drawtext`` chain writing each ``(text, x)`` at the top of the frame; None without a
    font."""
    font = find_font()
    if font is None:
        log.warning("no TrueType font found (set DS_SLOWMO_FONT): pictures are written without labels")
        return None
    size = max(12, height // 18)
    parts = [
        f"drawtext=fontfile='{_escape(font)}':text='{_escape(text)}':x={x}+{size // 2}:y={size // 2}:"
        f"fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw={max(2, size // 5)}"
        for text, x in labels
    ]
    return ",".join(parts)


def side_by_side(original: np.ndarray, result: np.ndarray) -> np.ndarray:
    """``(H, 2W, 3)``: original left, result right."""
    return np.concatenate((original, result), axis=1)


def contact_sheet(frames: Sequence[np.ndarray], tile_width: int = 320) -> tuple[np.ndarray, int]:
    """Frames in a row, each scaled (nearest, integer step) to at most ``tile_width`` wide.
    Returns the sheet and the tile width used."""
    h, w, _ = frames[0].shape
    step = max(1, -(-w // tile_width))
    tiles = [f[::step, ::step] for f in frames]
    return np.concatenate(tiles, axis=1), tiles[0].shape[1]


def write_png(exe: str, image: np.ndarray, path: str, vf: Optional[str] = None) -> None:
    """Write one RGB image as PNG through ffmpeg (atomically: temporary name, then rename)."""
    h, w, _ = image.shape
    temp = temp_beside(path)
    argv = [exe, "-hide_banner", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{w}x{h}", "-i", "pipe:0"] + (["-vf", vf] if vf else []) + ["-frames:v", "1", "-c:v", "png", "-f", "image2", "-update", "1", "-y", temp]  # fmt: skip
    try:
        proc = subprocess.run(argv, input=np.ascontiguousarray(image).tobytes(), capture_output=True)
        if proc.returncode != 0:
            raise FFmpegError(f"writing {path} failed", proc.stderr.decode("utf-8", "replace"))
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def inspect_labels(left: int, times: Sequence[Fraction], kinds: Sequence[str], tile_w: int) -> list[tuple[str, int]]:
    """Tile captions: ``frame 29``, ``t=1/4 model``, ..., ``frame 30``."""
    labels = [(f"frame {left}", 0)]
    for j, (t, kind) in enumerate(zip(times, kinds), start=1):
        labels.append((f"t={t} {kind}", j * tile_w))
    labels.append((f"frame {left + 1}", (len(times) + 1) * tile_w))
    return labels
