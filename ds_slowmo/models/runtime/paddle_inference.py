"""Paddle Inference on a network's export: oneDNN and every core on a CPU; CUDA on a GPU, in
float16 when asked (:data:`~.._paddle.FLOAT32_OPS` kept in float32) and through TensorRT when
this Paddle has it and the network allows it."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Optional, Sequence

import numpy as np

from .. import _paddle
from .base import Network, Runner
from .export import export

__all__ = ["Inference", "PaddleInference", "trt_shapes"]

TrtShapes = dict[str, tuple[list[int], list[int], list[int]]]


class Inference:
    """One Paddle Inference predictor on exported model and params files."""

    def __init__(
        self,
        paddle: ModuleType,
        model_file: Path,
        params_file: Path,
        device: str,
        threads: Optional[int],
        half: bool = False,
        trt: Optional[TrtShapes] = None,
        skip_passes: Sequence[str] = (),
    ) -> None:
        config = _paddle.inference_config(
            paddle, str(model_file), str(params_file), device, threads, half=half, trt_shapes=trt, skip_passes=skip_passes
        )
        self.predictor = paddle.inference.create_predictor(config)
        self.input = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        self.output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.input.reshape(list(x.shape))
        self.input.copy_from_cpu(np.ascontiguousarray(x, dtype=np.float32))
        self.predictor.run()
        return np.asarray(self.output.copy_to_cpu())


def trt_shapes(net: Network, shape: tuple[int, int]) -> TrtShapes:
    """TensorRT's dynamic-shape ranges (min, max, opt) for ``net`` at the prepared padded size."""
    c = net.channels
    low = [1, c, net.multiple, net.multiple]
    return {net.input_name: (low, [net.trt_batch, c, *shape], [1, c, *shape])}


class PaddleInference:
    """The ``paddle`` runtime."""

    name = "paddle"

    def __init__(self, paddle: ModuleType, device: str, threads: Optional[int], half: bool = False) -> None:
        self.paddle, self.device, self.threads, self.half = paddle, device, threads, half

    def load(self, net: Network, shape: Optional[tuple[int, int]] = None) -> Runner:
        model, params = export(self.paddle, net)
        trt = trt_shapes(net, shape) if shape and net.trt_batch and self.device == "gpu" else None
        return Inference(self.paddle, model, params, self.device, self.threads, self.half, trt, net.skip_passes)
