"""Test helpers: synthetic clips (made with lavfi, never downloaded), exact frame/sample
counting, ffmpeg process accounting, and running the CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np

from ds_slowmo.ffmpeg import find_ffmpeg

REPO = Path(__file__).resolve().parent.parent


def make_clip(
    path: Path,
    *,
    seconds: float = 2,
    rate: str = "25",
    size: str = "160x120",
    audio: bool = True,
    extra: tuple[str, ...] = (),
    pix_fmt: str = "yuv420p",
) -> Path:
    """testsrc2 (+ a 440 Hz tone) encoded to ``path``; frame-exact: seconds*rate frames.

    Both inputs end by themselves (``trim`` on the video): ``-frames:v`` would end the whole
    output on ffmpeg 5.1, cutting the audio ~160 ms short of the video."""
    exe = find_ffmpeg()
    n = int(Fraction(rate) * Fraction(str(seconds)))
    argv = [exe, "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate},trim=end_frame={n}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    argv += ["-pix_fmt", pix_fmt]
    if path.suffix in (".mp4", ".mkv", ".mov"):
        argv += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "10"]
    if audio:
        argv += ["-c:a", "aac" if path.suffix in (".mp4", ".mov", ".mkv") else "pcm_s16le"]
    argv += list(extra) + [str(path)]
    subprocess.run(argv, check=True)
    return path


def decode_frames(path_or_bytes: "Path | bytes", fmt: Optional[str] = None) -> np.ndarray:
    """Decode every video frame exactly (no rate conversion) to an (N, H, W, 3) array."""
    exe = find_ffmpeg()
    src = ["-f", fmt] if fmt else []
    if isinstance(path_or_bytes, bytes):
        src += ["-i", "pipe:0"]
        data: Optional[bytes] = path_or_bytes
    else:
        src += ["-i", str(path_or_bytes)]
        data = None
    info = probe_video(path_or_bytes, fmt)
    out = subprocess.run(
        [exe, "-v", "error", *src, "-map", "0:v:0", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        input=data, stdout=subprocess.PIPE, check=True,
    ).stdout  # fmt: skip
    w, h = info["width"], info["height"]
    assert len(out) % (w * h * 3) == 0
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)


def probe_video(path_or_bytes: "Path | bytes", fmt: Optional[str] = None) -> dict:
    """Exact rate (y4m header), size and decoded frame count of a file or y4m/nut bytes."""
    exe = find_ffmpeg()
    src = ["-f", fmt] if fmt else []
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else None
    src += ["-i", "pipe:0" if data is not None else str(path_or_bytes)]
    y4m = subprocess.run(
        [exe, "-v", "error", *src, "-map", "0:v:0", "-fps_mode", "passthrough", "-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", "pipe:1"],
        input=data, stdout=subprocess.PIPE, check=True,
    ).stdout  # fmt: skip
    header, _, _ = y4m.partition(b"\n")
    fields = {f[:1].decode(): f[1:].decode() for f in header.split()[1:]}
    num, den = fields["F"].split(":")
    w, h = int(fields["W"]), int(fields["H"])
    frame_len = len(b"FRAME\n") + w * h * 3
    n = (len(y4m) - len(header) - 1) // frame_len
    assert (len(y4m) - len(header) - 1) % frame_len == 0
    return {"width": w, "height": h, "rate": Fraction(int(num), int(den)), "frames": n}


def audio_seconds(path: Path, rate: int = 48000) -> Optional[float]:
    """Exact duration of the first audio stream, by counting decoded samples; None if none."""
    exe = find_ffmpeg()
    proc = subprocess.run(
        [exe, "-v", "error", "-i", str(path), "-map", "0:a:0?", "-f", "s16le", "-ac", "1", "-ar", str(rate), "pipe:1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    if b"does not contain any stream" in proc.stderr:
        return None
    assert proc.returncode == 0, proc.stderr
    return len(proc.stdout) / 2 / rate


def ffmpeg_children() -> list:
    import psutil

    me = psutil.Process()
    found = []
    for p in me.children(recursive=True):
        try:
            if "ffmpeg" in p.name() or any("ffmpeg" in a for a in p.cmdline()[:1]):
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


def ffmpeg_pids_mentioning(*paths: object) -> set[int]:
    """Live ffmpeg processes (anyone's children: an orphan is re-parented) whose command line
    names one of ``paths``: the way to find what a run left behind without counting other
    programs' ffmpeg."""
    import psutil

    needles = [str(p) for p in paths]
    pids = set()
    for p in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            cmd = p.info["cmdline"] or []
            if p.info["status"] == psutil.STATUS_ZOMBIE or not cmd or "ffmpeg" not in os.path.basename(cmd[0]):
                continue
            if any(n in arg for arg in cmd for n in needles):
                pids.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def run_cli(*args: str, stdin: Optional[bytes] = None, env: Optional[dict] = None,
            timeout: float = 300, default_model: bool = False) -> subprocess.CompletedProcess:  # fmt: skip
    """Run ``python -m ds_slowmo`` as a user would; stdout as bytes, stderr as text.

    Engine tests run on ``--model blend`` (milliseconds a frame) unless they name a model or
    ask for the real default (``default_model=True``)."""
    full_env = dict(os.environ)
    full_env.pop("DS_SLOWMO_DEBUG", None)
    if env:
        full_env.update(env)
    argv = list(args)
    if not default_model and "--model" not in argv:
        argv += ["--model", "blend"]
    proc = subprocess.run(
        [sys.executable, "-m", "ds_slowmo", *argv], input=stdin, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=full_env, timeout=timeout, cwd=str(REPO),
    )  # fmt: skip
    proc.stderr = proc.stderr.decode("utf-8", "replace")  # type: ignore[assignment]
    return proc

