"""ds_slowmo.pixfmt: the native format table, checked against what ffmpeg actually writes."""

from __future__ import annotations

import subprocess
from typing import Optional

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo.pixfmt import LOSSLESS, NATIVE, UPSAMPLED, PixFmt, native_for


def _raw(exe: str, fmt: str, w: int, h: int, pre: str = "") -> bytes:
    argv = [exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=1", "-frames:v", "1",
            "-vf", f"{pre}scale={w}:{h},format={fmt}", "-f", "rawvideo", "-"]
    return subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout


NATIVE_CASES = [
    # (input pix_fmt, native, note (None: no conversion), full_range_hint)
    ("yuv420p", "yuv420p", None, False),
    ("yuv422p10le", "yuv422p10le", None, False),
    ("yuv444p16le", "yuv444p16le", None, False),
    ("yuva420p", "yuva420p", None, False),
    ("gray", "gray", None, True),
    ("gray12le", "gray12le", None, True),
    ("gbrp", "gbrp", None, False),
    ("gbrap", "gbrap", None, False),
    ("rgb24", "rgb24", None, False),
    ("nv12", "yuv420p", "converting nv12 to yuv420p (lossless)", False),
    ("nv21", "yuv420p", "converting nv21 to yuv420p (lossless)", False),
    ("p010le", "yuv420p10le", "converting p010le to yuv420p10le (lossless)", False),
    ("yuv420p10be", "yuv420p10le", "converting yuv420p10be to yuv420p10le (lossless)", False),
    ("yuvj420p", "yuv420p", "converting yuvj420p to yuv420p (lossless, full range)", True),
    ("yuvj422p", "yuv422p", "converting yuvj422p to yuv422p (lossless, full range)", True),
    ("yuvj444p", "yuv444p", "converting yuvj444p to yuv444p (lossless, full range)", True),
    ("yuyv422", "yuv422p", "converting yuyv422 to yuv422p (lossless)", False),
    ("uyvy422", "yuv422p", "converting uyvy422 to yuv422p (lossless)", False),
    ("yuv420p9le", "yuv420p10le", "converting yuv420p9le to yuv420p10le (lossless)", False),
    ("gray9le", "gray10le", "converting gray9le to gray10le (lossless)", True),
    ("bgr24", "rgb24", "converting bgr24 to rgb24 (lossless)", False),
    ("rgba", "gbrap", "converting rgba to gbrap (lossless)", False),
    ("bgra", "gbrap", "converting bgra to gbrap (lossless)", False),
    ("argb", "gbrap", "converting argb to gbrap (lossless)", False),
    ("abgr", "gbrap", "converting abgr to gbrap (lossless)", False),
    ("rgb48le", "gbrp16le", "converting rgb48le to gbrp16le (lossless)", False),
    ("rgba64le", "gbrap16le", "converting rgba64le to gbrap16le (lossless)", False),
    ("pal8", "gbrap", "converting pal8 to gbrap (lossless)", False),
    ("yuv411p", "yuv422p", "converting yuv411p to yuv422p (chroma upsampled)", False),
    ("yuvj440p", "yuv444p", "converting yuvj440p to yuv444p (chroma upsampled, full range)", True),
    ("grayf32le", "gray16le", "converting grayf32le to gray16le (not a supported format; may be lossy)", True),
    ("gbrpf32le", "gbrp16le", "converting gbrpf32le to gbrp16le (not a supported format; may be lossy)", False),
    ("rgbaf32le", "gbrap16le", "converting rgbaf32le to gbrap16le (not a supported format; may be lossy)", False),
    ("xyz12le", "yuv444p16le", "converting xyz12le to yuv444p16le (not a supported format; may be lossy)", False),
]


@pytest.mark.parametrize("pix_fmt, native, note, full", NATIVE_CASES)
def test_native_for_table(pix_fmt: str, native: str, note: Optional[str], full: bool) -> None:
    got = native_for(pix_fmt)
    assert (got.fmt.name, got.note, got.full_range_hint) == (native, note, full)


def test_every_mapping_lands_on_a_native() -> None:
    for src, dst in {**LOSSLESS, **UPSAMPLED}.items():
        assert dst in NATIVE, (src, dst)
        assert native_for(src).fmt.name == dst


def test_format_properties() -> None:
    f = NATIVE["yuv420p10le"]
    assert (f.depth, f.dtype, f.maxval, f.chroma_log2, f.components) == (10, np.dtype("<u2"), 1023, (1, 1), "YUV")
    assert not (f.is_rgb or f.is_gray or f.has_alpha or f.packed)
    assert NATIVE["gbrap12le"].components == "GBRA" and NATIVE["gbrap12le"].has_alpha
    assert NATIVE["rgb24"].packed and NATIVE["rgb24"].is_rgb and NATIVE["rgb24"].frame_size(5, 3) == 45
    assert NATIVE["gray16le"].is_gray and NATIVE["gray16le"].frame_size(5, 3) == 30
    assert NATIVE["yuva422p"].plane_shapes(5, 3) == [(3, 5), (3, 3), (3, 3), (3, 5)]
    assert NATIVE["yuv420p"].frame_size(5, 3) == 15 + 2 * 3 * 2


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_frame_size_matches_ffmpeg(ffmpeg_exe: str, name: str) -> None:
    """Odd sizes too: subsampled planes round up, planes are packed with no padding."""
    fmt = NATIVE[name]
    for w, h in ((35, 19), (36, 20)):
        raw = _raw(ffmpeg_exe, name, w, h)
        assert len(raw) == fmt.frame_size(w, h)
        assert sum(p.size * p.itemsize for p in fmt.planes(raw, w, h)) == len(raw)


@pytest.mark.parametrize("name", [n for n in sorted(NATIVE) if NATIVE[n].has_alpha])
def test_alpha_plane_is_where_the_layout_says(ffmpeg_exe: str, name: str) -> None:
    fmt = NATIVE[name]
    raw = _raw(ffmpeg_exe, name, 20, 10, pre="format=rgba,colorchannelmixer=aa=0.25,")
    alpha = fmt.planes(raw, 20, 10)[fmt.components.index("A")]
    assert np.all(np.abs(alpha / fmt.maxval - 0.25) < 0.01), (name, alpha[0, 0])


def _y4m_rc(exe: str, name: str, strict: bool) -> int:
    argv = [exe, "-v", "quiet", "-f", "lavfi", "-i", "testsrc2=s=16x16:r=1", "-frames:v", "1",
            "-pix_fmt", name, *(["-strict", "-1"] if strict else []), "-f", "yuv4mpegpipe", "-"]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, check=False).returncode


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_y4m_flags_match_ffmpeg(ffmpeg_exe: str, name: str) -> None:
    fmt = NATIVE[name]
    assert (_y4m_rc(ffmpeg_exe, name, strict=True) == 0) == fmt.y4m_ok
    assert (_y4m_rc(ffmpeg_exe, name, strict=False) == 0) == (fmt.y4m_ok and not fmt.y4m_strict)


def test_planes_rejects_a_wrong_size() -> None:
    with pytest.raises(ValueError, match="yuv420p 4x4 frame needs 24 bytes, got 23"):
        NATIVE["yuv420p"].planes(bytes(23), 4, 4)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(NATIVE)), w=st.integers(1, 9), h=st.integers(1, 9))
def test_planes_tile_the_buffer(name: str, w: int, h: int) -> None:
    """The plane views cover every sample once, in order, and write through to the buffer."""
    fmt: PixFmt = NATIVE[name]
    buf = fmt.empty(w, h)
    views = fmt.planes(buf, w, h)
    counter = 0
    for v in views:
        v[...] = (np.arange(v.size) + counter).reshape(v.shape) % (fmt.maxval + 1)
        counter += v.size
    assert counter == buf.size
    assert np.array_equal(buf, np.arange(buf.size) % (fmt.maxval + 1))
    assert len(buf.tobytes()) == fmt.frame_size(w, h)
    assert all(np.shares_memory(v, buf) for v in views)
    # a uint8 view of the same bytes splits the same way
    again = fmt.planes(buf.view(np.uint8), w, h)
    assert all(np.array_equal(a, b) for a, b in zip(views, again))
