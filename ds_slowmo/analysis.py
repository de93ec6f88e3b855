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

__all__ = ["Thumb", "thumbnail", "grid", "plane_cells", "thumb_of_cells", "cut_score", "is_cut", "is_duplicate", "CUT_THRESHOLD", "DUP_THRESHOLD", "CUT_HIST_MIN"]

CUT_THRESHOLD = 30.0
CUT_HIST_MIN = 0.15
DUP_THRESHOLD = 3.0
_CELLS = (36, 64)


@dataclass(frozen=True)
class Thumb:
    cells: np.ndarray  # float32 (h, w, 3) block means
    hist: np.ndarray  # float64 (512,) normalised 8x8x8 RGB histogram of the cells


def grid(height: int, width: int) -> tuple[int, int, int, int]:
    """Cells of a thumbnail: (rows, columns, block height, block width), at most 36x64 cells;
    the remainder at the bottom and right is left out."""
    by, bx = max(1, height // _CELLS[0]), max(1, width // _CELLS[1])
    return height // by, width // bx, by, bx


def thumbnail(frame: np.ndarray) -> Thumb:
    """Block means of an ``(H, W, 3)`` uint8 frame on a grid of at most 36x64 cells."""
    h, w, _ = frame.shape
    ny, nx, by, bx = grid(h, w)
    # integer sums, rows first then columns: ~9x faster than a float mean over both axes
    rows = frame[: ny * by, : nx * bx].reshape(ny, by, nx * bx * 3).sum(axis=1, dtype=np.uint32)
    cells = rows.reshape(ny, nx, bx, 3).sum(axis=2, dtype=np.uint32).astype(np.float32) / np.float32(by * bx)
    return thumb_of_cells(cells)


def plane_cells(plane: np.ndarray, cells: tuple[int, int, int, int], log2_h: int = 0, log2_w: int = 0) -> np.ndarray:
    """Block means (float32) of one plane, subsampled by ``2**log2`` against the frame, on the
    frame's thumbnail grid ``cells`` (see :func:`grid`)."""
    ny, nx, by, bx = cells
    sy, sx = by >> log2_h, bx >> log2_w
    if sy << log2_h == by and sx << log2_w == bx and sy and sx:  # whole blocks: integer sums, rows first
        rows = plane[: ny * sy, : nx * sx].reshape(ny, sy, nx * sx).sum(axis=1, dtype=np.uint32)
        block = rows.reshape(ny, nx, sx).sum(axis=2, dtype=np.uint32)
        means: np.ndarray = block.astype(np.float32) / np.float32(sy * sx)
        return means
    # blocks that don't fall on whole samples (small or odd frames): an integral image, each
    # block at least one sample
    y0, x0 = (np.arange(ny) * by) >> log2_h, (np.arange(nx) * bx) >> log2_w
    y1 = np.maximum(((np.arange(1, ny + 1) * by) >> log2_h), y0 + 1).clip(max=plane.shape[0])
    x1 = np.maximum(((np.arange(1, nx + 1) * bx) >> log2_w), x0 + 1).clip(max=plane.shape[1])
    y0, x0 = np.minimum(y0, y1 - 1), np.minimum(x0, x1 - 1)
    integral = np.zeros((plane.shape[0] + 1, plane.shape[1] + 1), np.float64)
    np.cumsum(np.cumsum(plane, axis=0, dtype=np.float64), axis=1, out=integral[1:, 1:])
    sums = integral[np.ix_(y1, x1)] - integral[np.ix_(y0, x1)] - integral[np.ix_(y1, x0)] + integral[np.ix_(y0, x0)]
    means = (sums / np.outer(y1 - y0, x1 - x0)).astype(np.float32)
    return means


def thumb_of_cells(cells: np.ndarray) -> Thumb:
    """A thumbnail from float32 ``(h, w, 3)`` RGB cell means on the 0-255 scale."""
    q = np.clip(cells, 0.0, 255.0).astype(np.int64) >> 5
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
