"""RIFE speed through ``interpolate()``, one pair per call (pytest-benchmark; not in CI's tests).

    .venv/bin/pytest bench/test_rife_speed.py --benchmark-columns=min,median,mean

Frames are real (bigbuckbunny, upscaled for 1280x720) so flows are realistic. The export and
the warm-up happen in ``prepare`` before timing.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("paddle")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import quality  # noqa: E402
from ds_slowmo.models import rife  # noqa: E402
from ds_slowmo.models.base import ModelOptions  # noqa: E402

SIZES = [(640, 360), (1280, 720)]


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return quality.decode("bigbuckbunny", frames=3)


@pytest.fixture(scope="module", params=[1.0, 0.5], ids=lambda s: f"scale{s:g}")
def model(request: Any) -> rife.RifeInterpolator:
    return rife.create(ModelOptions(factor=2, scale=request.param))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_interpolate_one_pair(benchmark: Any, model: rife.RifeInterpolator, frames: np.ndarray, size: tuple[int, int]) -> None:
    width, height = size
    pair = np.stack([frames[0], frames[2]])[None]
    k = width // 640
    pair = np.ascontiguousarray(pair.repeat(k, axis=2).repeat(k, axis=3))
    assert pair.shape == (1, 2, height, width, 3)
    model.prepare(height, width)
    out = benchmark.pedantic(model.interpolate, args=(pair, (Fraction(1, 2),)), rounds=3, warmup_rounds=1)
    assert out.shape == (1, 1, height, width, 3)
