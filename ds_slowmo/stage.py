"""The model stage: source frames in, output frames out, in plan order. No I/O, no threads.

The plan (pure) says *which* output frames exist: each is a source position ``s`` (a copy of
frame ``i`` is ``s = i``, an in-between of gap ``i`` at ``u`` is ``s = i + u``; see
:meth:`Plan.frames_at`). This stage decides *how* each is made, from what the frames look like:

- Normally frame ``s = i + u`` is the model's interpolation of frames ``i``, ``i + 1`` at ``u``.
- ``dedupe``: a run of near-identical frames counts as one held frame. Positions inside the run
  are interpolated between the distinct frames on either side (the *anchors*) at the time they
  occupy: frames ``A A B B`` give ``A, A|B@1/2, B, B|next@1/2``. Nothing is removed.
- Scene cuts: between two anchors from different shots nothing is mixed; every position holds
  the left anchor, so the new shot starts at its own frame's time, as a player shows it and where
  its sound is (copying the nearer anchor showed it up to half a slowed gap early: 120 ms
  before its sound at x8, 280 ms at x16).

Counts and timing come from the plan alone, so neither option changes them.

Two parts, both generic in the frame type (frames are opaque here):

- :func:`decide`: source frames -> :class:`Shown` (a frame as it is: a copy or a hold) and
  :class:`Mixed` (anchors ``left``, ``right`` and the times wanted between them), in order.
- :func:`batch`: those -> model calls through a :class:`Mixer`, pairs that want the same
  times ``batch_size`` at a time, output frames in order.

:func:`make_frames` composes them; :func:`interpolate_frames` is the same for ``(H, W, 3)``
uint8 RGB arrays and an :class:`~ds_slowmo.models.Interpolator` (through its rgb24 door).
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Generic, Iterable, Iterator, Optional, Protocol, Sequence, TypeVar, Union

import numpy as np

from .analysis import CUT_THRESHOLD, Thumb, is_cut, is_duplicate
from .door import Colour, Door
from .errors import InputError, ModelError
from .limits import check_plan
from .models import Interpolator
from .pixfmt import NATIVE
from .plan import Plan

__all__ = [
    "StageStats",
    "Mixer",
    "Shown",
    "Mixed",
    "Made",
    "Out",
    "KEPT",
    "HELD",
    "CUT",
    "MADE",
    "decide",
    "batch",
    "make_frames",
    "interpolate_frames",
    "checked_rgb",
]

log = logging.getLogger("ds_slowmo")

F = TypeVar("F")


@dataclass
class StageStats:
    frames_in: int = 0  # source frames read (including trimmed-away ones before the end)
    interpolated: int = 0  # output frames made by the model
    batches: int = 0
    model_s: float = 0.0
    cuts: list[tuple[int, int]] = field(default_factory=list)  # (left, right) anchors
    cut_frames: int = 0  # in-betweens copied because of a cut
    duplicates: int = 0  # source frames treated as repeats of the one before


class Mixer(Protocol[F]):
    """Makes in-betweens: for each pair ``(left, right)``, one frame per time, in order."""

    def mix(self, pairs: Sequence[tuple[F, F]], times: Sequence[Fraction]) -> Sequence[Sequence[F]]: ...


#: what an output frame is, as the taps are told: a source frame as it is, a hold of the last
#: one (the stream ended inside a run, or ``--mode fps``'s last frames), a copy of the nearer
#: frame at a scene cut, or a frame the model made
KEPT, HELD, CUT, MADE = "kept", "held", "cut", "made"


@dataclass(frozen=True)
class Out(Generic[F]):
    """One output frame of the stage and what it is (:data:`KEPT`, :data:`HELD`, :data:`CUT`
    or :data:`MADE`)."""

    frame: F
    kind: str


@dataclass(frozen=True)
class Shown(Generic[F]):
    """One output frame: ``frame`` as it is (a copy of a source frame, a hold, a cut's copy)."""

    frame: F
    kind: str = KEPT


@dataclass(frozen=True, eq=False)
class Mixed(Generic[F]):
    """``len(times)`` output frames: ``left`` and ``right`` (source frames ``i < j``) mixed at
    each time in (0, 1)."""

    left: F
    right: F
    times: tuple[Fraction, ...]


Made = Union[Shown[F], Mixed[F]]


class _Anchor(Generic[F]):
    """A distinct source frame; its thumbnail is computed only if a decision needs it."""

    __slots__ = ("index", "frame", "_thumb", "_make")

    def __init__(self, index: int, frame: F, make: Callable[[F], Thumb]) -> None:
        self.index, self.frame, self._make = index, frame, make
        self._thumb: Optional[Thumb] = None

    @property
    def thumb(self) -> Thumb:
        if self._thumb is None:
            self._thumb = self._make(self.frame)
        return self._thumb


class _Decider(Generic[F]):
    """The decision state: the last anchor, and the positions after it that wait for the
    next anchor (the frames in between were duplicates of it)."""

    def __init__(self, plan: Plan, thumb: Callable[[F], Thumb], scene: Optional[float],
                 dedupe: Optional[float], stats: StageStats) -> None:  # fmt: skip
        self.plan, self.thumb, self.scene, self.dedupe, self.st = plan, thumb, scene, dedupe, stats
        self.anchor: Optional[_Anchor[F]] = None
        self.waiting: list[Fraction] = []

    def arrive(self, index: int, frame: F) -> list[Made[F]]:
        """Kept frame ``index`` arrived; the one before it (if any) was ``index - 1``."""
        current = _Anchor(index, frame, self.thumb)
        if self.anchor is None:
            self.anchor = current
            return []
        out = self.place(index - 1, last=False)
        if self.dedupe is not None and is_duplicate(self.anchor.thumb, current.thumb, self.dedupe):
            self.st.duplicates += 1
            return out
        out += self.resolve(current)
        self.anchor = current
        return out

    def place(self, i: int, last: bool) -> list[Made[F]]:
        """The output positions in ``[i, i + 1)``: the anchor's own copy now, the rest wait."""
        assert self.anchor is not None
        out: list[Made[F]] = []
        for u in self.plan.frames_at(i, last):
            if u == 0 and i == self.anchor.index:
                out.append(Shown(self.anchor.frame))
            else:
                self.waiting.append(i + u)
        return out

    def resolve(self, right: Optional[_Anchor[F]]) -> list[Made[F]]:
        """The waiting positions, between the anchor and ``right`` (``None``: the stream
        ended inside a run, so they hold the anchor)."""
        left, waiting = self.anchor, self.waiting
        assert left is not None
        self.waiting = []
        if not waiting:
            return []
        if right is None:
            return [Shown(left.frame, HELD) for _ in waiting]
        span = right.index - left.index
        times = tuple((s - left.index) / span for s in waiting)
        if self.scene is None or not is_cut(left.thumb, right.thumb, self.scene):
            return [Mixed(left.frame, right.frame, times)]
        self.st.cuts.append((left.index, right.index))
        self.st.cut_frames += len(times)
        log.info("scene cut between frames %d and %d (%.3f s): in-betweens are copies, not mixes",
                 left.index, right.index, right.index / float(self.plan.in_rate))  # fmt: skip
        return [Shown(left.frame, CUT) for _ in times]

    def end(self, last: int, shown: bool) -> list[Made[F]]:
        """The stream ended at kept frame ``last``; ``shown``: its own positions are ours."""
        out = self.place(last, last=True) if shown else []
        return out + self.resolve(None)


def decide(
    source: Iterable[F],
    plan: Plan,
    thumb: Callable[[F], Thumb],
    *,
    stats: StageStats,
    scene_threshold: Optional[float] = CUT_THRESHOLD,
    dedupe: Optional[float] = None,
    first_index: int = 0,
    stop_before: Optional[int] = None,
) -> Iterator[Made[F]]:
    """What each output frame of ``plan`` is, in order, for ``source`` (frames numbered from
    ``first_index``). Frames after the trim end, or after ``stop_before``, are not read.
    With ``stop_before`` (a chunk) the output ends before position ``stop_before``: that frame
    is read only as the right neighbour of the last gap, and nothing is held at the end."""
    state: _Decider[F] = _Decider(plan, thumb, scene_threshold, dedupe, stats)
    last: Optional[int] = None
    ends = [e for e in (plan.trim_stop, None if stop_before is None else stop_before + 1) if e is not None]
    end = min(ends) if ends else None  # one past the last frame to read
    for index, frame in enumerate(source, start=first_index):
        stats.frames_in = index + 1
        if plan.keeps(index):
            yield from state.arrive(index, frame)
            last = index
        if end is not None and index + 1 >= end:
            break
    if last is not None:
        yield from state.end(last, shown=last != stop_before)


def batch(made: Iterable[Made[F]], mixer: Mixer[F], *, batch_size: int = 1,
          stats: Optional[StageStats] = None) -> Iterator[Out[F]]:  # fmt: skip
    """Output frames in order, each with its kind: :class:`Shown` frames as they are,
    :class:`Mixed` ones from model calls, consecutive pairs that want the same times
    ``batch_size`` at a time."""
    st = stats if stats is not None else StageStats()
    queue: list[Made[F]] = []  # output order, not yet yielded
    pending: list[Mixed[F]] = []  # the next model call
    done: dict[int, Sequence[F]] = {}  # id(Mixed) -> its frames
    for item in made:
        if isinstance(item, Mixed):
            if pending and item.times != pending[0].times:  # (a full batch was called below)
                _call(mixer, pending, done, st)
            pending.append(item)
            if len(pending) >= batch_size:
                _call(mixer, pending, done, st)
        queue.append(item)
        yield from _drain(queue, done, st)
    _call(mixer, pending, done, st)
    yield from _drain(queue, done, st)


def _call(mixer: Mixer[F], pending: list[Mixed[F]], done: dict[int, Sequence[F]], st: StageStats) -> None:
    """One model call for ``pending`` (same times), results into ``done``; clears ``pending``."""
    if not pending:
        return
    times = pending[0].times
    t0 = time.perf_counter()
    out = mixer.mix([(m.left, m.right) for m in pending], times)
    st.model_s += time.perf_counter() - t0
    st.batches += 1
    if len(out) != len(pending) or any(len(frames) != len(times) for frames in out):
        raise ModelError(f"the model made {[len(f) for f in out]} frames for {len(pending)} pairs at {len(times)} times")
    for m, frames in zip(pending, out):
        done[id(m)] = frames
    pending.clear()


def _drain(queue: list[Made[F]], done: dict[int, Sequence[F]], st: StageStats) -> Iterator[Out[F]]:
    """Yield the queue's frames up to the first one still waiting for the model."""
    n = 0
    for item in queue:
        if isinstance(item, Shown):
            yield Out(item.frame, item.kind)
        elif id(item) in done:
            frames = done.pop(id(item))
            st.interpolated += len(frames)
            yield from (Out(frame, MADE) for frame in frames)
        else:
            break
        n += 1
    del queue[:n]


def make_frames(
    source: Iterable[F],
    plan: Plan,
    mixer: Mixer[F],
    thumb: Callable[[F], Thumb],
    *,
    batch_size: int = 1,
    stats: Optional[StageStats] = None,
    scene_threshold: Optional[float] = CUT_THRESHOLD,
    dedupe: Optional[float] = None,
    first_index: int = 0,
    stop_before: Optional[int] = None,
) -> Iterator[Out[F]]:
    """The stage for any frame type: :func:`decide`, then :func:`batch` through ``mixer``.
    ``thumb`` makes the thumbnail that cut and duplicate checks compare (only when needed)."""
    st = stats if stats is not None else StageStats()
    made = decide(source, plan, thumb, stats=st, scene_threshold=scene_threshold, dedupe=dedupe,
                  first_index=first_index, stop_before=stop_before)  # fmt: skip
    return batch(made, mixer, batch_size=batch_size, stats=st)


def checked_rgb(source: Iterable[Any], first_index: int = 0) -> Iterator[np.ndarray]:
    """``source``, checked lazily: uint8 ``(H, W, 3)`` frames, all of one size. A frame that is
    not an array (nested lists, say) is taken as one when its values are whole numbers in
    0..255; an array must already be uint8."""
    shape: Optional[tuple[int, ...]] = None
    for index, item in enumerate(source, start=first_index):
        frame = item if isinstance(item, np.ndarray) else _as_uint8(item, index)
        if shape is None:
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise InputError(f"frames must be uint8 (H, W, 3) RGB arrays (got {frame.dtype} {frame.shape})")
            shape = frame.shape
        elif frame.shape != shape or frame.dtype != np.uint8:
            raise InputError(f"frame {index} is {frame.dtype} {frame.shape}, but the first frame was uint8 {shape}")
        yield frame


def _as_uint8(item: Any, index: int) -> np.ndarray:
    """An array-like frame (lists of lists) as a uint8 array, if that loses nothing."""
    try:
        values = np.asarray(item)
    except ValueError as exc:  # ragged lists
        raise InputError(f"frame {index} is not an (H, W, 3) array of RGB values ({exc})") from None
    if values.dtype.kind not in "iu" or (values.size and not 0 <= values.min() <= values.max() <= 255):
        raise InputError(f"frame {index} is not uint8 RGB: its values must be whole numbers in 0..255 "
                         f"(got {type(item).__name__} of {values.dtype} {values.shape})")  # fmt: skip
    return values.astype(np.uint8)


def interpolate_frames(source: Iterable[np.ndarray], plan: Plan, model: Interpolator, **options: Any) -> Iterator[np.ndarray]:
    """:func:`make_frames` (same keyword ``options``) for ``(H, W, 3)`` uint8 RGB frames and an
    :class:`Interpolator`, through the model's door for rgb24.

    ``scene_threshold=None`` turns cut detection off; ``dedupe`` is the duplicate threshold,
    ``None`` for off. ``stats`` (a :class:`StageStats`, or the run's ``RunStats``) is updated.
    A chunk of a longer run: ``first_index`` is the source number of the first frame of
    ``source``; with ``stop_before`` the output ends before position ``stop_before``.
    """
    frames = checked_rgb(source, options.get("first_index", 0))
    first = next(frames, None)
    if first is None:
        return iter(())
    check_plan(plan, first.shape[1], first.shape[0], options.get("batch_size", 1))
    door = Door(model, NATIVE["rgb24"], first.shape[1], first.shape[0], Colour())
    return (out.frame for out in make_frames(itertools.chain([first], frames), plan, door, door.thumb, **options))
