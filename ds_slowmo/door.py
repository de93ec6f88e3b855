"""The model's door: the one place frames change form.

Frames travel through the engine as the input's own samples (1-D byte buffers in one of
:mod:`ds_slowmo.pixfmt`'s native formats). A linear model (``blend``) mixes those samples
directly. Any other model gets float RGB in [0, 1], converted with the input's own matrix,
range, chroma siting and bit depth (:mod:`ds_slowmo.colour`), and its RGB comes back through the
same conversion. Alpha is linear, so it is always mixed natively and put back beside the
model's colours. The door is the stage's :class:`~ds_slowmo.stage.Mixer` and thumbnailer.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from . import colour
from .analysis import Thumb, grid, plane_cells, thumb_of_cells, thumbnail
from .errors import ModelError
from .models import Interpolator
from .models.blend import mix
from .pixfmt import NATIVE, PixFmt

__all__ = ["Door", "Colour"]

_CELL_FMT = "yuv444p16le"


@dataclass(frozen=True)
class Colour:
    """How the samples map to RGB: matrix (an ffmpeg colorspace name), range, chroma siting."""

    matrix: str = "bt709"
    full_range: bool = False
    chroma_location: Optional[str] = None


class Door:
    """A :class:`~ds_slowmo.stage.Mixer` for native frames of one format and size."""

    def __init__(self, model: Interpolator, fmt: PixFmt, width: int, height: int, colour_: Colour) -> None:
        self.model, self.fmt, self.w, self.h, self.colour = model, fmt, width, height, colour_
        self.linear = bool(getattr(model, "linear", False))
        self._grid = grid(height, width)
        self._cached: tuple[Optional[np.ndarray], Optional[np.ndarray]] = (None, None)  # the last frame, as RGB

    # -- the stage's Mixer ----------------------------------------------------------------------
    def mix(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], times: Sequence[Fraction]) -> list[list[np.ndarray]]:
        if self.linear:
            return [[self._native_mix(a, b, t) for t in times] for a, b in pairs]
        rgb = np.empty((len(pairs), 2, self.h, self.w, 3), np.float32)
        for i, (a, b) in enumerate(pairs):
            self._rgb(a, rgb[i, 0])
            self._rgb(b, rgb[i, 1])
        out = self.model.interpolate(rgb, tuple(times))
        want = (len(pairs), len(times), self.h, self.w, 3)
        if out.shape != want or out.dtype != np.float32:
            raise ModelError(f"model {self.model.name!r} returned {out.dtype} {out.shape}; expected float32 {want}")
        return [[self._native(out[i, k], a, b, t) for k, t in enumerate(times)] for i, (a, b) in enumerate(pairs)]

    def _samples(self, frame: np.ndarray) -> np.ndarray:
        return frame.reshape(-1).view(self.fmt.dtype)

    def _native_mix(self, a: np.ndarray, b: np.ndarray, t: Fraction) -> np.ndarray:
        return mix(self._samples(a), self._samples(b), t).view(np.uint8).reshape(a.shape)

    def _rgb(self, frame: np.ndarray, out: np.ndarray) -> None:
        """``frame`` as float RGB into ``out``; the right frame of one pair is the left of the
        next, so the last conversion is kept and copied instead of done again."""
        last, rgb = self._cached
        if rgb is not None and last is frame:  # holding the frame keeps its identity unique
            out[...] = rgb
            return
        c = self.colour
        colour.to_rgb(self._samples(frame), self.fmt, self.w, self.h, c.matrix, c.full_range, c.chroma_location, out=out)
        self._cached = (frame, out)

    def _native(self, rgb: np.ndarray, a: np.ndarray, b: np.ndarray, t: Fraction) -> np.ndarray:
        c, fmt = self.colour, self.fmt
        alpha = None
        if fmt.has_alpha:  # linear: mixed from the two frames' own alpha planes
            alpha = colour.get_alpha(self._native_mix(a, b, t).reshape(-1).view(fmt.dtype), fmt, self.w, self.h)
        out = colour.from_rgb(rgb, fmt, self.w, self.h, c.matrix, c.full_range, c.chroma_location, alpha=alpha)
        return out.view(np.uint8).reshape(a.shape)

    # -- the stage's thumbnailer ------------------------------------------------------------------
    def thumb(self, frame: np.ndarray) -> Thumb:
        """RGB block means of a native frame, from each plane's block means (cheap at any size)."""
        fmt = self.fmt
        planes = fmt.planes(self._samples(frame), self.w, self.h)
        if fmt.packed:  # rgb24
            return thumbnail(planes[0])
        means = {p.component: plane_cells(v, self._grid, p.log2_h, p.log2_w) for p, v in zip(fmt.layout, planes)}
        if fmt.is_rgb:
            cells = np.stack([means[k] for k in "RGB"], axis=-1)
            return thumb_of_cells(cells * np.float32(255 / fmt.maxval))
        return thumb_of_cells(self._cells_to_rgb(means) * np.float32(255))

    def _cells_to_rgb(self, means: dict[str, np.ndarray]) -> np.ndarray:
        """YUV (or gray) cell means -> RGB cells in [0, 1], through the frame's own matrix."""
        ny, nx = means["Y"].shape
        up = np.float32(1 << (16 - self.fmt.depth))
        cell_fmt = NATIVE[_CELL_FMT]
        buf = cell_fmt.empty(nx, ny)
        for view, key in zip(cell_fmt.planes(buf, nx, ny), "YUV"):
            view[...] = np.rint(means.get(key, np.full((ny, nx), 1 << (self.fmt.depth - 1), np.float32)) * up)
        c = self.colour
        return colour.to_rgb(buf, cell_fmt, nx, ny, c.matrix, c.full_range)
