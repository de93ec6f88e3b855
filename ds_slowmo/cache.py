"""Where ds-slowmo keeps converted weights and exported models, and atomic file writes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

__all__ = ["home", "atomic_writer", "sha256_file", "temp_beside"]


def home() -> Path:
    """``$DS_SLOWMO_HOME``, else ``~/.cache/ds-slowmo`` (honouring ``$XDG_CACHE_HOME``)."""
    env = os.environ.get("DS_SLOWMO_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ds-slowmo"


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` through a temporary file beside it, renamed into place only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def temp_beside(path: str) -> str:
    """Where a file is written before it is renamed to ``path``: hidden, beside it, named for this
    process, keeping the extension (ffmpeg picks the container from it)."""
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(head, f".{tail}.part-{os.getpid()}{os.path.splitext(tail)[1]}")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
