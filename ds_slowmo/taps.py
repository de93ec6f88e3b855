"""Output taps: where the stage's frames go. Each tap owns its processes and threads and has
``put(index, frame, kind)``, ``finish()`` and ``abort()``. The encoder tap writes the result (a file,
under a temporary name renamed at the end, or standard output); :mod:`ds_slowmo.review` has the
``--compare`` and ``--inspect`` taps.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import Any, Optional, Protocol, Sequence

import numpy as np

from . import ffmpeg as ff
from .cache import atomic_path, atomic_sequence
from .containers import is_sequence
from .config import Config
from .errors import FFmpegError, OutputClosed
from .feeds import Feeds
from .job import Job
from .progress import Progress
from .streams import source_streams
from .threads import Counter, Writer

__all__ = ["Tap", "FedEncoder", "EncoderTap", "container_of", "encoder_argv"]

log = logging.getLogger("ds_slowmo")


class Tap(Protocol):
    """Where output frames go: ``put`` gets each frame's number, its samples and what it is
    (:data:`~ds_slowmo.stage.KEPT`, ``HELD``, ``CUT`` or ``MADE``), in order."""

    def put(self, index: int, frame: np.ndarray, kind: str) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def container_of(cfg: Config) -> str:
    """A pipe's stream format, else the output file's extension (lower case)."""
    if cfg.output_is_pipe:
        return cfg.format or "yuv4mpegpipe"
    return os.path.splitext(cfg.output)[1].lower()


def encoder_argv(exe: str, job: Job, raw: ff.RawVideo, target: str, audio: Sequence[str],
                 inputs: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """Frames on stdin (and the source file as input 1, for its audio and other streams, if
    ``audio`` maps any, then the extra ``inputs``) -> ``target``."""
    cfg = job.cfg
    video = ff.video_out(container_of(cfg), raw, cfg.crf, cfg.encoder_args, lambda e: ff.encoder_pix_fmts(exe, e))
    hdr = ff.side_data_note(job.info.mastering_display, job.info.content_light)
    for note in video.notes + ((hdr,) if hdr else ()):
        log.warning("%s", note)
    argv = ff.preamble(exe, stdin=True) + raw.input_args()
    if audio:
        argv += ["-vn", "-i", ff.path_arg(cfg.input), *inputs]
    argv += ["-map", "0:v:0", *audio, *video.argv()]
    if cfg.output_is_pipe:
        argv += ["-f", container_of(cfg)]
    return argv + [*cfg.encoder_args, "-y", ff.path_arg(target)]


class FedEncoder:
    """A tap that is an ffmpeg process reading raw frames on its stdin, fed by a writer thread
    through a bounded queue. ``what`` names its output in error messages."""

    def __init__(self, encoder: ff.FFmpegProcess, what: str, q_size: int,
                 progress: Optional[Progress] = None, thread: str = "ds-slowmo-writer") -> None:  # fmt: skip
        self.encoder, self.what = encoder, what
        self.q: "queue.Queue[Any]" = queue.Queue(maxsize=q_size)
        self.writer = Writer(encoder.stdin, self.q, name=thread, on_frame=progress.update if progress else None)
        self.waited = Counter()  # the stage blocked because the encoder is behind
        self.writer.start()

    def put(self, index: int, frame: np.ndarray, kind: str) -> None:
        if self.writer.error is not None:
            self._check()  # raises: the writer failed
        t0 = time.perf_counter()
        self.q.put(frame)
        self.waited.seconds += time.perf_counter() - t0

    def finish(self) -> None:
        self.writer.end()
        self._check()

    def abort(self) -> None:
        self.encoder.kill()
        self.writer.close()

    def _check(self) -> None:
        code = self.encoder.finish()
        if code != 0:
            raise FFmpegError(f"encoding {self.what} failed (ffmpeg exit code {code})", self.encoder.stderr_tail())
        if self.writer.error is not None:
            raise self.writer.error


class EncoderTap(FedEncoder):
    """The result: a file (appearing under its name only when the whole run went well) or
    standard output, with the source's audio when there is some to keep."""

    def __init__(self, job: Job, raw: ff.RawVideo, stack: ExitStack, *, stdout: Optional[int],
                 progress: Optional[Progress]) -> None:  # fmt: skip
        cfg = self.cfg = job.cfg
        target = "pipe:1" if cfg.output_is_pipe else stack.enter_context(
            atomic_sequence(cfg.output) if is_sequence(cfg.output) else atomic_path(cfg.output))
        out = (stdout if stdout is not None else sys.stdout.fileno()) if cfg.output_is_pipe else subprocess.DEVNULL
        self.job, self.target = job, target
        self.feeds = stack.enter_context(Feeds(first_index=2))  # closed after the encoder is gone
        argv = encoder_argv(ff.find_ffmpeg(), job, raw, target, source_streams(job, self.feeds), self.feeds.input_args())
        encoder = stack.enter_context(ff.FFmpegProcess(argv, role="encoder", stdin=subprocess.PIPE, stdout=out,
                                                       pass_fds=self.feeds.pass_fds))  # fmt: skip
        self.feeds.start()
        what = "to standard output" if cfg.output_is_pipe else cfg.output
        super().__init__(encoder, what, max(cfg.queue_size, cfg.factor), progress)

    def finish(self) -> None:
        super().finish()
        self.feeds.finish()
        # every frame that went into the pipe (as many as the plan gives for the frames decoded:
        # the run checked that) must reach the file; a damaged input may decode fewer than probed
        expected = self.writer.count
        if self.cfg.output_is_pipe or is_sequence(self.cfg.output) or self.job.expected_output is None or self.job.chunk is not None:
            return
        got = ff.probe(self.target).n_frames  # what reached the file, not what went into the pipe
        if got != expected:
            raise FFmpegError(f"{self.cfg.output} came out with {got} frames, the plan says {expected}",
                              self.encoder.stderr_tail())  # fmt: skip

    def _check(self) -> None:
        if self.cfg.output_is_pipe:  # a reader that went away (| head) is not a failure
            code = self.encoder.finish()
            error = self.writer.error
            closed = code == -13 or "Broken pipe" in self.encoder.stderr_tail() or isinstance(error, BrokenPipeError)
            if (code != 0 or error is not None) and closed:
                raise OutputClosed("the reader of standard output closed the pipe")
        super()._check()
