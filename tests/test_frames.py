"""The model stage without ffmpeg: order, batching, blend arithmetic, the frame-level API."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ds_slowmo
from ds_slowmo.errors import InputError, ModelError, UsageError
from ds_slowmo.models import load_model
from ds_slowmo.models.base import ModelOptions
from ds_slowmo.models.blend import BlendInterpolator
from ds_slowmo.stage import StageStats as RunStats, interpolate_frames
from ds_slowmo.plan import Copy, build_plan, parse_span


def numbered_frames(n, h=4, w=6):
    """Frame i is filled with value 10*i (so blends are easy to predict)."""
    return [np.full((h, w, 3), 10 * i, dtype=np.uint8) for i in range(n)]


class Recorder:
    """A fake model: output pixel = 1000*t rounded + left value marker; records every call."""

    name = "recorder"

    def __init__(self):
        self.calls = []

    def interpolate(self, pairs, times):
        pairs = np.rint(pairs * 255).astype(np.uint8)  # the float protocol, back to the 8-bit values (wip-rife4)
        self.calls.append((pairs[:, 0, 0, 0, 0].tolist(), pairs[:, 1, 0, 0, 0].tolist(), tuple(times)))
        b, _, h, w, c = pairs.shape
        out = np.empty((b, len(times), h, w, c), np.uint8)
        for k, t in enumerate(times):
            out[:, k] = BlendInterpolator().interpolate(pairs, [t])[:, 0]
        return out.astype(np.float32) / np.float32(255)


def expected_values(plan, n):
    vals = []
    for s in plan.steps(n):
        if isinstance(s, Copy):
            vals.append(10 * s.src)
        else:
            a, b = 10 * s.left, 10 * (s.left + 1)
            num, den = s.t.numerator, s.t.denominator
            vals.append((a * (den - num) + b * num + den // 2) // den)
    return vals


@pytest.mark.parametrize("batch", [1, 2, 3, 7])
@pytest.mark.parametrize(
    "kw",
    [
        dict(mode="slowmo", factor=4),
        dict(mode="slowmo", factor=3, ranges=["2:5", "9:11"]),
        dict(mode="slowmo", factor=2, ranges=["3:8"], trim="2:10"),
        dict(mode="fps", factor=2),
        dict(mode="fps", factor=5, trim="4:"),
    ],
)
def test_output_follows_plan_exactly(kw, batch):
    n = 12
    p = build_plan(
        mode=kw["mode"], factor=kw["factor"], rate=Fraction(25), n_frames=n,
        ranges=[parse_span(r) for r in kw.get("ranges", [])],
        trim=parse_span(kw["trim"], "--trim") if "trim" in kw else None,
    )  # fmt: skip
    rec = Recorder()
    stats = RunStats()
    out = list(interpolate_frames(numbered_frames(n), p, rec, batch_size=batch, stats=stats))
    assert [int(f[0, 0, 0]) for f in out] == expected_values(p, n)
    assert all(f.shape == (4, 6, 3) and f.dtype == np.uint8 for f in out)
    # batches never exceed the batch size and pairs arrive in order, left then right
    lefts = [l for call in rec.calls for l in call[0]]
    rights = [r for call in rec.calls for r in call[1]]
    assert all(len(call[0]) <= batch for call in rec.calls)
    assert rights == [l + 10 for l in lefts]
    assert lefts == sorted(lefts)
    assert stats.interpolated == sum(1 for s in p.steps(n) if not isinstance(s, Copy))


def test_batches_fill_up():
    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=9)
    rec = Recorder()
    list(interpolate_frames(numbered_frames(9), p, rec, batch_size=3))
    assert [len(c[0]) for c in rec.calls] == [3, 3, 2]


def test_trim_stops_reading_the_source():
    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=None, trim=parse_span("0:3", "--trim"))
    pulled = []

    def source():
        for i, f in enumerate(numbered_frames(20)):
            pulled.append(i)
            yield f

    out = list(interpolate_frames(source(), p, BlendInterpolator()))
    assert len(out) == 5
    assert max(pulled) <= 3


def test_frame_size_change_is_an_error():
    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=None)
    frames = numbered_frames(3) + [np.zeros((5, 6, 3), np.uint8)]
    with pytest.raises(InputError, match="frame 3"):
        list(interpolate_frames(frames, p, BlendInterpolator()))


def test_wrong_model_output_is_caught():
    class Bad:
        name = "bad"

        def interpolate(self, pairs, times):
            return np.zeros((1, 1, 2, 2, 3), np.uint8)

    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=None)
    with pytest.raises(ModelError, match="bad"):
        list(interpolate_frames(numbered_frames(3), p, Bad()))


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


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 25), st.integers(2, 5), st.integers(1, 6), st.sampled_from(["slowmo", "fps"]))
def test_generator_counts_property(n, factor, batch, mode):
    p = build_plan(mode=mode, factor=factor, rate=Fraction(30000, 1001), n_frames=None)
    out = list(interpolate_frames(numbered_frames(n, 2, 2), p, BlendInterpolator(), batch_size=batch))
    assert len(out) == p.output_count(n)
    assert [int(f[0, 0, 0]) for f in out] == expected_values(p, n)


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


# -- scene cuts and duplicates (the stage decides how each planned frame is made) -----------------
def frames_of(values, h=36, w=64):
    return [np.full((h, w, 3), v, dtype=np.uint8) for v in values]


def run_stage(values, *, factor=2, mode="slowmo", scene=30.0, dedupe=None, batch=1):
    p = build_plan(mode=mode, factor=factor, rate=Fraction(25), n_frames=None)
    st = RunStats()
    out = list(interpolate_frames(frames_of(values), p, BlendInterpolator(), batch_size=batch, stats=st,
                                  scene_threshold=scene, dedupe=dedupe))  # fmt: skip
    assert len(out) == p.output_count(len(values))
    return [int(f[0, 0, 0]) for f in out], st


def test_cut_copies_the_nearer_frame_and_never_mixes():
    vals, st = run_stage([0, 10, 20, 200, 210], factor=4)
    assert st.cuts == [(2, 3)]
    # gap 2 (20 -> 200) is a cut: t=1/4, 1/2 copy the left frame, t=3/4 the right one
    assert vals[8:13] == [20, 20, 20, 200, 200]
    # the other gaps are still interpolated
    assert vals[:5] == [0, 3, 5, 8, 10] and vals[12:] == [200, 203, 205, 208, 210]
    assert st.cut_frames == 3


def test_cut_detection_off_mixes():
    vals, st = run_stage([0, 10, 20, 200, 210], factor=2, scene=None)
    assert vals[4:7] == [20, 110, 200] and st.cuts == []


def test_dedupe_on_twos_interpolates_through_held_frames():
    # each drawing held for two frames; fps x2
    vals, st = run_stage([0, 0, 20, 20, 40, 40], mode="fps", factor=2, dedupe=3.0)
    assert vals == [0, 5, 10, 15, 20, 25, 30, 35, 40, 40, 40, 40]
    assert st.duplicates == 3
    assert all(a != b for a, b in zip(vals[:9], vals[1:9]))


def test_dedupe_any_phase_and_runs_of_three():
    vals, _ = run_stage([0, 20, 20, 40, 40, 60], mode="fps", factor=2, dedupe=3.0)
    assert vals == [0, 10, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60]
    # a drawing held for three frames: in-betweens at thirds and sixths of the way
    vals, _ = run_stage([0, 0, 0, 30, 30, 30, 60], mode="slowmo", factor=2, dedupe=3.0, scene=None)
    assert vals == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]


def test_dedupe_is_adjacent_only_and_needs_near_identity():
    vals, st = run_stage([0, 20, 0, 20], factor=2, dedupe=3.0)
    assert st.duplicates == 0 and vals == [0, 10, 20, 10, 0, 10, 20]
    vals, st = run_stage([0, 10, 20], factor=2, dedupe=3.0)
    assert st.duplicates == 0


def test_dedupe_respects_batching():
    a, _ = run_stage([0, 0, 20, 20, 40, 40, 60], factor=3, dedupe=3.0, batch=1)
    b, _ = run_stage([0, 0, 20, 20, 40, 40, 60], factor=3, dedupe=3.0, batch=4)
    assert a == b


def test_thumbnails_only_where_a_decision_needs_them(monkeypatch):
    import ds_slowmo.stage as stage

    made = []
    real = stage.thumbnail
    monkeypatch.setattr(stage, "thumbnail", lambda f: made.append(int(f[0, 0, 0])) or real(f))
    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=None, ranges=[parse_span("5:7")])
    list(interpolate_frames(frames_of(range(0, 200, 10)), p, BlendInterpolator()))
    assert sorted(made) == [50, 60, 70]  # the two slowed gaps' frames, once each
