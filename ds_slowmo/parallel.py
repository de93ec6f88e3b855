"""Beyond one process: chunked, resumable runs of one long video, and whole folders, on local
worker processes (``--jobs N``) or on a Ray cluster (``--ray [ADDRESS]``).

A chunked run splits the input at keyframes (:mod:`ds_slowmo.chunks`), runs each chunk as an
independent job that writes ``chunk-NNNN.<ext>`` into a work folder beside the output, records
each finished chunk (with its checksum) in ``manifest.json`` there, and joins the chunks with
ffmpeg's concat demuxer without re-encoding, adding the audio once for the whole timeline.
Rerunning the same command skips the chunks already done; a different input or different
options start afresh; a chunk whose file no longer matches its checksum is redone. The work
folder is removed on success, so disk use stays at about one output's size.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

from . import ffmpeg as ff
from .cache import atomic_writer, temp_beside
from .chunks import Chunk, chunk_plan
from .config import Config
from .errors import FFmpegError, SlowmoError, UsageError
from .models import load_model
from .worker import Job

__all__ = ["run_chunked", "run_folder", "FolderResult", "VIDEO_EXTENSIONS", "expand_inputs"]

log = logging.getLogger("ds_slowmo")

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".m4v", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".y4m", ".nut", ".flv", ".wmv")
MANIFEST_VERSION = 1


# ---------------------------------------------------------------------------------------------
# Executors: each runs Jobs and yields (job, result dict) as they finish


class LocalExecutor:
    """Each job in its own ``python -m ds_slowmo.worker`` process, ``jobs`` at a time. Every
    worker is killed (SIGTERM, then SIGKILL) if the run fails or is interrupted."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def _one(self, job: Job) -> dict[str, Any]:
        with self._lock:
            if self._stopping:
                return {"ok": False, "error": "cancelled", "exit_code": 130}
            proc = subprocess.Popen([sys.executable, "-m", "ds_slowmo.worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
            self._procs.add(proc)
        try:
            out, err = proc.communicate(pickle.dumps(job))
        finally:
            with self._lock:
                self._procs.discard(proc)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0 or not out:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return {"ok": False, "error": f"worker failed (exit code {proc.returncode}): {tail[0]}", "exit_code": 1}
        result: dict[str, Any] = json.loads(out)
        return result

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="ds-slowmo-job")
        futures: dict[Future[dict[str, Any]], Job] = {pool.submit(self._one, j): j for j in jobs}
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield futures[f], f.result()
        finally:
            self.stop()
            pool.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            procs = list(self._procs)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class RayExecutor:
    """Each job as a Ray task; with ``gpu`` each task asks for one GPU."""

    def __init__(self, address: Optional[str], gpu: bool, cpus_per_task: float = 1.0) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("--ray needs Ray: pip install 'ds-slowmo[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
            if address and address != "local":
                kwargs["address"] = address
            ray.init(**kwargs)
        from .worker import run_job

        self.remote = ray.remote(num_cpus=cpus_per_task, num_gpus=1 if gpu else 0, max_retries=0)(run_job)

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, Any]]]:
        refs = {self.remote.remote(j): j for j in jobs}
        try:
            pending = list(refs)
            while pending:
                ready, pending = self.ray.wait(pending, num_returns=1)
                for r in ready:
                    try:
                        result = self.ray.get(r)
                    except self.ray.exceptions.RayError as exc:
                        result = {"ok": False, "error": f"Ray task failed: {str(exc).splitlines()[0]}", "exit_code": 1}
                    yield refs[r], result
        finally:
            for r in refs:
                try:
                    self.ray.cancel(r, force=True)
                except Exception:  # noqa: BLE001 - best-effort cancel of tasks that may have finished
                    log.debug("could not cancel a Ray task", exc_info=True)


def make_executor(cfg: Config) -> Any:
    if cfg.ray is not None:
        return RayExecutor(cfg.ray or os.environ.get("RAY_ADDRESS"), cfg.device == "gpu")
    return LocalExecutor(cfg.jobs)


# ---------------------------------------------------------------------------------------------
# The manifest


def input_fingerprint(path: str) -> dict[str, Any]:
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        if st.st_size > 2 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256_ends": h.hexdigest()}


def options_key(cfg: Config) -> dict[str, Any]:
    """What decides the output's frames: a changed value starts a chunked run afresh."""
    return {
        "factor": cfg.factor, "mode": cfg.mode, "ranges": [str(r) for r in cfg.ranges],
        "trim": str(cfg.trim) if cfg.trim else None, "model": cfg.model, "weights": cfg.weights,
        "scale": cfg.scale, "scene": cfg.scene_threshold if cfg.scene_detect else None,
        "crf": cfg.crf, "encoder_args": list(cfg.encoder_args),
        "input_rate": str(cfg.input_rate) if cfg.input_rate else None,
        "chunk_seconds": cfg.chunk_seconds, "ext": os.path.splitext(cfg.output)[1].lower(),
    }  # fmt: skip


@dataclass
class Manifest:
    path: Path
    input: dict[str, Any]
    options: dict[str, Any]
    chunks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: Path, fingerprint: dict[str, Any], options: dict[str, Any]) -> "Manifest":
        path = folder / "manifest.json"
        try:
            data = json.loads(path.read_text())
            if data.get("version") == MANIFEST_VERSION and data["input"] == fingerprint and data["options"] == options:
                return cls(path, fingerprint, options, dict(data["chunks"]))
            log.info("the input or the options changed since the last run: starting afresh")
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable manifest %s: starting afresh", path)
        return cls(path, fingerprint, options)

    def done(self, chunk: Chunk, file: Path) -> bool:
        rec = self.chunks.get(str(chunk.index))
        if not rec or rec.get("start") != chunk.start or rec.get("stop") != chunk.stop or not file.is_file():
            return False
        from .cache import sha256_file

        if sha256_file(file) != rec.get("sha256"):
            log.warning("chunk %d (%s) does not match its checksum: redoing it", chunk.index, file.name)
            return False
        return True

    def record(self, chunk: Chunk, file: Path, result: dict[str, Any]) -> None:
        self.chunks[str(chunk.index)] = {
            "start": chunk.start, "stop": chunk.stop, "file": file.name,
            "frames": result["frames"], "sha256": result["sha256"],
        }  # fmt: skip
        self.save()

    def save(self) -> None:
        data = {"version": MANIFEST_VERSION, "input": self.input, "options": self.options, "chunks": self.chunks}
        with atomic_writer(self.path) as fh:
            fh.write(json.dumps(data, indent=1).encode())


# ---------------------------------------------------------------------------------------------
# A chunked run of one file


def work_folder(output: str) -> Path:
    out = Path(output).resolve()
    return out.parent / f".{out.name}.ds-slowmo"


def run_chunked(cfg: Config, executor: Optional[Any] = None) -> Any:
    """Run ``cfg`` in chunks; returns the :class:`~ds_slowmo.pipeline.RunStats` of the whole."""
    from .pipeline import RunStats, _check_output_target, _model_options, _plan, audio_args

    t0 = time.perf_counter()
    if cfg.input_is_pipe or cfg.output_is_pipe:
        raise UsageError("--jobs/--ray need an input file and an output file (a pipe can't be split)")
    exe = ff.find_ffmpeg()
    _check_output_target(cfg)
    info = ff.probe(cfg.input, exe)
    if not info.n_frames:
        raise SlowmoError(f"could not count the frames of {cfg.input}; run without --jobs")
    plan = _plan(cfg, info)
    if cfg.ray is None:
        load_model(cfg.model, _model_options(cfg))  # usage errors (factor, weights) before any work
    keys = ff.keyframes(cfg.input, plan.in_rate, exe)
    target = max(1, round(cfg.chunk_seconds * plan.in_rate))
    chunks = chunk_plan(plan, info.n_frames, keys, target)
    folder = work_folder(cfg.output)
    folder.mkdir(exist_ok=True)
    manifest = Manifest.open(folder, input_fingerprint(cfg.input), options_key(cfg))
    ext = os.path.splitext(cfg.output)[1]
    files = {c.index: folder / f"chunk-{c.index:04d}{ext}" for c in chunks}
    todo = [c for c in chunks if not manifest.done(c, files[c.index])]
    skipped = len(chunks) - len(todo)
    if skipped:
        log.info("resuming: %d of %d chunks already done", skipped, len(chunks))
    worker_cfg = cfg
    if cfg.threads is None and cfg.ray is None:
        worker_cfg = replace(cfg, threads=max(1, (os.cpu_count() or 1) // cfg.jobs))
    executor = executor or make_executor(cfg)
    failures: list[str] = []
    stats = RunStats(input=cfg.input, output=cfg.output, model=cfg.model, width=info.width, height=info.height,
                     in_rate=plan.in_rate, out_rate=plan.out_rate, plan=plan)  # fmt: skip
    by_index = {c.index: c for c in chunks}
    jobs = [Job(worker_cfg, str(files[c.index]), c) for c in todo]
    for job, result in executor.run(jobs):
        assert job.chunk is not None
        chunk = by_index[job.chunk.index]
        if not result["ok"]:
            failures.append(f"chunk {chunk.index} (frames {chunk.start}-{chunk.stop - 1}): {result['error']}")
            if result.get("exit_code") == 2:
                raise UsageError(result["error"])
            continue
        if result["frames"] != chunk.out_count:
            failures.append(f"chunk {chunk.index}: wrote {result['frames']} frames, expected {chunk.out_count}")
            continue
        manifest.record(chunk, files[chunk.index], result)
        s = result["stats"]
        stats.model_s += s["model_s"]
        stats.interpolated += s["interpolated"]
        stats.cuts.extend(tuple(c) for c in s["cuts"])
        log.info("chunk %d/%d done (%d frames)", chunk.index + 1, len(chunks), result["frames"])
    if failures:
        raise SlowmoError(f"{len(failures)} of {len(chunks)} chunks failed; finished ones are kept, rerun to resume: "
                          + "; ".join(failures))  # fmt: skip
    # join without re-encoding; the audio of the whole timeline, once
    listing = folder / "concat.txt"
    listing.write_text("".join(f"file '{_concat_escape(str(files[c.index]))}'\n" for c in chunks))
    temp = temp_beside(cfg.output)
    audio = audio_args(cfg, plan, info.n_frames, info)
    argv = [exe, "-hide_banner", "-nostdin", "-nostats", "-v", "warning", "-f", "concat", "-safe", "0", "-i", str(listing)]
    if audio:
        argv += ["-vn", "-i", cfg.input]
    argv += ["-map", "0:v:0", *audio, "-c:v", "copy", "-y", temp]
    try:
        proc = subprocess.run(argv, capture_output=True)
        if proc.returncode != 0:
            raise FFmpegError("joining the chunks failed", proc.stderr.decode("utf-8", "replace"))
        expected = plan.output_count(info.n_frames)
        got = ff.probe(temp, exe).n_frames
        if got != expected:
            raise SlowmoError(f"the joined output has {got} frames, the plan says {expected}; chunks kept in {folder}")
        os.replace(temp, cfg.output)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    shutil.rmtree(folder)
    stats.frames_in = info.n_frames
    stats.frames_out = plan.output_count(info.n_frames)
    stats.wall_s = time.perf_counter() - t0
    return stats


def _concat_escape(path: str) -> str:
    return path.replace("'", "'\\''")


# ---------------------------------------------------------------------------------------------
# A folder (or glob) of videos


@dataclass
class FolderResult:
    done: list[tuple[str, str]] = field(default_factory=list)  # (input, output)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, why)


def expand_inputs(spec: str) -> list[str]:
    """A folder's video files (by extension, sorted), or a glob's matches."""
    if os.path.isdir(spec):
        names = sorted(os.listdir(spec))
        return [os.path.join(spec, n) for n in names if os.path.splitext(n)[1].lower() in VIDEO_EXTENSIONS
                and os.path.isfile(os.path.join(spec, n))]  # fmt: skip
    return sorted(p for p in glob.glob(spec) if os.path.isfile(p))


def run_folder(cfg: Config, executor: Optional[Any] = None, on_result: Optional[Callable[[str, dict[str, Any]], None]] = None) -> FolderResult:
    """Every video of ``cfg.input`` (a folder or glob) into the folder ``cfg.output``, ``jobs`` at
    a time. Failures are collected, not raised."""
    inputs = expand_inputs(cfg.input)
    if not inputs:
        raise UsageError(f"no video files in {cfg.input} (looked for {', '.join(VIDEO_EXTENSIONS)})")
    out_dir = Path(cfg.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [Path(p).name for p in inputs]
    if len(set(names)) != len(names):
        raise UsageError(f"{cfg.input} matches several files with the same name; outputs would collide")
    jobs = []
    result = FolderResult()
    for src in inputs:
        dst = out_dir / Path(src).name
        if dst.exists() and not cfg.overwrite:
            result.failed.append((src, f"output {dst} already exists; pass -y to overwrite it"))
            continue
        jobs.append(Job(replace(cfg, input=src, output=str(dst), jobs=1, ray=None), str(dst)))
    executor = executor or make_executor(cfg)
    for job, res in executor.run(jobs):
        if res["ok"]:
            result.done.append((job.cfg.input, job.output))
        else:
            result.failed.append((job.cfg.input, res["error"]))
        if on_result is not None:
            on_result(job.cfg.input, res)
    return result
