"""Where ds-slowmo keeps converted weights and exported models, and atomic file writes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional

from .containers import FRAME_CODE

__all__ = ["home", "Manifest", "atomic_path", "atomic_sequence", "install_dir", "atomic_writer", "sha256_file", "temp_beside", "unlink_quietly"]


def home() -> Path:
    """``$DS_SLOWMO_HOME``, else ``~/.cache/ds-slowmo`` (honouring ``$XDG_CACHE_HOME``)."""
    env = os.environ.get("DS_SLOWMO_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ds-slowmo"


@contextmanager
def atomic_path(path: "str | Path") -> Iterator[str]:
    """The one way a file is made: written (by us or by ffmpeg) at a temporary name beside
    ``path``, renamed into place when the block ends well, removed when it does not."""
    temp = temp_beside(str(path))
    try:
        yield temp
        os.replace(temp, path)
    finally:
        unlink_quietly(temp)


@contextmanager
def atomic_sequence(pattern: str) -> Iterator[str]:
    """:func:`atomic_path` for an image sequence (:func:`ds_slowmo.containers.is_sequence`): the
    files are written in a hidden folder beside them and moved into place together when the
    block ends well; the folder always goes. Its name holds no ``%``, which ffmpeg would read
    as part of the pattern."""
    head, tail = os.path.split(os.path.abspath(pattern))
    folder = os.path.join(head, f".{FRAME_CODE.sub('N', tail)}.part-{os.getpid()}")
    os.makedirs(folder, exist_ok=True)
    try:
        yield os.path.join(folder, tail)
        for name in sorted(os.listdir(folder)):
            os.replace(os.path.join(folder, name), os.path.join(head, name))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def install_dir(target: Path, fill: Callable[[Path], object], ready: Callable[[Path], bool]) -> None:
    """:func:`atomic_path` for a folder that several processes may be making at once (model
    exports, unpacked weights): ``fill(path)`` creates and fills ``path``, a new folder in a
    hidden one beside ``target``, which is then renamed into place. A ``target`` that another
    process finished first (``ready``) is kept; a broken one is replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        fill(tmp / target.name)
        if target.exists():
            if ready(target):
                return
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp / target.name, target)
        except OSError:  # another process put its folder there in between
            if not ready(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` through a file handle, atomically (see :func:`atomic_path`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp, open(temp, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def unlink_quietly(path: "str | Path | None") -> None:
    """Remove a file if it is there."""
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


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


class Manifest:
    """A JSON record of files in one folder with their sha256 and a few facts about each, plus
    ``meta`` that must match for the record to count (what the files were made from). Used for
    finished chunks, converted weights and exported models: a file counts only while it is
    there and its checksum still matches."""

    VERSION = 1

    def __init__(self, path: Path, meta: dict[str, Any], files: Optional[dict[str, dict[str, Any]]] = None) -> None:
        self.path, self.meta = path, meta
        self.files: dict[str, dict[str, Any]] = files or {}

    @classmethod
    def open(cls, path: Path, meta: dict[str, Any]) -> "Manifest":
        """The manifest at ``path`` if it was written for the same ``meta``; else an empty one
        (a missing, unreadable or stale manifest starts afresh)."""
        try:
            data = json.loads(path.read_text())
            if data.get("version") == cls.VERSION and data.get("meta") == meta and isinstance(data.get("files"), dict):
                return cls(path, meta, dict(data["files"]))
        except (OSError, ValueError, AttributeError):
            pass
        return cls(path, meta)

    def verified(self, name: str, **facts: Any) -> Optional[dict[str, Any]]:
        """The record of ``name`` if the file is there, its checksum matches and the given
        facts agree; else None."""
        rec = self.files.get(name)
        file = self.path.parent / name
        if rec is None or any(rec.get(k) != v for k, v in facts.items()) or not file.is_file():
            return None
        return rec if sha256_file(file) == rec.get("sha256") else None

    def record(self, name: str, **facts: Any) -> None:
        """Note ``name`` (its checksum now) with ``facts``, and save."""
        self.files[name] = {**facts, "sha256": sha256_file(self.path.parent / name)}
        self.save()

    def save(self) -> None:
        data = {"version": self.VERSION, "meta": self.meta, "files": self.files}
        with atomic_writer(self.path) as fh:
            fh.write(json.dumps(data, indent=1, sort_keys=True).encode())
