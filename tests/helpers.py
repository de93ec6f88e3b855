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
from hypothesis import strategies as st

from ds_slowmo.ffmpeg import find_ffmpeg

REPO = Path(__file__).resolve().parent.parent


def model_runtimes() -> list[str]:
    """The runtimes the model tests run on here: Paddle Inference, and OpenVINO when it is
    installed (CI's Paddle 2.6 job has no OpenVINO)."""
    from ds_slowmo.models.runtime import openvino_missing

    return ["paddle"] + ([] if openvino_missing() else ["openvino"])


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


def one_line_error(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    """The run failed as a usage or runtime error should: exit ``code``, one ``ds-slowmo:``
    line naming each of ``needles``, no traceback."""
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ds-slowmo: ")
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def numbered_frames(n, h=4, w=6):
    """Frame i is filled with value 10*i (so blends are easy to predict)."""
    return [np.full((h, w, 3), 10 * i, dtype=np.uint8) for i in range(n)]


# -- lip sync: a white flash and a 1 kHz beep at the same instants ---------------------------------
FLASHES = (0.5, 2.5, 3.5)


def make_flash_beep_clip(
    path: Path, *, seconds: float = 4, rate: str = "30000/1001", at: tuple[float, ...] = FLASHES,
    size: str = "96x64", extra: tuple[str, ...] = (),
) -> Path:  # fmt: skip
    """Black video with a white flash, and silence with a sample-exact 1 kHz beep (aevalsrc),
    both 0.1 s long from each time in ``at``; AAC unless ``extra`` says otherwise."""
    on = "+".join(f"between(t,{t},{t + 0.1})" for t in at)
    n = int(Fraction(rate) * Fraction(str(seconds)))
    argv = [find_ffmpeg(), "-hide_banner", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"color=black:size={size}:rate={rate},trim=end_frame={n}",
            "-f", "lavfi", "-i", f"aevalsrc='if({on},0.5*sin(2*PI*1000*t),0)':s=48000:d={seconds}",
            "-filter_complex", f"[0:v]drawbox=color=white:t=fill:enable='{on}'[v]", "-map", "[v]", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", *extra, str(path)]  # fmt: skip
    subprocess.run(argv, check=True)
    return path


def av_events(path: Path, stream: int = 0, white: float = 100) -> tuple[list[float], list[float]]:
    """Flash times (frames where the picture turns white, by signalstats YAVG above ``white``;
    228 counts only a white frame, not a blend on the way to it) and beep starts
    (silencedetect's silence_end) of audio stream ``stream``, from one run that decodes both,
    so both are on one timeline whatever the container's start times."""
    import re

    graph = (f"[0:v:0]signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-[v];"
             f"[0:a:{stream}]silencedetect=n=-30dB:d=0.05[a]")  # fmt: skip
    proc = subprocess.run(
        [find_ffmpeg(), "-hide_banner", "-nostats", "-v", "info", "-i", str(path), "-filter_complex", graph,
         "-map", "[v]", "-map", "[a]", "-f", "null", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True,
    )  # fmt: skip
    flashes, was_on, t = [], False, 0.0
    for line in proc.stdout.splitlines():
        m = re.search(r"pts_time:([-\d.]+)", line)
        if m:
            t = float(m.group(1))
        m = re.search(r"YAVG=([\d.]+)", line)
        if m:
            on = float(m.group(1)) > white
            if on and not was_on:
                flashes.append(t)
            was_on = on
    beeps = [float(x) for x in re.findall(r"silence_end: ([-\d.]+)", proc.stderr)]
    return flashes, beeps


def av_offsets(path: Path, stream: int = 0, white: float = 100) -> list[float]:
    """For each flash, the nearest beep's start minus the flash's time (seconds)."""
    flashes, beeps = av_events(path, stream, white)
    assert flashes and beeps, f"no flash or no beep found in {path}"
    return [min(beeps, key=lambda b: abs(b - f)) - f for f in flashes]


def first_times(path: Path) -> tuple[Fraction, list[Fraction]]:
    """Presentation times of the first video frame and of each audio stream's first decoded
    sample, on one timeline (all streams decoded together, as ffmpeg's filters see them)."""
    import re

    exe = find_ffmpeg()
    probe = subprocess.run([exe, "-hide_banner", "-i", str(path)], stderr=subprocess.PIPE, text=True).stderr
    n_audio = len(re.findall(r"Stream #0:\d+.*: Audio: ", probe))
    chains = ["[0:v:0]showinfo,trim=end_frame=1[v]"]
    chains += [f"[0:a:{j}]ashowinfo,atrim=end_sample=1[a{j}]" for j in range(n_audio)]
    maps = ["-map", "[v]"] + [x for j in range(n_audio) for x in ("-map", f"[a{j}]")]
    err = subprocess.run([exe, "-hide_banner", "-nostats", "-i", str(path), "-filter_complex", ";".join(chains),
                          *maps, "-f", "null", "-"], stderr=subprocess.PIPE, text=True, check=True).stderr  # fmt: skip
    first: dict[str, Fraction] = {}
    for m in re.finditer(r"\[Parsed_(a?)showinfo_(\d+) @ [^\]]*\] n: *0 .*?pts_time:([-\d.]+)", err):
        first.setdefault(m.group(1) + m.group(2), Fraction(m.group(3)))
    video = first.pop("0")
    return video, [first[k] for k in sorted(first, key=lambda k: int(k[1:]))]


# -- hypothesis strategies for frame spans -----------------------------------------------------


@st.composite
def trims(draw: st.DrawFn, n: int, last_start: Optional[int] = None) -> Optional[tuple[int, int]]:
    """None, or a ``(start, stop)`` span of ``n`` frames with ``start <= last_start`` (default
    ``n - 1``): the optional ``--trim`` of a property test."""
    if not draw(st.booleans()):
        return None
    a = draw(st.integers(0, n - 1 if last_start is None else last_start))
    return a, draw(st.integers(a + 1, n))


@st.composite
def cut_spans(draw: st.DrawFn, n: int, min_cuts: int = 0, max_cuts: int = 6) -> list[tuple[int, int]]:
    """Disjoint ``(start, stop)`` spans in ``[0, n]``: distinct sorted cut points paired in order."""
    cuts = sorted(set(draw(st.lists(st.integers(0, n), min_size=min_cuts, max_size=max_cuts))))
    return [(a, b) for a, b in zip(cuts[::2], cuts[1::2]) if a < b]
