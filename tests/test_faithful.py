"""Faithful output (issue #11): every frame the model did not make leaves byte for byte as it
came in, in the input's own pixel format, with its colour tags and sample aspect ratio; what
the model makes is converted with the input's own matrix, range and bit depth."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from ds_slowmo import colour
from ds_slowmo.door import Colour, Door
from ds_slowmo.ffmpeg import find_ffmpeg
from ds_slowmo.models.blend import BlendInterpolator
from ds_slowmo.pixfmt import NATIVE
from ds_slowmo.plan import Copy, build_plan

N = 6  # source frames
TAGS = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]

# (input pix_fmt, extra tags, ways out): "mkv" = ffv1 file, "nutf" = rawvideo .nut file, pipes y4m and nut
FORMATS = [
    ("yuv420p", TAGS + ["-color_range", "tv"], ("mkv", "y4m", "nut")),
    ("yuv420p10le", TAGS, ("mkv", "y4m", "nut")),
    ("yuv422p", [], ("mkv", "y4m", "nut")),
    ("yuv444p", [], ("mkv", "y4m", "nut")),
    ("gray", [], ("mkv", "y4m", "nut")),
    ("gbrp", [], ("nutf", "nut")),
    ("rgb24", [], ("nutf", "nut")),
    ("yuvj420p", ["-color_range", "pc"], ("mkv", "nut")),
]


def ffmpeg(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run([find_ffmpeg(), "-hide_banner", "-v", "error", *args], input=stdin,
                          stdout=subprocess.PIPE, check=True).stdout  # fmt: skip


def make_input(folder: Path, pix_fmt: str, tags: list[str]) -> Path:
    """A moving test pattern in ``pix_fmt``, tagged: lossless ffv1 in mkv where it takes the
    format, raw in nut for RGB (which nut can't tag), MJPEG for yuvj (what cameras write)."""
    codec = {"gbrp": ("nut", "rawvideo"), "rgb24": ("nut", "rawvideo"), "yuvj420p": ("avi", "mjpeg")}
    ext, name = codec.get(pix_fmt, ("mkv", "ffv1"))
    path = folder / f"in-{pix_fmt}.{ext}"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", str(N), "-vf", f"format={pix_fmt}",
           "-c:v", name, "-pix_fmt", pix_fmt, *tags, "-y", str(path))  # fmt: skip
    return path


def md5s(src: "Path | bytes", fmt: str | None = None) -> list[str]:
    """framemd5 of every frame as decoded, in its own pixel format."""
    inp = ["-f", fmt, "-i", "pipe:0"] if isinstance(src, bytes) else ["-i", str(src)]
    out = ffmpeg(*inp, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "framemd5", "-",
                 stdin=src if isinstance(src, bytes) else None).decode()  # fmt: skip
    return [line.split(",")[-1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def stream_facts(src: "Path | bytes", fmt: str | None = None) -> dict:
    """pix_fmt, colour tags and SAR of the first video stream, as ffmpeg reads them."""
    inp = ["-f", fmt, "-i", "pipe:0"] if isinstance(src, bytes) else ["-i", str(src)]
    proc = subprocess.run([find_ffmpeg(), "-hide_banner", *inp, "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"],
                          input=src if isinstance(src, bytes) else None, capture_output=True)  # fmt: skip
    line = next(ln for ln in proc.stderr.decode().splitlines() if "Video:" in ln)
    rest = line.split("Video:", 1)[1]
    pix = rest.split(",")[1].strip() if "(" not in rest.split(",")[1] else rest.split(",")[1].split("(")[0].strip()
    return {"pix_fmt": pix.replace("yuvj", "yuv"), "line": line}


def kept_outputs(n: int, factor: int = 2) -> dict[int, int]:
    plan = build_plan(mode="slowmo", factor=factor, rate=Fraction(25), n_frames=n)
    return {k: s.src for k, s in enumerate(plan.steps(n)) if isinstance(s, Copy)}


def run_way(src: Path, way: str, tmp: Path, model: str) -> tuple["Path | bytes", str | None]:
    args = [str(src), "--factor", "2", "--model", model, "--audio", "drop"]
    if way in ("mkv", "nutf"):
        out = tmp / f"out-{way}.{ 'mkv' if way == 'mkv' else 'nut'}"
        extra = ["--encoder-args", "-c:v ffv1"] if way == "mkv" else []
        proc = run_cli(*args, "-o", str(out), "-y", *extra)
        assert proc.returncode == 0, proc.stderr
        return out, None
    fmt = "yuv4mpegpipe" if way == "y4m" else "nut"
    proc = run_cli(*args, "-f", way)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, fmt


@pytest.mark.parametrize("pix_fmt, tags, ways", FORMATS, ids=[f[0] for f in FORMATS])
def test_kept_frames_are_the_input_frames_byte_for_byte(tmp_path, pix_fmt, tags, ways):
    src = make_input(tmp_path, pix_fmt, tags)
    want = md5s(src)
    facts_in = stream_facts(src)
    for way in ways:
        out, fmt = run_way(src, way, tmp_path, "blend")
        got = md5s(out, fmt)
        assert len(got) == 2 * N - 1, way
        for k, i in kept_outputs(N).items():
            assert got[k] == want[i], (way, k, i)
        facts = stream_facts(out, fmt)
        assert facts["pix_fmt"] == facts_in["pix_fmt"] or (way == "mkv" and pix_fmt in ("gbrp", "rgb24")), (way, facts)
        for tag in ("bt709", "pc", "tv"):
            if tag in " ".join(tags) and way == "mkv":  # y4m and nut have no colour tags
                assert tag in facts["line"], (way, facts["line"])


@pytest.mark.slow
@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "gbrp", "yuvj420p"])
def test_kept_frames_survive_rife_too(tmp_path, pix_fmt):
    pytest.importorskip("paddle")
    tags = dict((f[0], f[1]) for f in FORMATS)[pix_fmt]
    src = make_input(tmp_path, pix_fmt, tags)
    want = md5s(src)
    out, fmt = run_way(src, "nut", tmp_path, "rife")
    got = md5s(out, fmt)
    assert [got[k] for k in kept_outputs(N)] == [want[i] for i in kept_outputs(N).values()]


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv420p10le", "yuv444p", "gray"])
@pytest.mark.parametrize("matrix", ["smpte170m", "bt709", "bt2020nc"])
@pytest.mark.parametrize("full", [False, True])
def test_the_door_gives_an_identical_pair_back(pix_fmt, matrix, full):
    """Interpolating between two identical frames through an RGB model gives that frame back
    within 1 code value at its own bit depth (the conversion both ways, at full precision)."""
    fmt = NATIVE[pix_fmt]
    w, h = 48, 32
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx / w), (yy / h), 0.5 + 0.3 * np.sin(xx / 5.0)], axis=-1).astype(np.float32) * 0.8 + 0.1
    frame = colour.from_rgb(rgb, fmt, w, h, matrix, full).view(np.uint8)

    class Identity:  # an RGB model that sees the frame and gives it back
        name = "identity"

        def interpolate(self, pairs, times):
            return np.repeat(pairs[:, :1], len(times), axis=1)

    door = Door(Identity(), fmt, w, h, Colour(matrix, full))
    out = door.mix([(frame, frame)], [Fraction(1, 2)])[0][0]
    a, b = frame.view(fmt.dtype).astype(int), out.view(fmt.dtype).astype(int)
    assert np.abs(a - b).max() <= 1


def test_blend_never_converts(tmp_path):
    """blend mixes the native samples: a 10-bit in-between is the exact 10-bit mean."""
    fmt = NATIVE["yuv420p10le"]
    rng = np.random.default_rng(1)
    a = rng.integers(64, 941, fmt.samples(16, 8)).astype("<u2")
    b = rng.integers(64, 941, fmt.samples(16, 8)).astype("<u2")
    door = Door(BlendInterpolator(), fmt, 16, 8, Colour())
    out = door.mix([(a.view(np.uint8), b.view(np.uint8))], [Fraction(1, 2)])[0][0].view("<u2")
    assert np.array_equal(out, (a.astype(int) + b + 1) // 2)


def bar_means(raw: bytes, w: int, h: int) -> np.ndarray:
    """Mean Y, U, V of each of the seven top bars of smptehdbars (yuv444p frames)."""
    planes = np.frombuffer(raw, np.uint8).reshape(-1, 3, h, w)
    xs = [int(w * (i + 0.5) / 8 * 0.75 + w / 8) for i in range(7)]  # bar centres in the top band
    return np.array([[p[:, h // 4 : h // 2, x - 4 : x + 4].mean(axis=(1, 2)) for x in xs] for p in planes])


def test_bt709_hd_bars_keep_their_colours(tmp_path):
    """The issue's example: every bar's mean Y/U/V within 1 code value, kept and mixed frames."""
    src = tmp_path / "hd.mp4"
    ffmpeg("-f", "lavfi", "-i", "smptehdbars=size=1280x720:rate=25", "-t", "0.2", "-vf",
           "scale=out_color_matrix=bt709,format=yuv420p", *TAGS, "-c:v", "libx264", "-crf", "0", "-y", str(src))  # fmt: skip
    out = tmp_path / "out.mp4"
    proc = run_cli(str(src), "-o", str(out), "--factor", "2", "--crf", "0")
    assert proc.returncode == 0, proc.stderr
    raw = lambda p: ffmpeg("-i", str(p), "-f", "rawvideo", "-pix_fmt", "yuv444p", "-")  # noqa: E731
    before, after = bar_means(raw(src), 1280, 720), bar_means(raw(out), 1280, 720)
    assert len(after) == 2 * len(before) - 1
    for k in range(len(after)):
        assert np.abs(after[k] - before[k // 2]).max() <= 1, k
    assert "bt709" in stream_facts(out)["line"]


def test_hlg_10bit_stays_10bit_with_its_tags(tmp_path):
    src = tmp_path / "hlg.mkv"
    # tagged on the frames (setparams): ffmpeg 9's encoders ignore output-side colour options
    tags = "setparams=color_trc=arib-std-b67:color_primaries=bt2020:colorspace=bt2020nc:range=tv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-vf", f"format=yuv420p10le,{tags}",
           "-c:v", "ffv1", "-y", str(src))  # fmt: skip
    out = tmp_path / "out.mkv"
    assert run_cli(str(src), "-o", str(out)).returncode == 0
    line = stream_facts(out)["line"]
    assert "yuv420p10le" in line and "bt2020nc/bt2020/arib-std-b67" in line, line
    proc = run_cli(str(src))
    header = proc.stdout.split(b"\n", 1)[0]
    assert b"C420p10" in header, header
    assert md5s(proc.stdout, "yuv4mpegpipe")[0] == md5s(src)[0]


def test_sar_is_kept_and_rotation_stays_upright(tmp_path):
    sar = tmp_path / "sar.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-vf", "setsar=32/27",
           "-c:v", "libx264", "-y", str(sar))  # fmt: skip
    out = tmp_path / "sar-out.mp4"
    assert run_cli(str(sar), "-o", str(out)).returncode == 0
    assert "SAR 32:27" in stream_facts(out)["line"]
    plain, rot = tmp_path / "plain.mp4", tmp_path / "rot.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-c:v", "libx264", "-y", str(plain))
    # a phone's display matrix; ffmpeg 5.1 can't write one, so the bundled ffmpeg makes the clip
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-display_rotation", "90", "-i", str(plain),
                    "-c", "copy", "-y", str(rot)], check=True)  # fmt: skip
    out = tmp_path / "rot-out.mkv"
    proc = run_cli(str(rot), "-o", str(out), "--encoder-args", "-c:v ffv1")
    assert proc.returncode == 0, proc.stderr
    upright = ffmpeg("-i", str(rot), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
    got = ffmpeg("-i", str(out), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-")
    assert len(got) == len(upright) == 96 * 64 and got == upright
    assert " 64x96" in stream_facts(out)["line"]


def geometry(src: "Path | bytes", fmt: str | None = None) -> tuple[str, str, str]:
    """Size, SAR and DAR of the first video stream as ffmpeg reads them (``160x120``, ``4:3``,
    ``16:9``; a square SAR may go unprinted: ``1:1``)."""
    import re

    line = stream_facts(src, fmt)["line"]
    size, aspect = re.search(r", (\d+x\d+)\b", line), re.search(r"SAR (\d+:\d+) DAR (\d+:\d+)", line)
    assert size, line
    return size.group(1), aspect.group(1) if aspect else "1:1", aspect.group(2) if aspect else ""


@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_a_rotated_anamorphic_video_comes_out_upright_with_its_aspect(tmp_path, degrees):
    """160x120 at SAR 4:3 turned 90 degrees is 120x160 at SAR 3:4 (DAR 9:16), as plain ffmpeg
    decodes it: the SAR turns with the picture (it stayed 4:3, DAR 1:1)."""
    import imageio_ffmpeg

    plain, rot = tmp_path / "plain.mp4", tmp_path / f"rot{degrees}.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-frames:v", "4", "-vf", "setsar=4/3",
           "-c:v", "libx264", "-y", str(plain))  # fmt: skip
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-display_rotation", str(degrees), "-i", str(plain),
                    "-c", "copy", "-y", str(rot)], check=True)  # fmt: skip
    ours, theirs = tmp_path / "ours.mkv", tmp_path / "theirs.mkv"
    proc = run_cli(str(rot), "-o", str(ours), "--encoder-args", "-c:v ffv1")
    assert proc.returncode == 0, proc.stderr
    ffmpeg("-i", str(rot), "-c:v", "ffv1", "-y", str(theirs))
    assert geometry(ours) == geometry(theirs) == (("120x160", "3:4", "9:16") if degrees != 180 else ("160x120", "4:3", "16:9"))
    assert md5s(ours)[::2] == md5s(theirs)  # the kept frames, byte for byte


def test_hdr10_metadata_in_the_stream_is_noted_as_not_kept(tmp_path):
    """HEVC carries HDR10's mastering display and light levels in its SEI, which only a decoded
    frame shows: the note the README promises must come for it too."""
    src = tmp_path / "hdr10.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-pix_fmt", "yuv420p10le",
           "-c:v", "libx265", "-x265-params",
           "log-level=error:hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
           ":max-cll=1000,400", "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
           "-y", str(src))  # fmt: skip
    proc = run_cli(str(src), "-o", str(tmp_path / "o.mkv"))
    assert proc.returncode == 0, proc.stderr
    assert "not kept: the HDR mastering-display and content-light metadata (MaxCLL=1000, MaxFALL=400)" in proc.stderr
    plain = run_cli(str(tmp_path / "o.mkv"), "-o", str(tmp_path / "again.mkv"))
    assert plain.returncode == 0 and "HDR" not in plain.stderr  # the output has none to lose


def test_chunks_of_a_10bit_input_join_bit_identical(tmp_path):
    src = tmp_path / "ten.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "100", "-pix_fmt", "yuv420p10le",
           *TAGS, "-c:v", "libx264", "-g", "25", "-crf", "10", "-y", str(src))  # fmt: skip
    single, chunked = tmp_path / "single.mkv", tmp_path / "chunked.mkv"
    common = ["--factor", "2", "--range", "10:30", "--encoder-args", "-c:v ffv1"]
    assert run_cli(str(src), "-o", str(single), *common).returncode == 0
    proc = run_cli(str(src), "-o", str(chunked), "--jobs", "2", "--chunk-seconds", "1", *common)
    assert proc.returncode == 0, proc.stderr
    assert md5s(single) == md5s(chunked)
    assert "yuv420p10le" in stream_facts(chunked)["line"] and "bt709" in stream_facts(chunked)["line"]


def test_alpha_is_kept_or_dropped_with_a_word(tmp_path):
    src = tmp_path / "alpha.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25", "-frames:v", "4", "-vf", "format=argb",
           "-c:v", "qtrle", "-y", str(src))  # fmt: skip
    keep = tmp_path / "keep.nut"
    proc = run_cli(str(src), "-o", str(keep))
    assert proc.returncode == 0, proc.stderr
    assert "gbrap" in stream_facts(keep)["line"] or "argb" in stream_facts(keep)["line"]
    drop = tmp_path / "drop.mp4"
    proc = run_cli(str(src), "-o", str(drop))
    assert proc.returncode == 0, proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "alpha" in line]) == 1, proc.stderr


@pytest.mark.parametrize("pix_fmt, w, h", [("yuv420p", 64, 48), ("yuv420p", 9, 7), ("yuv422p10le", 161, 121), ("gray", 1, 1)])
def test_thumbnails_of_any_size_are_finite_block_means(pix_fmt, w, h):
    """Frames smaller than the thumbnail grid, or with odd sizes, still give every cell a mean
    of real samples (a flat frame gives that flat colour everywhere)."""
    import warnings

    fmt = NATIVE[pix_fmt]
    rgb = np.full((h, w, 3), 0.5, np.float32)
    frame = colour.from_rgb(rgb, fmt, w, h, "bt709", False).view(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cells = Door(BlendInterpolator(), fmt, w, h, Colour()).thumb(frame).cells
    assert np.isfinite(cells).all() and np.abs(cells - 127.5).max() < 2
