"""PURE chunk plan: split one run into independent pieces whose outputs, joined in order, are
exactly the single run's output.

Chunk ``c`` owns the source positions ``[start, stop)``: it emits the output frames that fall
there (see :meth:`Plan.frames_at`): copies of its frames, in-betweens of gaps
``start .. stop-1``, and in the last chunk the holds after the last frame. Its output frame
numbers are ``[output_index(start), output_index(stop))``. A gap at its end needs frame
``stop`` too, so every chunk but the last reads that one frame of overlap (as the right
neighbour only; the next chunk emits what falls on it). With an ``--fps`` target a chunk's
first frame may fall between output instants and not be shown itself. Boundaries fall on
keyframes, so each chunk's decoder seeks straight to its first frame; they depend only on
the input and the chunk length, never on how many workers run them, so a resumed run finds
the same chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .plan import Plan

__all__ = ["Chunk", "Frames", "chunk_plan", "boundaries", "frames_to_decode"]


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # first source frame this chunk emits
    stop: int  # one past the last source frame it emits
    last: bool
    out_first: int  # output frame number of its first frame
    out_count: int  # output frames it writes

    @property
    def decode_count(self) -> int:
        """Source frames its decoder must deliver: its own, plus one of overlap."""
        return self.stop - self.start + (0 if self.last else 1)


@dataclass(frozen=True)
class Frames:
    """The source frames a decoder delivers: from ``first``, at most ``count`` (None: to the
    end). ``exact``: exactly ``count`` must come (a chunk), else fewer means the input ended."""

    first: int
    count: Optional[int]
    exact: bool = False


def frames_to_decode(plan: Plan, *, seekable: bool, chunk: Optional[Chunk] = None) -> Frames:
    """Where decoding starts and stops. A chunk reads its own frames and one of overlap; a file
    starts at the trim's first frame; a pipe can't seek, so it reads from its first frame and
    the stage skips what the trim leaves out. Every one stops at the trim's end."""
    if chunk is not None:
        return Frames(chunk.start, chunk.decode_count, exact=True)
    first = plan.trim_start if seekable else 0
    count = None if plan.trim_stop is None else plan.trim_stop - first
    return Frames(first, count)


def boundaries(first: int, end: int, keyframes: Sequence[int], target: int) -> list[int]:
    """Chunk starts in ``[first, end)``: the first keyframe at least ``target`` frames after
    the previous start; where keyframes are further apart than ``2 * target``, every
    ``target`` frames instead (a seek then decodes from the keyframe before)."""
    if target < 1:
        raise ValueError(f"chunk length must be >= 1 frame (got {target})")
    keys = sorted(k for k in set(keyframes) if first < k < end)
    starts = [first]
    i = 0
    while True:
        cur = starts[-1]
        while i < len(keys) and keys[i] < cur + target:
            i += 1
        if i < len(keys) and keys[i] <= cur + 2 * target:
            nxt = keys[i]
        elif cur + 2 * target < end:
            nxt = cur + target
        else:
            break
        if end - nxt < max(1, target // 4):  # don't leave a crumb at the end
            break
        starts.append(nxt)
    return starts


def chunk_plan(plan: Plan, n_frames: int, keyframes: Sequence[int], target: int) -> list[Chunk]:
    """The chunks of ``plan`` over an input of ``n_frames`` frames."""
    kept = plan.kept(n_frames)
    if not len(kept):
        return []
    starts = boundaries(kept.start, kept.stop, keyframes, target)
    total = plan.output_count(n_frames)
    chunks = []
    for c, start in enumerate(starts):
        last = c == len(starts) - 1
        stop = kept.stop if last else starts[c + 1]
        first = plan.output_index(start)
        count = (total if last else plan.output_index(stop)) - first
        chunks.append(Chunk(c, start, stop, last, first, count))
    return chunks
