"""The disk pipeline of PaddleGAN's ``DAINPredictor.run``, reproduced with any ds-slowmo model.

What the predictor does, step by step (ppgan/apps/dain_predictor.py and ppgan/utils/video.py):

1. ``video2frames``: ffmpeg extracts every frame of the input to ``frames-input/%08d.png``.
2. For each pair of neighbours (sorted ``glob``): read both PNGs (``imageio.imread``), run the
   model, write each in-between as ``frames-interpolated/{i:06d}_{k:04d}.png`` (``imsave``).
3. ``combine_frames``: ``shutil.copy2`` every input frame and every in-between, in output
   order, into ``frames-combined/%08d.png``.
4. ``frames2video``: ffmpeg encodes the image sequence with libx264 ``-crf 16 -pix_fmt yuv420p``.

Kept faithful: three PNG folders, every frame written to disk three times (extract, in-between
or copy), PNG decode of every frame, one pair per model call. Not copied, so that the output
is the same as ds-slowmo's: the rate (PaddleGAN passes ``int(fps) * times``; we pass the exact
input rate of a slow-motion output) and the "frame change test"/duplicate removal (off by
default in PaddleGAN). Audio is dropped, as PaddleGAN drops it. PNGs are read and written with
Pillow (imageio's own PNG backend) at Pillow's default compression; the extracted ones with
ffmpeg's default PNG settings.

The temporary folders are left in place (PaddleGAN does not delete them either): the harness
measures them after the run, then removes them. Run as ``python -m bench.child disk ...``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .quality import quantize

__all__ = ["run_disk", "folder_bytes"]


def folder_bytes(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat(follow_symlinks=False).st_size
        elif entry.is_dir(follow_symlinks=False):
            total += folder_bytes(Path(entry.path))
    return total


def _imread(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _imsave(path: Path, frame: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(frame).save(path)


def run_disk(src: str, dst: str, *, model: str = "blend", factor: int = 2, weights: Optional[str] = None) -> dict[str, Any]:
    """Run the disk pipeline on ``src`` into ``dst``; return timings and folder sizes."""
    from ds_slowmo.ffmpeg import find_ffmpeg, probe
    from ds_slowmo.models import ModelOptions, load_model
    from ds_slowmo.plan import format_rate

    t_start = time.perf_counter()
    exe = find_ffmpeg()
    info = probe(src, exe)
    work = Path(tempfile.mkdtemp(prefix="paddlegan-dain-"))  # under $TMPDIR, as PaddleGAN's output dir
    vid = Path(src).stem
    d_in, d_interp, d_comb = (work / f / vid for f in ("frames-input", "frames-interpolated", "frames-combined"))
    for d in (d_in, d_interp, d_comb):
        d.mkdir(parents=True)
    stats: dict[str, Any] = {"model": model, "temp_dir": str(work)}

    # 1. video2frames
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-v", "error", "-i", src, "-fps_mode", "passthrough",
         "-start_number", "0", str(d_in / "%08d.png")],
        check=True,
    )  # fmt: skip
    stats["extract_s"] = time.perf_counter() - t0

    # 2. interpolate pair by pair, PNG in, PNG out
    interp = load_model(model, ModelOptions(factor=factor, weights=weights))
    times = tuple(Fraction(k, factor) for k in range(1, factor))
    frames = sorted(d_in.glob("*.png"))
    if info.n_frames is not None and len(frames) != info.n_frames:
        raise RuntimeError(f"extracted {len(frames)} frames, the input has {info.n_frames}")
    model_s = read_s = write_s = 0.0
    t0 = time.perf_counter()
    for i in range(len(frames) - 1):
        t1 = time.perf_counter()
        first, second = _imread(frames[i]), _imread(frames[i + 1])
        t2 = time.perf_counter()
        # the model protocol: float RGB in [0, 1]; its frames back to 8 bits by nearest rounding
        # (PaddleGAN's predictor normalizes and quantizes inside its model call, too)
        out = quantize(interp.interpolate(np.stack([first, second])[None].astype(np.float32) / np.float32(255), times))
        t3 = time.perf_counter()
        for k in range(len(times)):
            _imsave(d_interp / f"{i:06d}_{k:04d}.png", out[0, k])
        t4 = time.perf_counter()
        read_s, model_s, write_s = read_s + t2 - t1, model_s + t3 - t2, write_s + t4 - t3
    stats.update(interp_loop_s=time.perf_counter() - t0, model_s=model_s, png_read_s=read_s, png_write_s=write_s)

    # 3. combine_frames
    t0 = time.perf_counter()
    inputs = sorted(d_in.glob("*.png"))
    between = sorted(d_interp.glob("*.png"))
    n_between = factor - 1
    if len(between) != (len(inputs) - 1) * n_between:
        raise RuntimeError(f"{len(between)} in-betweens for {len(inputs)} frames")
    for i, f in enumerate(inputs):
        shutil.copy2(f, d_comb / f"{i * factor:08d}.png")
        if i < len(inputs) - 1:
            for k in range(n_between):
                shutil.copy2(between[i * n_between + k], d_comb / f"{i * factor + k + 1:08d}.png")
    stats["combine_s"] = time.perf_counter() - t0

    # 4. frames2video
    t0 = time.perf_counter()
    subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-v", "error", "-framerate", format_rate(info.rate), "-f", "image2",
         "-i", str(d_comb / "%08d.png"), "-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p", "-y", dst],
        check=True,
    )  # fmt: skip
    stats["encode_s"] = time.perf_counter() - t0
    stats["wall_s"] = time.perf_counter() - t_start
    stats["frames_in"] = len(inputs)
    stats["interpolated"] = len(between)
    stats["frames_out"] = len(inputs) + len(between)
    stats["png_files"] = len(inputs) * 2 + len(between) * 2
    sizes = {name: folder_bytes(d) for name, d in (("input", d_in), ("interpolated", d_interp), ("combined", d_comb))}
    stats["folder_bytes"] = sizes
    stats["temp_written_bytes"] = sum(sizes.values())
    return stats
