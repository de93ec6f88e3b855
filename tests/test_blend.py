"""blend on native samples and on float RGB, and the frame-level API without ffmpeg."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import numbered_frames

import ds_slowmo
from ds_slowmo.errors import ModelError, UsageError
from ds_slowmo.models import load_model
from ds_slowmo.models.base import ModelOptions
from ds_slowmo.models.blend import BlendInterpolator, mix


def test_blend_is_exact_and_symmetric():
    a = np.arange(256, dtype=np.uint8)
    b = 255 - a
    ai, bi = a.astype(int), b.astype(int)
    assert np.array_equal(mix(a, b, Fraction(1, 4)), ((3 * ai + bi + 2) // 4).astype(np.uint8))
    assert np.array_equal(mix(a, b, Fraction(1, 2)), ((ai + bi + 1) // 2).astype(np.uint8))
    pairs = np.stack([a, b]).reshape(1, 2, 16, 16, 1).repeat(3, axis=4).astype(np.float32) / 255
    m = BlendInterpolator()
    out = m.interpolate(pairs, [Fraction(1, 4)])
    assert out.dtype == np.float32 and np.allclose(out[0, 0, ..., 0].ravel() * 255, (3 * ai + bi) / 4, atol=1e-3)
    with pytest.raises(ModelError):
        m.interpolate(pairs, [Fraction(1)])


def test_public_frame_api():
    out = list(ds_slowmo.slowmo_frames(numbered_frames(5), factor=2, model="blend"))
    assert [int(f[0, 0, 0]) for f in out] == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    out = list(ds_slowmo.slowmo_frames(numbered_frames(5), factor=2, mode="fps", model="blend"))
    assert len(out) == 10
    # range ends are checked once the source is exhausted
    with pytest.raises(UsageError, match="past the end"):
        list(ds_slowmo.slowmo_frames(numbered_frames(5), factor=2, ranges=["2:9"], model="blend"))


def test_unknown_model():
    with pytest.raises(UsageError, match="unknown --model"):
        load_model("nope", ModelOptions())


def test_public_surface_is_pinned():
    assert sorted(ds_slowmo.__all__) == sorted([
        "__version__", "slowmo", "slowmo_frames", "Config", "RunStats", "SlowmoError", "UsageError",
        "InputError", "FFmpegError", "ModelError", "ModelUnavailable", "OutputClosed",
    ])  # fmt: skip
    for name in ds_slowmo.__all__:
        assert hasattr(ds_slowmo, name)
    assert ds_slowmo.UsageError.exit_code == 2 and ds_slowmo.FFmpegError.exit_code == 1
    assert issubclass(ds_slowmo.ModelUnavailable, ds_slowmo.SlowmoError)


def test_engine_does_not_import_paddle():
    import subprocess
    import sys

    code = "import sys, ds_slowmo, ds_slowmo.cli, ds_slowmo.pipeline; from ds_slowmo.models import load_model, ModelOptions; load_model('blend', ModelOptions()); print('paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dtype, top", [(np.uint8, 256), (np.uint16, 1 << 10), (np.uint16, 1 << 16)])
def test_blend_matches_the_formula_for_every_small_time(dtype, top):
    """Native samples at 8, 10 and 16 bits: exact, rounded half up, never overflowing."""
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, top, (2, 384), dtype=np.int64)
    pairs[:, :2] = [[0, top - 1], [top - 1, top - 1]]
    a, b = pairs[0], pairs[1]
    for den in range(2, 65):
        for t in (Fraction(k, den) for k in range(1, den)):
            want = (a * (t.denominator - t.numerator) + b * t.numerator + t.denominator // 2) // t.denominator
            assert np.array_equal(mix(a.astype(dtype), b.astype(dtype), t), want.astype(dtype)), t
