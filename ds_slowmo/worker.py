"""One unit of parallel work, run in its own process: a chunk of a long video, or one file of a
folder. ``python -m ds_slowmo.worker`` reads a pickled :class:`Job` on stdin and writes a JSON
result on stdout; Ray calls :func:`run_job` directly. The parent is our own process, so the
pickle is trusted."""

from __future__ import annotations

import json
import pickle
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from .cache import sha256_file
from .chunks import Chunk
from .config import Config
from .errors import SlowmoError

__all__ = ["Job", "run_job", "main"]


@dataclass(frozen=True)
class Job:
    cfg: Config
    output: str
    chunk: Optional[Chunk] = None


def run_job(job: Job) -> dict[str, Any]:
    """Run one job; return ``{"ok": True, "frames": ..., "sha256": ..., "stats": {...}}`` or
    ``{"ok": False, "error": "...", "exit_code": N}`` (never raises a SlowmoError)."""
    from .pipeline import run

    cfg = replace(job.cfg, output=job.output, progress=False, jobs=1, ray=None)
    if job.chunk is not None:
        cfg = replace(cfg, overwrite=True, audio="drop", compare=None, inspect=None)
    try:
        stats = run(cfg, chunk=job.chunk)
    except SlowmoError as exc:
        return {"ok": False, "error": str(exc), "exit_code": exc.exit_code}
    return {
        "ok": True,
        "frames": stats.frames_out,
        "sha256": sha256_file(Path(job.output)),
        "stats": stats.as_dict(),
    }


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        job = pickle.load(sys.stdin.buffer)
        result = run_job(job)
    except KeyboardInterrupt:
        return 130
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
