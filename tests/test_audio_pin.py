"""Sound that lands on its picture inside slowed ranges (--audio-stretch pin, the default):
the issue's clip (25 fps, so every flash starts on a frame and the source offsets are 0;
flashes and 1 kHz beeps at 1.52 s and 2.48 s inside --range 1s:3s and at 4.52 s after it) in
.mp4 (48 kHz AAC mono), .mkv (44.1 kHz FLAC stereo) and .mov (PCM 5.1), with --jobs 2, after
three ranges; every beep within 10 ms of its flash, by events. Then the two defects that gave
wrong output with exit code 0: a beep on the first frame after a range (atempo's lookahead),
and audio shorter than the video. Run with DS_SLOWMO_FFMPEG set to each ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import audio_seconds, av_offsets, make_flash_beep_clip, probe_video, run_cli

from ds_slowmo.ffmpeg import find_ffmpeg

TOLERANCE = 0.010
WHITE = 228  # the first white frame, as the issue measures (a blend towards it is grey)
AT = (1.52, 2.48, 4.52)
KINDS = {  # the source's container and audio
    "mp4": ("in.mp4", ()),
    "mkv": ("in.mkv", ("-c:a", "flac", "-ar", "44100", "-ac", "2")),
    "mov": ("in.mov", ("-c:a", "pcm_s16le", "-ac", "6")),
}
ONE = ("--range", "1s:3s")
THREE = ("--range", "1s:2s", "--range", "2.2s:3s", "--range", "3.4s:4s")


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pin")
    return {k: make_flash_beep_clip(d / name, seconds=5, rate="25", at=AT, extra=extra) for k, (name, extra) in KINDS.items()}


def assert_on_flashes(source: Path, output: Path, n: int = 3) -> None:
    """Every beep within TOLERANCE of its flash (the source's own offsets are 0, so this is
    both the absolute and the relative measure)."""
    before = av_offsets(source, white=WHITE)
    assert max(map(abs, before)) <= 0.001, before
    after = av_offsets(output, white=WHITE)
    assert len(after) == n, after
    assert max(map(abs, after)) <= TOLERANCE, f"beeps off their flashes by {[round(x * 1000, 1) for x in after]} ms"


def slowed(clips, tmp_path, kind, factor, ranges, *extra):
    out = tmp_path / f"o{Path(KINDS[kind][0]).suffix}"
    proc = run_cli(str(clips[kind]), "-o", str(out), "--factor", str(factor), "--no-scene-detect", *ranges, *extra)
    assert proc.returncode == 0, proc.stderr
    return out


CASES = [("mp4", f, ONE) for f in (2, 3, 4, 8, 16)] + [(k, f, ONE) for k in ("mkv", "mov") for f in (4, 16)] + [
    ("mp4", 4, THREE), ("mp4", 16, THREE), ("mkv", 8, THREE)]  # fmt: skip
HEAVY = [(k, f, ONE) for k in ("mkv", "mov") for f in (2, 3, 8)] + [
    (k, f, THREE) for k, f in (("mp4", 2), ("mp4", 3), ("mp4", 8), ("mkv", 4), ("mkv", 16), ("mov", 4), ("mov", 16))]  # fmt: skip


@pytest.mark.parametrize("kind, factor, ranges", CASES, ids=lambda v: "three" if v == THREE else ("one" if v == ONE else str(v)))
def test_beeps_inside_and_after_slowed_ranges_start_with_their_flashes(clips, tmp_path, kind, factor, ranges):
    assert_on_flashes(clips[kind], slowed(clips, tmp_path, kind, factor, ranges))


@pytest.mark.parametrize("factor", [4, 8, 16])
def test_a_flash_taken_for_a_scene_cut_starts_with_its_beep(clips, tmp_path, factor):
    """With scene detection on (the default), a flash is a cut: its in-betweens are copies, and
    they copied the nearer frame, so the white picture came half a slowed gap before its beep
    (40, 120, 280 ms at x4, x8, x16). They hold the frame before the cut now."""
    out = tmp_path / "o.mp4"
    proc = run_cli(str(clips["mp4"]), "-o", str(out), "--factor", str(factor), *ONE, "-v")
    assert proc.returncode == 0, proc.stderr
    assert "scene cut between frames" in proc.stderr
    assert_on_flashes(clips["mp4"], out)


@pytest.mark.slow
@pytest.mark.parametrize("kind, factor, ranges", HEAVY, ids=lambda v: "three" if v == THREE else ("one" if v == ONE else str(v)))
def test_the_rest_of_the_matrix(clips, tmp_path, kind, factor, ranges):
    assert_on_flashes(clips[kind], slowed(clips, tmp_path, kind, factor, ranges))


@pytest.mark.parametrize("kind, factor", [("mp4", 4), ("mkv", 16), ("mov", 8)])
def test_chunked_runs_stretch_the_same_way(clips, tmp_path, kind, factor):
    out = slowed(clips, tmp_path, kind, factor, ONE, "--jobs", "2", "--chunk-seconds", "1")
    assert_on_flashes(clips[kind], out)


def test_atempo_is_still_there_and_is_what_pinning_fixes(clips, tmp_path):
    out = slowed(clips, tmp_path, "mp4", 8, ONE, "--audio-stretch", "atempo")
    offsets = av_offsets(out, white=WHITE)
    assert min(offsets[:2]) < -0.1 and abs(offsets[2]) <= TOLERANCE  # early inside the range, exact after it


def test_mute_is_silence_of_the_stretched_length(clips, tmp_path):
    out = slowed(clips, tmp_path, "mkv", 4, ONE, "--audio", "mute")
    offsets = av_offsets(out, white=WHITE)
    assert len(offsets) == 3 and abs(offsets[2]) <= TOLERANCE  # the beep after the range, on its flash
    flashes_beeps = audio_seconds(out)
    assert flashes_beeps is not None and abs(flashes_beeps - probe_video(out)["frames"] / 25) < 0.03


# -- a beep on the first frame after a range (atempo read past the range's end) ----------------------
@pytest.fixture(scope="module")
def frame60(tmp_path_factory) -> Path:
    """24000/1001 fps, a flash and a beep on frame 60 (2.5025 s: sample 120120 exactly)."""
    return make_flash_beep_clip(tmp_path_factory.mktemp("f60") / "f60.mp4", rate="24000/1001", at=(0.5, 2.5025))


@pytest.mark.parametrize("stretch", ["pin", "atempo"])
@pytest.mark.parametrize("how", [("--fps", "60000/1001", "--range", "30:60", "--factor", "2"),
                                 ("--jobs", "2", "--chunk-seconds", "1", "--range", "1.4s:2.5s", "--factor", "4")],
                         ids=["fps", "jobs"])  # fmt: skip
def test_a_beep_right_after_a_range_is_not_pulled_into_it(frame60, tmp_path, stretch, how):
    out = tmp_path / "o.mp4"
    proc = run_cli(str(frame60), "-o", str(out), "--no-scene-detect", "--audio-stretch", stretch, *how)
    assert proc.returncode == 0, proc.stderr
    before, after = av_offsets(frame60, white=WHITE), av_offsets(out, white=WHITE)
    assert abs(after[1] - before[1]) <= TOLERANCE, (before, after)


# -- audio shorter than the video ------------------------------------------------------------------
SHORT_CONTAINERS = [".mp4", ".mov", ".mkv", ".ts", ".avi", ".nut", ".flv", ".webm"]


@pytest.fixture(scope="module")
def short_audio(tmp_path_factory) -> Path:
    """4 s of 25 fps video with 2 s of audio (a 440 Hz tone)."""
    import subprocess

    path = tmp_path_factory.mktemp("short") / "short.mkv"
    subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25,trim=end_frame=100",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-c:a", "flac", str(path)], check=True)  # fmt: skip
    return path


@pytest.mark.parametrize("ext, extra", [(e, ()) for e in SHORT_CONTAINERS] + [
    (".mkv", ("--encoder-args", "-c:a pcm_s16le")), (".mkv", ("--encoder-args", "-c:a flac"))],
    ids=lambda v: v if isinstance(v, str) else (v[1].split()[1] if v else ""))  # fmt: skip
def test_audio_shorter_than_the_video_is_padded_with_silence(short_audio, tmp_path, ext, extra):
    out = tmp_path / f"o{ext}"
    proc = run_cli(str(short_audio), "-o", str(out), "--range", "2.4s:3.6s", "--factor", "4", *extra)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    frames = probe_video(out)["frames"]
    assert frames == 190  # 100 + 30 gaps x 3
    seconds = audio_seconds(out)
    # exact in PCM and FLAC; a lossy codec's decoder also plays the encoder's padding of its
    # last frame (AAC, MP3, MP2, Opus: under 45 ms)
    slack = 0.001 if extra else 0.045
    assert seconds is not None and abs(seconds - 7.6) <= slack, seconds


def test_a_trim_of_short_audio_keeps_the_whole_length(short_audio, tmp_path):
    out = tmp_path / "t.mp4"
    proc = run_cli(str(short_audio), "-o", str(out), "--range", "2.4s:3.6s", "--factor", "4", "--trim", "2.4s:4s")
    assert proc.returncode == 0, proc.stderr
    frames = probe_video(out)["frames"]
    assert frames == 130
    seconds = audio_seconds(out)
    assert seconds is not None and abs(seconds - frames / 25) <= 0.025, seconds


# -- the feeders and decoders end with the run --------------------------------------------------------
def test_an_interrupted_run_leaves_no_decoder_and_no_file(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from helpers import REPO, ffmpeg_pids_mentioning, make_clip

    src = make_clip(tmp_path / "long.mkv", seconds=20, size="160x120")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "o.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "ds_slowmo", str(src), "-o", str(out), "--factor", "8", "--model", "blend"],
                            stderr=subprocess.PIPE, cwd=str(REPO))  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".o.mp4.part") for p in out_dir.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None, "run never started writing"
            time.sleep(0.05)
        time.sleep(1.0)  # the whole input is slowed: its audio decoder and stretcher are running
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and b"Traceback" not in err, err
    assert list(out_dir.iterdir()) == []
    time.sleep(0.2)
    assert not ffmpeg_pids_mentioning(src, out_dir)


def test_a_failing_encoder_ends_the_stretch_too(clips, tmp_path):
    from helpers import ffmpeg_pids_mentioning

    out = tmp_path / "o.mp4"
    proc = run_cli(str(clips["mkv"]), "-o", str(out), "--factor", "4", *ONE, "--encoder-args", "-c:a no_such_codec")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and proc.stderr.count("\n") <= 3, proc.stderr
    assert not out.exists() and not ffmpeg_pids_mentioning(clips["mkv"], tmp_path)


def test_every_track_is_pinned(clips, tmp_path):
    """Two tracks at their own rates (48 kHz AAC, 44.1 kHz PCM in French): each one's beeps on
    their flashes, each keeps its rate and tags."""
    import re
    import subprocess

    two = tmp_path / "two.mkv"
    subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(clips["mp4"]), "-map", "0:v", "-map", "0:a", "-map", "0:a",
                    "-c:v", "copy", "-c:a:0", "copy", "-c:a:1", "pcm_s16le", "-ar:a:1", "44100",
                    "-metadata:s:a:1", "language=fra", str(two)], check=True)  # fmt: skip
    out = tmp_path / "o.mkv"
    proc = run_cli(str(two), "-o", str(out), "--factor", "8", "--no-scene-detect", *ONE)
    assert proc.returncode == 0, proc.stderr
    for stream in (0, 1):
        offsets = av_offsets(out, stream, white=WHITE)
        assert len(offsets) == 3 and max(map(abs, offsets)) <= TOLERANCE, (stream, offsets)
    probe = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(out)], stderr=subprocess.PIPE, text=True).stderr
    assert re.search(r"Stream #0:2\(fra\): Audio: aac.*44100 Hz", probe), probe
