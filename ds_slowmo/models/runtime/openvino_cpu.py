"""OpenVINO on the CPU, on a network's Paddle export converted once.

The conversion (:mod:`.convert`: paddle2onnx, the LeakyRelu patch, OpenVINO IR in float32)
runs in a child process, then it and Paddle Inference run on a fixed input
(:func:`~.base.probe_input`). Only a conversion within :data:`TOLERANCE` of Paddle is cached,
as ``openvino-p2o<ver>-ov<ver>.xml``/``.bin`` in the export's folder with their checksums in
the export's manifest, keyed by the Paddle, paddle2onnx and OpenVINO versions. A conversion
that fails or disagrees is refused in one warning line and the network runs on Paddle
Inference (the refusal is remembered for those versions, so it is not tried on every run); a
cached conversion that fails its checksum is made again.

The compiled model is made once per input shape and reused; it runs on every core the
process may use (a call of several rows: :data:`REQUESTS` of them at a time, one per stream), in float32 unless ``--precision bf16`` (OpenVINO would pick bf16 by itself on
an AMX CPU, which costs quality: see the README).
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Optional

import numpy as np

from ... import cache
from ...errors import ModelError, UsageError
from .._paddle import cpu_threads
from .base import Network, Runner, probe_input
from .export import EXPORT_META, export
from .paddle_inference import PaddleInference

__all__ = ["Compiled", "OpenVINO", "Refused", "TOLERANCE"]

log = logging.getLogger(__name__)

#: the largest difference from Paddle (on the fixed input) a conversion may show
TOLERANCE = 1e-3
#: seconds the converter may take (a few on 2 cores; much more means it hangs)
CONVERT_TIMEOUT = 900.0
#: infer requests in flight when a call has several rows, each on its own share of the threads
#: (OpenVINO's throughput mode; 1: one request on every thread). Two beat one by engine wall
#: time on 2 cores (bench/test_rife_speed.py::test_engine_openvino_settings): the layout and
#: concatenation steps between the convolutions run on one thread, so a single request leaves
#: the other core idle there
REQUESTS = 2
#: compiled shapes kept per network
KEEP_SHAPES = 6
#: a converter that could not even start (paddle2onnx 2.1.0 imports packaging undeclared)
MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")


class Refused(Exception):
    """A conversion that is not used; ``remember``: record it, so that it is not retried."""

    def __init__(self, why: str, remember: bool = True) -> None:
        super().__init__(why)
        self.remember = remember


def versions(paddle: ModuleType) -> dict[str, str]:
    """What a conversion is keyed by."""
    return {"paddle": str(paddle.__version__), "paddle2onnx": importlib.metadata.version("paddle2onnx"),
            "openvino": importlib.metadata.version("openvino")}  # fmt: skip


class Compiled:
    """An OpenVINO model compiled for each input shape it is called with (then reused).

    With ``requests`` > 1, a call of several rows runs them one per request, that many in
    flight on that many streams (OpenVINO's throughput mode); otherwise one request computes
    the whole call on every thread (latency mode)."""

    def __init__(self, core: Any, model: Any, config: dict[str, Any], requests: int = 1) -> None:
        self.core, self.model, self.config, self.requests = core, model, config, requests
        self._compiled: dict[tuple[Any, ...], Any] = {}

    def _get(self, shape: tuple[int, ...], streams: int) -> Any:
        key = (shape, streams)
        if key not in self._compiled:
            model = self.model.clone()
            model.reshape({0: list(shape)})
            config = dict(self.config)
            if streams > 1:
                config.update(PERFORMANCE_HINT="THROUGHPUT", NUM_STREAMS=streams)
            compiled = self.core.compile_model(model, "CPU", config)
            made = compiled.create_infer_request() if streams == 1 else self._queue(compiled, streams)
            while len(self._compiled) >= KEEP_SHAPES:
                del self._compiled[next(iter(self._compiled))]
            self._compiled[key] = made
        return self._compiled[key]

    @staticmethod
    def _queue(compiled: Any, streams: int) -> Any:
        import openvino as ov

        return ov.AsyncInferQueue(compiled, streams)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.requests > 1 and x.shape[0] > 1:
            return self._rows(x)
        request = self._get(tuple(x.shape), 1)
        request.infer({0: x})
        return np.array(request.get_output_tensor(0).data, copy=True)

    def _rows(self, x: np.ndarray) -> np.ndarray:
        queue = self._get((1,) + tuple(x.shape[1:]), self.requests)
        out: list[Optional[np.ndarray]] = [None] * x.shape[0]

        def done(request: Any, i: int) -> None:
            out[i] = np.array(request.get_output_tensor(0).data, copy=True)

        queue.set_callback(done)
        for i in range(x.shape[0]):
            queue.start_async({0: x[i : i + 1]}, i)
        queue.wait_all()
        if any(o is None for o in out):
            raise ModelError("OpenVINO left a row of the batch unanswered")
        return np.concatenate([o for o in out if o is not None])


class OpenVINO:
    """The ``openvino`` runtime (CPU only); ``fallback`` runs what it refuses."""

    name = "openvino"

    def __init__(self, paddle: ModuleType, threads: Optional[int], precision: str, fallback: PaddleInference,
                 requests: Optional[int] = None) -> None:  # fmt: skip
        self.paddle, self.precision, self.fallback = paddle, precision, fallback
        self.threads = cpu_threads(threads)
        self.requests = max(1, min(REQUESTS if requests is None else requests, self.threads))
        self.version = importlib.metadata.version("openvino")
        self._core: Any = None

    def core(self) -> Any:
        if self._core is None:
            import openvino as ov

            self._core = ov.Core()
            if self.precision == "bf16" and "BF16" not in self._core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
                raise UsageError("--precision bf16: this CPU does not compute in bf16 (it has neither AMX nor AVX512-BF16); "
                                 "use --precision float32")  # fmt: skip
        return self._core

    def config(self, precision: Optional[str] = None) -> dict[str, Any]:
        hint = {"float32": "f32", "bf16": "bf16"}[precision or self.precision]
        return {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1, "INFERENCE_NUM_THREADS": self.threads,
                "INFERENCE_PRECISION_HINT": hint}  # fmt: skip

    def load(self, net: Network, shape: Optional[tuple[int, int]] = None) -> Runner:
        files = export(self.paddle, net)
        core = self.core()
        try:
            xml = self.converted(net, files)
        except Refused as exc:
            log.warning("%s: the OpenVINO conversion is refused (%s); Paddle Inference runs it instead", net.name, exc)
            return self.fallback.load(net, shape)
        return Compiled(core, core.read_model(str(xml), str(xml.with_suffix(".bin"))), self.config(), self.requests)

    def converted(self, net: Network, files: tuple[Path, Path]) -> Path:
        """The checked conversion of the export ``files``: from the cache, or made, checked and
        cached now; :class:`Refused` when it cannot be had."""
        folder = files[0].parent
        facts = versions(self.paddle)
        stem = f"openvino-p2o{facts['paddle2onnx']}-ov{facts['openvino']}"
        xml, weights, refusal = (folder / f"{stem}{ext}" for ext in (".xml", ".bin", ".refused"))
        manifest = cache.Manifest.open(folder / "manifest.json", EXPORT_META)
        if manifest.verified(refusal.name, **facts) is not None:
            raise Refused(refusal.read_text().strip() + " (remembered; remove the file to try again: " + str(refusal) + ")")
        if all(manifest.verified(p.name, **facts) is not None for p in (xml, weights)):
            return xml
        if xml.name in manifest.files or weights.name in manifest.files:
            log.warning("%s: the cached OpenVINO conversion %s fails its checksum; converting again", net.name, xml)
        log.info("%s: converting the export for OpenVINO (paddle2onnx %s), once", net.name, facts["paddle2onnx"])
        with tempfile.TemporaryDirectory(prefix=".openvino-", dir=folder) as tmp:
            made = Path(tmp) / "model.xml"
            try:
                run_converter(files, made)
                diff = self.check(net, made)
            except Refused as exc:
                if exc.remember:
                    with cache.atomic_writer(refusal) as fh:
                        fh.write(str(exc).encode())
                    cache.Manifest.open(manifest.path, EXPORT_META).record(refusal.name, **facts)
                raise
            os.replace(made.with_suffix(".bin"), weights)
            os.replace(made, xml)
        manifest = cache.Manifest.open(manifest.path, EXPORT_META)  # as another process may have left it
        manifest.record(weights.name, **facts)
        manifest.record(xml.name, **facts, max_diff=diff)
        log.info("%s: OpenVINO conversion checked (max difference from Paddle %.1e) and cached", net.name, diff)
        return xml

    def check(self, net: Network, xml: Path) -> float:
        """The largest difference of the conversion from Paddle Inference on the fixed input
        (in float32); :class:`Refused` above :data:`TOLERANCE` or when it does not run."""
        x = probe_input(net.probe_shape)
        want = self.fallback.load(net)(x)
        core = self.core()
        try:
            got = Compiled(core, core.read_model(str(xml), str(xml.with_suffix(".bin"))), self.config("float32"))(x)
        except RuntimeError as exc:  # OpenVINO's errors are RuntimeErrors
            raise Refused(f"OpenVINO cannot run it: {str(exc).strip().splitlines()[0][:200]}") from None
        if got.shape != want.shape:
            raise Refused(f"it returns {got.shape} where Paddle returns {want.shape}")
        diff = float(np.max(np.abs(got.astype(np.float64) - want)))
        if not diff <= TOLERANCE:  # NaN fails too
            raise Refused(f"it differs from Paddle by {diff:.2g} on a fixed input, more than {TOLERANCE:g}")
        return diff


def run_converter(files: tuple[Path, Path], out_xml: Path) -> None:
    """:mod:`.convert` in a child process; :class:`Refused` with the converter's reason."""
    package_root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ, GLOG_minloglevel="2")
    env["PYTHONPATH"] = os.pathsep.join([package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    argv = [sys.executable, "-m", "ds_slowmo.models.runtime.convert", str(files[0]), str(files[1]), str(out_xml)]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                              timeout=CONVERT_TIMEOUT, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise Refused(f"paddle2onnx took over {CONVERT_TIMEOUT:g} s", remember=False) from None
    if proc.returncode != 0 or not out_xml.is_file() or not out_xml.with_suffix(".bin").is_file():
        said = proc.stdout + proc.stderr
        missing = MISSING_MODULE.search(said)
        if missing:  # the install, not the network: not remembered, so that installing it is enough
            raise Refused(f"the converter cannot start: it needs the Python module '{missing.group(1)}' "
                          f"(pip install {missing.group(1).split('.')[0]})", remember=False)  # fmt: skip
        raise Refused(f"paddle2onnx could not convert it: {converter_reason(said, proc.returncode)}")


def converter_reason(output: str, code: int) -> str:
    """The converter's own reason in its output (its first error line), else how it ended."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in lines:
        if "Cannot convert" in line or "[ERROR]" in line or line.startswith(("ValueError", "RuntimeError", "Error")):
            return line[:300]
    ending = "aborted" if code < 0 or "abort" in output.lower() else f"exit code {code}"
    return f"{ending}; last line: {lines[-1][:200]}" if lines else ending
