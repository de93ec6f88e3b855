"""PURE frame bookkeeping: ranges, trim, factor and rates -> which output frame is which.

Nothing here touches ffmpeg, threads or arrays. Rates are exact :class:`~fractions.Fraction`
values end to end; times map to frame numbers by rounding ``t * rate`` half up.

Vocabulary
- Source frames are numbered ``0 .. N-1`` in the *original* input (trim does not renumber).
- Gap ``i`` lies between source frames ``i`` and ``i + 1``; a source *position* ``s = i + u``
  (``0 <= u < 1``) is frame ``i`` itself when ``u == 0``, else a point inside gap ``i``.
- A :class:`Plan` maps the output clock (frame ``k`` at ``k / out_rate``) onto source
  positions through the stretched source timeline. :meth:`Plan.frames_at` is the primitive
  (which output frames fall on source frame ``i``); :meth:`Plan.steps` spells the output out as
  :class:`Copy` / :class:`Interp` steps; counts, indices, audio segments and the set of times a
  model must make all derive from the same arithmetic, in closed form.
"""

from __future__ import annotations

import bisect
import functools
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
    "round_nearest",
    "parse_position",
    "parse_span",
    "parse_rate",
    "parse_slow_rate",
    "parse_fps",
    "position_to_frame",
    "span_to_frames",
    "build_plan",
    "slowmo_count",
    "fps_count",
    "format_rate",
    "check_length",
    "MODES",
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


#: the usual decimal spellings of NTSC rates, which mean ``n * 1000/1001`` exactly
NTSC_SPELLINGS = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001),
                  "59.94": Fraction(60000, 1001), "119.88": Fraction(120000, 1001)}  # fmt: skip


def parse_fps(text: str) -> Fraction:
    """``--fps``: any positive rational (``60``, ``60000/1001``, ``50.5``), taken literally,
    except the NTSC spellings 23.976, 29.97, 59.94 and 119.88, which mean n*1000/1001."""
    spelled = NTSC_SPELLINGS.get(text.strip())
    return spelled if spelled is not None else parse_rate(text)


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


def round_nearest(x: Fraction) -> int:
    """The nearest integer to ``x``, halves up (towards +inf): ``floor(x + 1/2)``, exact."""
    return math.floor(x + Fraction(1, 2))


def position_to_frame(pos: Position, rate: Fraction) -> int:
    """Frame number of a position: times round ``t * rate`` half up."""
    if pos.frame is not None:
        return pos.frame
    assert pos.seconds is not None
    return round_nearest(pos.seconds * rate)


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


@functools.lru_cache(maxsize=4096)
def _offsets(phase: int, width: int, p: int) -> tuple[Fraction, ...]:
    """Offsets ``u`` in [0, 1) of the output instants inside one source frame. In units where
    output instants fall on multiples of ``p``, the frame spans ``[-phase, width - phase)``."""
    return tuple(Fraction(x, width) for x in range((-phase) % p, width, p))


@dataclass(frozen=True)
class Plan:
    """Which output frame is which. Immutable; every count derives from it.

    The output clock: output frame ``k`` sits at ``k / out_rate`` on the output timeline. Each
    kept source frame ``i`` occupies its stretch over ``in_rate`` seconds of it (``factor`` in a
    slowed gap, 1 elsewhere; the last kept frame always 1), so output frame ``k`` shows the
    source position ``s`` where the stretched source reaches ``k / out_rate``: a copy of ``s``
    when ``s`` is whole, else an in-between of gap ``floor(s)`` (a hold after the last frame).

    ``out_rate`` is ``target`` when given (``--fps``), ``factor * in_rate`` in ``fps`` mode,
    else ``in_rate``. ``slowed`` holds half-open *gap* index ranges ``[a, b)``, already clipped
    to the trim, sorted and disjoint. ``trim_stop`` of ``None`` means "to the end".
    """

    mode: str
    factor: int
    in_rate: Fraction
    trim_start: int = 0
    trim_stop: Optional[int] = None
    slowed: tuple[tuple[int, int], ...] = ()
    target: Optional[Fraction] = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"--mode must be slowmo or fps (got {self.mode!r})")
        if not isinstance(self.factor, int) or isinstance(self.factor, bool) or self.factor < 2:
            raise UsageError(f"--factor must be an integer >= 2 (got {self.factor})")
        if self.in_rate <= 0:
            raise UsageError(f"input frame rate must be positive (got {self.in_rate})")
        if self.target is not None and self.target <= 0:
            raise UsageError(f"--fps must be positive (got {self.target})")

    @property
    def out_rate(self) -> Fraction:
        if self.target is not None:
            return Fraction(self.target)
        return self.in_rate * self.factor if self.mode == "fps" else self.in_rate

    @functools.cached_property
    def _clock(self) -> tuple[int, int]:
        """``in_rate / out_rate`` as ``(p, d)``: one unit of stretch is ``d`` ticks, output
        instants fall every ``p`` ticks."""
        q = self.in_rate / self.out_rate
        return q.numerator, q.denominator

    def keeps(self, i: int) -> bool:
        """Is source frame ``i`` inside the trim?"""
        return i >= self.trim_start and (self.trim_stop is None or i < self.trim_stop)

    def kept(self, n_frames: int) -> range:
        stop = n_frames if self.trim_stop is None else min(self.trim_stop, n_frames)
        return range(min(self.trim_start, stop), stop)

    @functools.cached_property
    def _index(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """Slowed ranges clipped to the trim start: their starts, ends, and the slowed gaps
        before each (for a bisect per question instead of a walk over the ranges)."""
        starts, ends, before, total = [], [], [], 0
        for a, b in self.slowed:
            a = max(a, self.trim_start)
            starts.append(a)
            ends.append(b)
            before.append(total)
            total += max(0, b - a)
        return tuple(starts), tuple(ends), tuple(before)

    def _locate(self, i: int) -> tuple[int, int]:
        """``(weight_before(i), the stretch of i)`` in O(log ranges)."""
        starts, ends, before = self._index
        j = bisect.bisect_right(starts, i) - 1
        if j < 0:
            return max(0, i - self.trim_start), 1
        inside = i < ends[j]
        slowed = before[j] + max(0, min(ends[j], i) - starts[j])
        return max(0, i - self.trim_start) + slowed * (self.factor - 1), self.factor if inside else 1

    def weight_before(self, i: int) -> int:
        """Stretched length of the kept frames before ``i`` (``trim_start .. i-1``)."""
        return self._locate(i)[0]

    def frames_at(self, i: int, last: bool) -> tuple[Fraction, ...]:
        """Offsets ``u`` in [0, 1) of the output frames whose source position lies in
        ``[i, i + 1)``: ``u == 0`` is a copy of ``i``; ``u > 0`` an in-between of gap ``i``,
        or a hold of ``i`` when ``i`` is the ``last`` kept frame."""
        if not self.keeps(i):
            raise ValueError(f"source frame {i} is not kept by the trim")
        p, d = self._clock
        weight, width = self._locate(i)
        return _offsets(weight * d % p, (1 if last else width) * d, p)

    def steps(self, n_frames: int) -> Iterator[Step]:
        """The whole output, in order, for an input of ``n_frames`` frames."""
        kept = self.kept(n_frames)
        for i in kept:
            last = i == kept.stop - 1
            for u in self.frames_at(i, last):
                yield Interp(i, u) if u and not last else Copy(i)

    def _ceil_ticks(self, weight: int) -> int:
        """Number of output instants before stretched length ``weight``."""
        p, d = self._clock
        return -(-weight * d // p)

    def output_count(self, n_frames: int) -> int:
        """Closed form of ``len(list(steps(n)))``. O(ranges)."""
        kept = self.kept(n_frames)
        if not len(kept):
            return 0
        return self._ceil_ticks(self.weight_before(kept.stop - 1) + 1)

    def output_index(self, i: int) -> int:
        """Output frame number of the first output frame at source position ``>= i``
        (``Copy(i)`` when ``i`` is copied) for a kept source frame ``i``."""
        if not self.keeps(i):
            raise ValueError(f"source frame {i} is not kept by the trim")
        return self._ceil_ticks(self.weight_before(i))

    def interp_count(self, n_frames: int) -> int:
        """Closed form of the number of :class:`Interp` steps in ``steps(n)``: the in-betweens a
        model makes (every other output frame is a copy or a hold). O(ranges)."""
        kept = self.kept(n_frames)
        if not len(kept):
            return 0
        last = kept.stop - 1
        p, d = self._clock
        copies = len(self.frames_at(last, True))  # the last frame's outputs are all copies
        for first, end, width in self._runs(last):
            assert end is not None
            copies += _multiples(self.weight_before(first) * d, width * d, p, end - first)
        return self.output_count(n_frames) - copies

    def per_frame(self) -> int:
        """The most output frames one source frame position ``[i, i + 1)`` makes (its copy and
        the in-betweens of its gap): what the stage holds at once for one gap."""
        p, d = self._clock
        return -(-(self.factor if self.slowed else 1) * d // p)

    def nearest_source(self, i: int) -> int:
        """The first output frame whose source position is nearer to frame ``i`` than to frame
        ``i - 1`` (a position halfway between goes to ``i - 1``), for a kept frame ``i``: where
        a picture of the source showing at each output frame's own moment changes to ``i``."""
        if not self.keeps(i):
            raise ValueError(f"source frame {i} is not kept by the trim")
        if i == self.trim_start:
            return 0
        p, d = self._clock
        weight, width = self._locate(i - 1)
        return (2 * weight + width) * d // (2 * p) + 1

    def original_index(self, k: int) -> int:
        """The source frame an unprocessed copy would show at the time of output frame ``k``
        (output frame ``k`` plays at ``k / out_rate``): for side-by-side views."""
        return self.trim_start + (k * self.in_rate.numerator * self.out_rate.denominator) // (
            self.in_rate.denominator * self.out_rate.numerator
        )

    def output_duration(self, n_frames: int) -> Fraction:
        return Fraction(self.output_count(n_frames)) / self.out_rate

    def audio_segments(self, n_frames: int) -> list[AudioSegment]:
        """Input time spans with their stretch, covering the kept frames, merged where equal.
        Source frame ``i`` occupies ``[i/r, (i+1)/r)`` and lasts its stretch over ``r`` on the
        output timeline; so audio and video durations agree within one output frame (exactly
        when no ``target`` rate is set). O(ranges)."""
        kept = self.kept(n_frames)
        if not len(kept):
            return []
        last = kept.stop - 1  # the gaps end before the last kept frame, which lasts 1
        spans: list[tuple[int, int, int]] = []  # (first frame, end frame, stretch)
        for first, end, k in [*self._runs(last), (last, kept.stop, 1)]:
            end = kept.stop if end is None else end
            if spans and spans[-1][2] == k and spans[-1][1] == first:
                spans[-1] = (spans[-1][0], end, k)
            else:
                spans.append((first, end, k))
        r = self.in_rate
        return [AudioSegment(Fraction(s) / r, Fraction(e) / r, k) for s, e, k in spans]

    def _runs(self, stop: Optional[int]) -> Iterator[tuple[int, Optional[int], int]]:
        """``(first, end, stretch)``: runs of equal stretch over frames ``trim_start .. stop-1``
        (``end``/``stop`` ``None``: unbounded)."""
        cur = self.trim_start
        for a, b in self.slowed:
            a, b = max(a, cur), b if stop is None else min(b, stop)
            if a >= b:
                continue
            if a > cur:
                yield cur, a, 1
            yield a, b, self.factor
            cur = b
        if stop is None or cur < stop:
            yield cur, stop, 1

    def _phase_times(self, n_frames: Optional[int]) -> Iterator[tuple[Fraction, ...]]:
        """The in-between offsets of every distinct (phase, stretch) a non-last frame has."""
        if n_frames is not None:
            stop: Optional[int] = max(self.trim_start, self.kept(n_frames).stop - 1)
        else:
            stop = None if self.trim_stop is None else self.trim_stop - 1
        p, d = self._clock
        for first, end, width in self._runs(stop):
            period = p // math.gcd(width * d, p)
            count = period if end is None else min(period, end - first)
            base = self.weight_before(first)
            for j in range(count):
                yield _offsets((base + j * width) * d % p, width * d, p)

    def interp_times(self, n_frames: Optional[int] = None) -> frozenset[Fraction]:
        """Every distinct in-between time the plan asks a model for (``n_frames`` ``None``:
        for an input of any length). O(ranges x output phases), no per-frame loop."""
        return frozenset(u for us in self._phase_times(n_frames) for u in us if u)

    def times_dyadic(self, n_frames: Optional[int] = None) -> bool:
        """Are all in-between times ``k / 2^n``? (False: the model needs any-time support.)"""
        return all(_dyadic(u) for us in self._phase_times(n_frames) for u in us)

    def needs_any_time(self, dedupe: bool, n_frames: Optional[int] = None) -> bool:
        """Must the model make times other than ``k / 2^n``? When the plan asks for them, or
        with duplicate removal on (a run of duplicates can have any length)."""
        return dedupe or not self.times_dyadic(n_frames)


def _multiples(b: int, a: int, p: int, length: int) -> int:
    """How many ``j`` in ``[0, length)`` make ``b + j * a`` a multiple of ``p`` (a linear
    congruence: none, or one residue class modulo ``p / gcd(a, p)``)."""
    g = math.gcd(a, p)
    if b % g or length <= 0:
        return 0
    period = p // g
    j0 = (-(b // g) * pow(a // g, -1, period)) % period if period > 1 else 0
    return 0 if j0 >= length else (length - 1 - j0) // period + 1


def _dyadic(t: Fraction) -> bool:
    return t.denominator & (t.denominator - 1) == 0


_BIG = 1 << 62  # "to the end" for an open range on an input of unknown length


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
    target: Optional[Fraction] = None,
) -> Plan:
    """Resolve user spans against the input (rate, and length when known) into a Plan;
    ``target`` is the output rate of ``--fps`` (default: from ``mode`` and ``factor``).

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
        for a, b, _ in resolved:
            # range A:B slows gaps A .. B-1; clip to the gaps inside the trim
            ga = max(a, trim_start)
            gb = b if b != -1 else _BIG
            if trim_stop is not None:
                gb = min(gb, trim_stop - 1)
            if n_frames is not None:
                gb = min(gb, n_frames - 1)
            if ga < gb:
                slowed.append((ga, gb))
    return Plan(mode, factor, rate, trim_start, trim_stop, tuple(slowed), target)


def check_length(plan: Plan, ranges: Sequence[Span], trim: Optional[Span], n_frames: int) -> None:
    """After a stream of unknown length ended: the same end checks as :func:`build_plan`."""
    for span in list(ranges) + ([trim] if trim is not None else []):
        span_to_frames(span, plan.in_rate, n_frames, "--trim" if span is trim else "--range")
