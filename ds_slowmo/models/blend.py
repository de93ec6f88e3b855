"""``blend``: a plain cross-fade of the two neighbours, ``(1 - t) * a + t * b``.

The floor every real model must beat, and the cheap model the engine tests run on. Works for
every factor and every time, with exact rounding (half up) in integer arithmetic.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

from .base import ModelOptions, check_batch

__all__ = ["BlendInterpolator", "create"]


class BlendInterpolator:
    name = "blend"

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        if pairs.dtype == np.float32:
            # TEMPORARY (branch wip-rife4): the float protocol through the exact 8-bit mix, so
            # the engine's 8-bit round trip keeps its bytes; the lead replaces this at merge
            check_batch(pairs, times)
            wide = self.interpolate(np.rint(pairs * 255).astype(np.uint8), times)
            return wide.astype(np.float32) / np.float32(255)
        check_batch(pairs, times, np.uint8)
        out = np.empty((pairs.shape[0], len(times)) + pairs.shape[2:], dtype=np.uint8)
        for k, t in enumerate(times):
            out[:, k] = _mix(pairs[:, 0], pairs[:, 1], Fraction(t))
        return out


def _mix(a: np.ndarray, b: np.ndarray, t: Fraction) -> np.ndarray:
    """``((den - num) * a + num * b + den // 2) // den``: exact, rounded half up. A power-of-two
    denominator (every time of factors 2, 4, 8, 16) stays in uint16 with a shift, which is
    several times faster than the general uint32 division."""
    num, den = t.numerator, t.denominator
    if t == Fraction(1, 2):
        # (a + b + 1) >> 1 without widening: (a | b) - ((a ^ b) >> 1), 3 passes over uint8
        out = np.bitwise_or(a, b)
        diff = np.bitwise_xor(a, b)
        diff >>= 1
        out -= diff
        return out
    if den & (den - 1) == 0 and den <= 256:
        acc = a.astype(np.uint16)
        acc *= den - num
        acc += b.astype(np.uint16) * np.uint16(num)
        acc += den // 2
        acc >>= den.bit_length() - 1
        return acc.astype(np.uint8)
    wide = a.astype(np.uint32) * (den - num) + b.astype(np.uint32) * num + den // 2
    return (wide // den).astype(np.uint8)


def create(options: ModelOptions) -> BlendInterpolator:
    return BlendInterpolator()
