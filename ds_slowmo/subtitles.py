"""PURE subtitle retiming: text subtitles (SRT, ASS/SSA, WebVTT; mov_text travels as SRT)
moved onto the output's timeline, event by event.

Each event's start and end go through a time map (the plan's
:func:`ds_slowmo.audio.output_time`): an event inside a slowed range lasts as many times longer
as the range is slowed, one after a range moves by what the ranges before it added. Events
are first cut to the kept span (``--trim``), and dropped when nothing of them is left. Every
other line (ASS styles and script info, WebVTT headers, notes and cue settings, SRT text) is
kept as it came.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable, Optional

__all__ = ["TEXT_FORMATS", "text_format", "retime", "event_map", "EventMap"]

#: ffmpeg's text subtitle codecs -> the text format they are read and written as
TEXT_FORMATS = {"subrip": "srt", "srt": "srt", "mov_text": "srt", "text": "srt", "ass": "ass", "ssa": "ass",
                "webvtt": "webvtt"}  # fmt: skip

EventMap = Callable[[Fraction, Fraction], Optional[tuple[Fraction, Fraction]]]
"""``(start, end)`` in input seconds -> where the event plays in the output, or ``None``."""


def text_format(codec: str) -> Optional[str]:
    """``srt``, ``ass`` or ``webvtt`` for a text subtitle codec; ``None`` for a bitmap one."""
    return TEXT_FORMATS.get(codec)


_SRT_TIME = r"(\d+):(\d{2}):(\d{2})[,.](\d{1,3})"
_SRT_LINE = re.compile(rf"^(\s*){_SRT_TIME}(\s*-->\s*){_SRT_TIME}(.*)$")
_VTT_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_LINE = re.compile(rf"^(\s*){_VTT_TIME}(\s+-->\s+){_VTT_TIME}(.*)$")
_ASS_LINE = re.compile(r"^(Dialogue|Comment)(\s*:\s*)([^,]*),(\d+):(\d{2}):(\d{2})\.(\d{2}),(\d+):(\d{2}):(\d{2})\.(\d{2}),(.*)$")


def _seconds(h: Optional[str], m: str, s: str, frac: str) -> Fraction:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + Fraction(int(frac), 10 ** len(frac))


def _clock(t: Fraction, places: int, sep: str) -> str:
    """``H:MM:SS<sep>fff`` rounded to ``places`` decimals (halves up)."""
    unit = 10**places
    total = (t * unit * 2 + 1) // 2
    whole, frac = divmod(int(total), unit)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}{sep}{frac:0{places}d}"


def _srt_retime(text: str, move: EventMap) -> str:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip("\n"))
    out: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        at = next((i for i, line in enumerate(lines) if _SRT_LINE.match(line)), None)
        if at is None:
            continue  # no timing: not an event
        m = _SRT_LINE.match(lines[at])
        assert m is not None
        moved = move(_seconds(*m.group(2, 3, 4, 5)), _seconds(*m.group(7, 8, 9, 10)))
        if moved is None:
            continue
        start, end = (_clock(t, 3, ",").zfill(12) for t in moved)
        body = lines[at + 1 :]
        out.append("\n".join([str(len(out) + 1), f"{start} --> {end}{m.group(11)}", *body]))
    return "\n\n".join(out) + "\n" if out else ""


def _vtt_retime(text: str, move: EventMap) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    skip = False
    for line in lines:
        m = _VTT_LINE.match(line)
        if m is None:
            if skip and line.strip():
                continue  # the text of a dropped cue
            skip = False
            out.append(line)
            continue
        moved = move(_seconds(*m.group(2, 3, 4, 5)), _seconds(*m.group(7, 8, 9, 10)))
        if moved is None:
            skip = True
            if out and out[-1].strip() and not _VTT_LINE.match(out[-1]):
                out.pop()  # its identifier line
            continue
        start, end = (_clock(t, 3, ".").zfill(12) for t in moved)
        out.append(f"{m.group(1)}{start}{m.group(6)}{end}{m.group(11)}")
    return "\n".join(out)


def _ass_retime(text: str, move: EventMap) -> str:
    out: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _ASS_LINE.match(line)
        if m is None:
            out.append(line)
            continue
        moved = move(_seconds(*m.group(4, 5, 6, 7)), _seconds(*m.group(8, 9, 10, 11)))
        if moved is None:
            continue
        start, end = (_clock(t, 2, ".") for t in moved)
        out.append(f"{m.group(1)}{m.group(2)}{m.group(3)},{start},{end},{m.group(12)}")
    return "\n".join(out)


_RETIME = {"srt": _srt_retime, "webvtt": _vtt_retime, "ass": _ass_retime}


def retime(text: str, fmt: str, move: EventMap) -> str:
    """``text`` (a whole subtitle file in format ``fmt``: srt, ass or webvtt) with every
    event moved by ``move``; events it returns ``None`` for are left out."""
    try:
        return _RETIME[fmt](text, move)
    except KeyError:
        raise ValueError(f"no subtitle retiming for format {fmt!r}") from None


def event_map(to_output: Callable[[Fraction], Optional[Fraction]], lo: Fraction, hi: Fraction,
              shift: Fraction = Fraction(0)) -> EventMap:  # fmt: skip
    """The event map of a plan: times are first moved by ``-shift`` (onto the plan's clock,
    where the first video frame is 0), cut to the kept span ``[lo, hi]``, then sent through
    ``to_output``. An event with nothing left in the span, or none of its length, is dropped."""

    def move(start: Fraction, end: Fraction) -> Optional[tuple[Fraction, Fraction]]:
        a, b = max(start - shift, lo), min(end - shift, hi)
        if b <= a:
            return None
        out_a, out_b = to_output(a), to_output(b)
        if out_a is None or out_b is None or out_b <= out_a:
            return None
        return out_a, out_b

    return move
