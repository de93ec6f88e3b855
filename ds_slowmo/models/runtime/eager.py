"""The network run eagerly by Paddle (slow on a CPU): the reference every exported or
converted form is compared with in the tests."""

from __future__ import annotations

from types import ModuleType
from typing import Any, Optional

import numpy as np

from .base import Network, Runner

__all__ = ["Dygraph", "Eager"]


class Dygraph:
    """Runs a ``paddle.nn.Layer`` without gradients on arrays."""

    def __init__(self, paddle: ModuleType, layer: Any) -> None:
        self.paddle, self.layer = paddle, layer

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.paddle.no_grad():
            out = self.layer(self.paddle.to_tensor(np.ascontiguousarray(x, dtype=np.float32)))
        return np.asarray(out.numpy())


class Eager:
    """The ``eager`` runtime (tests only; not a ``--runtime`` choice)."""

    name = "eager"

    def __init__(self, paddle: ModuleType, device: str) -> None:
        self.paddle, self.device = paddle, device

    def load(self, net: Network, shape: Optional[tuple[int, int]] = None) -> Runner:
        self.paddle.set_device(self.device)
        return Dygraph(self.paddle, net.build())
