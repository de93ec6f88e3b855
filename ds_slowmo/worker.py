"""One unit of parallel work, run in its own process: a chunk of a long video, or one file of a
folder. ``python -m ds_slowmo.worker`` reads a pickled :class:`Task` on stdin and writes a
pickled :class:`TaskResult` on stdout; Ray calls :func:`run_task` directly. The parent is our
own process, so the pickles are trusted."""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass, replace
from typing import Any, Optional

from .chunks import Chunk
from .config import Config
from .errors import SlowmoError

__all__ = ["Task", "TaskResult", "run_task", "main"]


@dataclass(frozen=True)
class Task:
    cfg: Config
    output: str
    chunk: Optional[Chunk] = None


@dataclass(frozen=True)
class TaskResult:
    """What a task did: the frames it wrote, or why it failed. (The parent checksums the file
    when it records it in its manifest.)"""

    ok: bool
    frames: int = 0
    stats: Any = None  # the task's RunStats
    error: str = ""
    exit_code: int = 0

    @classmethod
    def failed(cls, error: str, exit_code: int = 1) -> "TaskResult":
        return cls(ok=False, error=error, exit_code=exit_code)


def run_task(task: Task) -> TaskResult:
    """Run one task; a :class:`SlowmoError` becomes a failed result (never raised)."""
    from .pipeline import run

    cfg = replace(task.cfg, output=task.output, progress=False, jobs=1, ray=None)
    if task.chunk is not None:
        cfg = replace(cfg, overwrite=True, audio="drop", compare=None, inspect=None)
    try:
        stats = run(cfg, chunk=task.chunk)
    except SlowmoError as exc:
        return TaskResult.failed(str(exc), exc.exit_code)
    return TaskResult(ok=True, frames=stats.frames_out, stats=stats)


def main() -> int:
    from .cli import sigterm_interrupts

    try:
        with sigterm_interrupts():
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
