"""``blend``: a plain cross-fade of the two neighbours, ``(1 - t) * a + t * b``.

The floor every real model must beat, and the cheap model the engine tests run on. Blending is
linear, so the engine applies it to the input's own samples (:func:`mix`: any planar format, 8
or 16 bits, exact rounding half up in integer arithmetic) and never converts colours for it;
:meth:`BlendInterpolator.interpolate` speaks the float RGB protocol like every model.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

from .base import ModelOptions, check_batch, check_output

__all__ = ["BlendInterpolator", "create", "mix"]


class BlendInterpolator:
    name = "blend"
    linear = True  # the engine may apply :func:`mix` to native samples instead

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        check_batch(pairs, times)
        out = np.empty((pairs.shape[0], len(times)) + pairs.shape[2:], dtype=np.float32)
        for k, t in enumerate(times):
            np.multiply(pairs[:, 0], np.float32(1 - t), out=out[:, k])
            out[:, k] += pairs[:, 1] * np.float32(t)
        return check_output(out, pairs, len(times), self.name)


def mix(a: np.ndarray, b: np.ndarray, t: Fraction) -> np.ndarray:
    """``((den - num) * a + num * b + den // 2) // den`` for unsigned integer samples (uint8 or
    uint16): exact, rounded half up. t = 1/2 needs no widening; a power-of-two denominator
    (every time of factors 2, 4, 8, 16) uses a shift instead of a division."""
    num, den = t.numerator, t.denominator
    if t == Fraction(1, 2):
        # (a + b + 1) >> 1 without widening: (a | b) - ((a ^ b) >> 1)
        out: np.ndarray = np.bitwise_or(a, b)
        diff = np.bitwise_xor(a, b)
        diff >>= 1
        out -= diff
        return out
    wide = np.dtype(np.uint16 if a.dtype == np.uint8 and den <= 256 else np.uint64)
    acc: np.ndarray = a.astype(wide)
    acc *= den - num
    acc += b.astype(wide) * num
    acc += den // 2
    if den & (den - 1) == 0:
        acc >>= den.bit_length() - 1
    else:
        acc //= den
    return acc.astype(a.dtype)


def create(options: ModelOptions) -> BlendInterpolator:
    return BlendInterpolator()
