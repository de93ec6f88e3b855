"""The source: an ffmpeg decoder of the input (a file or standard input) and the reader
thread that fills a bounded queue with its frames, in the input's own pixel format.

For a file the job is known before decoding (the probe), so the decoder starts at the job's
window. For a pipe the decoder starts first and the job follows from what it prints.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from contextlib import ExitStack
from typing import Any, Iterator, Optional

import numpy as np

from . import ffmpeg as ff
from .chunks import Chunk, seek_seconds
from .config import Config
from .errors import FFmpegError, InputError, ffmpeg_said
from .job import Job, prepare
from .threads import Counter, Reader, drain, queue_items

__all__ = ["Source", "open_source"]


class Source:
    """A running decoder and its reader: :meth:`frames` yields the window's frames."""

    def __init__(self, job: Job, decoder: ff.FFmpegProcess, raw: ff.RawVideo, q_size: int,
                 stop: threading.Event) -> None:  # fmt: skip
        self.job, self.decoder, self.raw = job, decoder, raw
        self.q: "queue.Queue[Any]" = queue.Queue(maxsize=q_size)
        self.waited = Counter()  # the consumer waiting for frames
        size = raw.width * raw.height * 3  # rgb24 for now
        self.reader = Reader(decoder.stdout, size, self.q, stop, job.window.count)
        self.reader.start()

    def frames(self) -> Iterator[np.ndarray]:
        shape = (self.raw.height, self.raw.width, 3)
        for buf in queue_items(self.q, self.waited):
            yield buf.reshape(shape)

    @property
    def count(self) -> int:
        return self.reader.count

    def finish(self) -> None:
        """After the last frame: the decoder ended well (or was stopped on purpose at the
        window's end), and the window got the frames it needed."""
        self.reader.join()
        if self.reader.hit_limit:
            self.decoder.kill()  # we stopped reading on purpose (the trim's or chunk's end)
        else:
            code = self.decoder.finish()
            if code != 0:
                what = "standard input" if self.job.cfg.input_is_pipe else self.job.cfg.input
                raise FFmpegError(f"decoding {what} failed (ffmpeg exit code {code})", self.decoder.stderr_tail())
        self._check_count()

    def _check_count(self) -> None:
        n, w, job = self.reader.count, self.job.window, self.job
        if n == 0:
            raise InputError("the input has no video frames")
        if w.exact and n != w.count:
            raise InputError(
                f"chunk {job.chunk.index if job.chunk else 0}: the decoder gave {n} frames from frame {w.first}, "
                f"expected {w.count}; this file does not seek frame-exactly (run without --jobs)"
            )
        total = job.info.n_frames
        if w.first and not self.reader.hit_limit and total is not None and w.first + n != total:
            raise InputError(
                f"seeking to frame {w.first} of {job.cfg.input} was not frame-exact ({n} frames "
                f"after it, expected {total - w.first}); please report this file"
            )

    def abort(self) -> None:
        """After the decoder was killed: unblock the reader and wait for it."""
        drain(self.q)
        self.reader.join(timeout=10)

    @property
    def ended_early(self) -> bool:
        """The stream ended before the window's limit (so its length is now known)."""
        return not self.reader.hit_limit


def open_source(cfg: Config, stack: ExitStack, stop: threading.Event, *, chunk: Optional[Chunk] = None,
                stdin: Optional[int] = None, info: Optional[ff.VideoInfo] = None) -> Source:  # fmt: skip
    """Start the decoder (its process joins ``stack``) and the reader; work out the job."""
    exe = ff.find_ffmpeg()
    if cfg.input_is_pipe:
        decoder = stack.enter_context(ff.FFmpegProcess(
            ff.decoder_argv(exe, cfg.input, limit=None, pipe=True), role="decoder",
            stdin=stdin if stdin is not None else sys.stdin.fileno(), stdout=subprocess.PIPE))  # fmt: skip
        job = prepare(cfg, _pipe_info(decoder))
    else:
        job = prepare(cfg, info or ff.probe(cfg.input, exe), chunk)
        w = job.window
        seek = seek_seconds(w.first, job.plan.in_rate)
        decoder = stack.enter_context(ff.FFmpegProcess(
            ff.decoder_argv(exe, cfg.input, limit=w.count, pipe=False, seek=seek), role="decoder",
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE))  # fmt: skip
    return Source(job, decoder, raw_of(job), cfg.queue_size, stop)


def raw_of(job: Job) -> ff.RawVideo:
    """The frames as they cross the pipe from the decoder (and on to the encoder)."""
    info = job.info
    return ff.RawVideo("rgb24", info.width, info.height, job.plan.out_rate)


def _pipe_info(decoder: ff.FFmpegProcess) -> ff.VideoInfo:
    header = decoder.wait_header()
    try:
        return ff.parse_input_info(header)
    except InputError:
        decoder.kill()
        said = ffmpeg_said(decoder.stderr_tail(), 1)
        if not said or "Input #0" not in header:
            raise InputError(
                "standard input is not a video stream ffmpeg can read"
                + (f" (ffmpeg said: {said})" if said else "")
                + "; pipe y4m, nut, matroska or mpegts, or give an input file"
            ) from None
        raise
