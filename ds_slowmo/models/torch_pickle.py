"""Read a PyTorch checkpoint (a state dict of tensors) into numpy arrays, without torch.

A torch checkpoint is a pickle, and a pickle can run arbitrary code when loaded. This reader
never calls :func:`pickle.load` with the default globals: its unpickler resolves only the
handful of names a state dict needs (``collections.OrderedDict``, torch's tensor-rebuild
functions and storage types, each mapped to a harmless local stand-in) and refuses every
other global with a :class:`~ds_slowmo.errors.ModelError`, before anything is called.

Two layouts are understood:

* **legacy** (``torch.save(..., _use_new_zipfile_serialization=False)``, torch < 1.6): five
  pickles in a row (magic number, protocol version, system info, the object whose tensors
  point at storages through persistent ids, the list of storage keys), then, for each key in
  that list, an 8-byte little-endian element count and the storage's raw bytes.
* **zip** (torch >= 1.6): ``<name>/data.pkl`` plus one raw file per storage,
  ``<name>/data/<key>``.

Only little-endian files and the plain numeric storage types are accepted.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import ModelError

__all__ = ["load_state_dict", "LEGACY_MAGIC"]

#: first pickle of a legacy torch file
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

_STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only carries the dtype."""

    name: str
    dtype: np.dtype[Any]


class _Storage:
    """A storage named by a persistent id; its bytes are attached after unpickling."""

    def __init__(self, key: str, dtype: np.dtype[Any], numel: int) -> None:
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.data: np.ndarray | None = None
        # legacy view storages share a root storage from an element offset
        self.root: _Storage | None = None
        self.root_offset = 0


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_: Any) -> _TensorRef:
    if not isinstance(storage, _Storage):
        raise ModelError("checkpoint tensor does not point at a storage")
    try:
        ref = _TensorRef(storage, int(storage_offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"checkpoint tensor has a malformed shape: {exc}") from None
    if len(ref.size) != len(ref.stride):
        raise ModelError(f"checkpoint tensor has size {ref.size} but stride {ref.stride}")
    return ref


def _rebuild_parameter(data: Any, *_: Any) -> Any:
    return data


# (module, name) -> the harmless object the unpickler hands back for it
_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}
for _name, _dtype in _STORAGE_DTYPES.items():
    _ALLOWED[("torch", _name)] = _StorageType(_name, _dtype)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: IO[bytes], storages: dict[str, _Storage] | None, what: str) -> None:
        super().__init__(fh)
        self._storages = storages
        self._what = what

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ModelError(
                f"{self._what}: refusing to load global {module}.{name} "
                f"(only tensors and OrderedDict are allowed in a weights file)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        if self._storages is None:
            raise ModelError(f"{self._what}: unexpected persistent id in a header pickle")
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise ModelError(f"{self._what}: unsupported persistent id {str(pid)[:80]}")
        stype, key, _location, numel = pid[1], pid[2], pid[3], pid[4]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(stype, _StorageType):
            raise ModelError(f"{self._what}: storage of unsupported type {stype!r}")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ModelError(f"{self._what}: malformed storage id {str(pid)[:80]}")
        root = self._storages.get(key)
        if root is None:
            root = self._storages[key] = _Storage(key, stype.dtype, numel)
        elif root.dtype != stype.dtype:
            raise ModelError(f"{self._what}: storage {key} used with two types")
        if view is None:
            return root
        # legacy view: (view_key, offset, view_size) into the root storage
        try:
            _view_key, offset, view_size = view
            offset, view_size = int(offset), int(view_size)
        except (TypeError, ValueError):
            raise ModelError(f"{self._what}: malformed storage view {str(view)[:80]}") from None
        if offset < 0 or view_size < 0:
            raise ModelError(f"{self._what}: malformed storage view {str(view)[:80]}")
        sub = _Storage(f"{key}[{offset}:]", stype.dtype, view_size)
        sub.root, sub.root_offset = root, offset
        return sub


def _unpickle(fh: IO[bytes], storages: dict[str, _Storage] | None, what: str) -> Any:
    try:
        return _RestrictedUnpickler(fh, storages, what).load()
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or garbled pickles raise all sorts
        raise ModelError(f"{what}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from None


def _storage_array(storage: _Storage, what: str) -> np.ndarray:
    if storage.root is not None:
        base = _storage_array(storage.root, what)
        end = storage.root_offset + storage.numel
        if end > base.size:
            raise ModelError(f"{what}: storage view {storage.key} runs past its storage")
        return base[storage.root_offset : end]
    if storage.data is None:
        raise ModelError(f"{what}: storage {storage.key} has no data")
    return storage.data


def _materialize(ref: _TensorRef, what: str) -> np.ndarray:
    data = _storage_array(ref.storage, what)
    if any(s < 0 for s in ref.size) or any(s < 0 for s in ref.stride) or ref.offset < 0:
        raise ModelError(f"{what}: tensor with negative size/stride/offset")
    if 0 in ref.size:
        return np.zeros(ref.size, dtype=data.dtype.newbyteorder("="))
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
    if last >= data.size:
        raise ModelError(
            f"{what}: tensor of size {ref.size} at offset {ref.offset} runs past its storage "
            f"of {data.size} elements"
        )
    item = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[ref.offset :], shape=ref.size, strides=tuple(s * item for s in ref.stride), writeable=False
    )
    return np.ascontiguousarray(view, dtype=data.dtype.newbyteorder("="))


def _collect(obj: Any, what: str) -> dict[str, np.ndarray]:
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ModelError(f"{what}: expected a state dict of tensors, found {type(obj).__name__}")
    out: dict[str, np.ndarray] = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, _TensorRef):
            raise ModelError(f"{what}: entry {name!r} is not a tensor")
        out[name] = _materialize(value, what)
    return out


def _load_legacy(raw: bytes, what: str) -> dict[str, np.ndarray]:
    fh = io.BytesIO(raw)
    magic = _unpickle(fh, None, what)
    if magic != LEGACY_MAGIC:
        raise ModelError(f"{what}: not a torch checkpoint (bad magic number)")
    protocol = _unpickle(fh, None, what)
    if protocol != LEGACY_PROTOCOL:
        raise ModelError(f"{what}: unsupported torch legacy protocol {protocol!r}")
    sys_info = _unpickle(fh, None, what)
    if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
        raise ModelError(f"{what}: big-endian checkpoints are not supported")
    storages: dict[str, _Storage] = {}
    obj = _unpickle(fh, storages, what)
    keys = _unpickle(fh, None, what)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ModelError(f"{what}: malformed storage key list")
    if set(keys) != set(storages) or len(keys) != len(storages):
        raise ModelError(f"{what}: storage key list does not match the tensors ({len(keys)} vs {len(storages)})")
    pos = fh.tell()
    for key in keys:
        storage = storages[key]
        if pos + 8 > len(raw):
            raise ModelError(f"{what}: file is truncated (storage {key} missing)")
        (count,) = struct.unpack_from("<q", raw, pos)
        pos += 8
        if count != storage.numel:
            raise ModelError(f"{what}: storage {key} holds {count} elements, expected {storage.numel}")
        nbytes = count * storage.dtype.itemsize
        if pos + nbytes > len(raw):
            raise ModelError(f"{what}: file is truncated (storage {key} needs {nbytes} bytes, {len(raw) - pos} left)")
        storage.data = np.frombuffer(raw, dtype=storage.dtype, count=count, offset=pos)
        pos += nbytes
    if pos != len(raw):
        raise ModelError(f"{what}: {len(raw) - pos} unexpected bytes after the last storage")
    return _collect(obj, what)


def _load_zip(raw: bytes, what: str) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = zf.namelist()
            pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pkls) != 1:
                raise ModelError(f"{what}: zip checkpoint without a single <name>/data.pkl")
            prefix = pkls[0][: -len("data.pkl")]
            if f"{prefix}byteorder" in names and zf.read(f"{prefix}byteorder").strip() != b"little":
                raise ModelError(f"{what}: big-endian checkpoints are not supported")
            storages: dict[str, _Storage] = {}
            obj = _unpickle(io.BytesIO(zf.read(pkls[0])), storages, what)
            for key, storage in storages.items():
                member = f"{prefix}data/{key}"
                if member not in names:
                    raise ModelError(f"{what}: storage {key} missing from the zip")
                blob = zf.read(member)
                nbytes = storage.numel * storage.dtype.itemsize
                if len(blob) < nbytes:
                    raise ModelError(f"{what}: storage {key} is truncated ({len(blob)} of {nbytes} bytes)")
                storage.data = np.frombuffer(blob, dtype=storage.dtype, count=storage.numel)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError) as exc:
        raise ModelError(f"{what}: damaged zip checkpoint ({exc})") from None
    return _collect(obj, what)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a torch checkpoint as ``{name: ndarray}`` (native byte order, C-contiguous).

    Raises :class:`ModelError` for unreadable, truncated, corrupt or unsafe files.
    """
    what = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read weights {what}: {exc.strerror or exc}") from None
    if raw[:4] == b"PK\x03\x04":
        return _load_zip(raw, what)
    return _load_legacy(raw, what)
