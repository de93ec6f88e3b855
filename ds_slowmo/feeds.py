"""Extra inputs of an ffmpeg process, each read from a pipe (``-i pipe:N``, the fd passed with
``pass_fds``) that a thread of ours fills: the stretched audio of slowed ranges, retimed
subtitles. No temporary files.

Use: ``with Feeds(first_index) as feeds``, :meth:`Feeds.add` each input (it returns the input's
index for ``-map``), put :meth:`Feeds.input_args` in the argv, start the process with
:attr:`Feeds.pass_fds`, then :meth:`Feeds.start`; after the process exits, :meth:`Feeds.finish`
re-raises what a feeder raised. Leaving the block any other way stops every feeder (each stops
at its next block, or as soon as the process it writes to is gone) and closes every pipe.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Iterator, Optional, Sequence

from .ffmpeg.process import widen_pipe

__all__ = ["Feeds", "Producer"]

Producer = Callable[[threading.Event], Iterator[bytes]]
"""Makes the bytes of one input, in pieces; stops early when the event is set."""


class _Feed(threading.Thread):
    def __init__(self, args: Sequence[str], produce: Producer, stop: threading.Event, name: str) -> None:
        super().__init__(daemon=True, name=name)
        self.args, self.produce, self.stop = list(args), produce, stop
        self.read_fd, self.write_fd = os.pipe()
        widen_pipe(self.write_fd)
        self.error: Optional[BaseException] = None
        self.closed = False  # the reader went away first

    def run(self) -> None:
        pieces = self.produce(self.stop)
        try:
            for piece in pieces:
                view = memoryview(piece).cast("B")
                while view:
                    view = view[os.write(self.write_fd, view) :]
                if self.stop.is_set():
                    return
        except BrokenPipeError:
            self.closed = True
        except BaseException as exc:  # noqa: BLE001 - kept, and raised where the feeds are finished
            self.error = exc
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # a producer's own processes end here
            os.close(self.write_fd)
            self.write_fd = -1


class Feeds:
    """The pipes an ffmpeg process reads as inputs ``first_index``, ``first_index + 1``, ..."""

    def __init__(self, first_index: int) -> None:
        self.first_index = first_index
        self.stop = threading.Event()
        self._feeds: list[_Feed] = []
        self._inputs: list[Any] = []  # in input order: a feed, or the argv of a plain input
        self._started = False
        self._on_close: list[Callable[[], None]] = []

    def add(self, args: Sequence[str], produce: Producer, name: str = "feed") -> int:
        """An input read as ``args`` (``-f f32le -ar 48000 ...``) from what ``produce``
        yields; returns its input index."""
        feed = _Feed(args, produce, self.stop, f"ds-slowmo-{name}")
        self._feeds.append(feed)
        self._inputs.append(feed)
        return self.first_index + len(self._inputs) - 1

    def extra(self, argv: Sequence[str]) -> int:
        """A plain input among them (``-itsoffset ... -i FILE``); returns its input index."""
        self._inputs.append(list(argv))
        return self.first_index + len(self._inputs) - 1

    def on_close(self, callback: Callable[[], None]) -> None:
        """Also call this when the feeds close (what the producers share: a decoder)."""
        self._on_close.append(callback)

    def __len__(self) -> int:
        return len(self._inputs)

    def input_args(self) -> list[str]:
        """The ``-i`` arguments of every input, in order."""
        out: list[str] = []
        for item in self._inputs:
            out += [*item.args, "-i", f"pipe:{item.read_fd}"] if isinstance(item, _Feed) else item
        return out

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return tuple(f.read_fd for f in self._feeds)

    def start(self) -> None:
        """Once the process runs: our copies of the read ends close (its own stay open) and
        every feeder starts."""
        self._close_reads()
        self._started = True
        for f in self._feeds:
            f.start()

    def finish(self) -> None:
        """After the process exited: wait for every feeder; raise the first one's error."""
        for f in self._feeds:
            f.join()
        for f in self._feeds:
            if f.error is not None:
                raise f.error

    def _close_reads(self) -> None:
        for f in self._feeds:
            if f.read_fd >= 0:
                os.close(f.read_fd)
                f.read_fd = -1

    def __enter__(self) -> "Feeds":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop every feeder and close every pipe (idempotent). The process reading them must
        be gone or finished, so that no feeder is left blocked on a full pipe."""
        self.stop.set()
        for callback in self._on_close:
            callback()
        self._close_reads()
        for f in self._feeds:
            if self._started:
                f.join(timeout=30)
            elif f.write_fd >= 0:
                os.close(f.write_fd)
                f.write_fd = -1
