"""Cheap per-frame analysis for the model stage: scene cuts and duplicate frames.

Both work on a small thumbnail of each frame (block means, about 64x36 cells), computed once
per frame, so they cost a few milliseconds however large the video is.

- A **scene cut** between two frames: the thumbnails differ a lot on average (mean absolute
  difference over cells and channels, 0-255, at least ``cut_threshold``) *and* their colour
  histograms differ (total variation distance at least ``CUT_HIST_MIN``). Fast motion changes
  the first but not much the second; a cut changes both.
- A **duplicate**: no thumbnail cell differs by more than ``dup_threshold`` (0-255) from the
  run's first frame. Block means wash out compression noise, and the *maximum* over cells still
  sees a small moving object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Thumb", "thumbnail", "cut_score", "is_cut", "is_duplicate", "CUT_THRESHOLD", "DUP_THRESHOLD", "CUT_HIST_MIN"]

CUT_THRESHOLD = 30.0
CUT_HIST_MIN = 0.15
DUP_THRESHOLD = 3.0
_CELLS = (36, 64)


@dataclass(frozen=True)
class Thumb:
    cells: np.ndarray  # float32 (h, w, 3) block means
    hist: np.ndarray  # float64 (512,) normalised 8x8x8 RGB histogram of the cells


def thumbnail(frame: np.ndarray) -> Thumb:
    """Block means of an ``(H, W, 3)`` uint8 frame on a grid of at most 36x64 cells."""
    h, w, _ = frame.shape
    by, bx = max(1, h // _CELLS[0]), max(1, w // _CELLS[1])
    ny, nx = h // by, w // bx
    # integer sums, rows first then columns: ~9x faster than a float mean over both axes
    rows = frame[: ny * by, : nx * bx].reshape(ny, by, nx * bx * 3).sum(axis=1, dtype=np.uint32)
    cells = rows.reshape(ny, nx, bx, 3).sum(axis=2, dtype=np.uint32).astype(np.float32) / np.float32(by * bx)
    q = np.minimum(cells, 255.0).astype(np.int64) >> 5
    idx = (q[..., 0] << 6) | (q[..., 1] << 3) | q[..., 2]
    hist = np.bincount(idx.ravel(), minlength=512).astype(np.float64)
    return Thumb(cells, hist / hist.sum())


def cut_score(a: Thumb, b: Thumb) -> tuple[float, float]:
    """(mean absolute cell difference 0-255, histogram distance 0-1)."""
    mad = float(np.abs(a.cells - b.cells).mean())
    hist = float(0.5 * np.abs(a.hist - b.hist).sum())
    return mad, hist


def is_cut(a: Thumb, b: Thumb, threshold: float = CUT_THRESHOLD) -> bool:
    mad, hist = cut_score(a, b)
    return mad >= threshold and hist >= CUT_HIST_MIN


def is_duplicate(a: Thumb, b: Thumb, threshold: float = DUP_THRESHOLD) -> bool:
    return float(np.abs(a.cells - b.cells).max()) <= threshold
