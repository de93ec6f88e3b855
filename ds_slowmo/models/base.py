"""The model protocol every interpolator implements, and in-memory padding helpers.

A batch is ``pairs``: a C-contiguous ``float32`` array of shape ``(B, 2, H, W, 3)`` (RGB frame
pairs, left then right, values in [0, 1]) and ``times``: a tuple of K exact fractions strictly
inside (0, 1), the same for every pair of the batch. The model returns ``float32``
``(B, K, H, W, 3)`` in [0, 1] where ``out[b, k]`` is the frame at time ``times[k]`` between
``pairs[b, 0]`` and ``pairs[b, 1]``. Frames are float so that a 10-bit input never goes
through 8 bits: converting to and from the input's own pixel format is the engine's job.

A model never knows about ffmpeg, files or the frame plan; the engine never knows which model
it runs. Models that need a framework (Paddle) import it lazily inside their own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import ModelError, UsageError

__all__ = [
    "Interpolator",
    "ModelOptions",
    "Padding",
    "pad_amounts",
    "pad_frames",
    "padded_nchw",
    "crop_frames",
    "check_batch",
    "check_output",
    "prepare",
    "require_factor",
]


@dataclass(frozen=True)
class ModelOptions:
    """What the engine tells a model factory. Factories validate ``factor`` up front."""

    factor: int = 2
    weights: str | None = None
    device: str = "auto"  # auto | cpu | gpu
    batch_size: int = 1
    scale: float | str = "auto"  # RIFE's flow scale: 1, 0.5, 0.25 or "auto" (chosen by frame height)
    threads: int | None = None  # CPU threads for the framework; None = all cores
    any_time: bool = False  # the plan needs times other than k/2^n (the engine sets this)
    runtime: str = "auto"  # what runs a Paddle network: auto | paddle | openvino (| eager, tests)
    precision: str = "float32"  # float32 | half (GPU) | bf16 (OpenVINO on a CPU with bf16)


@runtime_checkable
class Interpolator(Protocol):
    """One method does the work; ``name`` is for messages and stats."""

    name: str

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        """``(B, 2, H, W, 3)`` float32 in [0, 1] + K times -> ``(B, K, H, W, 3)`` float32 in [0, 1]."""
        ...


def prepare(model: Interpolator, height: int, width: int) -> None:
    """Let a model get ready for a frame size before frames flow (RIFE exports and warms up
    its network here), if it has a ``prepare(height, width)`` method; the engine calls this
    before decoding starts, so setup is not counted as model time."""
    hook = getattr(model, "prepare", None)
    if callable(hook):
        hook(height, width)


@dataclass(frozen=True)
class Padding:
    """Pixels added on each side: ``(top, bottom, left, right)``."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def is_zero(self) -> bool:
        return not (self.top or self.bottom or self.left or self.right)


def pad_amounts(height: int, width: int, multiple: int, *, centered: bool = False) -> Padding:
    """Smallest padding that makes both sides a multiple of ``multiple``.

    ``centered=False`` pads bottom/right only (RIFE's convention); ``centered=True`` splits it,
    the extra pixel going to the bottom/right.
    """
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1 (got {multiple})")
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be positive (got {width}x{height})")
    ph = -height % multiple
    pw = -width % multiple
    if centered:
        return Padding(ph // 2, ph - ph // 2, pw // 2, pw - pw // 2)
    return Padding(0, ph, 0, pw)


def pad_frames(frames: np.ndarray, pad: Padding, mode: str = "edge") -> np.ndarray:
    """Pad the H and W axes (the two axes before the last) of any ``(..., H, W, C)`` array."""
    if pad.is_zero:
        return frames
    widths = [(0, 0)] * (frames.ndim - 3) + [(pad.top, pad.bottom), (pad.left, pad.right), (0, 0)]
    padded: np.ndarray = np.pad(frames, widths, mode=mode)  # type: ignore[call-overload]
    return padded


def padded_nchw(frames: Sequence[np.ndarray], pad: Padding) -> np.ndarray:
    """``(H, W, C)`` frames -> ``(N, C, H', W')``, zero-padded as :func:`pad_frames` pads with
    ``mode="constant"``, in one strided copy each (padding, then transposing, copied every
    frame twice)."""
    h, w, c = frames[0].shape
    out = np.zeros((len(frames), c, h + pad.top + pad.bottom, w + pad.left + pad.right), np.float32)
    for dst, frame in zip(out, frames):
        dst[:, pad.top : pad.top + h, pad.left : pad.left + w] = frame.transpose(2, 0, 1)
    return out


def crop_frames(frames: np.ndarray, pad: Padding) -> np.ndarray:
    """Undo :func:`pad_frames` exactly on any ``(..., H, W, C)`` array."""
    if pad.is_zero:
        return frames
    h, w = frames.shape[-3], frames.shape[-2]
    return frames[..., pad.top : h - pad.bottom, pad.left : w - pad.right, :]


def check_batch(pairs: np.ndarray, times: Sequence[Fraction]) -> None:
    """Raise on a batch that breaks the protocol (engine bugs must not pass silently)."""
    if pairs.dtype != np.float32 or pairs.ndim != 5 or pairs.shape[1] != 2 or pairs.shape[4] != 3:
        raise ModelError(f"model input must be float32 (B, 2, H, W, 3), got {pairs.dtype} {pairs.shape}")
    if not times:
        raise ModelError("model called with no times")
    for t in times:
        if not 0 < t < 1:
            raise ModelError(f"interpolation time must be strictly between 0 and 1 (got {t})")


def check_output(out: np.ndarray, pairs: np.ndarray, k: int, name: str) -> np.ndarray:
    """Check a model's output shape/dtype against its input; return it C-contiguous and
    clipped to [0, 1] (NaN is refused: a broken network must not pass as black frames)."""
    b, _, h, w, c = pairs.shape
    if out.shape != (b, k, h, w, c) or out.dtype != np.float32:
        raise ModelError(
            f"model {name!r} returned {out.dtype} {out.shape}, expected float32 {(b, k, h, w, c)}"
        )
    clipped = np.empty(out.shape, np.float32)  # C-contiguous: one copy for both
    np.clip(out, 0.0, 1.0, out=clipped)
    if np.isnan(clipped).any():
        raise ModelError(f"model {name!r} returned NaN values")
    return clipped


def require_factor(model: str, factor: int, supported: Sequence[int], other: str = "blend") -> None:
    """Usage error naming the supported factors when ``factor`` is not among them."""
    if factor not in supported:
        listed = ", ".join(str(f) for f in supported)
        raise UsageError(
            f"--model {model} supports --factor {listed} (got {factor}); "
            f"use --model {other} for other factors"
        )
