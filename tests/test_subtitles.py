"""Subtitles on the output's timeline: the pure retiming of SRT, ASS and WebVTT through the
plan (ds_slowmo.subtitles), then end to end: retimed text subtitles in .mkv (as they came)
and .mp4 (as mov_text), --trim cutting events, ASS styles kept, copied subtitles on their
flash in --mode fps."""

from __future__ import annotations

from fractions import Fraction as Fr

import pytest

from ds_slowmo.audio import output_time
from ds_slowmo.plan import build_plan, parse_span
from ds_slowmo.subtitles import event_map, retime, text_format

SRT = """1
00:00:01,200 --> 00:00:01,800
inside the range

2
00:00:04,000 --> 00:00:04,500
after it
<i>two lines</i>

3
00:00:00,500 --> 00:00:01,500
across its start
"""

ASS = """[Script Info]
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, Bold
Style: Shout,Arial,40,&H000000FF,-1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.20,0:00:01.80,Shout,,0,0,0,,{\\b1}inside, with a comma
Comment: 0,0:00:04.00,0:00:04.50,Default,,0,0,0,,after
"""

VTT = """WEBVTT

NOTE a note stays

cue-1
00:01.200 --> 00:01.800 align:start
inside

00:04.000 --> 00:04.500
after

gone
00:09.000 --> 00:09.500
past the trim
"""


def plan_map(trim=None, shift=Fr(0)):
    """--range 1s:3s --factor 4 at 25 fps on a 5 s input."""
    plan = build_plan(mode="slowmo", factor=4, rate=Fr(25), n_frames=125, ranges=[parse_span("1s:3s")],
                      trim=parse_span(trim) if trim else None)  # fmt: skip
    segs = plan.audio_segments(125)
    return event_map(lambda t: output_time(segs, t), segs[0].start, segs[-1].end, shift)


def test_srt_events_follow_the_plan():
    out = retime(SRT, "srt", plan_map())
    assert "1\n00:00:01,800 --> 00:00:04,200\ninside the range\n" in out
    assert "2\n00:00:10,000 --> 00:00:10,500\nafter it\n<i>two lines</i>\n" in out
    assert "3\n00:00:00,500 --> 00:00:03,000\nacross its start" in out


def test_a_trim_cuts_events_to_the_kept_span_and_drops_the_rest():
    out = retime(SRT, "srt", plan_map("1.6s:4.2s"))
    # kept input 1.6 .. 4.2 s starts the output: 1.6 s -> 0; 1.8 s -> 0.8; 3 s -> 5.6; 4.2 s -> 6.8
    assert out.split("\n\n")[0] == "1\n00:00:00,000 --> 00:00:00,800\ninside the range"
    assert "2\n00:00:06,600 --> 00:00:06,800\nafter it" in out  # 4.0 s -> 6.6, cut at the trim's end
    assert out.count("-->") == 2  # the third ended before the trim


def test_ass_keeps_its_styles_and_every_other_line():
    out = retime(ASS, "ass", plan_map())
    assert "Style: Shout,Arial,40,&H000000FF,-1" in out and "[Script Info]" in out
    assert "Dialogue: 0,0:00:01.80,0:00:04.20,Shout,,0,0,0,,{\\b1}inside, with a comma" in out
    assert "Comment: 0,0:00:10.00,0:00:10.50,Default" in out


def test_webvtt_keeps_settings_and_notes_and_drops_whole_cues():
    out = retime(VTT, "webvtt", plan_map("0s:4.6s"))
    assert out.startswith("WEBVTT\n\nNOTE a note stays\n\ncue-1\n00:00:01.800 --> 00:00:04.200 align:start\ninside")
    assert "00:00:10.000 --> 00:00:10.600" not in out and "00:00:10.000 --> 00:00:10.500\nafter" in out
    assert "gone" not in out and "past the trim" not in out


def test_times_on_the_input_clock_are_moved_to_the_video_clock_first():
    out = retime(SRT, "srt", plan_map(shift=Fr(1, 5)))  # the video starts 0.2 s into the file
    assert "00:00:01,000 --> 00:00:03,400\ninside the range" in out  # 1.0 s .. 1.6 s of the video


@pytest.mark.parametrize("codec, fmt", [("subrip", "srt"), ("mov_text", "srt"), ("ass", "ass"), ("ssa", "ass"),
                                        ("webvtt", "webvtt"), ("hdmv_pgs_subtitle", None), ("dvd_subtitle", None)])  # fmt: skip
def test_text_formats(codec, fmt):
    assert text_format(codec) == fmt


# -- end to end -------------------------------------------------------------------------------------
import re
import subprocess
from pathlib import Path

from helpers import av_events, first_times, make_clip, make_flash_beep_clip, run_cli

from ds_slowmo.ffmpeg import find_ffmpeg

FRAME = 1 / 25


E2E_SRT = """1
00:00:01,200 --> 00:00:01,800
inside the range

2
00:00:04,000 --> 00:00:04,500
after it

3
00:00:00,300 --> 00:00:00,900
before it
"""


def subtitle_times(path: Path, fmt: str = "srt") -> list[tuple[float, float]]:
    """Every event's (start, end), from the output's first video frame, in order of start."""
    video = float(first_times(path)[0])
    out = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:s:0", "-f", fmt, "pipe:1"],
                         stdout=subprocess.PIPE, check=True, text=True).stdout  # fmt: skip
    clock = r"(\d+):(\d+):(\d+)[,.](\d+)"
    found = []
    for m in re.finditer(rf"{clock}\s*-->\s*{clock}", out) if fmt == "srt" else re.finditer(
            rf"Dialogue: [^,]*,{clock},{clock}", out):  # fmt: skip
        g = [int(x) for x in m.groups()]
        found.append(tuple(h * 3600 + mi * 60 + s + f / 10 ** len(m.group(4 + 4 * k)) - video
                           for k, (h, mi, s, f) in enumerate((g[:4], g[4:]))))  # fmt: skip
    return sorted(found)


@pytest.fixture(scope="module")
def subbed(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("subs")
    video = make_clip(d / "v.mp4", seconds=5, rate="25")
    (d / "s.srt").write_text(E2E_SRT)
    (d / "s.ass").write_text(ASS)
    out = {}
    for name, sub, codec in (("srt.mkv", "s.srt", "srt"), ("srt.mp4", "s.srt", "mov_text"), ("ass.mkv", "s.ass", "ass")):
        subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(video), "-i", str(d / sub), "-map", "0", "-map", "1",
                        "-c:v", "copy", "-c:a", "copy", "-c:s", codec, "-metadata:s:s:0", "language=fra",
                        str(d / name)], check=True)  # fmt: skip
        out[name] = d / name
    return out


@pytest.mark.parametrize("src, dst", [("srt.mkv", "o.mkv"), ("srt.mkv", "o.mp4"), ("srt.mp4", "o.mkv"), ("srt.mp4", "o.mov")])
def test_text_subtitles_follow_the_slowed_timeline(subbed, tmp_path, src, dst):
    out = tmp_path / dst
    proc = run_cli(str(subbed[src]), "-o", str(out), "--range", "1s:3s", "--factor", "4")
    assert proc.returncode == 0, proc.stderr
    assert "not kept" not in proc.stderr
    times = subtitle_times(out)
    want = [(0.3, 0.9), (1.8, 4.2), (10.0, 10.5)]
    assert len(times) == 3 and all(abs(a - b) <= FRAME for t, w in zip(times, want) for a, b in zip(t, w)), times
    probe = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(out)], stderr=subprocess.PIPE, text=True).stderr
    codec = "subrip" if dst == "o.mkv" else "mov_text"
    assert re.search(rf"Stream #0:\d+(?:\[\w+\])?\(fra\): Subtitle: {codec}", probe), probe  # its tags kept


def test_ass_keeps_its_styles_in_matroska(subbed, tmp_path):
    out = tmp_path / "o.mkv"
    proc = run_cli(str(subbed["ass.mkv"]), "-o", str(out), "--range", "1s:3s", "--factor", "4")
    assert proc.returncode == 0, proc.stderr
    text = subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(out), "-map", "0:s:0", "-c:s", "copy", "-f", "ass",
                           "pipe:1"], stdout=subprocess.PIPE, check=True, text=True).stdout  # fmt: skip
    assert "Style: Shout,Arial,40,&H000000FF,-1" in text and ",Shout,,0,0,0,,{\\b1}inside, with a comma" in text
    times = subtitle_times(out, "ass")
    assert len(times) == 1 and all(abs(a - b) <= FRAME for a, b in zip(times[0], (1.8, 4.2))), times


def test_a_trim_cuts_the_events(subbed, tmp_path):
    out = tmp_path / "t.mkv"
    proc = run_cli(str(subbed["srt.mkv"]), "-o", str(out), "--range", "1s:3s", "--factor", "4", "--trim", "1.6s:4.2s")
    assert proc.returncode == 0, proc.stderr
    times = subtitle_times(out)  # the third ended before the trim's start
    assert len(times) == 2 and abs(times[0][0]) <= FRAME and abs(times[0][1] - 0.8) <= FRAME
    assert abs(times[1][0] - 6.6) <= FRAME and abs(times[1][1] - 6.8) <= FRAME


@pytest.mark.parametrize("late", [0.0, 0.2])
def test_subtitles_stay_on_their_flash_in_fps_mode(tmp_path, late):
    """An event starting with each flash; the video starting ``late`` s after the audio."""
    clip = make_flash_beep_clip(tmp_path / "fb.mp4", seconds=3, rate="25", at=(0.6, 2.0))
    (tmp_path / "s.srt").write_text("1\n00:00:00,600 --> 00:00:01,000\none\n\n2\n00:00:02,000 --> 00:00:02,500\ntwo\n")
    src = tmp_path / "in.mkv"
    subprocess.run([find_ffmpeg(), "-v", "error", "-itsoffset", str(late), "-i", str(clip), "-i", str(clip),
                    "-itsoffset", str(late), "-i", str(tmp_path / "s.srt"), "-map", "0:v", "-map", "1:a", "-map", "2",
                    "-c", "copy", "-c:s", "srt", str(src)], check=True)  # fmt: skip
    out = tmp_path / "o.mkv"
    proc = run_cli(str(src), "-o", str(out), "--mode", "fps", "--factor", "2")
    assert proc.returncode == 0, proc.stderr
    video = float(first_times(out)[0])
    flashes = [f - video for f in av_events(out, white=228)[0]]
    starts = [a for a, _b in subtitle_times(out)]
    assert len(starts) == 2 and max(abs(s - f) for s, f in zip(starts, flashes)) <= FRAME / 2, (starts, flashes)
