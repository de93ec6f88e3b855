"""What every runtime shares: the :class:`Network` a model hands over, the fixed input a
conversion is checked on, and the :class:`Runtime` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Protocol

import numpy as np

__all__ = ["Network", "Runner", "Runtime", "probe_input"]

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Network:
    """A Paddle network as a runtime loads it.

    ``build()`` makes the eager ``paddle.nn.Layer`` with its weights set; it takes
    ``(N, channels, H, W)`` float32 with H and W multiples of ``multiple``. The export is
    ``<folder>/export-v<version>-paddle<version>-<tag>-dynamic`` (older versions there are
    removed); ``skip_passes`` are Paddle Inference passes to leave out; ``trt_batch`` > 0 lets
    TensorRT build engines up to that batch on a GPU. ``name`` is for messages."""

    name: str
    build: Callable[[], Any]
    channels: int
    input_name: str
    folder: Path
    tag: str
    version: int
    multiple: int
    skip_passes: tuple[str, ...] = ()
    trt_batch: int = 0

    @property
    def probe_shape(self) -> tuple[int, int, int, int]:
        """The fixed input's shape a conversion is checked on: two rows (the batch halves
        matter to HDv3) of the smallest frame the network takes, twice as wide as high."""
        return (2, self.channels, self.multiple, 2 * self.multiple)


def probe_input(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed input: smooth patterns in (0.1, 0.9) that differ by channel and row, so the
    network sees structure to estimate flow on (pure noise is ill-posed)."""
    n, c, h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    rows = [
        [0.5 + 0.4 * np.sin(xs / (6 + ch) + ch + 2 * i) * np.cos(ys / (5 + ch) - i) for ch in range(c)]
        for i in range(n)
    ]
    return np.ascontiguousarray(np.asarray(rows, np.float32))


class Runtime(Protocol):
    """Loads a network; the device, threads and precision were given when it was made."""

    name: str

    def load(self, net: Network, shape: Optional[tuple[int, int]] = None) -> Runner:
        """A runner for ``net``; ``shape`` is the padded frame size about to run, when known
        (TensorRT sizes its engines by it)."""
        ...
