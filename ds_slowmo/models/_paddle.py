"""Shared Paddle plumbing for the Paddle models: lazy import, device choice, Inference config.

Only model modules import this, and only when their model is asked for.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Iterator, Sequence

from ..errors import ModelUnavailable, UsageError

__all__ = ["import_paddle", "resolve_device", "cpu_threads", "inference_config"]

INSTALL_HINT = "pip install 'ds-slowmo[cpu]' (or 'ds-slowmo[gpu]' for a CUDA GPU)"


def import_paddle(model: str) -> ModuleType:
    """Import paddle or fail with the install line."""
    # Paddle's C++ side logs through glog straight to stderr (export notes, "PIR not support
    # ..."); keep it to errors unless the user asked for more
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        with warnings.catch_warnings(), _root_logger_kept():
            # Paddle warns at import that ccache (for compiling custom ops) is missing: noise here
            warnings.filterwarnings("ignore", message=".*ccache.*")
            import paddle
    except ImportError as exc:
        raise ModelUnavailable(
            f"--model {model} needs PaddlePaddle, which is not installed: {INSTALL_HINT}"
        ) from exc
    return paddle


@contextmanager
def _root_logger_kept() -> Iterator[None]:
    """The root logger's handlers and level as they were: importing Paddle adds a handler at
    INFO to it, which would print every library's details (ours included) in an application
    that configured no logging. Logging is the application's to configure."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def resolve_device(paddle: ModuleType, device: str, model: str) -> str:
    """``auto`` -> ``gpu`` when Paddle has CUDA and sees a GPU, else ``cpu``."""
    has_cuda = bool(paddle.device.is_compiled_with_cuda()) and paddle.device.cuda.device_count() > 0
    if device == "auto":
        return "gpu" if has_cuda else "cpu"
    if device == "gpu" and not has_cuda:
        raise UsageError(
            "--device gpu asked for, but this Paddle has no CUDA GPU; install 'ds-slowmo[gpu]' "
            "on a machine with an NVIDIA GPU, or use --device cpu"
        )
    if device not in ("cpu", "gpu"):
        raise UsageError(f"--device must be auto, cpu or gpu (got {device!r})")
    return device


def cpu_threads(requested: int | None) -> int:
    if requested:
        return requested
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: ops kept in float32 when a GPU runs the rest in half precision (the warps sample with
#: pixel-sized offsets that half precision rounds to 1/8 pixel at 1920 columns; the mask's
#: sigmoid saturates)
FLOAT32_OPS = frozenset({"grid_sample", "sigmoid"})


def has_tensorrt(inference: Any) -> bool:
    """Whether this Paddle was built with TensorRT (a CPU or plain CUDA wheel says 0.0.0)."""
    try:
        return tuple(inference.get_trt_compile_version()) > (0, 0, 0)
    except (AttributeError, RuntimeError):
        return False


def inference_config(
    paddle: ModuleType,
    model_file: str,
    params_file: str | None,
    device: str,
    threads: int | None,
    *,
    half: bool = False,
    trt_shapes: dict[str, tuple[list[int], list[int], list[int]]] | None = None,
    skip_passes: Sequence[str] = (),
) -> Any:
    """A ``paddle.inference.Config`` set up for the device: oneDNN + all cores on CPU; on a GPU,
    ``half`` runs in float16 with :data:`FLOAT32_OPS` kept in float32, and ``trt_shapes``
    (input name -> min, max, opt shapes) turns TensorRT on when this Paddle has it.
    ``skip_passes`` names optimization passes to leave out (a pass that crashes on a graph)."""
    from paddle import inference

    config = inference.Config(model_file, params_file) if params_file else inference.Config(model_file)
    if device == "gpu":
        _gpu_config(inference, config, half, trt_shapes)
    else:
        config.disable_gpu()
        config.enable_mkldnn()
        config.set_cpu_math_library_num_threads(cpu_threads(threads))
    config.disable_glog_info()
    config.switch_ir_optim(True)
    for name in skip_passes:
        config.delete_pass(name)
    # no enable_memory_optim(): Paddle 3.3 cannot create a predictor for a PIR (.json) export
    # with memory_optimize_pass ("Not find predictor_id 0 and pass_name memory_optimize_pass")
    return config


def _gpu_config(
    inference: Any, config: Any, half: bool, trt_shapes: dict[str, tuple[list[int], list[int], list[int]]] | None
) -> None:
    precision = inference.PrecisionType.Half if half else inference.PrecisionType.Float32
    config.enable_use_gpu(256, 0, precision)
    if half:
        config.exp_disable_mixed_precision_ops(set(FLOAT32_OPS))
    if trt_shapes and has_tensorrt(inference):
        config.enable_tensorrt_engine(
            workspace_size=1 << 30, max_batch_size=1, min_subgraph_size=3, precision_mode=precision,
            use_static=False, use_calib_mode=False,
        )  # fmt: skip
        low = {k: v[0] for k, v in trt_shapes.items()}
        high = {k: v[1] for k, v in trt_shapes.items()}
        opt = {k: v[2] for k, v in trt_shapes.items()}
        config.set_trt_dynamic_shape_info(low, high, opt)
