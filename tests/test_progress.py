"""The progress line's estimate of the time left: from the model work left, not from the pace
of the frames so far (kept frames cost nothing, in-betweens cost everything)."""

from __future__ import annotations

import io
from fractions import Fraction

import pytest

from ds_slowmo.plan import Interp, build_plan, parse_span
from ds_slowmo.progress import Progress, Work, eta


def simulate(plan, n, copy_s=0.004, inbetween_s=0.9):
    """A run of ``plan``, frame by frame: each output frame costs ``copy_s`` outside the
    model, each in-between ``inbetween_s`` in it. Yields (elapsed, Work) after each frame."""
    steps = list(plan.steps(n))
    made, model, elapsed = 0, 0.0, 0.0
    total_made = plan.interp_count(n)
    for k, step in enumerate(steps, start=1):
        elapsed += copy_s
        if isinstance(step, Interp):
            made += 1
            model += inbetween_s
            elapsed += inbetween_s
        yield elapsed, Work(k, len(steps), made, total_made, model)


def test_the_estimate_is_the_model_work_left():
    """The README's first command: 25 kept frames, 25 gaps slowed 4x (75 in-betweens), the
    rest kept. The frame pace after the first kept second promised far too little (0:42, then
    1:31, then 6:19); the model's work left, at its measured cost, is right within 10 %."""
    plan = build_plan(mode="slowmo", factor=4, rate=Fraction(25), n_frames=60, ranges=[parse_span("1s:2s")])
    runs = list(simulate(plan, 60))
    total = runs[-1][0]
    for elapsed, work in runs:
        left = eta(work, elapsed)
        if work.made == 0:
            assert left is None  # nothing measured yet: no promise
            continue
        assert left == pytest.approx(total - elapsed, rel=0.1, abs=0.05)
        naive = (work.frames - work.written) * elapsed / work.written  # the old frames-per-second estimate
        if work.written == 28:  # just after the first in-betweens
            assert naive < 0.5 * (total - elapsed)
    assert eta(runs[-1][1], total) == 0.0


def test_without_inbetweens_the_estimate_is_the_frame_pace():
    work = Work(written=5, frames=10, made=0, inbetweens=0, model_s=0.0)
    assert eta(work, 2.0) == pytest.approx(2.0)
    # a 30 -> 24 fps conversion makes in-betweens too: the plan counts them
    plan = build_plan(mode="fps", factor=2, rate=Fraction(30), n_frames=30, target=Fraction(24))
    assert 0 < plan.interp_count(30) < plan.output_count(30)


def test_the_line_shows_the_inbetweens_and_an_unknown_eta():
    out = io.StringIO()
    made = [0, 0.0]
    bar = Progress(100, out, interval=0, model=lambda: (made[0], made[1]), inbetweens=40)
    bar.update(10)
    assert "10/100 frames" in out.getvalue() and "0/40 in-betweens" in out.getvalue() and "ETA --:--" in out.getvalue()
    made[:] = [4, 2.0]
    bar.update(20)
    assert "4/40 in-betweens" in out.getvalue().split("\r")[-1] and "ETA --:--" not in out.getvalue().split("\r")[-1]
