"""ds_slowmo.colour: native <-> float RGB. Round trips within one code value, and agreement with
ffmpeg's own conversions (zscale/zimg where it can do the same thing exactly, swscale else)."""

from __future__ import annotations

import subprocess
from typing import Optional

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo.colour import (
    MATRICES,
    from_rgb,
    get_alpha,
    guess_matrix,
    put_alpha,
    to_rgb,
)
from ds_slowmo.errors import InputError
from ds_slowmo.pixfmt import NATIVE, PixFmt

KINDS = ["bt709", "smpte170m", "bt2020nc", "fcc", "smpte240m"]
YUV = ["yuv420p", "yuv422p", "yuv444p", "yuv420p10le", "yuv422p10le", "yuv444p10le"]
SITINGS: list[Optional[str]] = [None, "center", "topleft", "top"]
ZIMG = {"bt709": "709", "smpte170m": "170m", "bt2020nc": "2020_ncl", "fcc": "fcc"}


def _ffmpeg(exe: str, argv: list[str], data: Optional[bytes] = None) -> bytes:
    return subprocess.run([exe, "-v", "error", *argv], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def _raw_in(fmt: str, w: int, h: int) -> list[str]:
    return ["-f", "rawvideo", "-pix_fmt", fmt, "-s", f"{w}x{h}", "-i", "-"]


def _planar_rgb(raw: bytes, w: int, h: int) -> np.ndarray:
    """ffmpeg's gbrpf32le as (H, W, 3) RGB."""
    g, b, r = np.frombuffer(raw, "<f4").reshape(3, h, w)
    return np.stack([r, g, b], axis=-1)


def _random_legal(fmt: PixFmt, w: int, h: int, full: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    buf = fmt.empty(w, h)
    s = 1 << (fmt.depth - 8)
    for comp, plane in zip(fmt.components, fmt.planes(buf, w, h)):
        lo, hi = (0, fmt.maxval) if full else ((16 * s, 235 * s) if comp == "Y" else (16 * s, 240 * s))
        plane[...] = rng.integers(lo, hi + 1, plane.shape)
    return buf


def _smooth_rgb(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((h, w, 3), np.float32)
    for i in range(3):
        fx, fy, p = rng.uniform(0.02, 0.12), rng.uniform(0.02, 0.12), rng.uniform(0, 6)
        out[..., i] = 0.5 + 0.35 * np.sin(fx * x + fy * y + p)
    return out


def _max_code_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


@pytest.mark.parametrize("height, tagged, expected", [
    (480, None, "smpte170m"), (576, "unknown", "smpte170m"), (719, "", "smpte170m"),
    (720, None, "bt709"), (1080, "unspecified", "bt709"), (2160, None, "bt709"),
    (480, "bt709", "bt709"), (1080, "bt470bg", "bt470bg"), (2160, "bt2020nc", "bt2020nc"),
    (1080, "smpte240m", "smpte240m"), (480, "fcc", "fcc"),
])
def test_guess_matrix(height: int, tagged: Optional[str], expected: str) -> None:
    assert guess_matrix(height, tagged) == expected


@pytest.mark.parametrize("tag", ["bt2020c", "ycgco", "ictcp"])
def test_unsupported_matrix_is_an_input_error(tag: str) -> None:
    with pytest.raises(InputError, match=f"colour matrix '{tag}' is not supported"):
        guess_matrix(1080, tag)


def test_unsupported_chroma_location_is_an_input_error() -> None:
    buf = NATIVE["yuv420p"].empty(4, 4)
    with pytest.raises(InputError, match="chroma location 'bottom' is not supported"):
        to_rgb(buf, NATIVE["yuv420p"], 4, 4, "bt709", False, "bottom")


@pytest.mark.parametrize("name", YUV + ["yuv420p12le", "yuv444p16le", "yuva420p10le"])
@pytest.mark.parametrize("matrix", KINDS)
@pytest.mark.parametrize("full", [False, True])
def test_random_frames_round_trip_exactly(name: str, matrix: str, full: bool) -> None:
    """Any legal frame -> RGB (unclipped) -> the same frame, for every siting and odd sizes."""
    fmt = NATIVE[name]
    for (w, h), siting in zip([(23, 17), (24, 16), (1, 1), (2, 3)], SITINGS):
        buf = _random_legal(fmt, w, h, full, seed=w * h)
        rgb = to_rgb(buf, fmt, w, h, matrix, full, siting, clip=False)
        alpha = get_alpha(buf, fmt, w, h) if fmt.has_alpha else None
        back = from_rgb(rgb, fmt, w, h, matrix, full, siting, alpha=alpha)
        assert back.dtype == fmt.dtype and back.shape == buf.shape
        assert _max_code_diff(back, buf) <= 1, (w, h, siting)


@pytest.mark.parametrize("name", YUV + ["yuv420p12le", "yuv422p16le"])
@pytest.mark.parametrize("matrix", KINDS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("siting", SITINGS)
def test_smooth_frames_round_trip_through_clipped_rgb(name: str, matrix: str, full: bool,
                                                       siting: Optional[str]) -> None:
    """What a model sees: clipped RGB in [0, 1]. A frame made from in-gamut RGB survives."""
    fmt = NATIVE[name]
    w, h = 37, 21
    frame = from_rgb(_smooth_rgb(w, h, seed=len(name)), fmt, w, h, matrix, full, siting)
    rgb = to_rgb(frame, fmt, w, h, matrix, full, siting)
    assert rgb.dtype == np.float32 and rgb.shape == (h, w, 3)
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0
    assert _max_code_diff(from_rgb(rgb, fmt, w, h, matrix, full, siting), frame) <= 1


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from([n for n in NATIVE if NATIVE[n].is_rgb or NATIVE[n].is_gray]),
       w=st.integers(1, 12), h=st.integers(1, 12), full=st.booleans(), seed=st.integers(0, 99))
def test_rgb_and_gray_round_trip_exactly(name: str, w: int, h: int, full: bool, seed: int) -> None:
    fmt = NATIVE[name]
    buf = _random_legal(fmt, w, h, full or fmt.is_rgb, seed)
    rgb = to_rgb(buf, fmt, w, h, "bt709", full)
    if fmt.is_gray:
        assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    alpha = get_alpha(buf, fmt, w, h) if fmt.has_alpha else None
    assert np.array_equal(from_rgb(rgb, fmt, w, h, "bt709", full, alpha=alpha), buf)


def test_known_values() -> None:
    """BT.709 limited 8-bit white, black and 75% red, and the 10-bit scale."""
    fmt, fmt10 = NATIVE["yuv444p"], NATIVE["yuv444p10le"]
    rgb = np.array([[[1, 1, 1], [0, 0, 0], [0.75, 0, 0]]], np.float32)
    assert from_rgb(rgb, fmt, 3, 1, "bt709", False).tolist() == [235, 16, 51, 128, 128, 109, 128, 128, 212]
    assert from_rgb(rgb, fmt10, 3, 1, "bt709", False).tolist() == [940, 64, 204, 512, 512, 435, 512, 512, 848]
    assert from_rgb(rgb, fmt, 3, 1, "bt709", True).tolist() == [255, 0, 41, 128, 128, 106, 128, 128, 224]
    out = to_rgb(np.array([940, 64, 512, 512, 512, 512], "<u2"), NATIVE["yuv444p10le"], 2, 1, "bt709", False)
    assert np.array_equal(out, np.array([[[1, 1, 1], [0, 0, 0]]], np.float32))


@pytest.mark.parametrize("name", ["yuv420p10le", "gray", "gbrp12le", "rgb24"])
def test_to_rgb_writes_into_a_given_batch_slot(name: str) -> None:
    fmt, w, h = NATIVE[name], 7, 5
    buf = _random_legal(fmt, w, h, True, seed=3)
    batch = np.full((2, 2, h, w, 3), -1.0, np.float32)
    got = to_rgb(buf, fmt, w, h, "bt709", True, out=batch[1, 0])
    assert np.shares_memory(got, batch)
    assert np.array_equal(batch[1, 0], to_rgb(buf, fmt, w, h, "bt709", True))
    assert np.all(batch[0] == -1.0) and np.all(batch[1, 1] == -1.0)
    with pytest.raises(ValueError, match="out must be float32"):
        to_rgb(buf, fmt, w, h, "bt709", True, out=np.empty((h, w, 3), np.float64))


def test_out_of_range_values_are_clipped_to_legal_codes() -> None:
    fmt = NATIVE["yuv420p"]
    rgb = np.full((2, 2, 3), 2.0, np.float32)
    rgb[0, 0] = -1.0
    out = from_rgb(rgb, fmt, 2, 2, "bt709", False)
    assert out.min() >= 16 and out[:4].max() <= 235 and out[4:].max() <= 240
    assert to_rgb(out, fmt, 2, 2, "bt709", False, clip=True).max() <= 1.0


def test_alpha_helpers() -> None:
    fmt = NATIVE["yuva420p10le"]
    rgb = np.zeros((4, 6, 3), np.float32)
    opaque = from_rgb(rgb, fmt, 6, 4, "bt709", False)
    assert np.all(fmt.planes(opaque, 6, 4)[3] == 1023)
    alpha = np.linspace(0, 1, 24, dtype=np.float32).reshape(4, 6)
    buf = from_rgb(rgb, fmt, 6, 4, "bt709", False, alpha=alpha)
    assert np.abs(get_alpha(buf, fmt, 6, 4) - alpha).max() <= 0.5 / 1023 + 1e-6
    put_alpha(buf, fmt, 6, 4, np.zeros((4, 6), np.float32))
    assert np.all(fmt.planes(buf, 6, 4)[3] == 0)
    with pytest.raises(ValueError, match="yuv420p has no alpha plane"):
        get_alpha(NATIVE["yuv420p"].empty(2, 2), NATIVE["yuv420p"], 2, 2)


def test_matrices_are_the_standard_ones() -> None:
    assert MATRICES["bt709"] == (0.2126, 0.0722)
    assert MATRICES["smpte170m"] == MATRICES["bt470bg"] == (0.299, 0.114)
    assert MATRICES["bt2020nc"] == (0.2627, 0.0593)


# --- against ffmpeg -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zscale(ffmpeg_exe: str) -> str:
    probe = subprocess.run([ffmpeg_exe, "-v", "error", "-h", "filter=zscale"], capture_output=True, text=True,
                           check=False)
    if "Unknown filter" in probe.stdout + probe.stderr or probe.returncode:
        pytest.skip("this ffmpeg has no zscale")
    return ffmpeg_exe


@pytest.fixture(scope="module")
def blurred_testsrc(ffmpeg_exe: str) -> bytes:
    """A 160x120 testsrc2 frame, blurred, as gbrpf32le (zimg reads it as exact RGB)."""
    return _ffmpeg(ffmpeg_exe, ["-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", "-vf",
                                "gblur=sigma=2,format=gbrpf32le", "-f", "rawvideo", "-"])


ZCASES = [(n, m, None) for n in ("yuv444p", "yuv444p10le") for m in ZIMG] + [
    ("yuv420p", "bt709", s) for s in SITINGS] + [
    ("yuv420p10le", "bt2020nc", None), ("yuv422p", "bt709", None), ("yuv422p", "bt709", "center")]


@pytest.mark.parametrize("name, matrix, siting", ZCASES)
@pytest.mark.parametrize("full", [False, True])
def test_to_rgb_matches_zimg(zscale: str, blurred_testsrc: bytes, name: str, matrix: str,
                             siting: Optional[str], full: bool) -> None:
    """zimg with a bilinear chroma filter at the same siting is the same operation in float:
    the whole frame (edges included) agrees to float32 precision. For 4:4:4, from_rgb agrees
    with zimg's RGB -> YUV to within one code value (rounding)."""
    w, h, fmt = 160, 120, NATIVE[name]
    loc = {None: "left"}.get(siting, siting)
    rng = "full" if full else "limited"
    raw = _ffmpeg(zscale, _raw_in("gbrpf32le", w, h) + [
        "-vf", f"zscale=m={ZIMG[matrix]}:r={rng}:c={loc}:f=bilinear,format={name}", "-f", "rawvideo", "-"],
        blurred_testsrc)
    ref = _ffmpeg(zscale, _raw_in(name, w, h) + [
        "-vf", f"zscale=min={ZIMG[matrix]}:rin={rng}:cin={loc}:f=bilinear:m=gbr,format=gbrpf32le",
        "-f", "rawvideo", "-"], raw)
    mine = to_rgb(raw, fmt, w, h, matrix, full, siting, clip=False)
    assert np.abs(mine - _planar_rgb(ref, w, h)).max() < 1e-5
    if fmt.chroma_log2 == (0, 0):
        back = from_rgb(_planar_rgb(blurred_testsrc, w, h), fmt, w, h, matrix, full, siting)
        assert _max_code_diff(back, np.frombuffer(raw, fmt.dtype)) <= 1


@pytest.mark.parametrize("name", ["yuv444p", "yuv444p10le"])
@pytest.mark.parametrize("full", [False, True])
def test_smpte240m_matches_swscale(ffmpeg_exe: str, name: str, full: bool) -> None:
    """zimg has no SMPTE-240M matrix in ffmpeg 5.1's zscale; swscale does, within its own
    precision (its float output is about one 8-bit code off at worst)."""
    w, h, fmt = 64, 48, NATIVE[name]
    rng = "pc" if full else "tv"
    src = _ffmpeg(ffmpeg_exe, ["-f", "lavfi", "-i", f"testsrc2=s={w}x{h}", "-frames:v", "1",
                               "-pix_fmt", "rgb24", "-f", "rawvideo", "-"])
    raw = _ffmpeg(ffmpeg_exe, _raw_in("rgb24", w, h) + [
        "-vf", f"scale=out_color_matrix=smpte240m:out_range={rng}:flags=accurate_rnd+full_chroma_int,format={name}",
        "-f", "rawvideo", "-"], src)
    ref = _ffmpeg(ffmpeg_exe, _raw_in(name, w, h) + [
        "-vf", f"scale=in_color_matrix=smpte240m:in_range={rng}:flags=accurate_rnd+full_chroma_int,format=gbrpf32le",
        "-f", "rawvideo", "-"], raw)
    assert np.abs(to_rgb(raw, fmt, w, h, "smpte240m", full) - _planar_rgb(ref, w, h)).max() < 0.0045
    if fmt.depth == 8:
        rgb = np.frombuffer(src, np.uint8).reshape(h, w, 3) / np.float32(255)
        back = from_rgb(rgb, fmt, w, h, "smpte240m", full)
        assert _max_code_diff(back, np.frombuffer(raw, fmt.dtype)) <= 1


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_every_native_decodes_to_the_right_colour(ffmpeg_exe: str, name: str) -> None:
    """Plane order and component meaning for every native: a flat colour made by ffmpeg in that
    format (BT.601 limited for YUV, full-range luma for gray) comes back as that colour."""
    fmt, w, h = NATIVE[name], 16, 8
    colour = np.array([0xC0, 0x30, 0x60]) / 255.0
    conv = "" if fmt.is_rgb or fmt.is_gray else "scale=out_color_matrix=bt601:out_range=tv,"
    raw = _ffmpeg(ffmpeg_exe, ["-f", "lavfi", "-i", f"color=c=0xC03060:s={w}x{h}:r=1", "-frames:v", "1",
                               "-vf", f"format=rgb24,{conv}format={name}", "-f", "rawvideo", "-"])
    rgb = to_rgb(raw, fmt, w, h, "smpte170m", fmt.is_gray)
    expected = np.full(3, colour @ np.array([0.299, 0.587, 0.114])) if fmt.is_gray else colour
    assert np.abs(rgb - expected).max() < 2.5 / 255, rgb[0, 0]


@pytest.fixture(scope="module")
def hdbars(ffmpeg_exe: str) -> bytes:
    """The issue's smptehdbars frame: 1280x720 BT.709 limited yuv420p."""
    return _ffmpeg(ffmpeg_exe, ["-f", "lavfi", "-i", "smptehdbars=size=1280x720:rate=25", "-frames:v", "1",
                                "-vf", "scale=out_color_matrix=bt709,format=yuv420p", "-f", "rawvideo", "-"])


def _bars(y: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges (inner, 8 px margin) of the flat top-row bars, from one luma row."""
    row = y[100].astype(int)
    edges = [0] + [x for x in range(1, row.size) if row[x] != row[x - 1]] + [row.size]
    return [(a + 8, b - 8) for a, b in zip(edges, edges[1:]) if b - a >= 64]


def test_hdbars_match_swscale_on_the_bars(ffmpeg_exe: str, hdbars: bytes) -> None:
    fmt, w, h = NATIVE["yuv420p"], 1280, 720
    y = fmt.planes(hdbars, w, h)[0]
    bars = _bars(y)
    assert len(bars) >= 7
    ref = _planar_rgb(_ffmpeg(ffmpeg_exe, _raw_in("yuv420p", w, h) + [
        "-vf", "scale=in_color_matrix=bt709:in_range=tv:flags=accurate_rnd+full_chroma_int,format=gbrpf32le",
        "-f", "rawvideo", "-"], hdbars), w, h)
    mine = to_rgb(hdbars, fmt, w, h, "bt709", False)
    for a, b in bars:
        assert np.abs(mine[40:380, a:b] - ref[40:380, a:b]).max() < 0.0045, (a, b)


@pytest.mark.parametrize("clip, tolerance", [(True, 1.0), (False, 0.0)])
def test_hdbars_bar_means_survive_the_round_trip(hdbars: bytes, clip: bool, tolerance: float) -> None:
    """Within one code value through the clipped RGB a model sees (the red, blue and magenta
    bars of this frame lie a little outside the BT.709 gamut, G < 0, so clipping moves their
    chroma by one code), and exactly without clipping."""
    fmt, w, h = NATIVE["yuv420p"], 1280, 720
    back = from_rgb(to_rgb(hdbars, fmt, w, h, "bt709", False, clip=clip), fmt, w, h, "bt709", False)
    before, after = fmt.planes(hdbars, w, h), fmt.planes(back, w, h)
    for a, b in _bars(before[0]):
        for i, (p, q) in enumerate(zip(before, after)):
            sy, sx = (1, 1) if i == 0 else (2, 2)
            area = (slice(40 // sy, 380 // sy), slice(a // sx, b // sx))
            assert abs(float(p[area].mean()) - float(q[area].mean())) <= tolerance, (i, a, b)


@pytest.mark.parametrize("siting", SITINGS)
@pytest.mark.parametrize("name", ["yuv420p", "yuv422p10le"])
def test_downsampling_filters_out_what_chroma_cannot_carry(name: str, siting: Optional[str]) -> None:
    """Columns (and rows) alternating red and blue: the subsampled chroma is their average, not
    one of them (point sampling would alias to pure red or pure blue)."""
    fmt, w, h = NATIVE[name], 24, 16
    yy, xx = np.mgrid[0:h, 0:w]
    red = ((xx + yy) % 2 == 0)[..., None]
    rgb = np.where(red, np.float32([1, 0, 0]), np.float32([0, 0, 1])).astype(np.float32)
    mid = from_rgb(np.full((h, w, 3), [0.5, 0, 0.5], np.float32), fmt, w, h, "bt709", False, siting)
    out = from_rgb(rgb, fmt, w, h, "bt709", False, siting)
    for p, q in list(zip(fmt.planes(out, w, h), fmt.planes(mid, w, h)))[1:]:
        assert _max_code_diff(p[1:-1, 1:-1], q[1:-1, 1:-1]) <= 1
