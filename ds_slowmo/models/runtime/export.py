"""The export every non-eager runtime starts from: ``paddle.jit.save`` of a :class:`Network`,
once, into a folder with a checksum manifest (conversions for other runtimes are recorded in
the same manifest, beside it)."""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path
from types import ModuleType
from typing import Optional

from ... import cache
from ...errors import ModelError
from .base import Network

__all__ = ["EXPORT_META", "export", "export_dir", "find_export"]

log = logging.getLogger(__name__)

EXPORT_META = {"kind": "paddle.jit.save export"}


def export_dir(paddle: ModuleType, net: Network) -> Path:
    """``<folder>/export-v<version>-paddle<paddle version>-<tag>-dynamic``."""
    version = paddle.__version__.replace("/", "_")
    return net.folder / f"export-v{net.version}-paddle{version}-{net.tag}-dynamic"


def find_export(target: Path, quiet: bool = False) -> Optional[tuple[Path, Path]]:
    """The checked (model, params) files of a finished export, or None to (re)build it."""
    manifest = cache.Manifest.open(target / "manifest.json", EXPORT_META)
    names = sorted(manifest.files)
    model = next((n for n in names if n.endswith((".json", ".pdmodel"))), None)
    params = next((n for n in names if n.endswith(".pdiparams")), None)
    if model is None or params is None:
        return None
    for name in (model, params):
        if manifest.verified(name) is None:
            if not quiet:
                log.warning("exported model %s fails its checksum; exporting again", target / name)
            return None
    return target / model, target / params


def export(paddle: ModuleType, net: Network) -> tuple[Path, Path]:
    """``paddle.jit.save`` ``net`` into :func:`export_dir`, once; the (model, params) files.

    The export is written in a temporary folder that is renamed into place with its
    checksum manifest, so a crash or a concurrent run never leaves a half-written model.
    Exports of an older version in the network's folder are removed.
    """
    target = export_dir(paddle, net)
    found = find_export(target)
    if found:
        return found
    log.info("%s: exporting the network to %s", net.name, target)
    layer = net.build()
    spec = [paddle.static.InputSpec([None, net.channels, None, None], "float32", net.input_name)]

    def save(into: Path) -> None:
        into.mkdir()
        with warnings.catch_warnings():  # dy2static chatter about its own internals
            warnings.filterwarnings("ignore", message="Tensor do not have 'place' interface")
            static = paddle.jit.to_static(layer, input_spec=spec, full_graph=True)
            paddle.jit.save(static, str(into / "rife"), input_spec=spec)
        model = next((into / n for n in ("rife.json", "rife.pdmodel") if (into / n).is_file()), None)
        params = into / "rife.pdiparams"
        if model is None or not params.is_file():
            raise ModelError(f"{net.name}: paddle.jit.save wrote no model in {into}: {sorted(os.listdir(into))}")
        manifest = cache.Manifest(into / "manifest.json", EXPORT_META)
        for made in (model, params):
            manifest.record(made.name)

    cache.install_dir(target, save, lambda there: find_export(there, quiet=True) is not None)
    found = find_export(target)
    if not found:
        raise ModelError(f"{net.name}: the exported model in {target} cannot be read back")
    for stale in net.folder.glob("export-v*"):  # exports of older network code are never used again
        old = stale.name.split("-")[1][1:]
        if old.isdigit() and int(old) < net.version:
            shutil.rmtree(stale, ignore_errors=True)
    return found
