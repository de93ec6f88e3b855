"""The model stage without ffmpeg: order, batching, cuts and duplicates, opaque frames."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from helpers import numbered_frames
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo.chunks import chunk_plan
from ds_slowmo.errors import InputError, ModelError
from ds_slowmo.models.blend import BlendInterpolator, mix
from ds_slowmo.plan import Copy, Interp, build_plan, parse_span
from ds_slowmo.stage import HELD, KEPT, MADE, Mixed, Out, Shown, batch, decide, interpolate_frames, make_frames
from ds_slowmo.stage import StageStats as RunStats


class Recorder:
    """A fake model: output pixel = 1000*t rounded + left value marker; records every call."""

    name = "recorder"

    def __init__(self):
        self.calls = []

    def interpolate(self, pairs, times):
        pairs = np.rint(pairs * 255).astype(np.uint8)  # the float protocol, back to the 8-bit values
        self.calls.append((pairs[:, 0, 0, 0, 0].tolist(), pairs[:, 1, 0, 0, 0].tolist(), tuple(times)))
        b, _, h, w, c = pairs.shape
        out = np.empty((b, len(times), h, w, c), np.uint8)
        for k, t in enumerate(times):
            out[:, k] = mix(pairs[:, 0], pairs[:, 1], t)
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
            return np.zeros((1, 1, 2, 2, 3), np.float32)

    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=None)
    with pytest.raises(ModelError, match="bad"):
        list(interpolate_frames(numbered_frames(3), p, Bad()))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 25), st.integers(2, 5), st.integers(1, 6), st.sampled_from(["slowmo", "fps"]))
def test_generator_counts_property(n, factor, batch, mode):
    p = build_plan(mode=mode, factor=factor, rate=Fraction(30000, 1001), n_frames=None)
    out = list(interpolate_frames(numbered_frames(n, 2, 2), p, BlendInterpolator(), batch_size=batch))
    assert len(out) == p.output_count(n)
    assert [int(f[0, 0, 0]) for f in out] == expected_values(p, n)


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


def test_cut_holds_the_left_frame_and_never_mixes():
    vals, st = run_stage([0, 10, 20, 200, 210], factor=4)
    assert st.cuts == [(2, 3)]
    # gap 2 (20 -> 200) is a cut: every in-between holds the left frame; the new shot starts
    # at its own frame, where its sound is
    assert vals[8:13] == [20, 20, 20, 20, 200]
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
    import ds_slowmo.door as door

    made = []
    real = door.thumbnail
    monkeypatch.setattr(door, "thumbnail", lambda f: made.append(int(f[0, 0, 0])) or real(f))
    p = build_plan(mode="slowmo", factor=2, rate=Fraction(25), n_frames=None, ranges=[parse_span("5:7")])
    list(interpolate_frames(frames_of(range(0, 200, 10)), p, BlendInterpolator()))
    assert sorted(made) == [50, 60, 70]  # the two slowed gaps' frames, once each


# -- the stage for any plan, with opaque frames ----------------------------------------------------
class LabelMixer:
    """Frames are labels (source numbers); an in-between is ("mix", left, right, t)."""

    def __init__(self):
        self.calls = []

    def mix(self, pairs, times):
        self.calls.append((list(pairs), tuple(times)))
        return [[("mix", a, b, t) for t in times] for a, b in pairs]


def no_thumb(frame):
    raise AssertionError("no decision here needs a thumbnail")


def kinds(plan, n):
    """What the taps are told of each output frame: a kept frame at its own position, a hold
    after the last one, or one the model made."""
    kept = plan.kept(n)
    last = kept.stop - 1
    return [KEPT if u == 0 else HELD if i == last else MADE for i in kept for u in plan.frames_at(i, i == last)]


def labels(steps):
    return [s.src if isinstance(s, Copy) else ("mix", s.left, s.left + 1, s.t) for s in steps]


@st.composite
def any_plans(draw, max_n=60):
    n = draw(st.integers(1, max_n))
    mode = draw(st.sampled_from(["slowmo", "fps"]))
    ranges = []
    if mode == "slowmo" and draw(st.booleans()):
        a = draw(st.integers(0, n - 1))
        ranges = [parse_span(f"{a}:{draw(st.integers(a + 1, n))}")]
    trim = None
    if draw(st.booleans()):
        a = draw(st.integers(0, n - 1))
        trim = parse_span(f"{a}:{draw(st.integers(a + 1, n))}", "--trim")
    target = draw(st.one_of(st.none(), st.sampled_from([Fraction(60), Fraction(60000, 1001), Fraction(50), Fraction(10)])))
    rate = draw(st.sampled_from([Fraction(24), Fraction(25), Fraction(24000, 1001)]))
    factor = draw(st.integers(2, 6))
    known = build_plan(mode=mode, factor=factor, rate=rate, n_frames=n, ranges=ranges, trim=trim, target=target)
    pipe = build_plan(mode=mode, factor=factor, rate=rate, n_frames=None, ranges=ranges, trim=trim, target=target)
    return n, known, pipe


@settings(max_examples=150, deadline=None)
@given(any_plans(), st.integers(1, 5))
def test_opaque_frames_follow_any_plan(case, batch_size):
    n, known, pipe = case
    mixer = LabelMixer()
    stats = RunStats()
    out = list(make_frames(range(n), pipe, mixer, no_thumb, batch_size=batch_size, stats=stats, scene_threshold=None))
    assert [o.frame for o in out] == labels(known.steps(n))
    assert [o.kind for o in out] == kinds(known, n)
    assert stats.interpolated == sum(isinstance(s, Interp) for s in known.steps(n))
    assert stats.batches == len(mixer.calls)
    for pairs, _times in mixer.calls:
        assert 1 <= len(pairs) <= batch_size and all(b == a + 1 for a, b in pairs)
    lefts = [a for pairs, _ in mixer.calls for a, _ in pairs]
    assert lefts == sorted(set(lefts))


@settings(max_examples=100, deadline=None)
@given(any_plans(max_n=120), st.lists(st.integers(0, 119), max_size=12), st.integers(1, 40))
def test_chunks_of_the_stage_join_into_the_whole_run(case, keys, target):
    n, known, _ = case
    whole = list(make_frames(range(n), known, LabelMixer(), no_thumb, scene_threshold=None))
    joined = []
    for c in chunk_plan(known, n, [k for k in keys if k < n], target):
        source = range(c.start, c.start + c.decode_count)
        part = list(make_frames(source, known, LabelMixer(), no_thumb, scene_threshold=None,
                                first_index=c.start, stop_before=None if c.last else c.stop))  # fmt: skip
        assert len(part) == c.out_count and whole[c.out_first : c.out_first + c.out_count] == part
        joined += part
    assert joined == whole


def dedupe_expected(values, plan):
    """Brute force: each position s between the distinct frames around it, blended at its place."""
    n = len(values)
    anchors = [i for i in plan.kept(n) if i == plan.kept(n).start or abs(values[i] - values[i - 1]) > 3]
    out = []
    for s in (Fraction(x.src) if isinstance(x, Copy) else x.left + x.t for x in plan.steps(n)):
        left = max(a for a in anchors if a <= s)
        right = min((a for a in anchors if a > s), default=None)
        last_run = right is None
        if s == left or last_run or (s > plan.kept(n)[-1]):
            out.append(values[left])
            continue
        t = (s - left) / (right - left)
        a, b, num, den = values[left], values[right], t.numerator, t.denominator
        out.append((a * (den - num) + b * num + den // 2) // den)
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=8), any_plans(max_n=1), st.integers(1, 4))
def test_dedupe_runs_of_any_length_with_any_plan(runs, case, batch_size):
    values = [30 * k for k, r in enumerate(runs) for _ in range(r)]  # each drawing held r frames
    _, plan, _ = case
    plan = build_plan(mode=plan.mode, factor=plan.factor, rate=plan.in_rate, n_frames=None, target=plan.target)
    frames = [np.full((36, 64, 3), v, np.uint8) for v in values]
    st_ = RunStats()
    out = list(interpolate_frames(frames, plan, BlendInterpolator(), batch_size=batch_size, stats=st_,
                                  scene_threshold=None, dedupe=3.0))  # fmt: skip
    assert [int(f[0, 0, 0]) for f in out] == dedupe_expected(values, plan)
    assert st_.duplicates == len(values) - len(runs)


def test_decide_says_what_each_output_frame_is():
    p = build_plan(mode="fps", factor=2, rate=Fraction(24), n_frames=None, target=Fraction(60))
    made = list(decide(range(3), p, no_thumb, stats=RunStats(), scene_threshold=None))
    assert [(m.frame,) if isinstance(m, Shown) else (m.left, m.right, m.times) for m in made] == [
        (0,), (0, 1, (Fraction(2, 5), Fraction(4, 5))), (1, 2, (Fraction(1, 5), Fraction(3, 5))), (2,), (2,), (2,),
    ]  # fmt: skip
    # frame 1 is never shown at 60 fps: it falls between output instants
    out = list(batch(iter([Shown("a"), Mixed("a", "b", (Fraction(1, 2),)), Shown("b", HELD)]), LabelMixer()))
    assert out == [Out("a", KEPT), Out(("mix", "a", "b", Fraction(1, 2)), MADE), Out("b", HELD)]


def test_batches_group_equal_times_only():
    p = build_plan(mode="fps", factor=2, rate=Fraction(24), n_frames=None, target=Fraction(60))
    mixer = LabelMixer()
    list(make_frames(range(9), p, mixer, no_thumb, batch_size=4, scene_threshold=None))
    assert [times for _, times in mixer.calls] == [(Fraction(2, 5), Fraction(4, 5)), (Fraction(1, 5), Fraction(3, 5))] * 4
    p = build_plan(mode="fps", factor=4, rate=Fraction(24), n_frames=None)
    mixer = LabelMixer()
    list(make_frames(range(9), p, mixer, no_thumb, batch_size=3, scene_threshold=None))
    assert [len(pairs) for pairs, _ in mixer.calls] == [3, 3, 2]


def test_a_mixer_that_loses_frames_is_caught():
    class Short:
        def mix(self, pairs, times):
            return [[a] for a, _ in pairs][:-1] or [[]]

    p = build_plan(mode="slowmo", factor=3, rate=Fraction(25), n_frames=None)
    with pytest.raises(ModelError, match="2 pairs"):
        list(make_frames(range(5), p, Short(), no_thumb, batch_size=2, scene_threshold=None))
