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
        check_batch(pairs, times)
        a = pairs[:, 0].astype(np.uint32)
        b = pairs[:, 1].astype(np.uint32)
        out = np.empty((pairs.shape[0], len(times)) + pairs.shape[2:], dtype=np.uint8)
        for k, t in enumerate(times):
            t = Fraction(t)
            # exact (den - num) * a + num * b over den, rounded half up, all in integers
            num, den = t.numerator, t.denominator
            mixed = (a * (den - num) + b * num + den // 2) // den
            out[:, k] = mixed.astype(np.uint8)
        return out


def create(options: ModelOptions) -> BlendInterpolator:
    return BlendInterpolator()
