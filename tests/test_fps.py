"""``--fps TARGET`` end to end: exact counts and rates, audio as long as the video, and each
output frame showing the moment its clock says (a moving bar whose centre encodes time)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import audio_seconds, decode_frames, make_clip, probe_video, run_cli

from ds_slowmo.ffmpeg import find_ffmpeg
from ds_slowmo.plan import Copy, build_plan, parse_span

LOSSLESS = ["--encoder-args", "-c:v ffv1 -pix_fmt bgr0"]


@pytest.fixture(scope="module")
def bar25(tmp_path_factory) -> Path:
    """25 fps, 50 frames: a white bar 4 px wide whose left edge is at x = 2 * frame number."""
    path = tmp_path_factory.mktemp("fps") / "bar.mkv"
    on = "if(between(X,2*N,2*N+3),255,0)"
    graph = f"color=c=black:s=160x32:r=25,format=gbrp,geq=r='{on}':g='{on}':b='{on}'"
    argv = [find_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", graph, "-frames:v", "50", "-c:v", "ffv1",
            "-pix_fmt", "bgr0", str(path)]  # fmt: skip
    subprocess.run(argv, check=True)
    return path


def bar_position(frame: np.ndarray) -> float:
    """Source position (in frames) the bar shows: its intensity-weighted centre, / 2 px."""
    weight = frame[:, :, 0].astype(np.float64).sum(axis=0)
    return float((weight * np.arange(frame.shape[1])).sum() / weight.sum() - 1.5) / 2


def test_25_to_60_each_frame_shows_its_planned_moment(bar25, tmp_path):
    out = tmp_path / "out.mkv"
    proc = run_cli(str(bar25), "-o", str(out), "--fps", "60", *LOSSLESS)
    assert proc.returncode == 0, proc.stderr
    plan = build_plan(mode="fps", factor=2, rate=Fraction(25), n_frames=50, target=Fraction(60))
    steps = list(plan.steps(50))
    src, got = decode_frames(bar25), decode_frames(out)
    assert probe_video(out)["rate"] == 60 and len(got) == len(steps) == 120
    for k, (frame, step) in enumerate(zip(got, steps)):
        if isinstance(step, Copy):
            assert np.array_equal(frame, src[step.src]), k  # copies are the source, byte for byte
        if Fraction(k, 60) <= Fraction(49, 25):  # before the held tail: within 1/120 s of k/60
            assert abs(bar_position(frame) / 25 - k / 60) <= 1 / 120, k


def test_ntsc_film_to_5994_counts_rate_and_audio(tmp_path):
    clip = make_clip(tmp_path / "in.mp4", rate="24000/1001", seconds=2)
    out = tmp_path / "out.mp4"
    proc = run_cli(str(clip), "-o", str(out), "--fps", "59.94")
    assert proc.returncode == 0, proc.stderr
    src, info = probe_video(clip), probe_video(out)
    assert info["rate"] == Fraction(60000, 1001) and info["frames"] == -(-src["frames"] * 5 // 2)
    # the duration is kept (to within one output frame), and the audio is the input's, untouched
    assert 0 <= info["frames"] / info["rate"] - src["frames"] / src["rate"] < 1 / info["rate"]
    audio_in, audio_out = audio_seconds(clip), audio_seconds(out)
    assert audio_in is not None and audio_out == audio_in


def test_slow_a_range_and_raise_the_rate_through_a_pipe(tmp_path):
    clip = make_clip(tmp_path / "in.y4m", rate="25", seconds=2, audio=False, pix_fmt="yuv444p")
    proc = run_cli("-", "--fps", "50", "--range", "10:20", "--factor", "3", "--trim", "5:45", stdin=clip.read_bytes())
    assert proc.returncode == 0, proc.stderr
    plan = build_plan(mode="slowmo", factor=3, rate=Fraction(25), n_frames=50, ranges=[parse_span("10:20")],
                      trim=parse_span("5:45", "--trim"), target=Fraction(50))  # fmt: skip
    info = probe_video(proc.stdout, "yuv4mpegpipe")
    assert info["rate"] == 50 and info["frames"] == plan.output_count(50) == 2 * (40 + 10 * 2)


def test_fps_alone_refuses_a_factor():
    proc = run_cli("-", "--fps", "60", "--factor", "3", stdin=b"")
    assert proc.returncode == 2 and "--fps without --range" in proc.stderr


def test_slow_a_range_and_raise_the_rate_keeps_audio_in_step(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", rate="25", seconds=2)
    common = [str(clip), "--range", "0.4s:0.8s", "--factor", "3", "--trim", "0.2s:1.6s"]
    at60, at25 = tmp_path / "at60.mkv", tmp_path / "at25.mkv"
    for out, extra in ((at60, ["--fps", "60"]), (at25, [])):
        proc = run_cli(*common, "-o", str(out), *extra)
        assert proc.returncode == 0, proc.stderr
    plan = build_plan(mode="slowmo", factor=3, rate=Fraction(25), n_frames=50, ranges=[parse_span("0.4s:0.8s")],
                      trim=parse_span("0.2s:1.6s", "--trim"), target=Fraction(60))  # fmt: skip
    info = probe_video(at60)
    assert info["rate"] == 60 and info["frames"] == plan.output_count(50) == 132  # 2.2 s, as at 25 fps
    assert probe_video(at25)["frames"] == 55
    # the same slowed audio as the same slow motion at the input's rate
    audio = audio_seconds(at60)
    assert audio is not None and audio == audio_seconds(at25)
