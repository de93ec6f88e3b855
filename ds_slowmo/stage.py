"""The model stage: source frames in, output frames out, in plan order. No I/O, no threads.

The plan (pure) says *which* output frames exist: each is a source position ``s`` (a copy of
frame ``i`` is ``s = i``, an in-between of gap ``i`` at ``t`` is ``s = i + t``). This stage
decides *how* each is made, from what the frames look like:

- Normally frame ``s = i + t`` is the model's interpolation of frames ``i``, ``i + 1`` at ``t``.
- ``dedupe``: a run of near-identical frames counts as one held frame. Positions inside the run
  are interpolated between the distinct frames on either side (the *anchors*) at the time they
  occupy: frames ``A A B B`` give ``A, A|B@1/2, B, B|next@1/2``. Nothing is removed.
- Scene cuts: between two anchors from different shots nothing is mixed; each position copies
  the nearer anchor (``u <= 1/2``: the left one).

Counts and timing come from the plan alone, so neither option changes them. Pairs of frames
that need the same times are batched ``batch_size`` at a time for the model.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator, Optional, Union

import numpy as np

from .analysis import CUT_THRESHOLD, Thumb, is_cut, is_duplicate, thumbnail
from .errors import InputError, ModelError
from .models import Interpolator
from .plan import Plan

__all__ = ["StageStats", "interpolate_frames"]

log = logging.getLogger("ds_slowmo")


@dataclass
class StageStats:
    frames_in: int = 0  # source frames read (including trimmed-away ones before the end)
    interpolated: int = 0  # output frames made by the model
    batches: int = 0
    model_s: float = 0.0
    cuts: list[tuple[int, int]] = field(default_factory=list)  # (left, right) anchors
    cut_frames: int = 0  # in-betweens copied because of a cut
    duplicates: int = 0  # source frames treated as repeats of the one before


class _Anchor:
    """A distinct source frame; its thumbnail is computed only if a decision needs it."""

    __slots__ = ("index", "frame", "_thumb")

    def __init__(self, index: int, frame: np.ndarray) -> None:
        self.index, self.frame = index, frame
        self._thumb: Optional[Thumb] = None

    @property
    def thumb(self) -> Thumb:
        if self._thumb is None:
            self._thumb = thumbnail(self.frame)
        return self._thumb


class _Group:
    """One pair of anchors and the times wanted between them; results filled in by a flush."""

    __slots__ = ("left", "right", "times", "out")

    def __init__(self, left: np.ndarray, right: np.ndarray) -> None:
        self.left, self.right = left, right
        self.times: list[Fraction] = []
        self.out: Optional[np.ndarray] = None


def interpolate_frames(
    source: Iterable[np.ndarray],
    plan: Plan,
    model: Interpolator,
    *,
    batch_size: int = 1,
    stats: Optional[StageStats] = None,
    scene_threshold: Optional[float] = CUT_THRESHOLD,
    dedupe: Optional[float] = None,
    first_index: int = 0,
    stop_before: Optional[int] = None,
) -> Iterator[np.ndarray]:
    """Yield the output frames of ``plan`` for ``source`` (``(H, W, 3)`` uint8 RGB frames).

    ``scene_threshold=None`` turns cut detection off; ``dedupe`` is the duplicate threshold,
    ``None`` for off. ``stats`` (a :class:`StageStats`, or the run's ``RunStats``) is updated.
    Frames after the trim end are not read.

    A chunk of a longer run: ``first_index`` is the source number of the first frame of
    ``source``; with ``stop_before`` the output ends before ``Copy(stop_before)``: that frame
    is read only as the right neighbour of the last gap (the next chunk emits it), and the
    last frame is not held.
    """
    st = stats if stats is not None else StageStats()
    ops: list[Union[np.ndarray, tuple[_Group, int]]] = []  # output order
    groups: list[_Group] = []
    anchor: Optional[_Anchor] = None
    waiting: list[Fraction] = []  # positions after the anchor, waiting for the next anchor
    shape: Optional[tuple[int, ...]] = None
    last_kept = -1

    def resolve(right: Optional[_Anchor]) -> None:
        """Turn the waiting positions into ops, between ``anchor`` and ``right``."""
        assert anchor is not None
        if not waiting:
            return
        if right is None:  # the stream ended inside a run: hold the anchor
            ops.extend(anchor.frame for _ in waiting)
            waiting.clear()
            return
        span = right.index - anchor.index
        cut = scene_threshold is not None and is_cut(anchor.thumb, right.thumb, scene_threshold)
        if cut:
            st.cuts.append((anchor.index, right.index))
            log.info("scene cut between frames %d and %d (%.3f s): in-betweens are copies, not mixes",
                     anchor.index, right.index, right.index / float(plan.in_rate))  # fmt: skip
        group: Optional[_Group] = None
        for s in waiting:
            u = (s - anchor.index) / span
            if cut:
                ops.append(anchor.frame if u <= Fraction(1, 2) else right.frame)
                st.cut_frames += 1
                continue
            if group is None:
                group = _Group(anchor.frame, right.frame)
                groups.append(group)
            ops.append((group, len(group.times)))
            group.times.append(u)
        waiting.clear()

    def flush() -> Iterator[np.ndarray]:
        # consecutive groups wanting the same times share a model call
        i = 0
        while i < len(groups):
            times = groups[i].times
            j = i + 1
            while j < len(groups) and j - i < batch_size and groups[j].times == times:
                j += 1
            chunk = groups[i:j]
            batch = np.empty((len(chunk), 2) + chunk[0].left.shape, dtype=np.uint8)  # one copy per frame
            for b, g in enumerate(chunk):
                batch[b, 0] = g.left
                batch[b, 1] = g.right
            t0 = time.perf_counter()
            # TEMPORARY (branch wip-rife4): the model protocol is float32 in [0, 1] now; this
            # 8-bit round trip keeps the engine working until the lead's native-format path
            # (issue #11) replaces it at merge
            out = model.interpolate(batch.astype(np.float32) / np.float32(255), tuple(times))
            st.model_s += time.perf_counter() - t0
            st.batches += 1
            want = (len(chunk), len(times)) + batch.shape[2:]
            if out.shape != want or out.dtype != np.float32:
                raise ModelError(f"model {model.name!r} returned {out.dtype} {out.shape}; expected float32 {want}")
            out = np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)  # TEMPORARY, see above
            for g, o in zip(chunk, out):
                g.out = o
            i = j
        for op in ops:
            if isinstance(op, tuple):
                g, k = op
                assert g.out is not None
                st.interpolated += 1
                yield g.out[k]
            else:
                yield op
        ops.clear()
        groups.clear()

    for index, frame in enumerate(source, start=first_index):
        if plan.trim_stop is not None and index >= plan.trim_stop:
            break
        if stop_before is not None and index > stop_before:
            break
        st.frames_in = index + 1
        if not plan.keeps(index):
            continue
        if shape is None:
            shape = frame.shape
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                raise InputError(f"frames must be uint8 (H, W, 3) RGB arrays (got {frame.dtype} {frame.shape})")
        elif frame.shape != shape or frame.dtype != np.uint8:
            raise InputError(f"frame {index} is {frame.dtype} {frame.shape}, but the first frame was uint8 {shape}")
        current = _Anchor(index, frame)
        if anchor is None:
            anchor = current
            ops.append(frame)
        else:
            waiting.extend(last_kept + t for t in plan.gap_times(last_kept))
            if dedupe is not None and is_duplicate(anchor.thumb, current.thumb, dedupe):
                st.duplicates += 1
                waiting.append(Fraction(index))
            else:
                new = current
                resolve(new)
                anchor = new
                if index != stop_before:
                    ops.append(frame)
        last_kept = index
        if len(groups) >= batch_size or not groups:
            yield from flush()
    if anchor is not None and stop_before is None:
        resolve(None)
        ops.extend(anchor.frame for _ in range(plan.tail_holds))
    yield from flush()
