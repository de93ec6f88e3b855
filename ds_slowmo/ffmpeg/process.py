"""Finding ffmpeg and running it: one subprocess per :class:`FFmpegProcess` (or
:func:`run_short`), started from an argv list (never a shell string), inside a
``with``/``try-finally`` that closes its pipes, waits, and kills it on error or interrupt, with
its stderr drained by a daemon thread into a bounded tail that error messages quote."""

from __future__ import annotations

import collections
import io
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]
import shutil
import subprocess
import threading
from typing import IO, Any, Callable, Optional, Protocol, Sequence

from ..errors import FFmpegError, SlowmoError

__all__ = ["find_ffmpeg", "FFmpegProcess", "LineTaker", "run_short", "widen_pipe"]


def find_ffmpeg() -> str:
    """``$DS_SLOWMO_FFMPEG``, else ``ffmpeg`` on PATH, else imageio-ffmpeg's bundled binary."""
    env = os.environ.get("DS_SLOWMO_FFMPEG")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise SlowmoError(f"DS_SLOWMO_FFMPEG={env} is not an executable file; fix or unset it")
        return env
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise SlowmoError(
            "ffmpeg not found: install it (apt-get install ffmpeg), pip install imageio-ffmpeg, "
            "or set DS_SLOWMO_FFMPEG"
        ) from None
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


class LineTaker(Protocol):
    """Takes the stderr lines that are its own (``take`` returns True), and hears the end."""

    def take(self, line: str) -> bool: ...

    def end(self) -> None: ...


class _StderrDrain(threading.Thread):
    """Reads a process's stderr to EOF, keeping the first lines (stream info) and a tail.

    ``take`` (optional, a :class:`LineTaker`) sees every line first; a line it takes is its
    own (a per-frame report, say) and is kept out of the head and the tail; it is told the end. ``header_done`` is set
    once ffmpeg has described its first output stream (the ``Stream #0:0`` line after
    ``Output #0``: by then the input, the filter graph's settings and the output are all
    printed), or at EOF."""

    def __init__(self, stream: IO[bytes], head_lines: int = 400, tail_lines: int = 40,
                 take: "Optional[LineTaker]" = None) -> None:  # fmt: skip
        super().__init__(daemon=True, name="ffmpeg-stderr")
        # buffered: readline on the raw, unbuffered pipe reads one byte a system call (a
        # pipe decoder's per-frame report would cost a millisecond a frame); a buffered read
        # still returns each line as soon as it is there
        self._stream: IO[bytes] = stream if isinstance(stream, io.BufferedIOBase) else io.BufferedReader(stream)  # type: ignore[type-var]
        self._take = take
        self.head: list[str] = []
        self._head_max = head_lines
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.lines = 0  # kept lines seen (head and tail hold all of them while this is small)
        self.header_done = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        output = False
        try:
            for raw in iter(self._stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if self._take is not None and self._take.take(line):
                    continue
                with self._lock:
                    if len(self.head) < self._head_max:
                        self.head.append(line)
                    self._tail.append(line)
                    self.lines += 1
                output = output or line.startswith("Output #0")
                if output and line.lstrip().startswith("Stream #0:0"):
                    self.header_done.set()
        finally:
            if self._take is not None:
                self._take.end()
            self.header_done.set()
            self._stream.close()

    def tail(self) -> str:
        with self._lock:
            return "\n".join(self._tail)

    def head_text(self) -> str:
        with self._lock:
            return "\n".join(self.head)

    def text(self) -> str:
        """Everything kept: all lines while they fit the head and the tail, else both."""
        with self._lock:
            if self.lines <= len(self.head):
                return "\n".join(self.head)
            tail = list(self._tail)[max(0, len(self.head) + len(self._tail) - self.lines) :]
            return "\n".join(self.head + tail)


def widen_pipe(fd: int, size: int = 1 << 20) -> None:
    """Ask Linux for a pipe buffer of ``size`` bytes (default 64 KiB): a frame then crosses in
    one or two writes instead of a dozen, with as many fewer wake-ups of both processes. Best
    effort: elsewhere, or above the system's limit, the pipe stays as it is."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setpipe is None:
        return
    try:
        fcntl.fcntl(fd, setpipe, size)
    except OSError:
        pass  # EPERM above /proc/sys/fs/pipe-max-size for unprivileged users: keep the default


class FFmpegProcess:
    """One ffmpeg subprocess, used as a context manager.

    On a clean exit of the ``with`` block the caller has already called :meth:`finish`. On any
    exception (``KeyboardInterrupt`` included) the process is killed and reaped, so no ffmpeg
    outlives its run.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        role: str,
        stdin: Any = subprocess.DEVNULL,
        stdout: Any = subprocess.DEVNULL,
        pass_fds: Sequence[int] = (),
        take: Optional[LineTaker] = None,
    ) -> None:
        self.role = role
        self.argv = list(argv)
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                bufsize=0,
                pass_fds=tuple(pass_fds),
            )
        except OSError as exc:
            raise FFmpegError(f"could not start ffmpeg ({self.argv[0]}): {exc}") from exc
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                widen_pipe(pipe.fileno())
        assert self.proc.stderr is not None
        self._drain = _StderrDrain(self.proc.stderr, take=take)
        self._drain.start()

    # -- use ---------------------------------------------------------------------------------
    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def stderr_tail(self) -> str:
        return self._drain.tail()

    def stderr_text(self) -> str:
        """All of stderr that was kept (its first 400 lines and its last 40)."""
        return self._drain.text()

    def wait_header(self) -> str:
        """Block until ffmpeg has described its input, filters and first output stream (or
        died); return what it printed."""
        self._drain.header_done.wait()
        return self._drain.head_text()

    def finish(self, timeout: Optional[float] = None) -> int:
        """Close stdin (EOF for an encoder), wait for exit, drain stderr; return the code."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        code = self.proc.wait(timeout)
        self._drain.join()
        return code

    def kill(self) -> None:
        """Kill and reap (idempotent). Pipes are closed so no thread stays blocked on them."""
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self.proc.wait()
        self._drain.join(timeout=5)

    def __enter__(self) -> "FFmpegProcess":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # Success path: the caller finished the process. Anything else: kill it.
        if exc_type is not None or self.proc.poll() is None:
            self.kill()


def run_short(argv: Sequence[str], what: str, stdin: Optional[bytes] = None, *, check: bool = True,
              pass_fds: Sequence[int] = (), started: Optional[Callable[[], None]] = None) -> tuple[int, bytes, str]:  # fmt: skip
    """Run a short ffmpeg command to its end; return (exit code, stdout, stderr). With ``check``
    a non-zero exit raises :class:`FFmpegError` naming ``what`` with ffmpeg's own words. The
    process is reaped on any exception, ``KeyboardInterrupt`` included. ``started`` is called
    once it runs (to start what feeds the pipes in ``pass_fds``)."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=tuple(pass_fds))  # fmt: skip
    try:
        if started is not None:
            started()
        out, err = proc.communicate(stdin)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise FFmpegError(f"{what} failed (ffmpeg exit code {proc.returncode})", text)
    return proc.returncode, out, text
