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


def _sl(a: np.ndarray, axis: int, start: Optional[int], stop: Optional[int], step: int = 1) -> np.ndarray:
    """``a[start:stop:step]`` along ``axis`` (a view)."""
    return a[(slice(None),) * axis + (slice(start, stop, step),)]


def _resized(c: np.ndarray, axis: int, length: int) -> np.ndarray:
    shape = list(c.shape)
    shape[axis] = length
    return np.empty(shape, _F)


def _up_cosited(c: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Linear upsampling by 2 along ``axis``; chroma j sits on luma 2j (edge: repeat)."""
    n, m = c.shape[axis], length // 2
    out = _resized(c, axis, length)
    _sl(out, axis, 0, None, 2)[...] = c
    odd = _sl(out, axis, 1, None, 2)
    inner = _sl(odd, axis, 0, n - 1)
    np.add(_sl(c, axis, 0, n - 1), _sl(c, axis, 1, n), out=inner)
    inner *= _F(0.5)
    if m == n:
        _sl(odd, axis, n - 1, n)[...] = _sl(c, axis, n - 1, n)
    return out


def _down_cosited(u: np.ndarray, axis: int) -> np.ndarray:
    """Left inverse of :func:`_up_cosited`: each even sample plus a quarter of the two
    neighbouring odd samples' interpolation residuals (the LeGall 5/3 low-pass; the residuals
    are mirrored at the edges). The residuals of an upsampled signal are zero, hence exact."""
    s, o = _sl(u, axis, 0, None, 2), _sl(u, axis, 1, None, 2)
    n, m = s.shape[axis], o.shape[axis]
    d = s.astype(_F)
    if m == 0:
        return d
    r = np.add(_sl(s, axis, 0, n - 1), _sl(s, axis, 1, n), dtype=_F)  # m == n - 1 or n
    if m == n:
        r = np.concatenate([r, 2 * _sl(s, axis, n - 1, n).astype(_F)], axis=axis)
    r *= _F(-0.5)
    r += o
    r *= _F(0.25)
    _sl(d, axis, 0, m)[...] += r
    _sl(d, axis, 1, n)[...] += _sl(r, axis, 0, n - 1)
    _sl(d, axis, 0, 1)[...] += _sl(r, axis, 0, 1)
    if m < n:
        _sl(d, axis, n - 1, n)[...] += _sl(r, axis, m - 1, m)
    return d


def _up_centered(c: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Linear upsampling by 2 along ``axis``; chroma j sits half-way between luma 2j and 2j+1
    (edge: repeat): luma 2j gets c[j] - (c[j] - c[j-1]) / 4, luma 2j+1 gets c[j] + (c[j+1] - c[j]) / 4."""
    n, m = c.shape[axis], length // 2
    out = _resized(c, axis, length)
    even, odd = _sl(out, axis, 0, None, 2), _sl(out, axis, 1, None, 2)
    q = np.subtract(_sl(c, axis, 1, n), _sl(c, axis, 0, n - 1))
    q *= _F(0.25)
    np.subtract(_sl(c, axis, 1, n), q, out=_sl(even, axis, 1, n))
    _sl(even, axis, 0, 1)[...] = _sl(c, axis, 0, 1)
    np.add(_sl(c, axis, 0, n - 1), q, out=_sl(odd, axis, 0, n - 1))
    if m == n:
        _sl(odd, axis, n - 1, n)[...] = _sl(c, axis, n - 1, n)
    return out


def _down_centered(u: np.ndarray, axis: int) -> np.ndarray:
    """Left inverse of :func:`_up_centered`: the [-1, 3, 3, -1] / 4 low-pass, computed as
    ``(e[j] + o[j]) - (q[j-1] + q[j]) / 4`` with ``q[j] = o[j] + e[j+1]``, the edges extended
    the way the upsampler extends them (an odd length extrapolates its missing last sample
    linearly, which the upsampler's output satisfies exactly)."""
    e, o = _sl(u, axis, 0, None, 2), _sl(u, axis, 1, None, 2)
    n, length = e.shape[axis], u.shape[axis]
    if o.shape[axis] < n:
        before = _sl(u, axis, max(length - 2, 0), max(length - 2, 0) + 1)
        extra = _F(1.5) * _sl(u, axis, length - 1, length) - _F(0.5) * before
        o = np.concatenate([o, extra.astype(_F)], axis=axis)
    d: np.ndarray = np.add(e, o, dtype=_F)
    q = np.add(_sl(o, axis, 0, n - 1), _sl(e, axis, 1, n), dtype=_F)
    q *= _F(0.25)
    _sl(d, axis, 0, n - 1)[...] -= q
    _sl(d, axis, 1, n)[...] -= q
    _sl(d, axis, 0, 1)[...] -= _F(0.5) * _sl(e, axis, 0, 1)
    _sl(d, axis, n - 1, n)[...] -= _F(0.5) * _sl(o, axis, n - 1, n)
    return d


def _upsample(c: np.ndarray, fmt: PixFmt, w: int, h: int, chroma_location: Optional[str]) -> np.ndarray:
    lw, lh = fmt.chroma_log2
    if (lw, lh) == (0, 0):
        return c
    if lw > 1 or lh > 1:
        raise InputError(f"{fmt.name}: only 2x chroma subsampling is supported")
    ph, pv = _siting(chroma_location)
    if lw:  # horizontal first: the vertical pass, on whole rows, is the cheaper one at full size
        c = (_up_centered if ph else _up_cosited)(c, w, 1)
    if lh:
        c = (_up_centered if pv else _up_cosited)(c, h, 0)
    return c


def _downsample(u: np.ndarray, fmt: PixFmt, chroma_location: Optional[str]) -> np.ndarray:
    lw, lh = fmt.chroma_log2
    if (lw, lh) == (0, 0):
        return u
    ph, pv = _siting(chroma_location)
    if lh:  # vertical first, for the same reason
        u = (_down_centered if pv else _down_cosited)(u, 0)
    if lw:
        u = (_down_centered if ph else _down_cosited)(u, 1)
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
           chroma_location: Optional[str] = None, *, clip: bool = True,
           out: Optional[np.ndarray] = None) -> np.ndarray:
    """One native frame as float32 (H, W, 3) RGB, clipped to [0, 1] unless ``clip`` is False.
    ``matrix`` is an ffmpeg colorspace name from :data:`MATRICES` (see :func:`guess_matrix`);
    ``full_range`` is True for pc/jpeg range; ``chroma_location`` is ffmpeg's name (None means
    unspecified: left). RGB formats ignore all three; gray ignores matrix and siting.
    ``out``: a float32 (H, W, 3) array (a view into a model's batch, say) to write into and
    return instead of a new one."""
    if out is None:
        out = np.empty((h, w, 3), _F)
    elif out.shape != (h, w, 3) or out.dtype != _F:
        raise ValueError(f"to_rgb: out must be float32 {(h, w, 3)}, got {out.dtype} {out.shape}")
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
        cr *= _F(2.0 * (1.0 - kr))  # R - Y
        cb *= _F(2.0 * (1.0 - kb))  # B - Y
        np.add(y, cr, out=out[..., 0])
        np.add(y, cb, out=out[..., 2])
        cr *= _F(kr / kg)
        cb *= _F(kb / kg)
        y -= cr
        np.subtract(y, cb, out=out[..., 1])  # G = Y - (Kr (R - Y) + Kb (B - Y)) / Kg
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
    # matrix-vector products read the interleaved RGB once each (strided ufuncs are ~8x slower)
    _quantise(rgb @ np.array([kr, kg, kb], _F), ys, yo, ylo, yhi, views["Y"])
    if fmt.is_gray:
        return
    b_y = np.array([-kr, -kg, 1.0 - kb], _F) / _F(2.0 * (1.0 - kb))
    r_y = np.array([1.0 - kr, -kg, -kb], _F) / _F(2.0 * (1.0 - kr))
    _quantise(_downsample(rgb @ b_y, fmt, chroma_location), cs, co, clo, chi, views["U"])
    _quantise(_downsample(rgb @ r_y, fmt, chroma_location), cs, co, clo, chi, views["V"])


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
