"""Native pixel formats: what a raw frame from ``ffmpeg -f rawvideo -pix_fmt <name>`` looks like.

Pure. The engine carries each frame as one 1-D numpy buffer of the raw bytes (viewed as uint8, or
as little-endian uint16 for depths above 8). :class:`PixFmt` says how that buffer splits into
planes; :func:`native_for` picks the native format for an input's ``pix_fmt`` (the input's own
when supported, else the nearest one ffmpeg converts to without loss, else a lossy fallback).

Plane sizes follow ffmpeg's rawvideo layout: planes tightly packed one after the other, a
subsampled plane being ``ceil(w / 2**log2_w) x ceil(h / 2**log2_h)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Union

import numpy as np

__all__ = ["Plane", "PixFmt", "Native", "NATIVE", "native_for", "Buffer"]

Buffer = Union[bytes, bytearray, memoryview, np.ndarray]


@dataclass(frozen=True)
class Plane:
    """One plane: its component ('Y', 'U', 'V', 'A', 'G', 'B', 'R') and subsampling (log2)."""

    component: str
    log2_w: int = 0
    log2_h: int = 0

    def shape(self, w: int, h: int) -> tuple[int, int]:
        """(rows, columns) of this plane in a ``w`` x ``h`` frame (ffmpeg's ceil shift)."""
        return -(-h >> self.log2_h), -(-w >> self.log2_w)


@dataclass(frozen=True)
class PixFmt:
    """A supported native format. ``layout`` lists the planes in buffer order; for the one packed
    format (rgb24) it lists the components in byte order. ``y4m_ok``: ffmpeg's yuv4mpegpipe
    muxer writes it; ``y4m_strict``: only with ``-strict -1`` (all depths above 8, and yuva444p,
    on ffmpeg 5.1 and 9.0 alike)."""

    name: str
    layout: tuple[Plane, ...]
    depth: int
    packed: bool = False
    y4m_ok: bool = False
    y4m_strict: bool = False

    @property
    def dtype(self) -> "np.dtype[Any]":
        """Sample type: uint8, or little-endian uint16 for depths above 8."""
        return np.dtype("u1") if self.depth <= 8 else np.dtype("<u2")

    @property
    def maxval(self) -> int:
        return (1 << self.depth) - 1

    @property
    def components(self) -> str:
        return "".join(p.component for p in self.layout)

    @property
    def is_rgb(self) -> bool:
        return "R" in self.components

    @property
    def is_gray(self) -> bool:
        return self.components.replace("A", "") == "Y"

    @property
    def has_alpha(self) -> bool:
        return "A" in self.components

    @property
    def chroma_log2(self) -> tuple[int, int]:
        """(log2_w, log2_h) of the chroma planes; (0, 0) when there are none."""
        for p in self.layout:
            if p.component in "UV":
                return p.log2_w, p.log2_h
        return 0, 0

    def plane_shapes(self, w: int, h: int) -> list[tuple[int, ...]]:
        if self.packed:
            return [(h, w, len(self.layout))]
        return [p.shape(w, h) for p in self.layout]

    def samples(self, w: int, h: int) -> int:
        """Samples in one frame (bytes for 8-bit formats, uint16 words above)."""
        return sum(int(np.prod(s)) for s in self.plane_shapes(w, h))

    def frame_size(self, w: int, h: int) -> int:
        """Bytes in one raw frame."""
        return self.samples(w, h) * self.dtype.itemsize

    def empty(self, w: int, h: int) -> np.ndarray:
        """A new, writable 1-D buffer for one frame, of the sample dtype (uninitialised)."""
        return np.empty(self.samples(w, h), self.dtype)

    def planes(self, buf: Buffer, w: int, h: int) -> list[np.ndarray]:
        """2-D views of each plane of ``buf`` (one (H, W, 3) view for rgb24). The views share
        memory with ``buf``; they are read-only when ``buf`` is (e.g. ``bytes``)."""
        arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, np.uint8)
        raw = arr.reshape(-1).view(np.uint8)
        if raw.size != self.frame_size(w, h):
            raise ValueError(
                f"{self.name} {w}x{h} frame needs {self.frame_size(w, h)} bytes, got {raw.size}")
        flat = raw.view(self.dtype)
        views, start = [], 0
        for shape in self.plane_shapes(w, h):
            n = int(np.prod(shape))
            views.append(flat[start:start + n].reshape(shape))
            start += n
        return views


def _make(name: str, comps: str, sub: tuple[int, int], depth: int, packed: bool = False,
          y4m: Optional[str] = None) -> PixFmt:
    layout = tuple(Plane(c, *(sub if c in "UV" else (0, 0))) for c in comps)
    return PixFmt(name, layout, depth, packed, y4m is not None, y4m == "strict")


def _suffix(depth: int) -> str:
    return "" if depth == 8 else f"{depth}le"


def _natives() -> dict[str, PixFmt]:
    table: list[PixFmt] = []
    subs = {"420": (1, 1), "422": (1, 0), "444": (0, 0)}
    for tag, sub in subs.items():
        for d in (8, 10, 12, 16):
            table.append(_make(f"yuv{tag}p{_suffix(d)}", "YUV", sub, d,
                               y4m="plain" if d == 8 else "strict"))
        for d in (8, 10, 16) if tag == "420" else (8, 10, 12, 16):
            y4m = "strict" if (tag, d) == ("444", 8) else None
            table.append(_make(f"yuva{tag}p{_suffix(d)}", "YUVA", sub, d, y4m=y4m))
    for d in (8, 10, 12, 16):
        table.append(_make("gray" + _suffix(d), "Y", (0, 0), d, y4m="plain" if d == 8 else "strict"))
        table.append(_make("gbrp" + _suffix(d), "GBR", (0, 0), d))
        table.append(_make("gbrap" + _suffix(d), "GBRA", (0, 0), d))
    table.append(_make("rgb24", "RGB", (0, 0), 8, packed=True))
    return {f.name: f for f in table}


NATIVE: dict[str, PixFmt] = _natives()
"""Every supported native format by ffmpeg name."""


class Native(NamedTuple):
    """What :func:`native_for` decides: the format to decode to, a note for ``-v`` when it is
    not the input's own (None when it is), and whether the input's pix_fmt implies full range
    (yuvj*, and gray, which ffmpeg treats as full range)."""

    fmt: PixFmt
    note: Optional[str]
    full_range_hint: bool


def _both(*names: str) -> list[str]:
    return [n + e for n in names for e in ("le", "be")]


def _lossless_table() -> dict[str, str]:
    t: dict[str, str] = {"nv12": "yuv420p", "nv21": "yuv420p", "nv16": "yuv422p",
                         "nv24": "yuv444p", "nv42": "yuv444p",
                         "yuyv422": "yuv422p", "uyvy422": "yuv422p", "yvyu422": "yuv422p",
                         "vuyx": "yuv444p", "vuya": "yuva444p", "ayuv": "yuva444p",
                         "uyva": "yuva444p", "monow": "gray", "monob": "gray",
                         "bgr24": "rgb24", "rgb0": "rgb24", "bgr0": "rgb24", "0rgb": "rgb24",
                         "0bgr": "rgb24", "rgba": "gbrap", "bgra": "gbrap", "argb": "gbrap",
                         "abgr": "gbrap", "pal8": "gbrap", "ya8": "gbrap",
                         "rgb8": "rgb24", "bgr8": "rgb24", "rgb4_byte": "rgb24",
                         "bgr4_byte": "rgb24", "rgb4": "rgb24", "bgr4": "rgb24"}
    pairs = [(("p010", "nv20"), "yuv420p10le"), (("p012",), "yuv420p12le"),
             (("p016",), "yuv420p16le"), (("p210", "y210"), "yuv422p10le"),
             (("p212", "y212"), "yuv422p12le"), (("p216",), "yuv422p16le"),
             (("p410", "xv30", "v30x"), "yuv444p10le"), (("p412", "xv36"), "yuv444p12le"),
             (("p416", "xv48"), "yuv444p16le"), (("ayuv64",), "yuva444p16le"),
             (("rgb48", "bgr48"), "gbrp16le"), (("rgba64", "bgra64", "ya16"), "gbrap16le"),
             (("x2rgb10", "x2bgr10"), "gbrp10le"),
             (("rgb565", "bgr565", "rgb555", "bgr555", "rgb444", "bgr444"), "rgb24")]
    for names, dst in pairs:
        t.update({n: dst for n in _both(*names)})
    t["nv20le"] = t["nv20be"] = "yuv422p10le"
    for src, dst in (("9", "10le"), ("14", "16le")):
        for base in ("yuv420p", "yuv422p", "yuv444p", "yuva420p", "yuva422p", "yuva444p",
                     "gray", "gbrp", "gbrap"):
            t.update({n: base + dst for n in _both(base + src)})
    return {k: v for k, v in t.items() if k not in NATIVE}


LOSSLESS: dict[str, str] = _lossless_table()
"""Non-native pix_fmts that ffmpeg converts to a native one without losing anything (repacking,
reordering, or widening the bit depth)."""

UPSAMPLED: dict[str, str] = {
    "yuv440p": "yuv444p", "yuvj440p": "yuv444p", "yuv411p": "yuv422p", "yuvj411p": "yuv422p",
    "uyyvyy411": "yuv422p", "yuv410p": "yuv420p",
    **{n: "yuv444p10le" for n in _both("yuv440p10")},
    **{n: "yuv444p12le" for n in _both("yuv440p12")},
}
"""Chroma layouts with no native twin: their chroma is upsampled to the nearest native layout
(no precision lost, but not byte-reversible)."""


def _lossy_target(pix_fmt: str) -> str:
    """The catch-all for anything else (float formats, Bayer, unknown names): 16-bit 4:4:4."""
    rgb = any(k in pix_fmt for k in ("rgb", "bgr", "gbr", "bayer"))
    alpha = any(k in pix_fmt for k in ("rgba", "bgra", "argb", "abgr", "gbrap", "yuva",
                                       "ayuv", "vuya", "yaf", "ya16", "ya8"))
    if pix_fmt.startswith(("gray", "ya")) and not alpha:
        return "gray16le"
    if rgb or pix_fmt.startswith("ya"):
        return "gbrap16le" if alpha else "gbrp16le"
    return "yuva444p16le" if alpha else "yuv444p16le"


def native_for(pix_fmt: str) -> Native:
    """The native format to decode ``pix_fmt`` (ffmpeg's name for the input's format) to."""
    plain = pix_fmt.replace("yuvj", "yuv", 1)
    if plain.endswith("be") and plain[:-2] + "le" in NATIVE:
        plain = plain[:-2] + "le"
    if plain in NATIVE:
        dst, how = plain, "lossless"
    elif plain in LOSSLESS:
        dst, how = LOSSLESS[plain], "lossless"
    elif pix_fmt in UPSAMPLED:
        dst, how = UPSAMPLED[pix_fmt], "chroma upsampled"
    else:
        dst, how = _lossy_target(pix_fmt), "not a supported format; may be lossy"
    full = pix_fmt.startswith("yuvj") or NATIVE[dst].is_gray
    if pix_fmt.startswith("yuvj"):
        how += ", full range"
    note = None if dst == pix_fmt else f"converting {pix_fmt} to {dst} ({how})"
    return Native(NATIVE[dst], note, full)
