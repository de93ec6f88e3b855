"""RIFE speed through ``interpolate()``, one pair per call (pytest-benchmark; not in CI's tests).

    .venv/bin/pytest bench/test_rife_speed.py --benchmark-columns=min,median,mean
    DS_SLOWMO_BENCH_DEVICE=gpu .venv/bin/pytest bench/test_rife_speed.py   # bench/gpu.sh does this
    DS_SLOWMO_BENCH_SIZES=1920x1080,3840x2160 .venv/bin/pytest bench/test_rife_speed.py -k rife4

Both versions: ``rife`` (HDv3, t = 1/2) and ``rife4`` (v4.25, t = 1/2, and t = 1/3 with the
feature head reused from the pair before). Frames are real (bigbuckbunny, upscaled for
1280x720) so flows are realistic. The export and the warm-up happen in ``prepare`` before
timing. ``DS_SLOWMO_BENCH_PRECISION=half`` runs rife4 in float16 on a GPU.
"""

from __future__ import annotations

import os
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

from bench import quality
from ds_slowmo.models import rife, rife4
from ds_slowmo.models.base import ModelOptions

#: width x height, comma-separated: multiples of 640x360 (frames are upscaled by repeating pixels)
SIZES = [
    (int(w), int(h))
    for w, h in (size.split("x") for size in os.environ.get("DS_SLOWMO_BENCH_SIZES", "640x360,1280x720").split(","))
]
DEVICE = os.environ.get("DS_SLOWMO_BENCH_DEVICE", "cpu")
PRECISION = os.environ.get("DS_SLOWMO_BENCH_PRECISION", "float32")
THREADS = int(os.environ.get("DS_SLOWMO_BENCH_THREADS", "0")) or None


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return quality.decode("bigbuckbunny", frames=5).astype(np.float32) / np.float32(255)


@pytest.fixture(scope="module", params=["rife", "rife4"])
def version(request: Any) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=[1.0, 0.5, 0.25], ids=lambda s: f"scale{s:g}")
def model(request: Any, version: str) -> Any:
    options = ModelOptions(factor=2, scale=request.param, device=DEVICE, threads=THREADS)
    if version == "rife":
        return rife.create(options)
    return rife4.create(options, precision=PRECISION)


def pair_at(frames: np.ndarray, i: int, size: tuple[int, int]) -> np.ndarray:
    width, height = size
    k = width // 640
    pair = np.stack([frames[i], frames[i + 2]])[None]
    return np.ascontiguousarray(pair.repeat(k, axis=2).repeat(k, axis=3))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_interpolate_one_pair(benchmark: Any, model: Any, frames: np.ndarray, size: tuple[int, int]) -> None:
    """A new pair each round: v4.25 encodes both frames (the engine's steady state reuses one)."""
    width, height = size
    pairs = [pair_at(frames, i, size) for i in (0, 2)]
    assert pairs[0].shape == (1, 2, height, width, 3)
    model.prepare(height, width)
    rounds = iter(range(1 << 20))

    def one() -> np.ndarray:
        out: np.ndarray = model.interpolate(pairs[next(rounds) % 2], (Fraction(1, 2),))
        return out

    out = benchmark.pedantic(one, rounds=4, warmup_rounds=1)
    assert out.shape == (1, 1, height, width, 3)


@pytest.mark.parametrize("size", SIZES[:1], ids=lambda s: f"{s[0]}x{s[1]}")
def test_rife4_chained_pairs(benchmark: Any, frames: np.ndarray, size: tuple[int, int]) -> None:
    """The engine's steady state for v4.25: each call's left frame is the last call's right, so
    only one frame is encoded per pair; t = 1/3 (one pass, any t)."""
    model = rife4.create(ModelOptions(factor=3, scale=1.0, device=DEVICE, threads=THREADS), precision=PRECISION)
    width, height = size
    model.prepare(height, width)
    chain = [pair_at(frames, 0, size)[0, 0], pair_at(frames, 2, size)[0, 0]]
    state = {"i": 0}

    def one() -> np.ndarray:
        i = state["i"]
        state["i"] += 1
        pair = np.stack([chain[i % 2], chain[(i + 1) % 2] + np.float32(i % 7) / 255])[None]
        chain[(i + 1) % 2] = pair[0, 1]
        out: np.ndarray = model.interpolate(np.ascontiguousarray(pair), (Fraction(1, 3),))
        return out

    benchmark.pedantic(one, rounds=4, warmup_rounds=1)
    assert model.features.hits >= 4
