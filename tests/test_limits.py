"""Requests that would run away or crash are refused up front, in one line, exit code 2: the
plan's bounds (frames per source frame, the memory of one model call) and values that are
not numbers."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest
from helpers import make_clip, run_cli

import ds_slowmo
from ds_slowmo.errors import UsageError
from ds_slowmo.limits import MAX_PER_FRAME, check_plan, plan_bytes
from ds_slowmo.plan import build_plan, parse_span

R25 = Fraction(25)


def one_line(proc, code, *needles):
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ds-slowmo: ") and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("six") / "six.mp4", seconds=0.24, rate="25", audio=False)


def test_an_absurd_fps_is_refused_before_any_work(six, tmp_path):
    """--fps 1e9 on a 6-frame clip used to grow until the kernel killed it."""
    t0 = time.monotonic()
    proc = run_cli(str(six), "-o", str(tmp_path / "o.mkv"), "--fps", "1e9", timeout=60)
    one_line(proc, 2, "40000000 output frames from each input frame", f"at most {MAX_PER_FRAME}", "--fps")
    assert time.monotonic() - t0 < 30 and list(tmp_path.iterdir()) == []


def test_the_bound_is_frames_per_source_frame():
    ok = build_plan(mode="fps", factor=2, rate=R25, n_frames=6, target=R25 * MAX_PER_FRAME)
    check_plan(ok, 16, 16, 1)
    over = build_plan(mode="fps", factor=2, rate=R25, n_frames=6, target=R25 * MAX_PER_FRAME + 1)
    with pytest.raises(UsageError, match="1025 output frames"):
        check_plan(over, 16, 16, 1)
    slowed = build_plan(mode="slowmo", factor=64, rate=R25, n_frames=50, ranges=[parse_span("10:20")], target=R25 * 17)
    with pytest.raises(UsageError, match="slowed 64x"):
        check_plan(slowed, 16, 16, 1)


def test_the_memory_of_one_model_call_is_checked():
    """x64 at 4K holds 64 output frames of one gap at once: about 14 GiB by the bound's count."""
    plan = build_plan(mode="slowmo", factor=64, rate=R25, n_frames=50)
    need = plan_bytes(plan, 3840, 2160, 1)
    assert need == 3840 * 2160 * (66 * 12 + 64 * 8)
    check_plan(plan, 3840, 2160, 1, memory=need)
    with pytest.raises(UsageError, match=r"about 10\.1 GiB at once, more than this machine's 8\.0 GiB: lower --batch-size"):
        check_plan(plan, 3840, 2160, 1, memory=8 << 30)
    with pytest.raises(UsageError, match="x4 with --batch-size"):
        check_plan(plan, 1920, 1080, 4, memory=8 << 30)


def test_slowmo_frames_keeps_the_bound():
    frames = [np.zeros((4, 6, 3), np.uint8)] * 3
    with pytest.raises(UsageError, match="output frames from each input frame"):
        list(ds_slowmo.slowmo_frames(frames, fps="1e9", rate=25, model="blend"))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_chunk_seconds_must_be_a_finite_number(six, tmp_path, value):
    proc = run_cli(str(six), "-o", str(tmp_path / "o.mkv"), "--jobs", "2", f"--chunk-seconds={value}", timeout=60)
    one_line(proc, 2, "--chunk-seconds", "finite number")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_the_api_refuses_non_finite_numbers_too(value, six, tmp_path):
    with pytest.raises(UsageError, match=r"^chunk_seconds must be a positive number of seconds \(got (nan|inf)\)$"):
        ds_slowmo.slowmo(six, tmp_path / "o.mkv", jobs=2, chunk_seconds=value)
