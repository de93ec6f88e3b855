"""Threads and bounded queues: the only concurrency in a run; and the signal plumbing that
turns a termination request into the ``KeyboardInterrupt`` every ``finally`` handles.

Back-pressure comes from bounded queues; the end of a stream is the :data:`EOF` sentinel; a
worker's exception travels through its queue (:class:`Reader`) or is re-raised where the
:class:`Writer` is finished. No thread polls.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from contextlib import contextmanager
from types import FrameType
from typing import IO, Any, Callable, Iterator, Optional, Protocol

import numpy as np

from .errors import InputError

__all__ = ["EOF", "Reader", "Retime", "Writer", "queue_items", "drain", "Counter", "stop_signals_interrupt", "STOP_SIGNALS"]

EOF = object()


class Counter:
    """Seconds spent waiting, added up by one thread (read by others only after it ends)."""

    def __init__(self) -> None:
        self.seconds = 0.0


def _readinto_full(stream: IO[bytes], view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


class Retime(Protocol):
    """What a :class:`Reader` may pass its frames through: the frames to pass on for each
    frame read (a rate conversion repeats or drops some), and those left at the end."""

    def feed(self, frame: np.ndarray) -> list[np.ndarray]: ...

    def rest(self) -> list[np.ndarray]: ...


class Reader(threading.Thread):
    """Reads fixed-size frames (1-D uint8 buffers of ``frame_bytes``) from a pipe into a bounded
    queue, at most ``limit`` (after ``retime``, if given); ends with :data:`EOF`, or puts the
    exception that stopped it."""

    def __init__(self, stream: IO[bytes], frame_bytes: int, q: "queue.Queue[Any]", stop: threading.Event,
                 limit: Optional[int], retime: Optional[Retime] = None) -> None:  # fmt: skip
        super().__init__(daemon=True, name="ds-slowmo-reader")
        self.stream, self.frame_bytes, self.q, self.stop, self.limit = stream, frame_bytes, q, stop, limit
        self.retime = retime
        self.count = 0
        self.hit_limit = False
        self.waited = Counter()

    def run(self) -> None:
        try:
            while not self.stop.is_set() and not self._full():
                frame = self._read_one()
                if frame is None:
                    self._put(self.retime.rest() if self.retime is not None else [])
                    break
                self._put(self.retime.feed(frame) if self.retime is not None else [frame])
            self.q.put(EOF)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self.q.put(exc)

    def _full(self) -> bool:
        if self.limit is not None and self.count >= self.limit:
            self.hit_limit = True
        return self.hit_limit

    def _put(self, frames: list[np.ndarray]) -> None:
        for frame in frames:
            if self._full():
                return
            self.q.put(frame)
            self.count += 1

    def _read_one(self) -> Optional[np.ndarray]:
        frame = np.empty(self.frame_bytes, dtype=np.uint8)
        t0 = time.perf_counter()
        got = _readinto_full(self.stream, memoryview(frame.data).cast("B"))
        self.waited.seconds += time.perf_counter() - t0
        if got == 0:
            return None
        if got < self.frame_bytes:
            raise InputError(
                f"the decoder stopped in the middle of frame {self.count} ({got} of {self.frame_bytes} bytes); "
                "the input is truncated or corrupt"
            )
        return frame


class Writer(threading.Thread):
    """Writes frames from a bounded queue into a pipe. On failure it records the exception and
    keeps draining, so the producer never blocks on it."""

    def __init__(self, stream: IO[bytes], q: "queue.Queue[Any]", *, name: str = "ds-slowmo-writer",
                 on_frame: Optional[Callable[[int], None]] = None) -> None:  # fmt: skip
        super().__init__(daemon=True, name=name)
        self.stream, self.q, self.on_frame = stream, q, on_frame
        self.count = 0
        self.error: Optional[BaseException] = None
        self.waited = Counter()

    def run(self) -> None:
        try:
            while True:
                item = self.q.get()
                if item is EOF:
                    return
                t0 = time.perf_counter()
                view = memoryview(item).cast("B")
                done = 0
                while done < len(view):
                    done += self.stream.write(view[done:]) or 0
                self.waited.seconds += time.perf_counter() - t0
                self.count += 1
                if self.on_frame is not None:
                    self.on_frame(self.count)
        except BaseException as exc:  # noqa: BLE001 - kept, and raised where the tap is finished
            self.error = exc
            while self.q.get() is not EOF:
                pass

    def end(self) -> None:
        """Send EOF and wait for the thread."""
        self.q.put(EOF)
        self.join()

    def close(self) -> None:
        """Unblock and end the thread from outside (error paths): empty the queue, send EOF."""
        if self.is_alive():
            drain(self.q)
            self.q.put(EOF)
        self.join(timeout=10)


def queue_items(q: "queue.Queue[Any]", waited: Optional[Counter] = None) -> Iterator[np.ndarray]:
    """The items of a reader's queue until :data:`EOF`; a queued exception is raised here."""
    while True:
        t0 = time.perf_counter()
        item = q.get()
        if waited is not None:
            waited.seconds += time.perf_counter() - t0
        if item is EOF:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def drain(q: "queue.Queue[Any]") -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


#: the signals that end a run as Ctrl-C does: kill (SIGTERM) and a closed terminal (SIGHUP)
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise KeyboardInterrupt, as SIGINT does (so every
    ``finally`` runs: no ffmpeg is orphaned, no temporary file is left); the previous handlers
    come back after. The CLI and the workers use it."""

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
