"""Models and the frame-level API without ffmpeg: blend arithmetic, the public surface."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import numbered_frames

import ds_slowmo
from ds_slowmo.errors import ModelError, UsageError
from ds_slowmo.models import load_model
from ds_slowmo.models.base import ModelOptions
from ds_slowmo.models.blend import BlendInterpolator


def test_blend_is_exact_and_symmetric():
    a = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=3)
    b = 255 - a
    pairs = np.stack([a, b], axis=1)
    m = BlendInterpolator()
    out = m.interpolate(pairs, [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)])
    ai, bi = a.astype(int), b.astype(int)
    assert np.array_equal(out[:, 0], ((3 * ai + bi + 2) // 4).astype(np.uint8))
    assert np.array_equal(out[:, 1], ((ai + bi + 1) // 2).astype(np.uint8))
    with pytest.raises(ModelError):
        m.interpolate(pairs, [Fraction(1)])


def test_public_frame_api():
    out = list(ds_slowmo.slowmo_frames(numbered_frames(5), factor=2, model="blend"))
    assert [int(f[0, 0, 0]) for f in out] == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    out = list(ds_slowmo.slowmo_frames(numbered_frames(5), factor=2, mode="fps"))
    assert len(out) == 10
    # range ends are checked once the source is exhausted
    with pytest.raises(UsageError, match="past the end"):
        list(ds_slowmo.slowmo_frames(numbered_frames(5), factor=2, ranges=["2:9"]))


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


def test_blend_matches_the_formula_for_every_small_time():
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 256, (2, 2, 8, 8, 3), dtype=np.uint8)
    a, b = pairs[:, 0].astype(int), pairs[:, 1].astype(int)
    m = BlendInterpolator()
    for den in range(2, 33):
        times = [Fraction(k, den) for k in range(1, den)]
        out = m.interpolate(pairs, times)
        for k, t in enumerate(times):
            want = (a * (t.denominator - t.numerator) + b * t.numerator + t.denominator // 2) // t.denominator
            assert np.array_equal(out[:, k], want.astype(np.uint8)), t
