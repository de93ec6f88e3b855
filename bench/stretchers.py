"""Candidate stretchers for the audio of slowed ranges, measured side by side.

    python -m bench.stretchers            # every candidate that is installed
    python -m bench.stretchers --json out.json

Candidates: ds-slowmo's own (``pin``: onsets pinned; ``pv``: the same phase vocoder without
onset regions), ffmpeg's ``atempo`` chain (what ``--audio-stretch atempo`` runs), libtsm's
harmonic-percussive TSM and phase vocoder (``import libtsm``, MIT, when installed) and the
Rubber Band R3 engine (``rubberband -3`` with ``--timemap`` anchors at the onsets ds-slowmo
finds, when the command is on PATH). Every one gets the same input and must give exactly the
planned length (cut or padded like the graph does).

Figures, per factor 2, 4, 8, 16:
- onset: the worst |beep start - planned time| of three beeps after silence (first sample above
  -30 dBFS), ms;
- pitch: a 1 kHz tone's frequency (zero crossings over its middle), % off;
- level: the tone's RMS over its middle vs the source's, dB;
- step: the largest sample-to-sample step of a tone carrying beeps (so the joins are inside
  sound), over the source's own largest step;
- sweep: the 20 ms frames (of a 200 Hz -> 4 kHz exponential sweep) whose peak frequency falls
  below the previous frame's by more than 1 %;
- seconds: wall time of a 10 s stereo 48 kHz range (a tone bed with noise hits) at x4, best of
  3 per candidate; ``--speed`` instead times only that, the candidates interleaved round by
  round (the ratio to atempo is what to read: absolute seconds depend on the machine's load).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Optional

import numpy as np

from ds_slowmo.ffmpeg import find_ffmpeg
from ds_slowmo.onsets import find_onsets
from ds_slowmo.stretch import stretch

SR = 48000
BEEPS = (0.52, 1.48, 2.1234)
Stretcher = Callable[[np.ndarray, int, int], np.ndarray]  # (x (C, n), factor, sample rate) -> (C, n * factor)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    y = np.atleast_2d(y)[:, :n]
    return np.pad(y, ((0, 0), (0, n - y.shape[1])))


def ours(pin: bool) -> Stretcher:
    return lambda x, f, sr: stretch(x, x.shape[1] * f, sr, pin=pin)


def atempo(x: np.ndarray, f: int, sr: int) -> np.ndarray:
    from ds_slowmo.audio import atempo_chain

    c = x.shape[0]
    argv = [find_ffmpeg(), "-v", "error", "-f", "f32le", "-ar", str(sr), "-ac", str(c), "-i", "pipe:0",
            "-af", ",".join(atempo_chain(f)), "-f", "f32le", "pipe:1"]  # fmt: skip
    out = subprocess.run(argv, input=x.T.astype("<f4").tobytes(), stdout=subprocess.PIPE, check=True).stdout
    return _fit(np.frombuffer(out, "<f4").reshape(-1, c).T, x.shape[1] * f)


def libtsm_candidate(kind: str) -> Optional[Stretcher]:
    try:
        import libtsm
    except ImportError:
        return None

    def run(x: np.ndarray, f: int, sr: int) -> np.ndarray:
        anchors = np.array([[0, 0], [x.shape[1] - 1, x.shape[1] * f - 1]])
        chans = []
        for ch in x:
            if kind == "hps":
                y = libtsm.hps_tsm(ch, anchors, Fs=sr)
            else:
                y = libtsm.pv_tsm(ch, anchors, Fs=sr, phase_locking=True)
            chans.append(np.asarray(y).reshape(-1))
        return _fit(np.stack(chans), x.shape[1] * f)

    return run


def rubberband_candidate() -> Optional[Stretcher]:
    exe = shutil.which("rubberband")
    if exe is None:
        return None

    def run(x: np.ndarray, f: int, sr: int) -> np.ndarray:
        n = x.shape[1]
        with tempfile.TemporaryDirectory() as d:
            src, dst, tmap = (os.path.join(d, p) for p in ("in.wav", "out.wav", "map.txt"))
            subprocess.run([find_ffmpeg(), "-v", "error", "-f", "f32le", "-ar", str(sr), "-ac", str(x.shape[0]),
                            "-i", "pipe:0", "-c:a", "pcm_f32le", src], input=x.T.astype("<f4").tobytes(), check=True)  # fmt: skip
            with open(tmap, "w") as fh:
                for o in find_onsets(x, sr, 0, n):
                    fh.write(f"{o} {o * f}\n")
            subprocess.run([exe, "-q", "-3", "-t", str(f), "-M", tmap, src, dst], check=True, stdout=subprocess.DEVNULL)
            out = subprocess.run([find_ffmpeg(), "-v", "error", "-i", dst, "-f", "f32le", "pipe:1"],
                                 stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
        return _fit(np.frombuffer(out, "<f4").reshape(-1, x.shape[0]).T, n * f)

    return run


# -- signals and measures ---------------------------------------------------------------------


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(SR * seconds)) / SR


def beeps(seconds: float = 3.0, bed: float = 0.0) -> np.ndarray:
    t = _t(seconds)
    on = np.any([(t >= a) & (t < a + 0.08) for a in BEEPS], axis=0)
    return (np.where(on, 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0) + bed * np.sin(2 * np.pi * 440 * t))[None]


def tone(seconds: float = 2.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 1000 * _t(seconds)))[None]


def sweep(seconds: float = 2.0) -> np.ndarray:
    t = _t(seconds)
    freq = 200 * (20 ** (t / seconds))
    return (0.5 * np.sin(2 * np.pi * np.cumsum(freq) / SR))[None]


def music(seconds: float = 10.0) -> np.ndarray:
    t = _t(seconds)
    rng = np.random.default_rng(0)
    bed = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 331 * t)
    hits = np.zeros_like(t)
    for h in np.arange(0.3, seconds - 0.3, 0.5):
        i, k = int(h * SR), int(0.2 * SR)
        hits[i : i + k] += 0.4 * rng.standard_normal(k) * np.exp(-np.arange(k) / SR / 0.03)
    return np.stack([bed + hits, 0.9 * bed + 0.7 * hits])


def onset_error_ms(y: np.ndarray, f: int) -> float:
    loud = np.flatnonzero(np.abs(y).max(axis=0) > 10 ** (-30 / 20))
    starts = [int(i) for k, i in enumerate(loud) if k == 0 or i - loud[k - 1] > SR * 0.05]
    want = [int(np.ceil(a * SR)) * f for a in BEEPS]
    if len(starts) != len(want):
        return float("inf")
    return max(abs(s - w) for s, w in zip(starts, want)) / SR * 1000


def _middle(y: np.ndarray) -> np.ndarray:
    n = y.shape[-1]
    return y[..., n // 4 : 3 * n // 4]


def pitch_error_pct(y: np.ndarray) -> float:
    m = _middle(y[0])
    crossings = np.flatnonzero((m[:-1] < 0) & (m[1:] >= 0))
    freq = (len(crossings) - 1) * SR / (crossings[-1] - crossings[0])
    return (freq / 1000 - 1) * 100


def level_db(y: np.ndarray, x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(_middle(y) ** 2)) / np.sqrt(np.mean(_middle(x) ** 2))))


def step_ratio(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.abs(np.diff(y, axis=1)).max() / np.abs(np.diff(x, axis=1)).max())


def peak_freqs(y: np.ndarray) -> np.ndarray:
    """The peak frequency of each 20 ms frame (zero-padded 16x, parabolic interpolation)."""
    n = int(0.02 * SR)
    frames = y[0, : y.shape[1] // n * n].reshape(-1, n) * np.hanning(n)
    spec = np.abs(np.fft.rfft(frames, n=16 * n, axis=1))
    k = np.clip(spec.argmax(axis=1), 1, spec.shape[1] - 2)
    rows = np.arange(len(k))
    a, b, c = np.log(spec[rows, k - 1] + 1e-12), np.log(spec[rows, k] + 1e-12), np.log(spec[rows, k + 1] + 1e-12)
    curve = a - 2 * b + c
    shift = np.divide(0.5 * (a - c), curve, out=np.zeros_like(curve), where=curve != 0)
    return (k + shift) * SR / (16 * n)


def sweep_drops(y: np.ndarray) -> int:
    f = peak_freqs(y)[2:-2]
    return int(np.sum(f[1:] < f[:-1] * 0.99))


def measure(fn: Stretcher, factors: tuple[int, ...]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for f in factors:
        b, tn, tb, sw = beeps(), tone(), beeps(bed=0.2), sweep()
        rows[f"x{f}"] = {
            "onset_ms": round(onset_error_ms(fn(b, f, SR), f), 2),
            "pitch_pct": round(pitch_error_pct(y := fn(tn, f, SR)), 3),
            "level_db": round(level_db(y, tn), 2),
            "step": round(step_ratio(fn(tb, f, SR), tb), 3),
            "sweep_drops": sweep_drops(fn(sw, f, SR)),
        }
    x = music()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn(x, 4, SR)
        best = min(best, time.perf_counter() - t0)
    rows["seconds_10s_x4_stereo"] = round(best, 3)
    return rows


def speed(candidates: dict[str, Stretcher], rounds: int) -> dict[str, float]:
    """Best wall time of each candidate on the 10 s x4 stereo range, interleaved round by round."""
    x = music()
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(rounds):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn(x, 4, SR)
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--factors", default="2,4,8,16")
    ap.add_argument("--speed", type=int, metavar="ROUNDS", help="only the interleaved timing, this many rounds")
    args = ap.parse_args(argv)
    factors = tuple(int(f) for f in args.factors.split(","))
    candidates: dict[str, Optional[Stretcher]] = {
        "pin": ours(True), "pv": ours(False), "atempo": atempo,
        "libtsm-hps": libtsm_candidate("hps"), "libtsm-pv": libtsm_candidate("pv"),
        "rubberband-r3": rubberband_candidate(),
    }  # fmt: skip
    results: dict[str, Any] = {}
    if args.speed:
        found = {name: fn for name, fn in candidates.items() if fn is not None}
        best = speed(found, args.speed)
        for name, sec in best.items():
            print(f"{name}: {sec:.3f} s  ({sec / best['atempo']:.1f} x atempo)")
        return 0
    for name, fn in candidates.items():
        if fn is None:
            print(f"{name}: not installed", file=sys.stderr)
            continue
        results[name] = measure(fn, factors)
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
