"""The runtime seam: one way to run an exported Paddle network, chosen by one argument.

A model defines its network in Paddle and describes it as a :class:`Network` (how to build the
eager layer with its weights, its input, where its export is cached). A :class:`Runtime`
loads it for a device, a thread count and a precision and gives back a :data:`Runner`, a
callable from a float32 ``(N, C, H, W)`` array to the network's output array. Runtimes, one
module each:

* :mod:`.paddle_inference`: Paddle Inference on the export (oneDNN on CPU; CUDA on a GPU,
  float16 and TensorRT there);
* :mod:`.openvino_cpu`: OpenVINO on the CPU, on the export converted once (paddle2onnx, then
  OpenVINO IR), checked against Paddle Inference before it is cached or used;
* :mod:`.eager`: the network run eagerly by Paddle (the reference the tests compare with).

:func:`choose` turns ``--runtime`` and ``--precision`` into a runtime (``auto``: OpenVINO on a
CPU when it is installed, Paddle Inference on a GPU) and logs which and why (``-v``).
"""

from __future__ import annotations

import importlib.util
import logging
from types import ModuleType
from typing import Optional

from ...errors import ModelUnavailable, UsageError
from .base import Network, Runner, Runtime, probe_input

__all__ = ["INSTALL_OPENVINO", "PRECISIONS", "RUNTIMES", "Network", "Runner", "Runtime", "choose", "openvino_missing", "probe_input"]

log = logging.getLogger(__name__)

#: ``--runtime`` choices (the tests also use ``eager``)
RUNTIMES = ("auto", "paddle", "openvino")
#: ``--precision`` choices: float32 everywhere; half (float16) on a GPU; bf16 through OpenVINO
#: on a CPU that computes in bf16 (AMX or AVX512-BF16)
PRECISIONS = ("float32", "half", "bf16")
INSTALL_OPENVINO = "pip install 'ds-slowmo[cpu]' (or pip install openvino paddle2onnx)"
#: what the OpenVINO route imports: the runtime, the converter and the format it writes
_OPENVINO_PACKAGES = ("openvino", "paddle2onnx", "onnx")


def openvino_missing() -> Optional[str]:
    """None when OpenVINO and the converter can be imported; else which package is missing."""
    for name in _OPENVINO_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a blocked import (sys.modules[name] = None)
            found = False
        if not found:
            return f"{name} is not installed"
    return None


def choose(paddle: ModuleType, runtime: str, precision: str, device: str, threads: Optional[int], model: str) -> Runtime:
    """The runtime for ``--runtime`` and ``--precision`` on ``device`` (``cpu`` or ``gpu``),
    logged with the reason; a request that cannot be met is a usage error now, before any
    frame is decoded."""
    from .eager import Eager
    from .paddle_inference import PaddleInference

    if runtime == "eager":
        return Eager(paddle, device)
    if runtime not in RUNTIMES:
        raise UsageError(f"--runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)} (got {precision!r})")
    if precision == "half" and device != "gpu":
        log.warning("%s: --precision half is for a GPU; the CPU runs float32", model)
        precision = "float32"
    on_paddle = PaddleInference(paddle, device, threads, half=precision == "half")
    if device == "gpu":
        if runtime == "openvino" or precision == "bf16":
            raise UsageError("--runtime openvino and --precision bf16 run on the CPU; use --device cpu "
                             "(on a GPU: --runtime paddle, --precision float32 or half)")  # fmt: skip
        log.info("%s: runtime Paddle Inference (%s: the GPU path), %s", model, runtime, precision)
        return on_paddle
    missing = openvino_missing()
    if runtime == "paddle":
        if precision == "bf16":
            raise UsageError("--precision bf16 runs through OpenVINO: use --runtime openvino or auto")
        log.info("%s: runtime Paddle Inference on the CPU (--runtime paddle), float32", model)
        return on_paddle
    if missing:
        if runtime == "openvino" or precision == "bf16":
            raise ModelUnavailable(f"--runtime openvino needs OpenVINO and paddle2onnx ({missing}): {INSTALL_OPENVINO}")
        log.info("%s: runtime Paddle Inference on the CPU (auto: %s; %s is faster)", model, missing, INSTALL_OPENVINO)
        return on_paddle
    from .openvino_cpu import OpenVINO

    chosen = OpenVINO(paddle, threads, precision, fallback=on_paddle)
    log.info("%s: runtime OpenVINO %s on the CPU (%s), %s, %d threads, %d infer requests in flight", model,
             chosen.version, runtime, precision, chosen.threads, chosen.requests)  # fmt: skip
    return chosen
