"""One unit of parallel work, run in its own process: a chunk of a long video, or one file of a
folder. ``python -m ds_slowmo.worker`` reads a pickled :class:`Task` on stdin and writes a
pickled :class:`TaskResult` on stdout; Ray calls :func:`run_task` directly. The parent is our
own process, so the pickles are trusted."""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass
from typing import Optional

from .chunks import Chunk
from .config import Config
from .errors import SlowmoError
from .job import Job
from .pipeline import run, run_job
from .stats import RunStats
from .threads import stop_signals_interrupt

__all__ = ["Task", "TaskResult", "run_task", "main"]


@dataclass(frozen=True)
class Task:
    """A chunk's job, made once by the parent from its one probe (:meth:`Job.for_chunk`: the
    worker probes nothing), or one file of a folder: its request, which the worker probes."""

    output: str
    job: Optional[Job] = None
    cfg: Optional[Config] = None

    def __post_init__(self) -> None:
        if (self.job is None) == (self.cfg is None):
            raise ValueError("a Task is a job (a chunk) or a request (a file of a folder)")

    @property
    def chunk(self) -> Optional[Chunk]:
        return self.job.chunk if self.job is not None else None

    @property
    def input(self) -> str:
        cfg = self.job.cfg if self.job is not None else self.cfg
        assert cfg is not None
        return cfg.input


@dataclass(frozen=True)
class TaskResult:
    """What a task did: the frames it wrote, or why it failed. (The parent checksums the file
    when it records it in its manifest.)"""

    ok: bool
    frames: int = 0
    stats: Optional[RunStats] = None
    error: str = ""
    exit_code: int = 0

    @classmethod
    def failed(cls, error: str, exit_code: int = 1) -> "TaskResult":
        return cls(ok=False, error=error, exit_code=exit_code)


def run_task(task: Task) -> TaskResult:
    """Run one task; a :class:`SlowmoError` becomes a failed result (never raised)."""
    try:
        if task.job is not None:
            stats = run_job(task.job)
        else:
            assert task.cfg is not None
            stats = run(task.cfg)
    except SlowmoError as exc:
        return TaskResult.failed(str(exc), exc.exit_code)
    return TaskResult(ok=True, frames=stats.frames_out, stats=stats)


def main() -> int:
    try:
        with stop_signals_interrupt():
            result = run_task(pickle.load(sys.stdin.buffer))
    except KeyboardInterrupt:
        return 130
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    # run the module's own copy, so results pickle as ds_slowmo.worker.TaskResult, not __main__'s
    from ds_slowmo.worker import main as worker_main

    sys.exit(worker_main())
