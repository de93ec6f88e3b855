"""End-to-end benchmark: ds-slowmo side by side with what users would run instead.

    python -m bench --quick                     # a few minutes on 2 cores
    python -m bench                             # the full run (60 s clips, 10/60/300 s sweep)
    python -m bench --json results.json --cases 'slowmo-blend,ffmpeg-*'
    python -m bench --dain-weights standin      # add DAIN (a stand-in built with Paddle)

Every case runs in its own process, with ``$TMPDIR`` pointed at an empty folder inside the
case's scratch folder and its output written there too. While it runs, a sampler thread
sums the RSS of the whole process tree (the case's process and its ffmpeg children) at
about 20 Hz and, twice a second, the bytes of every file in the scratch folder other than
the output (and ds-slowmo's ``.NAME.part-PID`` output under construction); the scratch
folder is measured once more after the case exits. Peak RSS is the largest tree sum seen;
temporary bytes are the largest scratch size seen. Output frames are counted from the file
(ffmpeg's packet count), not taken from the case's own word.

Inputs are testsrc2 + a 440 Hz tone, made with lavfi and cached under ``.benchmarks/inputs``
(git-ignored). All outputs: libx264 ``-crf 16 -pix_fmt yuv420p``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = REPO / ".benchmarks"
RATE = 25
FACTOR = 2
ENCODE = ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p"]

# targets (issue 5)
MAX_ENGINE_OVERHEAD = 1.10  # issue #11: native frames through the engine
MAX_RIFE4_OVER_MCI = 3.0  # issue #13
MAX_RIFE4_S_PER_PAIR = 0.35  # issue #13, 640x360 on 2 cores
MIN_DISK_OVER_STREAM = 2.0
MAX_RSS_GROWTH = 1.15
MIN_MODEL_BUSY = 0.9


@dataclass(frozen=True)
class Clip:
    seconds: int
    width: int = 640
    height: int = 360

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def label(self) -> str:
        return f"{self.size} {self.seconds}s"


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # slowmo | ffmpeg | disk
    model: str  # blend | rife | dain | minterpolate-blend | minterpolate-mci
    clip: Clip
    weights: Optional[str] = None
    group: str = ""  # ratio bookkeeping: "main", "rife", "sweep", ...
    jobs: int = 1  # > 1: a chunked run on that many worker processes (--jobs)


@dataclass(frozen=True)
class Profile:
    main: Clip  # engine overhead, disk vs stream with blend
    mci: Clip
    rife: Clip  # model-bound cases (also dain)
    sweep: tuple[Clip, ...]
    chunked: Clip  # --jobs 1 against --jobs 2


PROFILES = {
    "full": Profile(main=Clip(60), mci=Clip(10), rife=Clip(4), sweep=(Clip(10), Clip(60), Clip(300)), chunked=Clip(300)),
    "quick": Profile(main=Clip(4), mci=Clip(2), rife=Clip(1, 320, 180), sweep=(Clip(4), Clip(12), Clip(40)),
                     chunked=Clip(40)),
    # CI: every case once on tiny clips, to prove it runs (no figure is measurable)
    "smoke": Profile(main=Clip(1, 160, 96), mci=Clip(1, 160, 96), rife=Clip(1, 160, 96),
                     sweep=(Clip(1, 160, 96), Clip(2, 160, 96)), chunked=Clip(2, 160, 96)),
}


def build_cases(profile: Profile, dain_weights: Optional[str]) -> list[Case]:
    p = profile
    cases = [
        Case("ffmpeg-blend", "ffmpeg", "minterpolate-blend", p.main, group="main"),
        Case("slowmo-blend", "slowmo", "blend", p.main, group="main"),
        Case("disk-blend", "disk", "blend", p.main, group="main"),
        Case("ffmpeg-mci", "ffmpeg", "minterpolate-mci", p.mci, group="mci"),
        Case("slowmo-rife4", "slowmo", "rife4", p.mci, group="mci"),
        Case("slowmo-rife", "slowmo", "rife", p.rife, group="rife"),
        Case("disk-rife", "disk", "rife", p.rife, group="rife"),
    ]
    if dain_weights:
        cases += [
            Case("slowmo-dain", "slowmo", "dain", p.rife, weights=dain_weights, group="dain"),
            Case("disk-dain", "disk", "dain", p.rife, weights=dain_weights, group="dain"),
        ]
    cases += [Case(f"sweep-{c.seconds}s", "slowmo", "blend", c, group="sweep") for c in p.sweep]
    cases += [Case(f"jobs{j}-{p.chunked.seconds}s", "slowmo", "blend", p.chunked, group="jobs", jobs=j) for j in (1, 2)]
    return cases


# ---------------------------------------------------------------------------------------------
# inputs


def ffmpeg_exe() -> str:
    from ds_slowmo.ffmpeg import find_ffmpeg

    return find_ffmpeg()


def clip_file(clip: Clip, cache: Path) -> Path:
    """testsrc2 + sine, H.264 (veryfast, crf 18) + AAC, made once and cached."""
    folder = cache / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"testsrc2-{clip.size}-{RATE}fps-{clip.seconds}s.mp4"
    if path.exists():
        return path
    part = path.with_name(f".{path.name}.part-{os.getpid()}.mp4")
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={clip.size}:rate={RATE}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={clip.seconds}",
            "-frames:v", str(clip.seconds * RATE), "-pix_fmt", "yuv420p",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "aac", str(part)]  # fmt: skip
    print(f"# making input {path.name}", file=sys.stderr, flush=True)
    subprocess.run(argv, check=True)
    os.replace(part, path)
    return path


def count_frames(path: Path) -> Optional[int]:
    from ds_slowmo.errors import SlowmoError
    from ds_slowmo.ffmpeg import probe

    try:
        return probe(str(path)).n_frames
    except SlowmoError:
        return None


def make_dain_standin(cache: Path) -> str:
    """Build tests/dain_standin.py's Paddle stand-in (N=1) under the cache; return its folder."""
    dest = cache / "dain-standin-n1"
    if not (dest / "model").exists():
        # in a child: Paddle stays out of this process (and its log lines out of the report)
        code = f"import sys; sys.path.insert(0, {str(REPO / 'tests')!r})\n" \
               f"from dain_standin import build_standin\nbuild_standin(__import__('pathlib').Path({str(dest)!r}), n=1)\n"
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))  # fmt: skip
        if proc.returncode != 0:
            raise SystemExit(f"python -m bench: cannot build the DAIN stand-in: {proc.stderr.strip()[-500:]}")
    return str(dest)


# ---------------------------------------------------------------------------------------------
# measuring one process tree


class TreeSampler(threading.Thread):
    """Peak summed RSS of a process and all its descendants (~20 Hz), and peak bytes of the
    files under ``watch`` other than ``exclude`` (every ``scan_every`` samples)."""

    def __init__(self, pid: int, watch: Path, exclude: Callable[[str], bool], interval: float = 0.05,
                 scan_every: int = 10) -> None:  # fmt: skip
        super().__init__(daemon=True, name="bench-sampler")
        import psutil

        self.root = psutil.Process(pid)
        self.watch, self.exclude, self.interval, self.scan_every = watch, exclude, interval, scan_every
        self.peak_rss = 0
        self.peak_procs = 0
        self.peak_temp = 0
        self.samples = 0
        self.done = threading.Event()

    def run(self) -> None:
        import psutil

        n = 0
        while not self.done.is_set():
            total, procs = 0, 0
            try:
                tree = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    total += p.memory_info().rss
                    procs += 1
                except psutil.Error:
                    pass
            if total > self.peak_rss:
                self.peak_rss, self.peak_procs = total, procs
            if n % self.scan_every == 0:
                self.peak_temp = max(self.peak_temp, scratch_bytes(self.watch, self.exclude))
            self.samples += 1
            n += 1
            self.done.wait(self.interval)


def scratch_bytes(folder: Path, exclude: Callable[[str], bool]) -> int:
    total = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += scratch_bytes(Path(entry.path), exclude)
            elif not exclude(entry.path):
                total += entry.stat(follow_symlinks=False).st_size
        except OSError:  # deleted while we looked
            pass
    return total


@dataclass
class Measured:
    wall_s: float
    cpu_s: float  # user + system of the whole tree (waited-for descendants roll up)
    peak_rss: int
    peak_procs: int
    temp_bytes: int
    rc: int
    stdout: str
    stderr_tail: str
    samples: int


def measure(argv: Sequence[str], scratch: Path, output: Path, log: Path) -> Measured:
    """Run ``argv`` with ``$TMPDIR`` inside ``scratch``; watch its tree and its scratch folder."""
    import psutil

    tmp = scratch / "tmp"
    tmp.mkdir(parents=True)
    env = dict(os.environ, TMPDIR=str(tmp), TMP=str(tmp), TEMP=str(tmp))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.pop("DS_SLOWMO_DEBUG", None)
    out_name = output.name
    part_prefix = f".{out_name}.part-"

    def exclude(path: str) -> bool:
        base = os.path.basename(path)
        return os.path.dirname(path) == str(output.parent) and (base == out_name or base.startswith(part_prefix))

    import resource

    with open(log, "wb") as err:
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = psutil.Popen(list(argv), cwd=str(scratch), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=err)  # fmt: skip
        sampler = TreeSampler(proc.pid, scratch, exclude)
        sampler.start()
        stdout, _ = proc.communicate()
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler.done.set()
        sampler.join()
    temp = max(sampler.peak_temp, scratch_bytes(scratch, exclude))
    tail = log.read_text("utf-8", "replace").strip().splitlines()[-8:]
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return Measured(wall, cpu, sampler.peak_rss, sampler.peak_procs, temp, proc.returncode,
                    stdout.decode("utf-8", "replace"), "\n".join(tail), sampler.samples)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# one case


def case_argv(case: Case, src: Path, dst: Path) -> list[str]:
    if case.kind == "ffmpeg":
        mode = case.model.split("-", 1)[1]
        return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(src),
                "-vf", f"minterpolate=fps={RATE * FACTOR}:mi_mode={mode}", *ENCODE, "-y", str(dst)]  # fmt: skip
    argv = [sys.executable, "-m", "bench.child", case.kind, str(src), str(dst), "--model", case.model,
            "--factor", str(FACTOR)]  # fmt: skip
    if case.weights:
        argv += ["--weights", case.weights]
    if case.jobs > 1:
        argv += ["--jobs", str(case.jobs)]
    return argv


def model_available(name: str, weights: Optional[str]) -> Optional[str]:
    """None when ``name`` loads here; else why not (checked in a child: Paddle stays out of
    this process)."""
    code = (
        "import sys\nfrom ds_slowmo.models import load_model, ModelOptions\n"
        f"load_model({name!r}, ModelOptions(factor={FACTOR}, weights={weights!r}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=env, text=True)  # fmt: skip
    if proc.returncode == 0:
        return None
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {proc.returncode}"


def run_case(case: Case, cache: Path, work: Path, keep: bool) -> dict[str, Any]:
    src = clip_file(case.clip, cache)
    scratch = work / case.name
    if scratch.exists():
        shutil.rmtree(scratch)
    out_dir = scratch / "out"
    out_dir.mkdir(parents=True)
    dst = out_dir / "out.mp4"
    log = work / f"{case.name}.stderr.log"
    row: dict[str, Any] = {
        "name": case.name, "kind": case.kind, "model": case.model, "size": case.clip.size,
        "input_s": case.clip.seconds, "frames_in": case.clip.seconds * RATE, "group": case.group,
    }  # fmt: skip
    m = measure(case_argv(case, src, dst), scratch, dst, log)
    if m.rc != 0:
        row["error"] = f"exit code {m.rc}: {m.stderr_tail.splitlines()[-1] if m.stderr_tail else ''}"
        print(f"# {case.name} failed (exit code {m.rc}); its stderr: {log}\n{m.stderr_tail}", file=sys.stderr)
        return row
    frames_out = count_frames(dst)
    row.update(
        frames_out=frames_out, wall_s=round(m.wall_s, 3), cpu_s=round(m.cpu_s, 3),
        fps_out=round(frames_out / m.wall_s, 2) if frames_out else None,
        peak_rss_mb=round(m.peak_rss / 2**20, 1), peak_procs=m.peak_procs,
        temp_bytes=m.temp_bytes, output_bytes=dst.stat().st_size, rss_samples=m.samples,
    )  # fmt: skip
    if case.kind in ("slowmo", "disk"):
        try:
            inner = json.loads(m.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            inner = {}
        if inner.get("frames_out") is not None and frames_out is not None and inner["frames_out"] != frames_out:
            row["error"] = f"the case says {inner['frames_out']} frames, the file has {frames_out}"
        if case.kind == "slowmo":
            _slowmo_breakdown(row, inner)
        else:
            _disk_breakdown(row, inner)
    if not keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return row


def _slowmo_breakdown(row: dict[str, Any], s: dict[str, Any]) -> None:
    wall = s.get("wall_s") or 0.0
    keys = ("setup_s", "model_s", "input_wait_s", "output_wait_s")
    other = wall - sum(s.get(k, 0.0) for k in keys)
    run_wall = wall - s.get("setup_s", 0.0)
    row.update(
        engine_wall_s=wall, model_busy=s.get("model_busy"),
        model_busy_run=round(s.get("model_s", 0.0) / run_wall, 4) if run_wall > 0 else None,
        breakdown={**{k: s.get(k) for k in keys}, "other_s": round(other, 4),
                   "decode_s": s.get("decode_s"), "encode_s": s.get("encode_s")},
    )  # fmt: skip


def _disk_breakdown(row: dict[str, Any], s: dict[str, Any]) -> None:
    wall = s.get("wall_s") or 0.0
    row.update(
        model_busy=round(s.get("model_s", 0.0) / wall, 4) if wall else None,
        temp_written_bytes=s.get("temp_written_bytes"), folder_bytes=s.get("folder_bytes"),
        png_files=s.get("png_files"),
        breakdown={k: round(s[k], 4) for k in ("extract_s", "png_read_s", "model_s", "png_write_s", "combine_s",
                                               "encode_s") if k in s},
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# report


def _mb(n: Optional[int]) -> str:
    return "-" if n is None else f"{n / 1e6:.1f}"


def _breakdown_text(row: dict[str, Any]) -> str:
    b = row.get("breakdown")
    if not b:
        return ""
    short = {"setup_s": "setup", "model_s": "model", "input_wait_s": "wait-in", "output_wait_s": "wait-out",
             "other_s": "other", "decode_s": "(decode", "encode_s": "encode",
             "extract_s": "extract", "png_read_s": "png-read", "png_write_s": "png-write", "combine_s": "copy"}  # fmt: skip
    parts = [f"{short.get(k, k)} {v:.2f}" for k, v in b.items() if v is not None]
    text = " · ".join(parts)
    return text + ")" if "(decode" in text else text


def markdown_table(rows: list[dict[str, Any]]) -> str:
    head = ["case", "model", "input", "frames out", "wall s", "CPU s", "fps out", "peak RSS MB", "temp MB",
            "model busy", "model stage s (other threads)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r in rows:
        if r.get("skipped") or ("wall_s" not in r):
            note = r.get("skipped") or r.get("error", "")
            lines.append(f"| {r['name']} | {r['model']} | {r['size']} {r['input_s']}s | | | | | | | | {note} |")
            continue
        busy = r.get("model_busy")
        busy_s = f"{100 * busy:.0f}%" if busy is not None else "-"
        lines.append(
            f"| {r['name']} | {r['model']} | {r['size']} {r['input_s']}s | {r['frames_out']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} "
            f"| {r['fps_out']:.1f} | {r['peak_rss_mb']:.0f} | {_mb(r['temp_bytes'])} | {busy_s} | {_breakdown_text(r)} |"
        )
    return "\n".join(lines)


def _get(rows: list[dict[str, Any]], name: str) -> Optional[dict[str, Any]]:
    for r in rows:
        if r["name"] == name and "wall_s" in r and "error" not in r:
            return r
    return None


#: what a --quick run cannot measure: a 1-4 s clip's wall is mostly process start, imports and
#: the model's setup, which a real run spreads over minutes
NOT_MEASURABLE_QUICK = "not measurable on short clips (fixed costs dominate)"


def ratios(rows: list[dict[str, Any]], quick: bool = False, smoke: bool = False) -> list[dict[str, Any]]:
    """The figures the issue's targets are about, from the rows that were run. With ``quick``,
    the targets that short clips cannot measure are marked so (``met`` is ``"n/m"``); with
    ``smoke`` (tiny clips), every target is."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: Optional[float], target: str, ok: Optional[bool], note: str, short_ok: bool = True) -> None:
        met: Any = ok
        if ((quick and not short_ok) or smoke) and ok is not None:
            met, note = "n/m", f"{NOT_MEASURABLE_QUICK}; {note}"
        out.append({"name": name, "value": None if value is None else round(value, 3), "target": target,
                    "met": met, "note": note})  # fmt: skip

    sb, fb = _get(rows, "slowmo-blend"), _get(rows, "ffmpeg-blend")
    if sb and fb:
        v = sb["wall_s"] / fb["wall_s"]
        add("engine overhead: slowmo-blend wall / ffmpeg-blend wall", v, f"<= {MAX_ENGINE_OVERHEAD}",
            v <= MAX_ENGINE_OVERHEAD, f"{sb['wall_s']:.2f} s vs {fb['wall_s']:.2f} s, {sb['size']} {sb['input_s']}s", False)  # fmt: skip
        add("engine overhead in CPU seconds (less noisy on a shared machine)", sb["cpu_s"] / fb["cpu_s"],
            f"<= {MAX_ENGINE_OVERHEAD}", None, f"{sb['cpu_s']:.2f} s vs {fb['cpu_s']:.2f} s")  # fmt: skip
    r4, mci = _get(rows, "slowmo-rife4"), _get(rows, "ffmpeg-mci")
    if r4 and mci:
        v = r4["wall_s"] / mci["wall_s"]
        add("slowmo-rife4 wall / ffmpeg-mci wall (x2, same clip)", v, f"<= {MAX_RIFE4_OVER_MCI}", v <= MAX_RIFE4_OVER_MCI,
            f"{r4['wall_s']:.1f} s vs {mci['wall_s']:.1f} s, {r4['size']} {r4['input_s']}s", False)  # fmt: skip
    if r4 and (r4.get("breakdown") or {}).get("model_s"):
        made = r4["frames_out"] - r4["frames_in"]  # x2 of the whole clip: one new frame per pair
        v = r4["breakdown"]["model_s"] / made
        add("slowmo-rife4 model s/pair (in the engine; the first call loads and warms the predictor)", v,
            f"<= {MAX_RIFE4_S_PER_PAIR}", v <= MAX_RIFE4_S_PER_PAIR, f"{made} pairs, {r4['size']}")  # fmt: skip
    for model in ("blend", "rife", "dain"):
        s, d = _get(rows, f"slowmo-{model}"), _get(rows, f"disk-{model}")
        if s and d:
            v = d["wall_s"] / s["wall_s"]
            add(f"disk-{model} wall / slowmo-{model} wall", v, f">= {MIN_DISK_OVER_STREAM}",
                v >= MIN_DISK_OVER_STREAM and s["temp_bytes"] == 0,
                f"streaming temp bytes {s['temp_bytes']}; disk temp {_mb(d['temp_bytes'])} MB "
                f"({d.get('png_files')} PNG files); ceiling for any streaming engine with this model "
                f"(disk wall / its model time): {_ceiling(d)}", model == "blend")  # fmt: skip
    sweep = sorted((r for r in rows if r.get("group") == "sweep" and "wall_s" in r and "error" not in r),
                   key=lambda r: r["input_s"])  # fmt: skip
    if len(sweep) >= 2:
        a, b = sweep[0], sweep[-1]
        v = b["peak_rss_mb"] / a["peak_rss_mb"]
        add(f"memory: {b['name']} peak RSS / {a['name']} peak RSS", v, f"<= {MAX_RSS_GROWTH}", v <= MAX_RSS_GROWTH,
            f"{b['peak_rss_mb']:.0f} MB vs {a['peak_rss_mb']:.0f} MB")  # fmt: skip
        per_frame = [r["wall_s"] / r["frames_out"] * 1000 for r in sweep]
        add(f"time: ms per output frame, {' / '.join(r['name'] for r in sweep)}", per_frame[-1] / per_frame[0],
            "~1 (linear)", None, " / ".join(f"{x:.1f}" for x in per_frame))  # fmt: skip
    j1 = next((r for r in rows if r.get("group") == "jobs" and r["name"].startswith("jobs1") and "wall_s" in r), None)
    j2 = next((r for r in rows if r.get("group") == "jobs" and r["name"].startswith("jobs2") and "wall_s" in r), None)
    if j1 and j2:
        add(f"scale-out: {j1['name']} wall / {j2['name']} wall (2 cores)", j1["wall_s"] / j2["wall_s"], "info", None,
            f"{j1['wall_s']:.1f} s vs {j2['wall_s']:.1f} s, {j1['frames_out']} and {j2['frames_out']} frames out")  # fmt: skip
    for model in ("rife", "dain"):
        s = _get(rows, f"slowmo-{model}")
        if s and s.get("model_busy") is not None:
            v = s["model_busy"]
            standin = bool(s.get("standin"))
            add(f"model busy, slowmo-{model}" + (" (a stand-in: not model-bound, for information)" if standin else " (model-bound)"),
                v, f">= {MIN_MODEL_BUSY}", None if standin else v >= MIN_MODEL_BUSY,
                f"excluding setup (probe, model load): {s.get('model_busy_run')}", False)  # fmt: skip
    return out


def _ceiling(d: dict[str, Any]) -> str:
    model_s = (d.get("breakdown") or {}).get("model_s")
    return f"{d['wall_s'] / model_s:.1f}" if model_s else "n/a"


def ratios_text(rs: list[dict[str, Any]]) -> str:
    lines = []
    for r in rs:
        mark = {True: "met", False: "MISSED", None: "info", "n/m": "not measurable here"}[r["met"]]
        val = "n/a" if r["value"] is None else f"{r['value']:.3f}"
        lines.append(f"- {r['name']}: **{val}** (target {r['target']}: {mark}) — {r['note']}")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import psutil

        mem = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        mem = ""
    return f"{cpu}, {os.cpu_count()} CPUs{mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


# ---------------------------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--quick", action="store_true", help="short clips (a few minutes on 2 cores)")
    p.add_argument("--smoke", action="store_true", help="every case once on tiny clips (CI: proves each case runs)")
    p.add_argument("--json", metavar="FILE", help="write the rows (one object per case) and ratios as JSON")
    p.add_argument("--cases", metavar="NAMES", help="comma-separated case names or globs (e.g. 'slowmo-*,ffmpeg-blend')")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--dain-weights", metavar="PATH", help="add DAIN cases with these weights ('standin': build one)")
    p.add_argument("--cache", metavar="DIR", default=str(DEFAULT_CACHE), help="input cache (default: .benchmarks)")
    p.add_argument("--keep", action="store_true", help="keep each case's scratch folder (outputs, temp files)")
    args = p.parse_args(argv)

    cache = Path(args.cache).resolve()
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    profile = PROFILES[name]
    cases = build_cases(profile, args.dain_weights)
    if args.cases:
        pats = [c.strip() for c in args.cases.split(",") if c.strip()]
        unknown = [pt for pt in pats if not any(fnmatch.fnmatchcase(c.name, pt) for c in cases)]
        if unknown:
            p.error(f"no case matches {', '.join(unknown)}; cases: {', '.join(c.name for c in cases)}")
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c.name, pt) for pt in pats)]
    if args.list:
        for c in cases:
            print(f"{c.name:14} {c.kind:7} {c.model:20} {c.clip.label}")
        return 0

    standin = args.dain_weights == "standin"
    if standin and any(c.model == "dain" for c in cases):
        weights = make_dain_standin(cache)
        cases = [Case(c.name, c.kind, c.model, c.clip, weights, c.group) if c.model == "dain" else c for c in cases]

    unavailable: dict[str, Optional[str]] = {}
    work = Path(tempfile.mkdtemp(prefix="ds-slowmo-bench-"))
    rows: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    try:
        for case in cases:
            if case.model in ("rife", "dain"):
                key = f"{case.model}:{case.weights}"
                if key not in unavailable:
                    unavailable[key] = model_available(case.model, case.weights)
                why = unavailable[key]
                if why:
                    print(f"# {case.name}: skipped, --model {case.model} does not load here: {why}", file=sys.stderr)
                    rows.append({"name": case.name, "kind": case.kind, "model": case.model, "size": case.clip.size,
                                 "input_s": case.clip.seconds, "group": case.group,
                                 "skipped": f"skipped: model does not load ({why})"})  # fmt: skip
                    continue
            print(f"# {case.name}: {case.kind} {case.model} on {case.clip.label} ...", file=sys.stderr, flush=True)
            row = run_case(case, cache, work, args.keep)
            if case.model == "dain" and standin:
                row["standin"] = True
            if "wall_s" in row:
                print(f"#   {row['wall_s']:.2f} s, {row['fps_out']} fps, peak RSS {row['peak_rss_mb']} MB, "
                      f"temp {row['temp_bytes']} B", file=sys.stderr, flush=True)  # fmt: skip
            rows.append(row)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"# scratch kept in {work}", file=sys.stderr)

    rs = ratios(rows, quick=name == "quick", smoke=name == "smoke")
    print(f"ds-slowmo benchmark ({name}), {started}")
    print(f"machine: {machine()}\n")
    print(markdown_table(rows))
    print("\nTargets:\n" + (ratios_text(rs) or "- (no case pairs for the targets were run)"))
    if args.json:
        doc = {"profile": name, "started": started, "machine": machine(),
               "cases": rows, "ratios": rs}  # fmt: skip
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 1 if any("error" in r for r in rows) else 0
