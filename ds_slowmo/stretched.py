"""The stretched pieces of slowed audio, made while the encoder runs (``--audio-stretch pin``).

Each track has one decoder (the source's track as raw float samples, counted from its first
decoded sample, exactly as the audio graph counts them) that the track's pieces read in turn,
in timeline order: a piece's feeder waits for the one before to finish, reads its samples
(with a little context on each side), runs them through :func:`ds_slowmo.stretch.stretch_stream`
and writes the result into its pipe as the encoder takes it. What lies between pieces is read
and let go, so memory stays bounded whatever the length of the film; only the slowed samples
are stretched. The decoder is started when the first piece needs it and ended with the last.
"""

from __future__ import annotations

import math
import subprocess
import threading
from typing import Iterator, Optional, Sequence

import numpy as np

from . import ffmpeg as ff
from .audio import PIECE_LEAD, Piece
from .errors import FFmpegError
from .feeds import Feeds
from .stretch import stretch_stream

__all__ = ["add_pieces", "TrackReader"]

_BLOCK = 8192  # samples a read from the decoder asks for


def context_samples(sample_rate: int) -> int:
    """Samples of what plays around a piece that its stretch may hear (about 85 ms)."""
    return 1 << max(7, round(math.log2(sample_rate * 0.0853)))


class TrackReader:
    """One track's samples in order, for its pieces one after another (see the module's note).
    A piece waits for its turn (:meth:`wait_turn`), reads ``(channels, n)`` blocks of track
    samples ``[a, b)`` (:meth:`samples`: silence before the track's first sample and after its
    last), and ends its turn (:meth:`end_turn`)."""

    def __init__(self, argv: Sequence[str], channels: int, stop: threading.Event, keep: int, turns: int) -> None:
        self.argv, self.channels, self.stop, self.keep, self.turns = list(argv), channels, stop, keep, turns
        self.cond = threading.Condition()
        self.turn = 0
        self.proc: Optional[ff.FFmpegProcess] = None
        self.ended = False
        self.recent = np.zeros((channels, 0), np.float32)  # the last samples read: [pos - len, pos)
        self.pos = 0  # the decoder's next sample

    def wait_turn(self, k: int) -> bool:
        """Block until piece ``k`` may read (the pieces before it are done); False if stopped."""
        with self.cond:
            self.cond.wait_for(lambda: self.turn >= k or self.stop.is_set())
        return not self.stop.is_set()

    def end_turn(self, k: int) -> None:
        """Piece ``k`` is done (however it ended): the next may read."""
        with self.cond:
            self.turn = max(self.turn, k + 1)
            self.cond.notify_all()
        if self.turn >= self.turns:  # the last piece is made: the rest of the track is not needed
            self.close()

    def samples(self, a: int, b: int) -> Iterator[np.ndarray]:
        at = a
        if at < 0:  # before the track begins
            yield np.zeros((self.channels, min(b, 0) - at), np.float32)
            at = min(b, 0)
        start = self.pos - self.recent.shape[1]
        if at < self.pos and at < b:
            if at < start:
                raise RuntimeError(f"audio sample {at} was already let go (kept from {start})")
            yield self.recent[:, at - start : min(b, self.pos) - start]
            at = min(b, self.pos)
        while at < b and not self.stop.is_set():
            block = self._read()
            if block is None:  # the track ended: silence
                yield np.zeros((self.channels, b - at), np.float32)
                return
            lo = self.pos - block.shape[1]
            if lo + block.shape[1] > at:
                yield block[:, max(0, at - lo) : b - lo]
                at = min(b, self.pos)

    def _read(self) -> Optional[np.ndarray]:
        """The decoder's next block (and remember the last ``keep`` samples); None at its end."""
        if self.ended:
            return None
        if self.proc is None:
            self.proc = ff.FFmpegProcess(self.argv, role="audio decoder", stdout=subprocess.PIPE)
        frame = 4 * self.channels
        data = self.proc.stdout.read(_BLOCK * frame)
        if len(data) % frame:
            data += self.proc.stdout.read(frame - len(data) % frame)
        if not data:
            self.ended = True
            code = self.proc.finish()
            if code != 0 and not self.stop.is_set():
                raise FFmpegError(f"decoding the audio to stretch failed (ffmpeg exit code {code})",
                                     self.proc.stderr_tail())  # fmt: skip
            return None
        block = np.frombuffer(data, "<f4").reshape(-1, self.channels).T
        self.pos += block.shape[1]
        self.recent = np.concatenate([self.recent, block], axis=1)[:, -self.keep :]
        return block

    def close(self) -> None:
        """End the decoder (idempotent; any thread) and wake every piece still waiting."""
        self.ended = True
        if self.proc is not None:
            self.proc.kill()
        with self.cond:
            self.cond.notify_all()


def decoder_argv(exe: str, path: str, track: int, sample_rate: int) -> list[str]:
    """Track ``track`` of ``path`` as raw 32-bit float samples, counted as the audio graph
    counts them (``aresample`` at its own rate, from its first decoded sample)."""
    return ff.preamble(exe, "error") + ["-vn", "-sn", "-dn", "-i", ff.path_arg(path), "-map", f"0:a:{track}",
                                        "-af", f"aresample={sample_rate}", "-f", "f32le", "-c:a", "pcm_f32le", "pipe:1"]  # fmt: skip


def _produce(reader: TrackReader, turn: int, piece: Piece, channels: int, stop: threading.Event) -> Iterator[bytes]:
    yield bytes(4 * channels * PIECE_LEAD)  # what ffmpeg reads at open; the graph cuts it
    c = context_samples(piece.sample_rate)
    try:
        if not reader.wait_turn(turn):
            return
        blocks = reader.samples(piece.first - c, piece.last + c)
        for out in stretch_stream(blocks, piece.last - piece.first, piece.length, piece.sample_rate, channels,
                                  piece.line, True, (c, c)):  # fmt: skip
            if stop.is_set():
                return
            yield np.ascontiguousarray(out.T, "<f4").tobytes()
    finally:
        reader.end_turn(turn)


def add_pieces(feeds: Feeds, exe: str, path: str, tracks: Sequence[ff.AudioStream],
               pieces: Sequence[Piece]) -> dict[tuple[int, int], int]:  # fmt: skip
    """Register a feed for every piece (one decoder per track, shared in turn); returns
    ``(track, segment) -> input index`` for the audio graph."""
    inputs: dict[tuple[int, int], int] = {}
    readers: dict[int, TrackReader] = {}
    for j in sorted({p.track for p in pieces}):
        t = tracks[j]
        count = sum(p.track == j for p in pieces)
        readers[j] = TrackReader(decoder_argv(exe, path, j, t.sample_rate), t.channels or 1, feeds.stop,
                                 4 * context_samples(t.sample_rate), count)  # fmt: skip
        feeds.on_close(readers[j].close)
    turns = dict.fromkeys(readers, 0)
    for p in pieces:
        t, reader, turn = tracks[p.track], readers[p.track], turns[p.track]
        turns[p.track] += 1
        args = ["-probesize", "32", "-analyzeduration", "0", "-f", "f32le", "-ar", str(t.sample_rate),
                "-ch_layout", t.layout_arg]  # fmt: skip

        def produce(stop: threading.Event, r: TrackReader = reader, k: int = turn, pc: Piece = p) -> Iterator[bytes]:
            return _produce(r, k, pc, r.channels, stop)

        inputs[(p.track, p.segment)] = feeds.add(args, produce, f"audio-{p.track}-{p.segment}")
    return inputs
