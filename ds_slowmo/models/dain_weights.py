"""Find, download and safely unpack PaddleGAN's DAIN weights (``DAIN_weight.tar``).

The tar holds ``DAIN_weight/model`` (a Paddle program in the old protobuf format) and
``DAIN_weight/params`` (all parameters, combined). Resolution order:

1. ``--weights``: a folder holding ``model`` and ``params`` (or a ``DAIN_weight`` folder that
   does), or the tar itself (unpacked once into the cache, keyed by its SHA-256);
2. our cache, ``<DS_SLOWMO_HOME>/dain/DAIN_weight``;
3. PaddleGAN's cache, ``$PPGAN_HOME/DAIN_weight`` and ``~/.cache/ppgan/DAIN_weight`` (or the
   ``DAIN_weight.tar`` PaddleGAN left there), so its users don't download twice;
4. a download of :data:`DAIN_URL` (``$DS_SLOWMO_DAIN_URL`` overrides it, e.g. a mirror) to a
   temporary file, unpacked safely, then moved into our cache in one rename.

No Paddle here: this module is plain files and HTTP, tested without Paddle.
"""

from __future__ import annotations

import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator, Optional

from .. import cache
from ..progress import Progress, megabytes, wanted
from ..errors import ModelError, ModelUnavailable, UsageError

__all__ = [
    "DAIN_URL",
    "ARCHIVE_ROOT",
    "WeightFiles",
    "cache_root",
    "default_cache_dir",
    "ppgan_dirs",
    "find_in_folder",
    "resolve_weights",
    "download_url",
    "has_local_default",
    "extract_weights",
    "download",
]

DAIN_URL = "https://paddlegan.bj.bcebos.com/applications/DAIN_weight.tar"
URL_ENV = "DS_SLOWMO_DAIN_URL"
ARCHIVE_ROOT = "DAIN_weight"
FILE_NAMES = ("model", "params")
TIMEOUT_S = 30.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightFiles:
    """The two files of a DAIN export, and where they were found (for messages)."""

    model: Path
    params: Path
    source: str

    @property
    def folder(self) -> Path:
        return self.model.parent


def cache_root() -> Path:
    """``<DS_SLOWMO_HOME>/dain``: everything DAIN keeps lives under here."""
    return cache.home() / "dain"


def default_cache_dir() -> Path:
    """Where the downloaded PaddleGAN weights live: ``<DS_SLOWMO_HOME>/dain/DAIN_weight``."""
    return cache_root() / ARCHIVE_ROOT


def ppgan_dirs() -> list[Path]:
    """PaddleGAN's cache roots: ``$PPGAN_HOME`` (when set), then ``~/.cache/ppgan``."""
    roots = []
    env = os.environ.get("PPGAN_HOME")
    if env:
        roots.append(Path(env).expanduser())
    roots.append(Path.home() / ".cache" / "ppgan")
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def find_in_folder(folder: Path) -> Optional[WeightFiles]:
    """``model`` + ``params`` as regular files in ``folder`` or ``folder/DAIN_weight``."""
    for candidate in (folder, folder / ARCHIVE_ROOT):
        model, params = candidate / "model", candidate / "params"
        if model.is_file() and params.is_file():
            return WeightFiles(model, params, str(candidate))
    return None


def download_url() -> str:
    """Where the weights come from: ``$DS_SLOWMO_DAIN_URL``, else :data:`DAIN_URL`."""
    return os.environ.get(URL_ENV) or DAIN_URL


def has_local_default() -> bool:
    """Whether :func:`resolve_weights` (no ``--weights``) would find something without a download."""
    if find_in_folder(default_cache_dir()):
        return True
    roots = ppgan_dirs()
    return any(find_in_folder(r / ARCHIVE_ROOT) or (r / f"{ARCHIVE_ROOT}.tar").is_file() for r in roots)


def resolve_weights(
    weights: Optional[str],
    *,
    progress: Optional[bool] = None,
    log: Optional[Callable[[str], None]] = None,
) -> WeightFiles:
    """The DAIN files to load, downloading them when nothing local has them (see module doc)."""
    if weights:
        return _explicit(Path(weights).expanduser())
    found = find_in_folder(default_cache_dir())
    if found:
        return found
    for root in ppgan_dirs():
        found = find_in_folder(root / ARCHIVE_ROOT)
        if found:
            return found
    for root in ppgan_dirs():  # PaddleGAN downloaded the tar but didn't unpack it (or we can reuse it)
        tar = root / f"{ARCHIVE_ROOT}.tar"
        if tar.is_file():
            try:
                return _install_from_tar(tar, default_cache_dir())
            except ModelError:
                break  # a broken leftover: fall through to a fresh download
    return _download_and_install(download_url(), default_cache_dir(), progress=progress, log=log)


def _explicit(path: Path) -> WeightFiles:
    if path.is_dir():
        found = find_in_folder(path)
        if found is None:
            missing = [n for n in FILE_NAMES if not (path / n).is_file()]
            raise UsageError(
                f"--weights {path} is a folder without DAIN's {' and '.join(missing)} file"
                f"{'s' if len(missing) > 1 else ''}; pass the folder holding 'model' and 'params' "
                f"(from {ARCHIVE_ROOT}.tar) or the tar itself"
            )
        return found
    if path.is_file():
        if not tarfile.is_tarfile(path):
            raise UsageError(
                f"--weights {path} is neither a folder with 'model' and 'params' nor a tar "
                f"like {ARCHIVE_ROOT}.tar"
            )
        digest = cache.sha256_file(path)[:16]
        return _install_from_tar(path, cache_root() / f"tar-{digest}")
    raise UsageError(f"--weights {path} does not exist")


# -- safe extraction ---------------------------------------------------------------------------


def _member_key(member: tarfile.TarInfo) -> str:
    """The member's name relative to the archive root, or raise if it is unsafe."""
    name = member.name
    if not name or "\x00" in name:
        raise ModelError(f"refusing to unpack weights: member with an empty or invalid name {name!r}")
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise ModelError(f"refusing to unpack weights: absolute path {name!r} in the archive")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ModelError(f"refusing to unpack weights: {name!r} climbs out of the archive ('..')")
    if member.issym() or member.islnk():
        raise ModelError(f"refusing to unpack weights: {name!r} is a link ({member.linkname!r})")
    if member.isdev() or member.isfifo():
        raise ModelError(f"refusing to unpack weights: {name!r} is a device or pipe")
    if not (member.isfile() or member.isdir()):
        raise ModelError(f"refusing to unpack weights: {name!r} is not a regular file or folder")
    return "/".join(parts)


def extract_weights(tar_path: Path, dest: Path) -> WeightFiles:
    """Unpack only ``DAIN_weight/model`` and ``DAIN_weight/params`` into ``dest`` (new folder).

    Every member is checked first; an absolute path, ``..``, a link, a device or a duplicate
    of one of the two files refuses the whole archive. Other regular files are ignored. The
    two files are copied out by hand (never ``TarFile.extract``), so nothing else can be
    written. ``dest`` must not exist yet; the caller renames it into place.
    """
    wanted = {f"{ARCHIVE_ROOT}/{n}": n for n in FILE_NAMES}
    wanted.update({n: n for n in FILE_NAMES})  # also accept a tar of the two bare files
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            chosen: dict[str, tarfile.TarInfo] = {}
            for member in tar.getmembers():
                key = _member_key(member)
                if member.isfile() and key in wanted:
                    target = wanted[key]
                    if target in chosen:
                        raise ModelError(f"refusing to unpack weights: {target!r} appears twice in {tar_path}")
                    chosen[target] = member
            missing = [n for n in FILE_NAMES if n not in chosen]
            if missing:
                raise ModelError(
                    f"{tar_path} is not a DAIN weights archive: no {ARCHIVE_ROOT}/{' or '.join(missing)} in it"
                )
            dest.mkdir(parents=True)
            for target, member in chosen.items():
                src = tar.extractfile(member)
                if src is None:  # pragma: no cover - isfile() members always have data
                    raise ModelError(f"cannot read {member.name!r} from {tar_path}")
                with src, open(dest / target, "xb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ModelError(f"cannot unpack DAIN weights from {tar_path}: {exc}") from exc
    return WeightFiles(dest / "model", dest / "params", str(tar_path))


def _install_from_tar(tar_path: Path, dest: Path) -> WeightFiles:
    """Unpack into a temporary folder beside ``dest``, then rename it into place."""
    found = find_in_folder(dest)
    if found:
        return found
    try:
        cache.install_dir(dest, lambda into: extract_weights(tar_path, into), lambda there: find_in_folder(there) is not None)
    except OSError as exc:
        raise ModelError(f"cannot install DAIN weights into {dest}: {exc}") from exc
    result = find_in_folder(dest)
    if result is None:  # pragma: no cover - guarded above
        raise ModelError(f"DAIN weights vanished from {dest}")
    return WeightFiles(result.model, result.params, str(tar_path))


# -- download ----------------------------------------------------------------------------------


def _offline_message(url: str, reason: object) -> str:
    return (
        f"DAIN weights not found and could not be downloaded from {url} ({reason}); "
        f"put {ARCHIVE_ROOT}/model and params in {default_cache_dir()} or pass --weights FOLDER_OR_TAR"
    )


def _chunks(response: IO[bytes]) -> Iterator[bytes]:
    while True:
        block = response.read(_CHUNK)
        if not block:
            return
        yield block


def download(
    url: str,
    out: IO[bytes],
    *,
    progress: Optional[bool] = None,
    on_connect: Optional[Callable[[Optional[int]], None]] = None,
) -> int:
    """Stream ``url`` into ``out``, a bar on stderr; return the byte count.

    ``on_connect(total_bytes_or_None)`` runs once the server has answered (so an offline run
    prints only its one error line).

    Raises :class:`ModelUnavailable` with the offline message when the URL can't be reached,
    and :class:`ModelError` when the transfer stops short of its ``Content-Length``.
    """
    enabled = wanted(progress)
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_S)  # noqa: S310 - http(s)/file URL
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason: object = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = getattr(exc, "reason", None) or exc
        raise ModelUnavailable(_offline_message(url, reason)) from exc
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if on_connect is not None:
            on_connect(total)
        bar = Progress(total, what="downloading DAIN weights") if enabled else None
        done = 0
        try:
            for block in _chunks(response):
                out.write(block)
                done += len(block)
                if bar is not None:
                    bar.update(done)
        except (OSError, http.client.HTTPException) as exc:
            raise ModelUnavailable(_offline_message(url, exc)) from exc
        finally:
            if bar is not None:
                bar.close()
    if total is not None and done != total:
        raise ModelError(f"download of {url} stopped after {done} of {total} bytes; try again")
    return done


def _download_and_install(
    url: str, dest: Path, *, progress: Optional[bool], log: Optional[Callable[[str], None]]
) -> WeightFiles:
    say = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{ARCHIVE_ROOT}.", suffix=".tar.part", dir=dest.parent)
    except OSError as exc:
        raise ModelError(f"cannot write to the DAIN cache folder {dest.parent}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        def announce(total: Optional[int]) -> None:
            size = f" ({megabytes(total)})" if total else ""
            say(f"ds-slowmo: DAIN weights not found locally; downloading {url}{size} into {dest}")

        with os.fdopen(fd, "wb") as fh:
            download(url, fh, progress=progress, on_connect=announce)
        found = _install_from_tar(tmp, dest)
        return WeightFiles(found.model, found.params, url)
    finally:
        tmp.unlink(missing_ok=True)
