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
from . import audio as au
from .cache import atomic_path, atomic_sequence, is_sequence
from .config import Config
from .errors import FFmpegError, OutputClosed
from .job import Job
from .progress import Progress
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


def encoder_argv(exe: str, job: Job, raw: ff.RawVideo, target: str, audio: Sequence[str]) -> list[str]:
    """Frames on stdin (and the source file as input 1, for its audio and other streams, if
    ``audio`` maps any) -> ``target``."""
    cfg = job.cfg
    video = ff.video_out(container_of(cfg), raw, cfg.crf, cfg.encoder_args, lambda e: ff.encoder_pix_fmts(exe, e))
    for note in video.notes:
        log.warning("%s", note)
    argv = ff.preamble(exe, stdin=True) + raw.input_args()
    if audio:
        argv += ["-vn", "-i", ff.path_arg(cfg.input)]
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
        argv = encoder_argv(ff.find_ffmpeg(), job, raw, target, source_streams(job))
        encoder = stack.enter_context(ff.FFmpegProcess(argv, role="encoder", stdin=subprocess.PIPE, stdout=out))
        what = "to standard output" if cfg.output_is_pipe else cfg.output
        super().__init__(encoder, what, max(cfg.queue_size, cfg.factor), progress)

    def _check(self) -> None:
        if self.cfg.output_is_pipe:  # a reader that went away (| head) is not a failure
            code = self.encoder.finish()
            error = self.writer.error
            closed = code == -13 or "Broken pipe" in self.encoder.stderr_tail() or isinstance(error, BrokenPipeError)
            if (code != 0 or error is not None) and closed:
                raise OutputClosed("the reader of standard output closed the pipe")
        super()._check()


def _audio_args(job: Job, n: int) -> list[str]:
    """Encoder arguments that add the source file's audio tracks, kept in sync with the plan of
    its ``n`` frames."""
    cfg, plan, info = job.cfg, job.plan, job.info
    return au.audio_args(mode=cfg.audio, segments=plan.audio_segments(n), tracks=info.audio, video_start=info.start,
                         output=None if cfg.output_is_pipe else cfg.output,
                         timing_kept=job.timing_kept)  # fmt: skip


def _other_streams(job: Job) -> list[str]:
    """A Matroska output keeps the attachments (fonts and the like: no timing) always, and the
    subtitles when it plays the whole input at its own pace (``--mode fps``); anything else
    is dropped in one line."""
    cfg, info = job.cfg, job.info
    counts = {"subtitle": len(info.subtitles), "attachment": info.attachments, "data": info.data_streams}
    if not any(counts.values()):
        return []
    kept: list[str] = []
    if container_of(cfg) == ".mkv":
        if job.timing_kept and counts["subtitle"]:
            kept, counts["subtitle"] = ["-map", "1:s?", "-c:s", "copy", *_tags_of("s", counts["subtitle"])], 0
        if counts["attachment"]:  # their tags carry their file names, which Matroska needs
            kept, counts["attachment"] = kept + ["-map", "1:t?", "-c:t", "copy", *_tags_of("t", counts["attachment"])], 0
    dropped = ", ".join(f"{n} {kind} stream{'s' * (n > 1)}" for kind, n in counts.items() if n)
    if dropped:
        log.warning("not kept: %s (subtitles are copied only by a whole-input --mode fps run into .mkv)", dropped)
    return kept


def _tags_of(kind: str, n: int) -> list[str]:
    """Each copied stream keeps its own tags (language, title, file name)."""
    return [a for j in range(n) for a in (f"-map_metadata:s:{kind}:{j}", f"1:s:{kind}:{j}")]


def source_streams(job: Job) -> list[str]:
    """Everything the encoder takes from the source file (its input 1): audio, then the rest.
    Nothing for a pipe input (it can't be read twice), a chunk (the join adds them once) or an
    input of unknown length."""
    n = job.info.n_frames
    if job.cfg.input_is_pipe or job.chunk is not None or n is None:
        return []
    return _audio_args(job, n) + _other_streams(job)
