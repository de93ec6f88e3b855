"""Paddle ops that both RIFE networks (:mod:`.rife`, HDv3, and :mod:`.rife4`, v4.25) are built
from: bilinear shrink and grow without ``F.interpolate``, the backward warp, the flow swap and
the batch halves. Like vs-rife's ``warplayer.py`` beside its IFNet files: both network modules
import this one, and neither imports the other.

Every op is written so that the exported network also converts for other runtimes
(paddle2onnx): slices instead of ``chunk``/``split`` along a dynamic axis, no
``F.interpolate`` (which Paddle 3.3's oneDNN executor cannot run once exported).

The ops reach Paddle through the module globals :data:`paddle` and :data:`F`, bound by
:func:`bind_paddle` when a network is built: Paddle 2.6's dy2static (``paddle.jit.to_static``)
resolves the names in a converted ``forward()`` through module globals, not closures.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Sequence

import numpy as np

__all__ = ["F", "bind_paddle", "cat", "grow", "grow_kernel", "halves", "resize", "shrink", "swap", "warp_sides", "paddle"]

paddle: Any = None
F: Any = None


def bind_paddle(pd: ModuleType) -> None:
    """Bind the module globals the network code reaches Paddle by."""
    global paddle, F
    paddle, F = pd, pd.nn.functional


def cat(parts: Sequence[Any], axis: int) -> Any:
    """``paddle.concat`` of ``parts`` along ``axis``."""
    return paddle.concat(list(parts), axis=axis)


def halves(x: Any) -> tuple[Any, Any]:
    """The first and the second half of ``x`` along the batch axis (two slices: ``chunk`` or
    ``split`` of a dynamic axis does not convert to ONNX)."""
    half = paddle.shape(x)[0] // 2
    return x[:half], x[half:]


def shrink(x: Any, k: int, gains: Sequence[float]) -> Any:
    """Bilinear downscale by ``k`` (a power of two >= 2), half-pixel centres (torch's
    ``align_corners=False``): each output is the mean of the 2x2 middle pixels of its
    ``k x k`` cell. Done as a depthwise strided convolution; channel ``c`` is multiplied by
    ``gains[c]``."""
    kernel = np.zeros((len(gains), 1, k, k), np.float32)
    kernel[:, 0, k // 2 - 1 : k // 2 + 1, k // 2 - 1 : k // 2 + 1] = 0.25
    kernel *= np.asarray(gains, np.float32).reshape(-1, 1, 1, 1)
    return F.conv2d(x, paddle.to_tensor(kernel), stride=k, groups=len(gains))


def grow(x: Any, k: int, gains: Sequence[float], phases: Sequence[int] | None = None, mean_of: int = 1) -> Any:
    """Bilinear upscale by ``k``, half-pixel centres, edges clamped (torch's
    ``align_corners=False``); channel ``c`` is multiplied by ``gains[c]``. ``phases`` computes
    only those rows and columns of each ``k x k`` output cell: ``(N, C, h, w) -> (N, C, p h,
    p w)`` with ``p = len(phases)`` (default: all ``k``). ``mean_of``: each output is the mean
    of that many consecutive phases in each direction (``mean_of=2`` is :func:`shrink` by 2
    of the grown result, without making it). A grouped 3 x 3 convolution over the
    edge-replicated input gives every phase of every channel (:func:`grow_kernel`), and a pixel
    shuffle puts them in place: 30 % faster on CPU than a depthwise transposed convolution,
    which Paddle runs outside oneDNN."""
    phases = range(k) if phases is None else phases
    x = paddle.concat([x[:, :, :1], x, x[:, :, -1:]], axis=2)
    x = paddle.concat([x[:, :, :, :1], x, x[:, :, :, -1:]], axis=3)
    kernel = paddle.to_tensor(grow_kernel(k, phases, gains, mean_of))
    return F.pixel_shuffle(F.conv2d(x, kernel, groups=len(gains)), len(phases) // mean_of)


def grow_kernel(k: int, phases: Sequence[int], gains: Sequence[float], mean_of: int = 1) -> np.ndarray:
    """The ``(C p p, 1, 3, 3)`` weights of :func:`grow`: output row ``r`` of a cell over input
    row ``i`` samples ``i + (r + 0.5)/k - 0.5``, a mix of row ``i`` and one neighbour; the same
    across columns; channel ``c``'s ``p x p`` phases in row-major order, times ``gains[c]``
    (``p = len(phases) / mean_of``, each the mean of ``mean_of`` consecutive phases' taps)."""
    taps = np.zeros((len(phases), 3))
    for j, r in enumerate(phases):
        d = (r + 0.5) / k - 0.5
        taps[j] = (-d, 1 + d, 0.0) if d < 0 else (0.0, 1 - d, d)
    taps = taps.reshape(-1, mean_of, 3).mean(axis=1)
    kernel: np.ndarray = np.einsum("c,ya,xb->cyxab", np.asarray(gains, np.float64), taps, taps)
    return kernel.reshape(-1, 1, 3, 3).astype(np.float32)


def resize(x: Any, factor: float, gain: float = 1.0) -> Any:
    """Bilinear resize by a power of two (``F.interpolate(mode="bilinear",
    align_corners=False)``) times ``gain``. Sides must be multiples of the factor."""
    gains = [gain] * int(x.shape[1])
    if factor >= 1:
        return grow(x, int(factor), gains)
    return shrink(x, int(round(1 / factor)), gains)


def warp_sides(both: Any, flow: Any, xs: Any = None, ys: Any = None) -> Any:
    """Backward warp of a stack of two sides in one sampling call: each pixel sampled where
    the flow (pixels) moves it, bilinear, border clamped, pixel centres at the corners of the
    [-1, 1] grid (align_corners). ``both`` is ``(2N, C, H, W)``, the frame-0 side's N rows
    over the frame-1 side's, ``flow`` ``(N, 4, h, w)``: the frame-0 side moves along its
    channels 0-1, the frame-1 side along 2-3. ``xs`` ``(1, 1, w)`` and ``ys`` ``(1, h, 1)``
    say where on that grid the ``h x w`` samples of ``flow`` sit before moving (default: at
    every pixel of ``both``). The flow goes
    into the sampling grid's layout in one transposition, which (with the grid's fixed part
    a constant once the shape is) leaves no channel slices, stacks or concatenations at
    full size: those ran as single-threaded reference kernels on OpenVINO."""
    size = paddle.shape(flow)
    sides = paddle.reshape(flow, [0, 2, 2, size[2], size[3]])
    moves = paddle.reshape(paddle.transpose(sides, [1, 0, 3, 4, 2]), [-1, size[2], size[3], 2])
    return F.grid_sample(both, _grid(both, moves, xs, ys), mode="bilinear", padding_mode="border", align_corners=True)


def _grid(img: Any, moves: Any, xs: Any, ys: Any) -> Any:
    """The sampling grid of :func:`warp_sides`: ``moves`` ``(N, h, w, 2)`` (pixels, x then y) on
    the [-1, 1] grid of ``img`` plus where each sample sits (``xs``, ``ys``; default: every
    pixel of ``img``)."""
    size = paddle.shape(img)
    height, width = size[2], size[3]
    if xs is None or ys is None:
        xs = paddle.linspace(-1.0, 1.0, width, dtype="float32").reshape([1, 1, -1])
        ys = paddle.linspace(-1.0, 1.0, height, dtype="float32").reshape([1, -1, 1])
    at = paddle.stack([xs + 0.0 * ys, ys + 0.0 * xs], axis=-1)  # (1, h, w, 2), by broadcasting
    half = (paddle.cast(paddle.stack([width, height]), "float32") - 1.0) / 2.0
    return at + moves / half


def swap(flow: Any) -> Any:
    """A bidirectional flow's two halves swapped (towards frame 1 first)."""
    return paddle.concat([flow[:, 2:4], flow[:, 0:2]], axis=1)
