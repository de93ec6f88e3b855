"""Writers of torch-format checkpoints without torch, for the reader's tests.

``legacy_bytes`` lays out torch's pre-zip format by hand (five pickles, then the storages);
``zip_bytes`` torch's zip format. Pickles name torch's globals through stand-in classes
whose ``__module__``/``__qualname__`` match, so pickle writes the same GLOBAL opcodes torch does.
"""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C


# Stand-ins live in fake modules so pickle can name them; the GLOBAL opcodes are then
# rewritten to torch's names (protocol 2 has no frame lengths, so bytes can be replaced).
_FAKE_UTILS = types.ModuleType("_rife_fake_torch_utils")
_FAKE_TORCH = types.ModuleType("_rife_fake_torch")
sys.modules[_FAKE_UTILS.__name__] = _FAKE_UTILS
sys.modules[_FAKE_TORCH.__name__] = _FAKE_TORCH


def _rebuild_tensor_v2(*args: Any) -> None:  # only its name matters
    raise AssertionError("never called")


class FloatStorage:
    pass


for _obj, _module in ((_rebuild_tensor_v2, _FAKE_UTILS), (FloatStorage, _FAKE_TORCH)):
    _obj.__module__ = _module.__name__
    setattr(_module, _obj.__name__, _obj)


def _torch_names(data: bytes) -> bytes:
    data = data.replace(b"c_rife_fake_torch_utils\n", b"ctorch._utils\n")
    return data.replace(b"c_rife_fake_torch\n", b"ctorch\n")


class _Storage:
    """Pickled as a persistent id, as torch does for storages."""

    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


class _TensorRef:
    """Pickles as ``_rebuild_tensor_v2(<storage>, offset, size, stride, False, OrderedDict())``."""

    def __init__(self, storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self) -> Any:
        return (_rebuild_tensor_v2, self.args)


class _Pickler(pickle.Pickler):
    def __init__(self, fh: Any, legacy: bool) -> None:
        super().__init__(fh, protocol=2)
        self.legacy = legacy

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, _Storage):
            return None
        pid = ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return pid + (None,) if self.legacy else pid


def _tensors(
    state: dict[str, np.ndarray], views: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]] | None = None
) -> tuple[OrderedDict[str, Any], list[tuple[str, np.ndarray]]]:
    """One storage per array; ``views`` overrides a tensor's (offset, size, stride)."""
    refs: OrderedDict[str, Any] = OrderedDict()
    storages = []
    for i, (name, arr) in enumerate(state.items()):
        arr = np.ascontiguousarray(arr, dtype="<f4")
        key = str(1000 + i)
        layout = (views or {}).get(name, (0, arr.shape, tuple(s // 4 for s in arr.strides)))
        refs[name] = _TensorRef(_Storage(key, arr.size), *layout)
        storages.append((key, arr))
    return refs, storages


def legacy_bytes(
    state: dict[str, np.ndarray],
    *,
    storage_counts: dict[str, int] | None = None,
    views: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]] | None = None,
) -> bytes:
    """A legacy torch file holding ``state`` (float32), one storage per array, keys
    ``"1000"``, ``"1001"``... ``storage_counts`` overrides the element count written before a
    storage's bytes and ``views`` a tensor's (offset, size, stride), to make corrupt files."""
    refs, storages = _tensors(state, views)
    out = io.BytesIO()
    for header in (MAGIC, 1001, {"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}):
        pickle.dump(header, out, protocol=2)
    body = io.BytesIO()
    _Pickler(body, legacy=True).dump(refs)
    out.write(_torch_names(body.getvalue()))
    pickle.dump([key for key, _ in storages], out, protocol=2)
    for key, arr in storages:
        count = (storage_counts or {}).get(key, arr.size)
        out.write(np.int64(count).tobytes())
        out.write(arr.tobytes())
    return out.getvalue()


def zip_bytes(state: dict[str, np.ndarray]) -> bytes:
    refs, storages = _tensors(state)
    pkl = io.BytesIO()
    _Pickler(pkl, legacy=False).dump(refs)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", _torch_names(pkl.getvalue()))
        zf.writestr("archive/byteorder", "little")
        for key, arr in storages:
            zf.writestr(f"archive/data/{key}", arr.tobytes())
        zf.writestr("archive/version", "3\n")
    return out.getvalue()


class Evil:
    """Unpickling this runs ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> Any:
        import os

        return (os.system, (self.command,))


def evil_legacy_bytes(command: str) -> bytes:
    """A legacy torch header followed by a state-dict pickle that calls ``os.system``."""
    out = io.BytesIO()
    for header in (MAGIC, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    pickle.dump(OrderedDict(w=Evil(command)), out, protocol=2)
    pickle.dump([], out, protocol=2)
    return out.getvalue()
