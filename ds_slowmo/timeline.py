"""PURE timeline bookkeeping: frame times from packet timestamps, variable-rate detection, the
constant-rate conversion of ffmpeg's ``fps`` filter, and where a decoder must start so that it
delivers exactly the frames ``[first, first + count)``.

Times are exact :class:`~fractions.Fraction` seconds on the timeline ffmpeg's filters use by
default (the input's start time subtracted). Frame ``i`` is the ``i``-th frame that decoding the
whole file from its start gives (``-fps_mode passthrough``), in presentation order.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

__all__ = [
    "frame_times",
    "is_vfr",
    "keyframe_indices",
    "round_half_up",
    "cfr_grid",
    "CfrGrid",
    "CfrStream",
    "DecodeWindow",
    "decode_windows",
]


def frame_times(pts: Sequence[Optional[int]], time_base: Fraction) -> Optional[tuple[Fraction, ...]]:
    """Presentation times of a stream's frames from its packets' pts (discarded packets already
    left out). ``None`` when they can't be trusted: a packet without pts, or two with the same."""
    if not pts or any(p is None for p in pts):
        return None
    ticks = sorted(p for p in pts if p is not None)
    if any(a == b for a, b in zip(ticks, ticks[1:])):
        return None
    return tuple(p * time_base for p in ticks)


def is_vfr(times: Sequence[Fraction], time_base: Fraction) -> bool:
    """Frame durations differ by more than one tick of the time base (a millisecond time base
    makes 29.97 fps alternate 33 and 34 ms: that is still constant)."""
    if len(times) < 3:
        return False
    gaps = [b - a for a, b in zip(times, times[1:])]
    return max(gaps) - min(gaps) > time_base


def keyframe_indices(key_pts: Sequence[int], time_base: Fraction, times: Sequence[Fraction]) -> tuple[int, ...]:
    """Frame indices of keyframe packets, found by their pts in ``times``."""
    out = set()
    for p in key_pts:
        i = bisect.bisect_left(times, p * time_base)
        if i < len(times) and times[i] == p * time_base:
            out.add(i)
    return tuple(sorted(out))


def round_half_up(x: Fraction) -> int:
    """Round to nearest, halves away from zero (libavutil's ``AV_ROUND_NEAR_INF``)."""
    n = (abs(x) + Fraction(1, 2)).__floor__()
    return n if x >= 0 else -n


@dataclass(frozen=True)
class CfrGrid:
    """Constant-rate view of a variable-rate stream, as ffmpeg's ``fps=rate`` filter makes it:
    output frame ``k`` sits at ``(first_slot + k) / rate`` and shows source frame ``source[k]``."""

    rate: Fraction
    first_slot: int
    source: tuple[int, ...]
    frames: int  # source frames

    @property
    def count(self) -> int:
        return len(self.source)

    @property
    def start(self) -> Fraction:
        return Fraction(self.first_slot) / self.rate

    @property
    def dropped(self) -> int:
        """Source frames that no output frame shows."""
        return self.frames - len(set(self.source))

    @property
    def duplicated(self) -> int:
        """Output frames that repeat the frame before them."""
        return sum(a == b for a, b in zip(self.source, self.source[1:]))

    def times(self) -> tuple[Fraction, ...]:
        return tuple(Fraction(self.first_slot + k) / self.rate for k in range(self.count))


def cfr_grid(times: Sequence[Fraction], rate: Fraction) -> CfrGrid:
    """The ``fps`` filter's mapping (round to nearest): a source frame at ``t`` lands in slot
    ``round(t * rate)``; slot ``k`` shows the last frame whose slot is ``<= k``; the output starts
    at the first frame's slot and ends where the last frame ends (its start plus the gap before
    it, ``1/rate`` for a single frame), with at least one frame."""
    if not times:
        return CfrGrid(rate, 0, (), 0)
    slots = [round_half_up(t * rate) for t in times]
    last_gap = times[-1] - times[-2] if len(times) > 1 else 1 / rate
    end = max(round_half_up((times[-1] + last_gap) * rate), slots[0] + 1)  # never empty
    source: list[int] = []
    i = 0
    for k in range(slots[0], end):
        while i + 1 < len(slots) and slots[i + 1] <= k:
            i += 1
        source.append(i)
    return CfrGrid(rate, slots[0], tuple(source), len(times))


class CfrStream:
    """:func:`cfr_grid` frame by frame, for a stream whose length is not known ahead (a pipe):
    told each frame's time in turn (in presentation order), it says how many output slots the
    frame *before* it fills (0: dropped, 2 or more: repeated); told the stream ended, how many
    the last frame fills. Over the same times the counts are exactly :func:`cfr_grid`'s."""

    def __init__(self, rate: Fraction) -> None:
        self.rate = rate
        self._first: Optional[int] = None  # the first frame's slot
        self._next = 0  # the next slot to fill
        self._last: tuple[Optional[Fraction], Optional[Fraction]] = (None, None)  # the last two times

    def arrive(self, t: Fraction) -> int:
        """Frame at ``t`` arrived: the slots the frame before it fills."""
        slot = round_half_up(t * self.rate)
        if self._first is None:
            self._first, self._next, count = slot, slot, 0
        else:
            count = max(0, slot - self._next)
            self._next += count
        self._last = (self._last[1], t)
        return count

    def end(self) -> int:
        """The stream ended: the slots its last frame fills (it ends where the last frame
        ends: its start plus the gap before it, one slot for a single frame)."""
        before, last = self._last
        if last is None or self._first is None:
            return 0
        gap = last - before if before is not None else 1 / self.rate
        end = max(round_half_up((last + gap) * self.rate), self._first + 1)
        return max(0, end - self._next)


@dataclass(frozen=True)
class DecodeWindow:
    """How a decoder delivers output frames ``[first, first + count)``: seek to ``seek`` seconds
    (``None``: decode from the start), then keep frames from time ``select_time`` on (by the
    timeline), or from decoded frame number ``select_index`` on (counting from the start, when
    times are unknown). A seek is right only if the first kept frame's time falls in ``expect``
    ``[lo, hi)``: a check decodes that frame and compares (:func:`ds_slowmo.ffmpeg.checked_window`)."""

    first: int
    count: Optional[int]
    seek: Optional[Fraction] = None
    select_time: Optional[Fraction] = None
    select_index: Optional[int] = None
    expect: Optional[tuple[Fraction, Fraction]] = None


def decode_windows(
    times: Optional[Sequence[Fraction]],
    keyframes: Sequence[int],
    first: int,
    count: Optional[int],
) -> list[DecodeWindow]:
    """Ways to decode frames ``[first, first + count)``, fastest first; the last one (decoding
    from the start) is always right. ``times`` are the frames' times (``None``: unknown) and
    ``keyframes`` their indices, both as the decoder delivers them (after a constant-rate
    conversion, :func:`ds_slowmo.ffmpeg.constant_rate` has renumbered them). Seeks land half a frame before the keyframe at or
    before the frame needed, then 3 s earlier (mpegts seeks can land past their target)."""
    if first == 0:
        return [DecodeWindow(0, count)]
    fallback = DecodeWindow(first, count, select_index=first)
    if times is None or first >= len(times):
        return [fallback]
    key = max((k for k in keyframes if k <= first), default=0)
    cut = (times[first - 1] + times[first]) / 2
    upto = (times[first] + times[first + 1]) / 2 if first + 1 < len(times) else times[first] + 1
    windows = []
    if key > 0 or not keyframes:  # no keyframe list: ffmpeg's seek finds the keyframe before
        key_time = times[key] if key else times[first]
        near = key_time - (times[first] - times[first - 1]) / 2
        for seek in (near, near - 3):
            if seek > 0:
                windows.append(DecodeWindow(first, count, seek, select_time=cut, expect=(cut, upto)))
    windows.append(fallback)
    return windows
