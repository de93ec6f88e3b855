"""Frame-exact seeking (issue #12 section 2) and variable frame rate (section 3), with real
ffmpeg on small generated clips. Frames are compared by md5 of their rgb24 bytes against plain
ffmpeg decoding the whole file from its start, which defines frame numbers."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo import ffmpeg as ff
from ds_slowmo import timeline as tl
from ds_slowmo.config import Config
from ds_slowmo.ffmpeg import find_ffmpeg
from ds_slowmo.parallel import run_chunked
from ds_slowmo.pipeline import run
from ds_slowmo.plan import parse_span

S = "testsrc2=size=160x120"
CLIPS = {
    "mp4": ["-f", "lavfi", "-i", f"{S}:rate=25", "-t", "4", "-g", "12", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "offset.mkv": [],  # see _make
    "avi": ["-f", "lavfi", "-i", f"{S}:rate=2997/125", "-t", "4", "-c:v", "mpeg4", "-bf", "2"],
    "gop.ts": ["-f", "lavfi", "-i", f"{S}:rate=25", "-t", "4", "-c:v", "libx264", "-g", "12",
               "-pix_fmt", "yuv420p", "-output_ts_offset", "10", "-f", "mpegts"],
    "default.ts": ["-f", "lavfi", "-i", f"{S}:rate=25", "-t", "4"],
    "vfr.mp4": ["-f", "lavfi", "-i", f"{S}:rate=25:d=2", "-f", "lavfi", "-i", f"{S}:rate=12.5:d=2",
                "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0", "-fps_mode", "vfr", "-g", "12", "-c:v", "libx264",
                "-pix_fmt", "yuv420p"],
}  # fmt: skip
STARTS = (1, 11, 20, 37, 58)  # with 12-frame GOPs, all but 1 and 11 seek (and are checked)


def _make(exe: str, folder: Path, name: str) -> Path:
    path = folder / (name if "." in name else f"clip.{name}")
    if name == "offset.mkv":  # audio first, video 23 ms later, the same with ffmpeg 5.1 and 9.0
        video, audio = folder / "v.mkv", folder / "a.wav"
        subprocess.run([exe, "-v", "error", "-y", "-f", "lavfi", "-i", f"{S}:rate=25", "-t", "4", "-g", "12", "-c:v", "libx264",
                        "-pix_fmt", "yuv420p", str(video)], check=True)  # fmt: skip
        subprocess.run([exe, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=d=4", str(audio)], check=True)
        argv = [exe, "-v", "error", "-y", "-itsoffset", "0.023", "-i", str(video), "-i", str(audio),
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "pcm_s16le", str(path)]  # fmt: skip
    else:
        argv = [exe, "-v", "error", "-y", *CLIPS[name], str(path)]
    subprocess.run(argv, check=True)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, ffmpeg_exe: str) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("seek")
    return {name: _make(ffmpeg_exe, folder, name) for name in CLIPS}


def _md5s(exe: str, path: Path, vf: str = "", frames: Optional[int] = None) -> list[str]:
    argv = [exe, "-v", "error", "-i", str(path), "-map", "0:v:0"] + (["-vf", vf] if vf else [])
    argv += ["-frames:v", str(frames)] if frames is not None else []
    argv += ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    data = subprocess.run(argv, stdout=subprocess.PIPE, check=True).stdout
    n = 160 * 120 * 3
    return [hashlib.md5(data[i : i + n]).hexdigest() for i in range(0, len(data), n)]


def _reference(exe: str, path: Path) -> list[str]:
    """What plain ffmpeg gives, frame by frame (VFR: its own fps filter at the nominal rate)."""
    info = ff.probe(str(path), exe)
    if info.vfr:
        r = info.rate
        n = ff.constant_rate(info)[0].n_frames
        return _md5s(exe, path, f"tpad=stop=-1:stop_mode=clone,fps={r.numerator}/{r.denominator}", n)
    return _md5s(exe, path)


def _run_fps2(exe: str, src: Path, out: Path, **kwargs: object) -> list[str]:
    cfg = Config(input=str(src), output=str(out), mode="fps", factor=2, model="blend", audio="drop",
                 encoder_args=("-c:v", "rawvideo", "-pix_fmt", "rgb24"), progress=False, overwrite=True,
                 **kwargs)  # type: ignore[arg-type]  # fmt: skip
    if cfg.jobs > 1:
        run_chunked(cfg)
    else:
        run(cfg)
    return _md5s(exe, out)[::2]  # fps x2 with blend: every other frame is a source frame


@pytest.mark.parametrize("name", list(CLIPS))
def test_trim_gives_exactly_the_frames_ffmpeg_selects(clips, ffmpeg_exe, tmp_path, name):
    ref = _reference(ffmpeg_exe, clips[name])
    for a in STARTS:
        got = _run_fps2(ffmpeg_exe, clips[name], tmp_path / "t.nut", trim=parse_span(f"{a}:{a + 3}", "--trim"))
        assert got == ref[a : a + 3], f"{name} --trim {a}:{a + 3}"


@pytest.mark.parametrize("name", ["avi", "offset.mkv", "gop.ts", "vfr.mp4"])
def test_jobs_give_the_single_runs_frames(clips, ffmpeg_exe, tmp_path, name):
    single = _run_fps2(ffmpeg_exe, clips[name], tmp_path / "one.nut")
    chunked = _run_fps2(ffmpeg_exe, clips[name], tmp_path / "two.nut", jobs=2, chunk_seconds=1.0)
    assert chunked == single
    assert single == _reference(ffmpeg_exe, clips[name])


@pytest.mark.parametrize("name", ["gop.ts", "offset.mkv", "vfr.mp4"])
def test_seeks_are_checked(clips, ffmpeg_exe, name):
    info = ff.constant_rate(ff.probe(str(clips[name]), ffmpeg_exe))[0]
    windows = tl.decode_windows(info.frame_times, info.keyframes, 37, 3)
    assert ff.checked_window(ffmpeg_exe, str(clips[name]), windows, info.cfr_rate).seek is not None
    lo, hi = windows[0].expect or (0, 0)
    wrong = [replace(w, expect=(hi, hi + 1)) for w in windows[:-1]] + windows[-1:]  # as if the seek overshot
    assert ff.checked_window(ffmpeg_exe, str(clips[name]), wrong, info.cfr_rate) == windows[-1]


def test_probe_offsets(clips, ffmpeg_exe):
    mkv = ff.probe(str(clips["offset.mkv"]), ffmpeg_exe)
    assert mkv.start == Fraction(23, 1000) and mkv.audio[0].start == 0 and not mkv.vfr
    ts = ff.probe(str(clips["gop.ts"]), ffmpeg_exe)
    assert ts.start == 0 and ts.keyframes[:3] == (0, 12, 24) and ts.n_frames == 100
    avi = ff.probe(str(clips["avi"]), ffmpeg_exe)
    assert avi.rate == Fraction(2997, 125) and avi.frame_times is None and avi.n_frames == 96
    vfr = ff.probe(str(clips["vfr.mp4"]), ffmpeg_exe)
    assert vfr.vfr and vfr.rate == 25


def test_vfr_count_matches_ffmpeg(clips, ffmpeg_exe):
    info = ff.probe(str(clips["vfr.mp4"]), ffmpeg_exe)
    assert info.frame_times is not None
    grid = tl.cfr_grid(info.frame_times, info.rate)
    # ffmpeg's own fps filter, each frame's content, up to where every version agrees
    assert _md5s(ffmpeg_exe, clips["vfr.mp4"], "fps=25")[: grid.count - 2] == [
        _md5s(ffmpeg_exe, clips["vfr.mp4"])[i] for i in grid.source[: grid.count - 2]
    ]
    # 2 s at 25 fps, then 2 s at 12.5 fps (ffmpeg 5.1's mp4 edit list drops the last frame, 9.0's keeps it)
    assert grid.frames == info.n_frames in (74, 75)
    slow = grid.frames - 50
    assert (grid.count, grid.duplicated, grid.dropped) == (50 + 2 * slow, slow, 0)


# ---------------------------------------------------------------------------------------------
# Pure timeline bookkeeping



@pytest.mark.parametrize("x, n", [(Fraction(1, 2), 1), (Fraction(3, 2), 2), (Fraction(-1, 2), -1),
                                  (Fraction(49, 100), 0), (Fraction(7), 7), (Fraction(-3, 2), -2)])  # fmt: skip
def test_round_half_up(x, n):
    assert tl.round_half_up(x) == n


def test_frame_times_untrusted():
    assert tl.frame_times([2, 0, 1], Fraction(1, 25)) == (0, Fraction(1, 25), Fraction(2, 25))
    assert tl.frame_times([0, None, 2], Fraction(1, 25)) is None
    assert tl.frame_times([0, 1, 1], Fraction(1, 25)) is None
    assert tl.frame_times([], Fraction(1, 25)) is None


def test_is_vfr_tolerates_rounded_time_bases():
    ms = Fraction(1, 1000)
    ntsc = [tl.round_half_up(Fraction(k * 1001, 30)) * ms for k in range(60)]  # 33 and 34 ms
    assert not tl.is_vfr(ntsc, ms)
    assert tl.is_vfr([Fraction(k, 25) for k in range(10)] + [Fraction(10, 25) + Fraction(k, 10) for k in range(1, 4)], ms)


def test_keyframe_indices_by_pts():
    times = (0, Fraction(1, 25), Fraction(2, 25), Fraction(3, 25))
    assert tl.keyframe_indices([3600 * 3, 0, 999], Fraction(1, 90000), times) == (0, 3)


@pytest.mark.parametrize("times, rate, first_slot, source", [
    ((Fraction(0), Fraction(1, 25), Fraction(2, 25)), Fraction(25), 0, (0, 1, 2)),
    ((Fraction(0), Fraction(2, 25), Fraction(4, 25)), Fraction(25), 0, (0, 0, 1, 1, 2, 2)),
    ((Fraction(0), Fraction(1, 50), Fraction(2, 50), Fraction(3, 50)), Fraction(25), 0, (0, 2)),  # 0.5 rounds up
    ((Fraction(23, 1000), Fraction(63, 1000)), Fraction(25), 1, (0, 1)),  # starts in slot round(0.575)
    ((Fraction(1),), Fraction(25), 25, (0,)),
    ((Fraction(0), Fraction(1, 1000)), Fraction(25), 0, (1,)),  # never empty
])  # fmt: skip
def test_cfr_grid_table(times, rate, first_slot, source):
    grid = tl.cfr_grid(times, rate)
    assert (grid.first_slot, grid.source) == (first_slot, source)
    assert grid.start == Fraction(first_slot) / rate


@given(st.lists(st.integers(1, 200), min_size=1, max_size=40), st.sampled_from([Fraction(25), Fraction(30000, 1001)]))
def test_cfr_grid_properties(gaps_ms, rate):
    times = [Fraction(0)]
    for g in gaps_ms[:-1]:
        times.append(times[-1] + Fraction(g, 1000))
    grid = tl.cfr_grid(times, rate)
    assert list(grid.source) == sorted(grid.source) and grid.count >= 1  # in order, never empty
    assert grid.count - grid.duplicated == len(times) - grid.dropped  # every shown frame once, then repeats
    for k, i in enumerate(grid.source):  # each slot shows the last frame that started by then
        slot = grid.first_slot + k
        assert tl.round_half_up(times[i] * rate) <= slot
        assert i + 1 == len(times) or tl.round_half_up(times[i + 1] * rate) > slot


def test_decode_windows():
    times = [Fraction(k, 25) for k in range(100)]
    ws = tl.decode_windows(times, [0, 12, 24, 36], 35, 3)
    assert [w.seek for w in ws[:-1]] == [Fraction(24, 25) - Fraction(1, 50)]  # 3 s earlier is before 0
    assert ws[0].select_time == Fraction(69, 50) and ws[0].expect == (Fraction(69, 50), Fraction(71, 50))
    assert ws[-1] == tl.DecodeWindow(35, 3, select_index=35)
    assert tl.decode_windows(times, [0], 5, None) == [tl.DecodeWindow(5, None, select_index=5)]
    assert tl.decode_windows(None, [], 5, 2) == [tl.DecodeWindow(5, 2, select_index=5)]
    assert tl.decode_windows(times, [0, 12], 0, 4) == [tl.DecodeWindow(0, 4)]
    far = tl.decode_windows([Fraction(k, 25) for k in range(1000)], [0, 500], 600, 1)
    assert [w.seek for w in far[:-1]] == [Fraction(20) - Fraction(1, 50), Fraction(17) - Fraction(1, 50)]


@given(st.lists(st.integers(1, 90), min_size=2, max_size=60), st.data())
def test_decode_windows_properties(gaps, data):
    times = [Fraction(0)]
    for g in gaps:
        times.append(times[-1] + Fraction(g, 1000))
    first = data.draw(st.integers(1, len(times) - 1))
    keys = sorted(set(data.draw(st.lists(st.integers(0, len(times) - 1), max_size=6))) | {0})
    windows = tl.decode_windows(times, keys, first, 2)
    assert windows[-1] == tl.DecodeWindow(first, 2, select_index=first)  # always a sure way last
    for w in windows[:-1]:
        assert w.seek is not None and 0 < w.seek < times[first]
        assert w.select_time is not None and times[first - 1] < w.select_time < times[first]  # only first on
        assert w.expect is not None and w.expect[0] <= times[first] < w.expect[1]
        assert first + 1 == len(times) or w.expect[1] <= times[first + 1]  # and not the next one


@settings(max_examples=300, deadline=None)
@given(gaps=st.lists(st.integers(1, 120), max_size=40), start=st.integers(0, 500),
       rate=st.sampled_from([Fraction(25), Fraction(30000, 1001), Fraction(24), Fraction(50, 3)]))  # fmt: skip
def test_the_streaming_cfr_conversion_is_cfr_grids(gaps, start, rate):
    """A pipe's frames, converted as they come, are a file's frames converted with the whole
    list of times known (millisecond times: what matroska gives)."""
    ms = [start]
    for g in gaps:
        ms.append(ms[-1] + g)
    times = [Fraction(t, 1000) for t in ms]
    grid = tl.cfr_grid(times, rate)
    clock = tl.CfrStream(rate)
    counts = [clock.arrive(t) for t in times][1:] + [clock.end()]
    assert [i for i, n in enumerate(counts) for _ in range(n)] == list(grid.source)
    assert tl.CfrStream(rate).end() == 0


class _Times:
    def __init__(self, times):
        self.times = list(times)

    def next(self):
        return self.times.pop(0) if self.times else None

    def stop(self):
        self.stopped = True


def test_the_pipe_retimer_repeats_and_drops_one_frame_late():
    ms = [0, 40, 80, 200, 210, 220, 260]  # a gap of 3 slots, then two frames inside one slot
    r = ff.PipeRetimer(_Times(Fraction(t, 1000) for t in ms), Fraction(25))
    out = [f for i in range(len(ms)) for f in r.feed(i)] + r.rest()
    assert out == list(tl.cfr_grid([Fraction(t, 1000) for t in ms], Fraction(25)).source)
    assert (r.frames_in, r.frames_out, r.duplicated, r.dropped) == (7, len(out), 2, 1)
    assert "7 source frames -> 8: 2 duplicated, 1 dropped" in (r.note() or "")
    # frames without times pass as they come, from the first one missing
    r = ff.PipeRetimer(_Times([Fraction(0), Fraction(1, 25)]), Fraction(25))
    assert [f for i in range(4) for f in r.feed(i)] + r.rest() == [0, 1, 2, 3] and r.note() is None
    assert r.times.stopped  # and no more times are kept


def test_frame_times_take_only_their_own_lines():
    times = ff.FrameTimes()
    lines = ["[showinfo@ts @ 0x5578] config in time_base: 1/1000, frame_rate: 25/1",
             "[showinfo@ts @ 0x5578] config out time_base: 0/0, frame_rate: 0/0",
             "[showinfo@ts @ 0x5578] n:   0 pts:      0 pts_time:0       pos:      747 fmt:yuv420p s:120x160",
             "[showinfo@ts @ 0x5578]   side data - User Data Unregistered:",
             "[showinfo@ts @ 0x5578] n:   1 pts:     40 pts_time:0.04    duration:     40 fmt:yuv420p",
             "[showinfo@ts @ 0x5578] n:   2 pts:NOPTS pts_time:NOPTS",
             "[h264 @ 0x55] Invalid NAL unit size"]  # fmt: skip
    assert [times.take(line) for line in lines] == [False, True, True, True, True, True, False]
    times.end()
    assert [times.next() for _ in range(5)] == [Fraction(0), Fraction(1, 25), None, None, None]


def test_frames_are_timed_only_when_the_header_carried_a_time():
    """Without the first frame's time by the end of the header the reader would wait for lines
    that may never come: such a pipe passes its frames as they come."""
    times = ff.FrameTimes()
    assert not times.readable
    times.take("[showinfo@ts @ 0x1] config in time_base: 1/1000, frame_rate: 25/1")
    assert not times.readable
    times.take("[showinfo@ts @ 0x1] n:   0 pts:      0 pts_time:0       pos: 7 fmt:yuv420p")
    assert times.readable


def test_a_pipe_without_frame_times_still_runs(monkeypatch, tmp_path):
    """The pipe decoder's showinfo left out (as a future ffmpeg might word it otherwise): the
    run neither hangs nor retimes, and gives the constant-rate stream's frames."""
    from ds_slowmo import source

    plain = ff.decoder_argv

    def without(*args, extra_filters=(), **kwargs):
        return plain(*args, extra_filters=[f for f in extra_filters if not f.startswith(ff.FRAME_TIMES)], **kwargs)

    monkeypatch.setattr(source.ff, "decoder_argv", without)
    y4m = subprocess.run([find_ffmpeg(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25",
                          "-frames:v", "20", "-f", "yuv4mpegpipe", "-"], stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
    src = tmp_path / "in.y4m"
    src.write_bytes(y4m)
    with open(src, "rb") as fin:
        stats = run(Config.from_strings(input="-", output=str(tmp_path / "o.mkv"), model="blend"), stdin=fin.fileno())
    assert stats.frames_out == 39
