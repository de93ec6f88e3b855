"""Checkpoint weights of the RIFE networks: found, checked against the network's layout,
converted once to ``params.npz`` and cached with a checksum manifest; and set into a built
Paddle network; and :class:`Loaded`, what an interpolator is made from. Shared by
:mod:`.rife` (HDv3) and :mod:`.rife4` (v4.25)."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

import numpy as np

from .. import cache
from ..errors import ModelError, UsageError
from .runtime.base import Runtime

__all__ = ["Loaded", "checked_tensors", "load_weights", "set_weights", "weights_file"]

log = logging.getLogger(__name__)

Check = Callable[[dict[str, np.ndarray], str], dict[str, np.ndarray]]


@dataclass(frozen=True)
class Loaded:
    """What a RIFE interpolator is made from: Paddle (None in tests that fake the network),
    the converted weights and their cache folder, and the runtime that will run the network
    built from them."""

    paddle: Any
    tensors: dict[str, np.ndarray]
    folder: Path
    runtime: Optional[Runtime] = None


def checked_tensors(tensors: dict[str, np.ndarray], want: dict[str, tuple[int, ...]], source: str, kind: str,
                    unused: tuple[str, ...] = ()) -> dict[str, np.ndarray]:  # fmt: skip
    """A checkpoint's tensors checked against the names and shapes a network ``want``s (after
    stripping ``module.`` and dropping names starting with ``unused``): finite float32 arrays,
    or one :class:`ModelError` naming what is missing, unexpected or misshapen."""
    if tensors and all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    used = {k: v for k, v in tensors.items() if not (unused and k.startswith(unused))}
    missing = sorted(set(want) - set(used))
    extra = sorted(set(used) - set(want))
    wrong = sorted(f"{k} {tuple(used[k].shape)} (expected {want[k]})" for k in set(want) & set(used) if tuple(used[k].shape) != want[k])
    problems = []
    for label, names in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)):
        if names:
            shown = ", ".join(names[:3]) + (f", ... ({len(names)} in all)" if len(names) > 3 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelError(f"weights {source} are not a {kind} checkpoint: " + "; ".join(problems))
    out = {}
    for k in want:
        arr = np.ascontiguousarray(used[k], dtype=np.float32)
        if not np.isfinite(arr).all():
            raise ModelError(f"weights {source}: tensor {k} holds NaN or infinite values")
        out[k] = arr
    return out


def weights_file(weights: str) -> Path:
    """``--weights``: a checkpoint file, or a Practical-RIFE ``train_log`` folder holding one."""
    source = Path(weights).expanduser()
    if source.is_dir():
        source = source / "flownet.pkl"
    if not source.is_file():
        raise UsageError(f"--weights {weights}: no such file")
    return source


def load_weights(source: Path, root: Path | None, *, check: Check, label: str) -> tuple[dict[str, np.ndarray], Path]:
    """Converted, checked float32 weights of ``source`` and their cache folder.

    The first call reads the torch checkpoint and writes ``params.npz`` + ``manifest.json``
    (sha256 of both the checkpoint and the npz) atomically under
    ``<root>/<checkpoint sha256>/``; later calls load the npz after checking its checksum.
    A damaged cache is logged and rebuilt from the checkpoint. ``check`` checks and filters
    the tensors; ``label`` names the model in messages and is the cache folder under
    ``<home>`` when ``root`` is None.
    """
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read weights {source}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(raw).hexdigest()
    folder = (root or cache.home() / label) / digest[:32]
    npz = folder / "params.npz"
    manifest = cache.Manifest.open(folder / "manifest.json", {"source_sha256": digest})
    if manifest.verified(npz.name) is not None:
        try:
            with np.load(npz, allow_pickle=False) as data:
                tensors = {k: data[k] for k in data.files}
            return check(tensors, str(npz)), folder
        except (OSError, ValueError, ModelError) as exc:
            log.warning("%s: cached weights %s unreadable (%s); converting again", label, npz, exc)
    elif npz.name in manifest.files:
        log.warning("%s: cached weights %s fail their checksum; converting again", label, npz)
    from .torch_pickle import load_state_dict

    log.info("%s: converting %s to %s", label, source, npz)
    tensors = check(load_state_dict(source), str(source))
    buf = io.BytesIO()
    np.savez(buf, **tensors)  # type: ignore[arg-type]
    with cache.atomic_writer(npz) as fh:
        fh.write(buf.getvalue())
    manifest.record(npz.name, source=str(source))
    return tensors, folder


def set_weights(paddle: ModuleType, net: Any, want: dict[str, tuple[int, ...]], tensors: dict[str, np.ndarray],
                what: str) -> Any:  # fmt: skip
    """``net`` with the ``tensors`` set, after checking that its own layout is ``want`` (else
    a bug in the network code, named ``what``, not in the weights)."""
    have = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if have != want:
        raise ModelError(f"{what} Paddle network does not match its checkpoint's layout")
    net.set_state_dict({k: paddle.to_tensor(v) for k, v in tensors.items()})
    return net
