"""Native frame <-> float RGB in [0, 1], for the models that need RGB. Pure numpy.

Only the model's door converts: :func:`to_rgb` turns a native buffer (see :mod:`ds_slowmo.pixfmt`)
into float32 (H, W, 3) RGB with the input's own matrix, range and bit depth, and
:func:`from_rgb` turns the model's RGB back the same way, rounded and clipped to the format's
legal codes. RGB formats only reorder planes and scale; gray gives R = G = B.

Chroma: 4:2:0 and 4:2:2 chroma is upsampled linearly at its siting (``left``, the MPEG-2 and
H.264 default, ``center`` as in MPEG-1/JPEG, ``topleft``, ``top``). Going back, the downsampler
is the exact left inverse of that upsampler (LeGall 5/3 low-pass for co-sited chroma, the
[-1, 3, 3, -1]/4 low-pass for interstitial chroma), so ``from_rgb(to_rgb(frame)) == frame``
within rounding wherever the RGB stayed inside [0, 1], and the model's RGB is band-limited
before it is decimated.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .errors import InputError
from .pixfmt import Buffer, PixFmt

__all__ = ["MATRICES", "guess_matrix", "to_rgb", "from_rgb", "get_alpha", "put_alpha"]

_F = np.float32

MATRICES: dict[str, tuple[float, float]] = {
    "bt709": (0.2126, 0.0722),
    "bt470bg": (0.299, 0.114),
    "smpte170m": (0.299, 0.114),
    "bt601": (0.299, 0.114),
    "fcc": (0.30, 0.11),
    "smpte240m": (0.212, 0.087),
    "bt2020nc": (0.2627, 0.0593),
    "bt2020_ncl": (0.2627, 0.0593),
}
"""(Kr, Kb) of each supported matrix, by ffmpeg's colorspace names (and a few aliases)."""

_UNTAGGED = (None, "", "unknown", "unspecified", "reserved")

_SITING: dict[Optional[str], tuple[float, float]] = {
    None: (0.0, 0.5), "unspecified": (0.0, 0.5), "unknown": (0.0, 0.5),
    "left": (0.0, 0.5), "center": (0.5, 0.5), "topleft": (0.0, 0.0), "top": (0.5, 0.0),
}
"""Chroma location -> (horizontal, vertical) phase of a chroma sample, in luma samples past
the first luma sample it covers: 0 co-sited, 0.5 half-way."""


def guess_matrix(height: int, tagged: Optional[str]) -> str:
    """The matrix to convert with: the tagged one, or for untagged input the players' guess,
    BT.601 (``smpte170m``) below 720 lines and BT.709 from 720 lines up. Use the same answer in
    both directions. Raises :class:`InputError` for a tag this module cannot convert."""
    if tagged in _UNTAGGED:
        return "bt709" if height >= 720 else "smpte170m"
    assert tagged is not None
    if tagged not in MATRICES:
        raise InputError(f"colour matrix {tagged!r} is not supported for model input "
                         f"(supported: {', '.join(sorted(MATRICES))})")
    return tagged


def _coeffs(matrix: str) -> tuple[float, float, float]:
    if matrix not in MATRICES:
        raise InputError(f"colour matrix {matrix!r} is not supported for model input")
    kr, kb = MATRICES[matrix]
    return kr, 1.0 - kr - kb, kb


def _siting(chroma_location: Optional[str]) -> tuple[float, float]:
    if chroma_location not in _SITING:
        raise InputError(f"chroma location {chroma_location!r} is not supported for model input")
    return _SITING[chroma_location]


def _scales(fmt: PixFmt, full_range: bool) -> tuple[float, float, float, float]:
    """(luma scale, luma offset, chroma scale, chroma offset): code = value * scale + offset."""
    if full_range:
        m = float(fmt.maxval)
        return m, 0.0, m, float(1 << (fmt.depth - 1))
    s = float(1 << (fmt.depth - 8))
    return 219.0 * s, 16.0 * s, 224.0 * s, 128.0 * s


def _legal(fmt: PixFmt, full_range: bool) -> tuple[int, int, int, int]:
    """(luma lo, luma hi, chroma lo, chroma hi) code values."""
    if full_range:
        return 0, fmt.maxval, 0, fmt.maxval
    s = 1 << (fmt.depth - 8)
    return 16 * s, 235 * s, 16 * s, 240 * s


def _at(axis: int, s: slice) -> tuple[slice, ...]:
    return (slice(None),) * axis + (s,)


def _up_cosited(c: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Linear upsampling by 2 along ``axis``; chroma j sits on luma 2j."""
    n, m = c.shape[axis], length // 2
    shape = list(c.shape)
    shape[axis] = length
    out = np.empty(shape, _F)
    out[_at(axis, slice(0, None, 2))] = c
    odd = out[_at(axis, slice(1, None, 2))]
    np.add(c[_at(axis, slice(0, n - 1))], c[_at(axis, slice(1, n))], out=odd[_at(axis, slice(0, n - 1))])
    odd[_at(axis, slice(0, n - 1))] *= _F(0.5)
    if m == n:
        odd[_at(axis, slice(n - 1, n))] = c[_at(axis, slice(n - 1, n))]
    return out


def _down_cosited(u: np.ndarray, axis: int) -> np.ndarray:
    """Left inverse of :func:`_up_cosited`: the even samples plus a quarter of the neighbouring
    odd samples' interpolation residuals (the LeGall 5/3 low-pass, mirrored at the edges)."""
    s = u[_at(axis, slice(0, None, 2))]
    n, m = s.shape[axis], u.shape[axis] // 2
    if m == 0:
        return s.astype(_F)
    r = u[_at(axis, slice(1, None, 2))].astype(_F)
    half = np.add(s[_at(axis, slice(0, n - 1))], s[_at(axis, slice(1, n))], dtype=_F)
    half *= _F(0.5)
    r[_at(axis, slice(0, n - 1))] -= half
    if m == n:
        r[_at(axis, slice(n - 1, n))] -= s[_at(axis, slice(n - 1, n))]
    acc = np.zeros(s.shape, _F)
    acc[_at(axis, slice(0, m))] += r
    acc[_at(axis, slice(m, n))] += r[_at(axis, slice(m - 1, m))]
    acc[_at(axis, slice(1, n))] += r[_at(axis, slice(0, n - 1))]
    acc[_at(axis, slice(0, 1))] += r[_at(axis, slice(0, 1))]
    acc *= _F(0.25)
    acc += s
    return acc


def _up_centered(c: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Linear upsampling by 2 along ``axis``; chroma j sits half-way between luma 2j and 2j+1."""
    n, m = c.shape[axis], length // 2
    shape = list(c.shape)
    shape[axis] = length
    out = np.empty(shape, _F)
    even, odd = out[_at(axis, slice(0, None, 2))], out[_at(axis, slice(1, None, 2))]
    np.multiply(c, _F(0.75), out=even)
    even[_at(axis, slice(1, n))] += _F(0.25) * c[_at(axis, slice(0, n - 1))]
    even[_at(axis, slice(0, 1))] += _F(0.25) * c[_at(axis, slice(0, 1))]
    np.multiply(c[_at(axis, slice(0, m))], _F(0.75), out=odd)
    odd[_at(axis, slice(0, n - 1))] += _F(0.25) * c[_at(axis, slice(1, n))]
    if m == n:
        odd[_at(axis, slice(n - 1, n))] += _F(0.25) * c[_at(axis, slice(n - 1, n))]
    return out


def _down_centered(u: np.ndarray, axis: int) -> np.ndarray:
    """Left inverse of :func:`_up_centered`: the [-1, 3, 3, -1] / 4 low-pass, with the edges
    extended the way the upsampler extends them (an odd length extrapolates its missing
    sample linearly, which the upsampler's output satisfies exactly)."""
    e = u[_at(axis, slice(0, None, 2))].astype(_F)
    o = u[_at(axis, slice(1, None, 2))].astype(_F)
    n, length = e.shape[axis], u.shape[axis]
    if o.shape[axis] < n:
        last = u[_at(axis, slice(length - 1, length))].astype(_F)
        before = u[_at(axis, slice(max(length - 2, 0), max(length - 2, 0) + 1))]
        o = np.concatenate([o, _F(1.5) * last - _F(0.5) * before], axis=axis)
    d = np.add(e, o)
    d *= _F(0.75)
    d[_at(axis, slice(1, n))] -= _F(0.25) * o[_at(axis, slice(0, n - 1))]
    d[_at(axis, slice(0, 1))] -= _F(0.25) * e[_at(axis, slice(0, 1))]
    d[_at(axis, slice(0, n - 1))] -= _F(0.25) * e[_at(axis, slice(1, n))]
    d[_at(axis, slice(n - 1, n))] -= _F(0.25) * o[_at(axis, slice(n - 1, n))]
    return d


def _upsample(c: np.ndarray, fmt: PixFmt, w: int, h: int, chroma_location: Optional[str]) -> np.ndarray:
    lw, lh = fmt.chroma_log2
    if (lw, lh) == (0, 0):
        return c
    if lw > 1 or lh > 1:
        raise InputError(f"{fmt.name}: only 2x chroma subsampling is supported")
    ph, pv = _siting(chroma_location)
    if lh:
        c = (_up_centered if pv else _up_cosited)(c, h, 0)
    if lw:
        c = (_up_centered if ph else _up_cosited)(c, w, 1)
    return c


def _downsample(u: np.ndarray, fmt: PixFmt, chroma_location: Optional[str]) -> np.ndarray:
    lw, lh = fmt.chroma_log2
    if (lw, lh) == (0, 0):
        return u
    ph, pv = _siting(chroma_location)
    if lw:
        u = (_down_centered if ph else _down_cosited)(u, 1)
    if lh:
        u = (_down_centered if pv else _down_cosited)(u, 0)
    return u


def _normalised(plane: np.ndarray, scale: float, offset: float) -> np.ndarray:
    """(code - offset) / scale as float32 (exact at the nominal black and white codes)."""
    out: np.ndarray = np.subtract(plane, _F(offset), dtype=_F)
    out /= _F(scale)
    return out


def _rgb_planes(buf: Buffer, fmt: PixFmt, w: int, h: int) -> list[np.ndarray]:
    views = fmt.planes(buf, w, h)
    if fmt.packed:
        return [views[0][..., fmt.components.index(c)] for c in "RGB"]
    named = dict(zip(fmt.components, views))
    return [named[c] for c in "RGB"]


def to_rgb(buf: Buffer, fmt: PixFmt, w: int, h: int, matrix: str, full_range: bool,
           chroma_location: Optional[str] = None, *, clip: bool = True) -> np.ndarray:
    """One native frame as float32 (H, W, 3) RGB, clipped to [0, 1] unless ``clip`` is False.
    ``matrix`` is an ffmpeg colorspace name from :data:`MATRICES` (see :func:`guess_matrix`);
    ``full_range`` is True for pc/jpeg range; ``chroma_location`` is ffmpeg's name (None means
    unspecified: left). RGB formats ignore all three; gray ignores matrix and siting."""
    out = np.empty((h, w, 3), _F)
    if fmt.is_rgb:
        for i, p in enumerate(_rgb_planes(buf, fmt, w, h)):
            np.divide(p, _F(fmt.maxval), out=out[..., i])
        return out
    ys, yo, cs, co = _scales(fmt, full_range)
    views = dict(zip(fmt.components, fmt.planes(buf, w, h)))
    y = _normalised(views["Y"], ys, yo)
    if fmt.is_gray:
        out[...] = y[..., None]
    else:
        kr, kg, kb = _coeffs(matrix)
        cb = _upsample(_normalised(views["U"], cs, co), fmt, w, h, chroma_location)
        cr = _upsample(_normalised(views["V"], cs, co), fmt, w, h, chroma_location)
        cb *= _F(2.0 * (1.0 - kb))  # B - Y
        cr *= _F(2.0 * (1.0 - kr))  # R - Y
        g = np.multiply(cr, _F(-kr / kg))
        cb *= _F(kb / kg)
        g -= cb
        cb *= _F(kg / kb)
        g += y
        cr += y
        cb += y
        np.stack([cr, g, cb], axis=-1, out=out)
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out


def _quantise(x: np.ndarray, scale: float, offset: float, lo: int, hi: int, dst: np.ndarray) -> None:
    """dst = clip(round(x * scale + offset), lo, hi), rounding half up."""
    t = np.multiply(x, _F(scale), dtype=_F)
    t += _F(offset + 0.5)
    np.clip(t, lo, hi, out=t)
    dst[...] = t


def from_rgb(rgb: np.ndarray, fmt: PixFmt, w: int, h: int, matrix: str, full_range: bool,
             chroma_location: Optional[str] = None, *,
             alpha: Optional[np.ndarray] = None) -> np.ndarray:
    """Float (H, W, 3) RGB back to one native frame: a new 1-D buffer of ``fmt.dtype``
    (``.tobytes()`` is the raw frame). Same arguments as :func:`to_rgb`. Formats with alpha take
    it from ``alpha`` (float (H, W) in [0, 1]); without it they come out opaque."""
    if rgb.shape != (h, w, 3):
        raise ValueError(f"from_rgb: expected RGB of shape {(h, w, 3)}, got {rgb.shape}")
    buf = fmt.empty(w, h)
    if fmt.is_rgb:
        for i, p in enumerate(_rgb_planes(buf, fmt, w, h)):
            _quantise(rgb[..., i], fmt.maxval, 0.0, 0, fmt.maxval, p)
    else:
        _yuv_from_rgb(rgb, fmt, w, h, matrix, full_range, chroma_location, buf)
    if fmt.has_alpha:
        put_alpha(buf, fmt, w, h, np.ones((h, w), _F) if alpha is None else alpha)
    return buf


def _yuv_from_rgb(rgb: np.ndarray, fmt: PixFmt, w: int, h: int, matrix: str, full_range: bool,
                  chroma_location: Optional[str], buf: np.ndarray) -> None:
    kr, kg, kb = _coeffs(matrix)
    ys, yo, cs, co = _scales(fmt, full_range)
    ylo, yhi, clo, chi = _legal(fmt, full_range)
    views = dict(zip(fmt.components, fmt.planes(buf, w, h)))
    r, g, b = (rgb[..., i] for i in range(3))
    y = np.multiply(r, _F(kr), dtype=_F)
    y += _F(kg) * g
    y += _F(kb) * b
    _quantise(y, ys, yo, ylo, yhi, views["Y"])
    if fmt.is_gray:
        return
    cb = np.subtract(b, y, dtype=_F)
    cr = np.subtract(r, y, dtype=_F)
    cb = _downsample(cb, fmt, chroma_location)
    cr = _downsample(cr, fmt, chroma_location)
    _quantise(cb, cs / (2.0 * (1.0 - kb)), co, clo, chi, views["U"])
    _quantise(cr, cs / (2.0 * (1.0 - kr)), co, clo, chi, views["V"])


def get_alpha(buf: Buffer, fmt: PixFmt, w: int, h: int) -> np.ndarray:
    """The alpha plane as float32 (H, W) in [0, 1] (alpha is always full range)."""
    if not fmt.has_alpha:
        raise ValueError(f"{fmt.name} has no alpha plane")
    plane = fmt.planes(buf, w, h)[fmt.components.index("A")]
    alpha: np.ndarray = np.divide(plane, _F(fmt.maxval), dtype=_F)
    return alpha


def put_alpha(buf: np.ndarray, fmt: PixFmt, w: int, h: int, alpha: np.ndarray) -> None:
    """Write float (H, W) alpha in [0, 1] into the alpha plane of the writable ``buf``."""
    if not fmt.has_alpha:
        raise ValueError(f"{fmt.name} has no alpha plane")
    plane = fmt.planes(buf, w, h)[fmt.components.index("A")]
    _quantise(alpha, fmt.maxval, 0.0, 0, fmt.maxval, plane)
