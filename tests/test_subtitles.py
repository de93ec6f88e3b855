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
