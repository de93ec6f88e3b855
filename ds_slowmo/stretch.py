"""PURE time stretch of one slowed audio segment, with every onset pinned to its time.

``stretch_stream(blocks, n_in, n_out, sample_rate, line)`` turns ``n_in`` input samples (read
from ``blocks`` as it needs them, so memory stays bounded however long the segment) into
exactly ``n_out`` output samples, along a time map that puts each onset ``o`` (found by
:mod:`ds_slowmo.onsets`) at output sample ``line(o)``: the plan's own time for it.

How. The output is a chain of *regions* copied at their own speed and *gaps* between them,
stretched by a phase vocoder with identity phase locking (Laroche and Dolson), so pitch and
timbre are kept:

- a region of ``EDGE`` (5 ms) at each end of the segment, so the first and last samples are
  the input's own and the joins with the unstretched audio around are seamless;
- a region around each onset, from 4 ms before it to 20 ms after: the attack is copied as it
  is, placed so the onset lands exactly on ``line(o)``; nothing of it leaks into the gap
  before (the vocoder never sees the input past the end of its gap: it reads it mirrored),
  so there is no pre-echo;
- where there is no onset for 5 s of input, a plain region on the line, so a gap's working
  memory stays bounded.

Each gap is stretched linearly between its two regions. It starts with the input's own
phases (a phase reset: it continues the region before it seamlessly), and over its last
100 ms its phases are turned to meet the input's at the next region (at most 5 Hz off
meanwhile), so the 5 ms cross-fades at both ends join signals that agree: no dip, no click.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np

from .onsets import OnsetGrid, find_onsets

__all__ = ["Region", "stretch", "stretch_stream"]

EDGE = 0.005  # seconds copied as they are at each end of a segment, and cross-faded at each join
PRE, POST = 0.004, 0.020  # seconds copied around an onset, before and after it
LONGEST_GAP = 5.0  # seconds of input between two regions at most
TURN = 0.1  # seconds of output over which a gap's phases turn to meet the next region


@dataclass(frozen=True)
class Region:
    """Input samples ``[src, src + length)`` copied to output ``[dst, dst + length)``."""

    src: int
    dst: int
    length: int
    onset: bool = False  # around an onset (else an edge, or a steady point on the line)

    @property
    def src_end(self) -> int:
        return self.src + self.length

    @property
    def dst_end(self) -> int:
        return self.dst + self.length


def _princarg(x: np.ndarray) -> np.ndarray:
    return x - 2.0 * np.pi * np.round(x / (2.0 * np.pi))


class _Input:
    """The segment's input as far as it has been read, from ``start`` on: samples ``0 ..
    n_in - 1``, with ``before`` samples of what precedes them and ``after`` of what follows
    (context the vocoder may read, never copy); missing samples (a source that ends early)
    are silence."""

    def __init__(self, blocks: Iterator[np.ndarray], n_in: int, channels: int, before: int = 0, after: int = 0) -> None:
        self.blocks, self.n_in, self.channels = blocks, n_in, channels
        self.lowest, self.highest = -before, n_in + after
        self.data = np.zeros((channels, 0))
        self.start = self.lowest  # index of data[:, 0]
        self.done = False

    @property
    def end(self) -> int:
        return self.start + self.data.shape[1]

    def need(self, upto: int) -> None:
        upto = min(upto, self.highest)
        parts = [self.data]
        have = self.end
        while have < upto:
            block = None if self.done else next(self.blocks, None)
            if block is None:
                self.done = True
                block = np.zeros((self.channels, upto - have))
            block = np.asarray(block, dtype=np.float64).reshape(self.channels, -1)[:, : self.highest - have]
            parts.append(block)
            have += block.shape[1]
        if len(parts) > 1:
            self.data = np.concatenate(parts, axis=1)

    def drop(self, before: int) -> None:
        cut = min(max(0, before - self.start), self.data.shape[1])
        if cut > 1 << 16:
            self.data, self.start = self.data[:, cut:].copy(), self.start + cut

    def take(self, a: int, b: int) -> np.ndarray:
        if a < self.start:
            raise ValueError(f"input sample {a} was already let go (kept from {self.start})")
        self.need(b)
        return self.data[:, a - self.start : b - self.start]

    def gather(self, idx: np.ndarray, mirror_at: int) -> np.ndarray:
        """Samples at indices ``idx`` (any shape), the input mirrored where it begins and at
        ``mirror_at`` (nothing at or past it is read)."""
        low = self.lowest
        i = np.where(idx >= mirror_at, 2 * mirror_at - 1 - idx, idx)
        i = np.where(i < low, 2 * low - 1 - i, i)
        i = np.clip(i, self.start, max(self.start, mirror_at - 1))
        self.need(int(i.max()) + 1)
        return self.data[:, i - self.start]


@dataclass
class _Vocoder:
    """The phase vocoder's sizes for one sample rate."""

    n: int  # FFT size, about 43 ms
    hop: int  # synthesis hop, n / 4
    sample_rate: int

    @classmethod
    def of(cls, sample_rate: int) -> "_Vocoder":
        n = 1 << max(6, round(math.log2(sample_rate * 0.0427)))
        return cls(n=n, hop=n // 4, sample_rate=sample_rate)

    @property
    def window(self) -> np.ndarray:
        return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(self.n) / self.n)


def _owners(mag: np.ndarray) -> np.ndarray:
    """For each frame (row) and bin, the spectral peak whose region the bin lies in (identity
    phase locking): the nearer of the peaks around it. A frame without peaks owns itself."""
    k, bins = mag.shape
    c = mag[:, 2:-2]
    peak = np.zeros(mag.shape, bool)
    peak[:, 2:-2] = (c > mag[:, 1:-3]) & (c > mag[:, :-4]) & (c >= mag[:, 3:-1]) & (c >= mag[:, 4:])
    idx = np.broadcast_to(np.arange(bins), mag.shape)
    before = np.maximum.accumulate(np.where(peak, idx, -1), axis=1)  # the last peak at or before
    after = np.minimum.accumulate(np.where(peak, idx, bins)[:, ::-1], axis=1)[:, ::-1]  # the first at or after
    nearer = np.where((before < 0) | ((after < bins) & (after - idx < idx - before)), after, before)
    out: np.ndarray = np.where((nearer < 0) | (nearer >= bins), idx, nearer)
    return out


class _Gap:
    """One gap: input ``[a, b)`` stretched onto output ``[A, B)`` (see the module's note)."""

    def __init__(self, src: _Input, voc: _Vocoder, a: int, b: int, A: int, B: int, fade: int, mirror_at: int) -> None:
        self.src, self.voc, self.a, self.b, self.A, self.B, self.fade = src, voc, a, b, A, B, fade
        self.mirror_at = mirror_at  # the vocoder reads the input mirrored here: nothing of an onset leaks back
        self.slope = (b - a) / (B - A)  # input per output
        hop, n = voc.hop, voc.n
        self.last = max(0, -(-(B - A + n // 2) // hop) - 1)  # frames 0 .. last cover [A, B)
        self.target = max(0, (B - fade - A) // hop)  # this frame's phases meet the input's
        self.turn_from = max(0, self.target - max(1, round(TURN * voc.sample_rate / hop)))
        self.omega = 2.0 * np.pi * np.arange(n // 2 + 1) / n

    def _spectra(self, pos: np.ndarray, mirror_at: int) -> np.ndarray:
        n = self.voc.n
        lo, hi = int(pos[0]) - n // 2, int(pos[-1]) + n // 2
        if lo >= self.src.start and hi <= mirror_at:  # all inside: windows of the input as it is
            view = np.lib.stride_tricks.sliding_window_view(self.src.take(lo, hi), n, axis=1)
            frames = view[:, pos - n // 2 - lo]
        else:
            frames = self.src.gather(pos[:, None] - n // 2 + np.arange(n), mirror_at)  # (C, k, n)
        out: np.ndarray = np.fft.rfft(frames * self.voc.window, axis=-1)
        return out

    def _blocks(self) -> Iterator[np.ndarray]:
        """Frame numbers in blocks; the frames from ``turn_from`` on come as one block, so the
        target frame's phases are known before any frame that turns towards them is made."""
        for m0 in range(0, self.turn_from, 128):
            yield np.arange(m0, min(m0 + 128, self.turn_from))
        yield np.arange(self.turn_from, self.last + 1)

    def render(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(output offset from A, samples)`` pieces of the vocoder's output, in order."""
        hop, n, w = self.voc.hop, self.voc.n, self.voc.window
        channels = self.src.channels
        tail, wtail = np.zeros((channels, 3, hop)), np.zeros((1, 3, hop))  # the overlap not yet final
        prev: Optional[tuple[np.ndarray, np.ndarray, int]] = None  # last frame's phases, synthesis phases, position
        at = -(n // 2)
        for ms in self._blocks():
            pos = np.rint(self.a + ms * hop * self.slope).astype(np.int64)
            spec = self._spectra(pos, self.mirror_at)
            mag, ph = np.abs(spec), np.angle(spec)
            owners = _owners(mag.sum(axis=0))
            synth = self._phases(ph, pos, prev, owners)
            prev = (ph[:, -1], synth[:, -1], int(pos[-1]))
            if ms[0] == self.turn_from:  # turn the last frames to meet the input's phases
                t = self.target - self.turn_from
                k = np.clip((ms - self.turn_from) / max(1, t), 0.0, 1.0)
                # one turn per peak (the target frame's), so a partial's bins turn together
                e = self._correction(synth[:, t])[:, owners[t]]
                synth += k[None, :, None] * np.take_along_axis(e[:, None, :], owners[None], axis=2)
            frames = np.fft.irfft(mag * np.exp(1j * synth), n=n, axis=-1) * w
            blocks, weights = _ola(frames), _ola(np.broadcast_to(w * w, (1, ms.size, n)))  # hop-long pieces
            blocks[:, :3] += tail
            weights[:, :3] += wtail
            done = ms.size if ms[-1] < self.last else ms.size + 3
            out = blocks[:, :done] / np.maximum(weights[:, :done], 1e-3)
            tail, wtail = blocks[:, done:], weights[:, done:]
            yield at, out.reshape(channels, -1)
            at += done * hop

    def _phases(self, ph: np.ndarray, pos: np.ndarray, prev: Optional[tuple[np.ndarray, np.ndarray, int]],
                owners: np.ndarray) -> np.ndarray:  # fmt: skip
        """Synthesis phases of a block of frames: the gap's first frame keeps the input's (a
        phase reset); each later one advances every bin by its instantaneous frequency, then
        the bins around each peak are locked to it."""
        if prev is None:
            first_ph, first_synth, first_pos = ph[:, 0], ph[:, 0], int(pos[0])
        else:
            first_ph, first_synth, first_pos = prev
        ha = np.diff(pos, prepend=first_pos)[None, :, None].astype(np.float64)
        last_ph = np.concatenate([first_ph[:, None], ph[:, :-1]], axis=1)
        safe = np.maximum(ha, 1.0)
        omega = np.where(ha > 0, self.omega + _princarg(ph - last_ph - self.omega * ha) / safe, self.omega)
        advance = omega * self.voc.hop
        synth = np.empty_like(ph)
        cur = first_synth
        for j in range(ph.shape[1]):
            if j == 0 and prev is None:
                cur = ph[:, 0]
            else:
                o = owners[j]
                cur = (cur + advance[:, j])[:, o] + ph[:, j] - ph[:, j][:, o]
            synth[:, j] = cur
        return synth

    def _correction(self, synth: np.ndarray) -> np.ndarray:
        """How far the target frame's phases are from the input's where the next region's
        cross-fade reads it (output ``y`` there is input ``y - B + b``)."""
        y = self.A + self.target * self.voc.hop
        q = np.array([y - self.B + self.b], dtype=np.int64)
        want = np.angle(self._spectra(q, self.src.highest))[:, 0]
        c: np.ndarray = _princarg(want - synth)
        return c


def _ola(frames: np.ndarray) -> np.ndarray:
    """Overlap-add of frames a quarter of their length apart: ``(C, k, n)`` -> ``(C, k + 3,
    n / 4)``, piece ``i`` the sum of the quarters that fall on it."""
    c, k, n = frames.shape
    q = frames.reshape(c, k, 4, n // 4)
    out = np.zeros((c, k + 3, n // 4))
    for j in range(4):
        out[:, j : j + k] += q[:, :, j]
    return out


def _fade(n: int) -> np.ndarray:
    """0 -> 1 over ``n`` samples, raised cosine (the two sides of a join add up to 1)."""
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)


class _Planner:
    """Where the regions go: the next one after a region, from the onsets ahead of it."""

    def __init__(self, src: _Input, n_out: int, sample_rate: int, line: Callable[[int], int], pin: bool) -> None:
        self.src, self.n_out, self.sr, self.line, self.pin = src, n_out, sample_rate, line, pin
        self.edge = max(0, min(round(EDGE * sample_rate), src.n_in // 4, n_out // 4))
        self.pre, self.post = round(PRE * sample_rate), round(POST * sample_rate)
        self.longest = round(LONGEST_GAP * sample_rate)
        self.grid = OnsetGrid.of(sample_rate)
        self.found: list[int] = []  # onsets searched for but not yet used
        self.scanned = 0  # coarse frames before this have been searched

    def first(self) -> Region:
        return Region(0, 0, self.edge)

    def last(self) -> Region:
        return Region(self.src.n_in - self.edge, self.n_out - self.edge, self.edge)

    def after(self, prev: Region) -> Region:
        """The region after ``prev``: at the first onset that leaves room for the joins, else
        on the line ``LONGEST_GAP`` further on, else the last."""
        end = self.last()
        a, room = prev.src_end, 2 * self.edge
        stop = min(a + self.longest, end.src - room - self.post)
        for o in self._onsets(a + room + self.pre, stop):
            region = Region(o - self.pre, self.line(o) - self.pre, self.pre + self.post, onset=True)
            if self._fits(prev, region) and self._fits(region, end):
                return region
        f = a + self.longest
        if f + self.edge + room <= end.src:
            region = Region(f, self.line(f), self.edge)
            if self._fits(prev, region) and self._fits(region, end):
                return region
        return end

    def _onsets(self, lo: int, hi: int) -> Iterator[int]:
        """The onsets in ``[lo, hi)``, searched a second of input at a time and remembered."""
        if not self.pin:
            return
        hop = self.grid.hop
        while True:
            self.found = [o for o in self.found if o >= lo]
            for o in self.found:
                if o >= hi:
                    return
                lo = o + 1
                yield o
            if self.scanned >= hi:
                return
            a = max(self.scanned, lo - self.grid.n_fft) // hop * hop  # frames on the grid
            b = min(a + self.sr, hi)
            w0 = -(-max(a - self.grid.context, self.src.start) // hop) * hop
            window = self.src.take(w0, min(self.src.highest, b + self.grid.n_fft + self.grid.context))
            self.found += [o + w0 for o in find_onsets(window, self.sr, a - w0, b - w0) if o + w0 >= lo]
            self.scanned = b

    def mirror_at(self, right: Region, reach: int) -> int:
        """Where the vocoder of the gap before ``right`` must stop reading: at ``right`` when
        an onset begins within ``reach`` samples of it (at it, or just after a steady one),
        else nowhere before the context ends."""
        b = right.src
        if right.onset or any(True for _ in self._onsets(b, min(self.src.highest, b + reach))):
            return b
        return self.src.highest

    def _fits(self, left: Region, right: Region) -> bool:
        """Room for a gap between them: input and output both ahead, output at least as
        long as input, and both long enough for the two cross-fades."""
        gap_in, gap_out = right.src - left.src_end, right.dst - left.dst_end
        return gap_in >= 2 * self.edge and gap_out >= gap_in


def stretch_stream(blocks: Iterator[np.ndarray], n_in: int, n_out: int, sample_rate: int, channels: int,
                   line: Optional[Callable[[int], int]] = None, pin: bool = True,
                   context: tuple[int, int] = (0, 0)) -> Iterator[np.ndarray]:  # fmt: skip
    """Exactly ``n_out`` samples (``(channels, k)`` float32 blocks) made from the ``n_in``
    samples that ``blocks`` yields (``(channels, k)`` arrays; a source that ends early is
    padded with silence, one that runs on is cut). ``line(i)`` is the output sample where input
    sample ``i`` belongs (default: the straight line ``i * n_out / n_in``); with ``pin`` each
    onset lands exactly there. ``n_out >= n_in``. ``context``: how many samples of what comes
    before and after the segment ``blocks`` also holds (first and last): the vocoder reads
    them (what plays around the segment sounds on into it), nothing copies them; without it,
    the segment is taken as standing alone (mirrored at its ends)."""
    if n_out < n_in:
        raise ValueError(f"a stretch makes audio longer (got {n_in} -> {n_out} samples)")
    if line is None:
        line = lambda i: (2 * i * n_out + n_in) // (2 * n_in) if n_in else 0  # noqa: E731
    src = _Input(blocks, n_in, channels, *context)
    if n_in < 16 or n_out < 16:  # too short to stretch: spread what there is
        x = src.take(0, n_in)
        t = np.linspace(0, max(0, n_in - 1), n_out)
        yield np.stack([np.interp(t, np.arange(n_in), c) for c in x]).astype(np.float32) if n_in else np.zeros(
            (channels, n_out), np.float32)
        return
    plan = _Planner(src, n_out, sample_rate, line, pin)
    voc = _Vocoder.of(sample_rate)
    prev = plan.first()
    yield src.take(0, prev.length).astype(np.float32)
    while prev != plan.last():
        nxt = plan.after(prev)
        yield from _join(src, voc, prev, nxt, plan.edge, plan.mirror_at(nxt, voc.n))
        yield src.take(nxt.src, nxt.src_end).astype(np.float32)
        src.drop(nxt.src - 2 * voc.n - plan.grid.context)
        prev = nxt


def _join(src: _Input, voc: _Vocoder, left: Region, right: Region, edge: int, mirror_at: int) -> Iterator[np.ndarray]:
    """The gap between two regions: the vocoder's output, cross-faded over ``edge`` samples
    at each end with the input that continues each region."""
    a, b, A, B = left.src_end, right.src, left.dst_end, right.dst
    size = B - A
    if size <= 0:
        return
    fade = min(edge, size // 2)
    ramp = _fade(fade)
    for at, piece in _Gap(src, voc, a, b, A, B, fade, mirror_at).render():
        lo, hi = max(0, at), min(size, at + piece.shape[1])
        if lo >= hi:
            continue
        out = piece[:, lo - at : hi - at].copy()
        head = min(hi, fade)
        if lo < head:  # the left region's input fades out as the vocoder fades in
            g = ramp[lo:head]
            out[:, : head - lo] = out[:, : head - lo] * g + src.take(a + lo, a + head) * (1 - g)
        tail = max(lo, size - fade)
        if tail < hi:  # and the right region's input fades in
            g = ramp[tail - (size - fade) : hi - (size - fade)]
            k = tail - lo
            out[:, k:] = out[:, k:] * (1 - g) + src.take(b - (size - tail), b - (size - hi)) * g
        yield out.astype(np.float32)


def stretch(x: np.ndarray, n_out: int, sample_rate: int, line: Optional[Callable[[int], int]] = None,
            pin: bool = True, context: tuple[int, int] = (0, 0)) -> np.ndarray:  # fmt: skip
    """:func:`stretch_stream` of a whole ``(channels, n)`` array at once (tests, benchmarks);
    ``context`` as there: ``x`` holds that much before and after the segment."""
    x = np.atleast_2d(np.asarray(x))
    n_in = x.shape[1] - sum(context)
    parts = list(stretch_stream(iter([x]), n_in, n_out, sample_rate, x.shape[0], line, pin, context))
    return np.concatenate(parts, axis=1) if parts else np.zeros((x.shape[0], n_out), np.float32)
