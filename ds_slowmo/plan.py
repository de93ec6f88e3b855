"""PURE frame bookkeeping: ranges, trim, factor and rates -> which output frame is which.

Nothing here touches ffmpeg, threads or arrays. Rates are exact :class:`~fractions.Fraction`
values end to end; times map to frame numbers by rounding ``t * rate`` half up.

Vocabulary
- Source frames are numbered ``0 .. N-1`` in the *original* input (trim does not renumber).
- Gap ``i`` lies between source frames ``i`` and ``i + 1``.
- A :class:`Plan` says, for each kept gap, which in-between times it gets, and how many
  times the last frame is held (``fps`` mode). :meth:`Plan.steps` spells the whole output out
  as :class:`Copy` / :class:`Interp` steps, and :meth:`Plan.audio_segments` gives the input
  time spans and their stretch, so counting, trimming, ranges and audio all derive from one
  place.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Optional, Sequence, Union

from .errors import UsageError

__all__ = [
    "Position",
    "Span",
    "Plan",
    "Copy",
    "Interp",
    "Step",
    "AudioSegment",
    "parse_position",
    "parse_span",
    "parse_rate",
    "parse_slow_rate",
    "position_to_frame",
    "span_to_frames",
    "build_plan",
    "slowmo_count",
    "fps_count",
    "format_rate",
]

MODES = ("slowmo", "fps")


# ---------------------------------------------------------------------------------------------
# Positions and spans as the user writes them


@dataclass(frozen=True)
class Position:
    """A point in the input: a frame number, or a time in seconds (exact)."""

    frame: Optional[int] = None
    seconds: Optional[Fraction] = None

    def __post_init__(self) -> None:
        if (self.frame is None) == (self.seconds is None):
            raise ValueError("a Position is either a frame or a time")

    def __str__(self) -> str:
        if self.frame is not None:
            return str(self.frame)
        assert self.seconds is not None
        return f"{_fmt_decimal(self.seconds)}s"


@dataclass(frozen=True)
class Span:
    """``A:B`` as written; either end may be open (``None``: start or end of the input)."""

    start: Optional[Position]
    stop: Optional[Position]
    text: str = ""

    def __str__(self) -> str:
        return self.text or f"{self.start or ''}:{self.stop or ''}"


_FRAME_RE = re.compile(r"^\d+$")
_SECONDS_RE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)s$")
_CLOCK_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d*)?)$")


def _decimal(text: str) -> Fraction:
    return Fraction(text)  # Fraction("4.8") == 24/5 exactly


def _fmt_decimal(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    s = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return s


def parse_position(text: str) -> Position:
    """``120`` (frame), ``4.8s`` (seconds), ``01:02.5`` or ``00:01:02.5`` (clock time)."""
    text = text.strip()
    if _FRAME_RE.match(text):
        return Position(frame=int(text))
    m = _SECONDS_RE.match(text)
    if m:
        return Position(seconds=_decimal(m.group(1)))
    m = _CLOCK_RE.match(text)
    if m:
        hours = int(m.group(1) or 0)
        minutes = int(m.group(2))
        secs = _decimal(m.group(3))
        if minutes >= 60 or secs >= 60:
            raise UsageError(f"bad time {text!r}: minutes and seconds must be below 60")
        return Position(seconds=hours * 3600 + minutes * 60 + secs)
    raise UsageError(
        f"bad position {text!r}: use a frame number (120), seconds (4.8s) or a clock time (00:01:02.5)"
    )


def parse_span(text: str, option: str = "--range") -> Span:
    """Parse ``A:B``. Clock times contain colons, so every split point is tried and exactly
    one reading must make sense (``00:01:02.5:00:01:04`` -> 62.5 s to 64 s)."""
    raw = text.strip()
    readings: list[Span] = []
    for i, ch in enumerate(raw):
        if ch != ":":
            continue
        left, right = raw[:i], raw[i + 1 :]
        try:
            start = parse_position(left) if left else None
            stop = parse_position(right) if right else None
        except UsageError:
            continue
        readings.append(Span(start, stop, raw))
    if not readings:
        raise UsageError(
            f"bad {option} {text!r}: expected A:B with frame numbers (120:150), seconds "
            f"(4.8s:6.0s) or clock times (00:01:02.5:00:01:04)"
        )
    if len(readings) > 1:
        # prefer the one reading whose ends are written the same way (clock:clock, frame:frame)
        same = [r for r in readings if None in (r.start, r.stop) or _kind(r.start) == _kind(r.stop)]
        if len(same) != 1:
            raise UsageError(
                f"ambiguous {option} {text!r}: write times with seconds, e.g. 62.5s:64s"
            )
        return same[0]
    return readings[0]


def _kind(p: Optional[Position]) -> str:
    return "frame" if p is not None and p.frame is not None else "time"


def parse_rate(text: str) -> Fraction:
    """``30000/1001``, ``25``, ``29.97`` (taken literally) -> exact positive Fraction."""
    try:
        rate = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"bad frame rate {text!r}: write it as 25, 30000/1001 or 23.976") from None
    if rate <= 0:
        raise UsageError(f"frame rate must be positive (got {text!r})")
    return rate


def parse_slow_rate(text: str) -> int:
    """The notebook's ``--slow-rate``: 0.5 -> factor 2, 0.25 -> 4. Must be 1/integer (< 1)."""
    try:
        r = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"bad --slow-rate {text!r}: use 0.5, 0.25, 1/3 ...") from None
    if r <= 0 or r >= 1 or r.numerator != 1:
        raise UsageError(
            f"--slow-rate must be 1/F for an integer F >= 2, like 0.5 or 0.25 (got {text})"
        )
    return r.denominator


def format_rate(rate: Fraction) -> str:
    """``num/den`` as ffmpeg wants it."""
    return f"{rate.numerator}/{rate.denominator}"


def position_to_frame(pos: Position, rate: Fraction) -> int:
    """Frame number of a position: times round ``t * rate`` half up."""
    if pos.frame is not None:
        return pos.frame
    assert pos.seconds is not None
    return math.floor(pos.seconds * rate + Fraction(1, 2))


def span_to_frames(
    span: Span, rate: Fraction, n_frames: Optional[int], option: str = "--range"
) -> tuple[int, Optional[int]]:
    """``[A, B)`` frame numbers of a span. An open end becomes 0 / ``n_frames`` (``None`` when
    the length is unknown). Checks ``A < B`` and, when the length is known, ``B <= N``."""
    a = 0 if span.start is None else position_to_frame(span.start, rate)
    b = n_frames if span.stop is None else position_to_frame(span.stop, rate)
    if b is not None and a >= b:
        raise UsageError(f"{option} {span}: the start must come before the end (frames {a}:{b})")
    if n_frames is not None and (b is None or b > n_frames):
        raise UsageError(
            f"{option} {span} ends at frame {b}, past the end of the input ({n_frames} frames, "
            f"{_fmt_decimal(Fraction(n_frames) / rate)}s)"
        )
    if n_frames is not None and a >= n_frames:
        raise UsageError(f"{option} {span} starts at frame {a}, past the end of the input ({n_frames} frames)")
    return a, b


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class Copy:
    """Output frame = source frame ``src``."""

    src: int


@dataclass(frozen=True)
class Interp:
    """Output frame = pair ``(left, left + 1)`` interpolated at time ``t`` in (0, 1)."""

    left: int
    t: Fraction


Step = Union[Copy, Interp]


@dataclass(frozen=True)
class AudioSegment:
    """Input time span ``[start, end)`` seconds, played ``stretch`` times slower."""

    start: Fraction
    end: Fraction
    stretch: int


@dataclass(frozen=True)
class Plan:
    """Which gaps get which in-betweens. Immutable; every count derives from it.

    ``slowed`` holds half-open *gap* index ranges ``[a, b)``, already clipped to the trim,
    sorted and disjoint. ``trim_stop`` of ``None`` means "to the end of the input".
    """

    mode: str
    factor: int
    in_rate: Fraction
    trim_start: int = 0
    trim_stop: Optional[int] = None
    slowed: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"--mode must be slowmo or fps (got {self.mode!r})")
        if not isinstance(self.factor, int) or self.factor < 2:
            raise UsageError(f"--factor must be an integer >= 2 (got {self.factor})")
        if self.in_rate <= 0:
            raise UsageError(f"input frame rate must be positive (got {self.in_rate})")

    @property
    def out_rate(self) -> Fraction:
        return self.in_rate * self.factor if self.mode == "fps" else self.in_rate

    @property
    def times(self) -> tuple[Fraction, ...]:
        """The in-between times of an interpolated gap: ``k / F`` for ``k = 1 .. F-1``."""
        return tuple(Fraction(k, self.factor) for k in range(1, self.factor))

    def keeps(self, i: int) -> bool:
        """Is source frame ``i`` inside the trim?"""
        return i >= self.trim_start and (self.trim_stop is None or i < self.trim_stop)

    def gap_times(self, i: int) -> tuple[Fraction, ...]:
        """In-between times for gap ``i`` (assumes frames ``i`` and ``i+1`` are both kept)."""
        if self.mode == "fps":
            return self.times
        for a, b in self.slowed:
            if a <= i < b:
                return self.times
            if i < a:
                break
        return ()

    @property
    def tail_holds(self) -> int:
        """Extra copies of the last kept frame (``fps`` mode keeps the duration exact)."""
        return self.factor - 1 if self.mode == "fps" else 0

    def kept(self, n_frames: int) -> range:
        stop = n_frames if self.trim_stop is None else min(self.trim_stop, n_frames)
        return range(min(self.trim_start, stop), stop)

    def steps(self, n_frames: int) -> Iterator[Step]:
        """The whole output, in order, for an input of ``n_frames`` frames."""
        kept = self.kept(n_frames)
        for i in kept:
            yield Copy(i)
            if i + 1 in kept:
                for t in self.gap_times(i):
                    yield Interp(i, t)
        if len(kept):
            for _ in range(self.tail_holds):
                yield Copy(kept[-1])

    def output_count(self, n_frames: int) -> int:
        """Closed form of ``len(list(steps(n)))``."""
        kept = self.kept(n_frames)
        n = len(kept)
        if n == 0:
            return 0
        if self.mode == "fps":
            return fps_count(n, self.factor)
        s = sum(max(0, min(b, kept.stop - 1) - max(a, kept.start)) for a, b in self.slowed)
        return n + s * (self.factor - 1)

    def audio_segments(self, n_frames: int) -> list[AudioSegment]:
        """Input time spans with their stretch, covering the kept frames, merged where equal.
        Source frame ``i`` occupies ``[i/r, (i+1)/r)`` and lasts ``F`` output frames when gap
        ``i`` is slowed, 1 otherwise; so audio and video durations agree exactly. O(ranges)."""
        kept = self.kept(n_frames)
        if not len(kept):
            return []
        spans: list[tuple[int, int, int]] = []  # (first frame, end frame, stretch)
        cur = kept.start
        if self.mode == "slowmo":
            for a, b in self.slowed:
                a, b = max(a, kept.start), min(b, kept.stop - 1)  # gaps inside the kept frames
                if a >= b:
                    continue
                if a > cur:
                    spans.append((cur, a, 1))
                if spans and spans[-1][2] == self.factor and spans[-1][1] == a:
                    spans[-1] = (spans[-1][0], b, self.factor)
                else:
                    spans.append((a, b, self.factor))
                cur = b
        if cur < kept.stop:
            spans.append((cur, kept.stop, 1))
        r = self.in_rate
        return [AudioSegment(Fraction(s) / r, Fraction(e) / r, k) for s, e, k in spans]

    def output_index(self, i: int) -> int:
        """Output frame number of ``Copy(i)`` for a kept source frame ``i``."""
        if not self.keeps(i):
            raise ValueError(f"source frame {i} is not kept by the trim")
        n = i - self.trim_start
        if self.mode == "fps":
            return n * self.factor
        slowed = sum(max(0, min(b, i) - max(a, self.trim_start)) for a, b in self.slowed)
        return n + slowed * (self.factor - 1)

    def original_index(self, k: int) -> int:
        """The source frame an unprocessed copy would show at the time of output frame ``k``
        (output frame ``k`` plays at ``k / out_rate``): for side-by-side views."""
        return self.trim_start + (k * self.in_rate.numerator * self.out_rate.denominator) // (
            self.in_rate.denominator * self.out_rate.numerator
        )

    def output_duration(self, n_frames: int) -> Fraction:
        return Fraction(self.output_count(n_frames)) / self.out_rate


def slowmo_count(n: int, factor: int, slowed_gaps: int) -> int:
    """``N + S * (F - 1)``."""
    return n + slowed_gaps * (factor - 1)


def fps_count(n: int, factor: int) -> int:
    """``N * F``: every gap gets ``F-1`` frames and the last frame is held ``F-1`` times."""
    return n * factor


def build_plan(
    *,
    mode: str,
    factor: int,
    rate: Fraction,
    n_frames: Optional[int],
    ranges: Sequence[Span] = (),
    trim: Optional[Span] = None,
) -> Plan:
    """Resolve user spans against the input (rate, and length when known) into a Plan.

    Raises :class:`UsageError` for reversed, overlapping or out-of-input spans. With an
    unknown length (a pipe) the end checks happen when the stream ends (see
    :func:`check_length`).
    """
    trim_start, trim_stop = (0, None) if trim is None else span_to_frames(trim, rate, n_frames, "--trim")
    if trim is not None and trim.stop is None:
        trim_stop = None
    if mode == "fps" and ranges:
        raise UsageError("--range slows parts of the video; it has no meaning with --mode fps (use --trim)")
    resolved: list[tuple[int, int, Span]] = []
    for span in ranges:
        a, b = span_to_frames(span, rate, n_frames)
        resolved.append((a, b if b is not None else -1, span))
    resolved.sort(key=lambda r: r[0])
    for (_a1, b1, s1), (a2, _b2, s2) in zip(resolved, resolved[1:]):
        if b1 == -1 or a2 < b1:
            raise UsageError(f"--range {s1} and --range {s2} overlap; ranges must not overlap")
    slowed: list[tuple[int, int]] = []
    if mode == "slowmo":
        if not ranges:
            resolved = [(0, -1, Span(None, None, ":"))]
        big = 1 << 62  # "to the end" for an open range on an input of unknown length
        for a, b, _ in resolved:
            # range A:B slows gaps A .. B-1; clip to the gaps inside the trim
            ga = max(a, trim_start)
            gb = b if b != -1 else big
            if trim_stop is not None:
                gb = min(gb, trim_stop - 1)
            if n_frames is not None:
                gb = min(gb, n_frames - 1)
            if ga < gb:
                slowed.append((ga, gb))
    return Plan(mode, factor, rate, trim_start, trim_stop, tuple(slowed))


def check_length(plan: Plan, ranges: Sequence[Span], trim: Optional[Span], n_frames: int) -> None:
    """After a stream of unknown length ended: the same end checks as :func:`build_plan`."""
    for span in list(ranges) + ([trim] if trim is not None else []):
        span_to_frames(span, plan.in_rate, n_frames, "--trim" if span is trim else "--range")
