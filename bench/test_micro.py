"""Micro-benchmarks of the hot pure parts (pytest-benchmark).

    pytest bench/                       # run them
    pytest bench/ --benchmark-skip      # collect and skip (CI)
    pytest bench/ --benchmark-save=NAME # keep a baseline under .benchmarks/

Not part of the normal test run (``testpaths = ["tests"]``).

Frame-plan generation is measured for a 2-hour 25 fps video (180,000 frames) with three
slowed ranges; frame work on 640x360 frames (the end-to-end benchmark's size); the model
stage on small frames, so the stage's own overhead shows rather than the model's.
"""

from __future__ import annotations

import inspect
import io
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import pytest

pytest.importorskip("pytest_benchmark")

from ds_slowmo.models import ModelOptions, load_model  # noqa: E402
from ds_slowmo.models.base import crop_frames, pad_amounts, pad_frames  # noqa: E402
from ds_slowmo.plan import Copy, build_plan, parse_span  # noqa: E402

from ds_slowmo.stage import interpolate_frames, make_frames  # noqa: E402

TWO_HOURS = 2 * 3600 * 25  # frames at 25 fps
H, W = 360, 640
FRAME_BYTES = H * W * 3


def _plan(n: int = TWO_HOURS, ranges: Sequence[str] = ("600:900", "30000:31500", "100000:130000"), factor: int = 4) -> Any:
    return build_plan(mode="slowmo", factor=factor, rate=Fraction(25), n_frames=n,
                      ranges=tuple(parse_span(r) for r in ranges), trim=None)  # fmt: skip


def _frames(n: int, h: int, w: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return [np.roll(base, i, axis=1) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# the frame plan, 2-hour video


def test_plan_build(benchmark: Any) -> None:
    plan = benchmark(_plan)
    assert plan.output_count(TWO_HOURS) == TWO_HOURS + (300 + 1500 + 30000) * 3


def test_plan_output_count(benchmark: Any) -> None:
    plan = _plan()
    assert benchmark(plan.output_count, TWO_HOURS) == TWO_HOURS + 31800 * 3


def test_plan_steps_2h(benchmark: Any) -> None:
    plan = _plan()

    def walk() -> int:
        n = 0
        for _step in plan.steps(TWO_HOURS):
            n += 1
        return n

    assert benchmark.pedantic(walk, rounds=3, iterations=1) == plan.output_count(TWO_HOURS)


def test_plan_steps_2h_whole(benchmark: Any) -> None:
    """Whole input slowed (no --range): every gap interpolated."""
    plan = _plan(ranges=(), factor=2)
    n = benchmark.pedantic(lambda: sum(1 for _ in plan.steps(TWO_HOURS)), rounds=3, iterations=1)
    assert n == (TWO_HOURS - 1) * 2 + 1


def test_plan_frames_at_2h(benchmark: Any) -> None:
    """What the model stage asks per frame: ``keeps`` and ``frames_at`` for every gap."""
    plan = _plan()

    def ask() -> int:
        n = 0
        for i in range(TWO_HOURS - 1):
            if plan.keeps(i):
                n += sum(1 for u in plan.frames_at(i, False) if u)
        return n

    assert benchmark.pedantic(ask, rounds=3, iterations=1) == 31800 * 3


def test_plan_audio_segments_2h(benchmark: Any) -> None:
    plan = _plan()
    segs = benchmark.pedantic(plan.audio_segments, args=(TWO_HOURS,), rounds=3, iterations=1)
    assert len(segs) == 7
    assert sum(s.stretch * (s.end - s.start) for s in segs) == plan.output_duration(TWO_HOURS)


def test_plan_first_step_is_copy(benchmark: Any) -> None:
    """Starting the plan must not cost the whole video (``steps`` is lazy)."""
    plan = _plan()
    assert isinstance(benchmark(lambda: next(iter(plan.steps(TWO_HOURS)))), Copy)


# ---------------------------------------------------------------------------------------------
# padding and cropping, a batch of 4 pairs at 640x360 (to multiples of 32: RIFE's rule)


@pytest.fixture(scope="module")
def batch4() -> np.ndarray:
    return np.stack([np.stack(p) for p in zip(_frames(4, H, W), _frames(5, H, W)[1:])])


def test_pad_frames(benchmark: Any, batch4: np.ndarray) -> None:
    pad = pad_amounts(H, W, 32)
    out = benchmark(pad_frames, batch4, pad)
    assert out.shape == (4, 2, 384, 640, 3)


def test_pad_frames_centered(benchmark: Any, batch4: np.ndarray) -> None:
    pad = pad_amounts(H, W, 128, centered=True)  # DAIN-like: 360 -> 384 split top/bottom
    out = benchmark(pad_frames, batch4, pad)
    assert out.shape == (4, 2, 384, 640, 3)


def test_crop_frames_contiguous(benchmark: Any, batch4: np.ndarray) -> None:
    """Crop is a view; the copy back to C order is what it really costs."""
    pad = pad_amounts(H, W, 32)
    padded = pad_frames(batch4, pad)
    out = benchmark(lambda: np.ascontiguousarray(crop_frames(padded, pad)))
    assert out.shape == batch4.shape and out.flags.c_contiguous


# ---------------------------------------------------------------------------------------------
# the model stage: pair batching around a model


class _NoOp:
    """A model that does nothing: what is left is the stage's own cost."""

    name = "noop"

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        return np.broadcast_to(pairs[:, :1], (pairs.shape[0], len(times)) + pairs.shape[2:])


_STAGE_ARGS = inspect.signature(make_frames).parameters  # interpolate_frames passes its options on


def _stage(frames: list[np.ndarray], model: Any, batch_size: int, analysis: bool, factor: int = 2) -> int:
    plan = _plan(n=len(frames), ranges=(), factor=factor)
    kwargs: dict[str, Any] = {"batch_size": batch_size}
    if not analysis and "scene_threshold" in _STAGE_ARGS:
        kwargs["scene_threshold"] = None
    return sum(1 for _ in interpolate_frames(iter(frames), plan, model, **kwargs))


@pytest.mark.parametrize("batch_size", [1, 8])
def test_stage_noop_small(benchmark: Any, batch_size: int) -> None:
    """200 frames of 64x36, no-op model, no frame analysis: bookkeeping per frame."""
    frames = _frames(200, 36, 64)
    assert benchmark(_stage, frames, _NoOp(), batch_size, False) == 399


@pytest.mark.skipif("scene_threshold" not in _STAGE_ARGS, reason="this engine has no scene analysis")
def test_stage_noop_small_with_analysis(benchmark: Any) -> None:
    frames = _frames(200, 36, 64)
    assert benchmark(_stage, frames, _NoOp(), 1, True) == 399


def test_stage_blend_small(benchmark: Any) -> None:
    frames = _frames(200, 36, 64)
    assert benchmark(_stage, frames, load_model("blend", ModelOptions()), 4, False) == 399


def test_stage_noop_640x360(benchmark: Any) -> None:
    """50 frames of 640x360: the per-frame copies (pair stacking) at the benchmark's size."""
    frames = _frames(50, H, W)
    assert benchmark.pedantic(_stage, args=(frames, _NoOp(), 1, False), rounds=5, iterations=1) == 99


@pytest.mark.skipif("scene_threshold" not in _STAGE_ARGS, reason="this engine has no scene analysis")
def test_stage_noop_640x360_with_analysis(benchmark: Any) -> None:
    frames = _frames(50, H, W)
    assert benchmark.pedantic(_stage, args=(frames, _NoOp(), 1, True), rounds=5, iterations=1) == 99


@pytest.mark.parametrize("t", [Fraction(1, 2), Fraction(1, 3)], ids=["t=1/2", "t=1/3"])
def test_blend_one_pair_640x360(benchmark: Any, batch4: np.ndarray, t: Fraction) -> None:
    model = load_model("blend", ModelOptions(factor=t.denominator))
    pairs = batch4[:1].astype(np.float32) / np.float32(255)  # the model protocol: float RGB in [0, 1]
    out = benchmark(model.interpolate, pairs, (t,))
    assert out.shape == (1, 1, H, W, 3)


def test_thumbnail_640x360(benchmark: Any, batch4: np.ndarray) -> None:
    analysis = pytest.importorskip("ds_slowmo.analysis")
    frame = np.ascontiguousarray(batch4[0, 0])
    benchmark(analysis.thumbnail, frame)


# ---------------------------------------------------------------------------------------------
# bytes <-> arrays (what the reader and writer threads do per frame)


@pytest.fixture(scope="module")
def raw_frames() -> bytes:
    return b"".join(f.tobytes() for f in _frames(8, H, W))


def test_frombuffer_copy(benchmark: Any, raw_frames: bytes) -> None:
    """``np.frombuffer`` is a read-only view; the copy is the cost."""

    def convert() -> np.ndarray:
        return np.frombuffer(raw_frames, np.uint8, FRAME_BYTES).reshape(H, W, 3).copy()

    assert benchmark(convert).flags.writeable


def test_readinto_preallocated(benchmark: Any, raw_frames: bytes) -> None:
    """The reader's way: ``readinto`` a fresh ``np.empty`` frame through a memoryview."""
    stream = io.BytesIO(raw_frames)

    def read() -> np.ndarray:
        if stream.tell() >= len(raw_frames):
            stream.seek(0)
        frame = np.empty((H, W, 3), np.uint8)
        view = memoryview(frame).cast("B")
        got = 0
        while got < FRAME_BYTES:
            got += stream.readinto(view[got:])
        return frame

    assert benchmark(read).shape == (H, W, 3)


def test_read_then_frombuffer(benchmark: Any, raw_frames: bytes) -> None:
    """The naive way, for comparison: ``read`` (a new bytes) then ``frombuffer`` + copy."""
    stream = io.BytesIO(raw_frames)

    def read() -> np.ndarray:
        if stream.tell() >= len(raw_frames):
            stream.seek(0)
        return np.frombuffer(stream.read(FRAME_BYTES), np.uint8).reshape(H, W, 3).copy()

    assert benchmark(read).shape == (H, W, 3)


def test_memoryview_write(benchmark: Any) -> None:
    """The writer's way: write the array through a byte memoryview, no ``tobytes`` copy."""
    frame = _frames(1, H, W)[0]
    sink = io.BytesIO(bytearray(FRAME_BYTES))

    def write() -> int:
        sink.seek(0)
        return sink.write(memoryview(frame).cast("B"))

    assert benchmark(write) == FRAME_BYTES


def test_tobytes_write(benchmark: Any) -> None:
    """For comparison: ``tobytes`` makes a copy before the write."""
    frame = _frames(1, H, W)[0]
    sink = io.BytesIO(bytearray(FRAME_BYTES))

    def write() -> int:
        sink.seek(0)
        return sink.write(frame.tobytes())

    assert benchmark(write) == FRAME_BYTES


def test_pair_stack(benchmark: Any) -> None:
    """Building a ``(1, 2, H, W, 3)`` batch from two frames (a copy of both)."""
    a, b = _frames(2, H, W)
    assert benchmark(lambda: np.stack([np.stack((a, b))])).shape == (1, 2, H, W, 3)
