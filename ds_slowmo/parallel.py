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

import fcntl
import glob
import hashlib
import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Protocol

from . import ffmpeg as ff
from .cache import Manifest, atomic_path
from .chunks import Chunk, chunk_plan
from .config import Config, check_paths
from .containers import FOLDER_EXTENSIONS
from .errors import SlowmoError, UsageError
from .feeds import Feeds
from .job import Job, prepare
from .models import load_model
from .raycluster import connect
from .stats import RunStats
from .streams import source_streams
from .worker import Task, TaskResult, run_task

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "make_executor", "run_chunked", "run_folder", "FolderResult",
           "expand_inputs", "work_folder"]  # fmt: skip

log = logging.getLogger("ds_slowmo")

# ---------------------------------------------------------------------------------------------
# Executors: each runs tasks and yields (task, result) as they finish


class Executor(Protocol):
    """Runs tasks (on local processes, a Ray cluster, or a test's fake) and yields each with its
    result as it finishes; stops what is still running when the caller stops iterating."""

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, TaskResult]]: ...


class LocalExecutor:
    """Each job in its own ``python -m ds_slowmo.worker`` process, ``jobs`` at a time. Every
    worker is killed (SIGTERM, then SIGKILL) if the run fails or is interrupted."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopping = False

    def _one(self, task: Task) -> TaskResult:
        with self._lock:
            if self._stopping:
                return TaskResult.failed("cancelled", 130)
            proc = subprocess.Popen([sys.executable, "-m", "ds_slowmo.worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
            self._procs.add(proc)
        try:
            out, err = proc.communicate(pickle.dumps(task))
        finally:
            with self._lock:
                self._procs.discard(proc)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0 or not out:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            return TaskResult.failed(f"worker failed (exit code {proc.returncode}): {tail[0]}")
        result: TaskResult = pickle.loads(out)
        return result

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, TaskResult]]:
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="ds-slowmo-job")
        futures: dict[Future[TaskResult], Task] = {pool.submit(self._one, t): t for t in tasks}
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
            connect(ray, address)
        self.remote = ray.remote(num_cpus=cpus_per_task, num_gpus=1 if gpu else 0, max_retries=0)(run_task)

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, TaskResult]]:
        refs = {self.remote.remote(t): t for t in tasks}
        try:
            pending = list(refs)
            while pending:
                ready, pending = self.ray.wait(pending, num_returns=1)
                for r in ready:
                    try:
                        result = self.ray.get(r)
                    except self.ray.exceptions.RayError as exc:
                        result = TaskResult.failed(f"Ray task failed: {str(exc).splitlines()[0]}")
                    yield refs[r], result
        finally:
            for r in refs:
                try:
                    self.ray.cancel(r, force=True)
                except Exception:  # noqa: BLE001 - best-effort cancel of tasks that may have finished
                    log.debug("could not cancel a Ray task", exc_info=True)


def make_executor(cfg: Config) -> Executor:
    if cfg.ray is not None:
        return RayExecutor(cfg.ray or os.environ.get("RAY_ADDRESS"), cfg.device == "gpu")
    return LocalExecutor(cfg.jobs)


# ---------------------------------------------------------------------------------------------
# A chunked run of one file


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
        "input_rate": str(cfg.input_rate) if cfg.input_rate else None, "fps": str(cfg.fps) if cfg.fps else None,
        "chunk_seconds": cfg.chunk_seconds, "ext": os.path.splitext(cfg.output)[1].lower(),
    }  # fmt: skip


def work_folder(output: str) -> Path:
    out = Path(output).resolve()
    return out.parent / f".{out.name}.ds-slowmo"


@contextmanager
def locked_folder(folder: Path, output: str) -> Iterator[Path]:
    """The work folder, held by this run alone (an exclusive lock on a file inside it). A
    folder that holds nothing but its lock when the run ends (it failed before any chunk was
    done) goes: there is nothing in it to resume."""
    folder.mkdir(exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SlowmoError(f"another ds-slowmo run is writing {output} (its work folder {folder} is locked)") from None
        try:
            yield folder
        finally:
            if folder.is_dir() and {p.name for p in folder.iterdir()} <= {".lock", "concat.txt"}:
                shutil.rmtree(folder, ignore_errors=True)


def run_chunked(cfg: Config, executor: Optional[Executor] = None) -> RunStats:
    """Run ``cfg`` in chunks; returns the :class:`RunStats` of the whole. The input is probed
    once, here: each worker gets its chunk's :class:`Job`."""
    t0 = time.perf_counter()
    if cfg.input_is_pipe or cfg.output_is_pipe:
        raise UsageError("--jobs/--ray need an input file and an output file (a pipe can't be split)")
    check_paths(cfg)
    exe = ff.find_ffmpeg()
    job = prepare(cfg, ff.constant_rate(ff.probe(cfg.input, exe))[0])
    n = job.info.n_frames
    if not n:
        raise SlowmoError(f"could not count the frames of {cfg.input}; run without --jobs")
    if cfg.ray is None:
        load_model(cfg.model, job.model_options)  # usage errors (factor, weights) before any work
    info = job.info
    keys = list(info.keyframes) if info.frame_times is not None else ff.keyframes(cfg.input, job.plan.in_rate, exe)
    chunks = chunk_plan(job.plan, n, keys, max(1, round(cfg.chunk_seconds * job.plan.in_rate)))
    executor = executor or make_executor(cfg)  # a cluster that can't be joined fails before the work folder is made
    with locked_folder(work_folder(cfg.output), cfg.output) as folder:
        manifest = Manifest.open(folder / "manifest.json", {"input": input_fingerprint(cfg.input), "options": options_key(cfg)})
        files = {c.index: folder / f"chunk-{c.index:04d}{os.path.splitext(cfg.output)[1]}" for c in chunks}
        stats = RunStats.of(job, cfg.model)
        _run_chunks(job, chunks, files, manifest, executor, stats)
        _join(exe, job, [files[c.index] for c in chunks], folder)
    shutil.rmtree(folder)
    stats.frames_in, stats.frames_out = n, job.plan.output_count(n)
    stats.wall_s = time.perf_counter() - t0
    return stats


def chunk_config(cfg: Config, output: str) -> Config:
    """What a worker runs a chunk with: video only, into ``output``, no review, no progress;
    the cores shared between the local workers unless ``--threads`` says otherwise."""
    threads = cfg.threads
    if threads is None and cfg.ray is None:
        threads = max(1, (os.cpu_count() or 1) // cfg.jobs)
    return replace(cfg, output=output, progress=False, jobs=1, ray=None, overwrite=True, audio="drop", compare=None,
                   inspect=None, threads=threads)  # fmt: skip


def _run_chunks(job: Job, chunks: list[Chunk], files: dict[int, Path], manifest: Manifest, executor: Executor,
                stats: RunStats) -> None:  # fmt: skip
    """Every chunk not already done, on the executor; each finished one goes in the manifest."""
    todo = [c for c in chunks if manifest.verified(files[c.index].name, start=c.start, stop=c.stop) is None]
    if len(todo) < len(chunks):
        log.info("resuming: %d of %d chunks already done", len(chunks) - len(todo), len(chunks))
    tasks = [Task(str(files[c.index]), job=job.for_chunk(c, chunk_config(job.cfg, str(files[c.index])))) for c in todo]
    failures: list[str] = []
    for task, result in executor.run(tasks):
        chunk = task.chunk
        assert chunk is not None
        if not result.ok:
            if result.exit_code == 2:
                raise UsageError(result.error)
            failures.append(f"chunk {chunk.index} (frames {chunk.start}-{chunk.stop - 1}): {result.error}")
        elif result.frames != chunk.out_count:
            failures.append(f"chunk {chunk.index}: wrote {result.frames} frames, expected {chunk.out_count}")
        else:
            assert result.stats is not None
            manifest.record(files[chunk.index].name, start=chunk.start, stop=chunk.stop, frames=result.frames)
            stats.model_s += result.stats.model_s
            stats.interpolated += result.stats.interpolated
            stats.cuts.extend(result.stats.cuts)
            log.info("chunk %d/%d done (%d frames)", chunk.index + 1, len(chunks), result.frames)
    if failures:
        raise SlowmoError(f"{len(failures)} of {len(chunks)} chunks failed; finished ones are kept, rerun to resume: "
                          + "; ".join(failures))  # fmt: skip


def _join(exe: str, job: Job, files: list[Path], folder: Path) -> None:
    """The chunks joined without re-encoding, with the audio of the whole timeline added once;
    the result must have exactly the planned frames."""
    cfg = job.cfg
    listing = folder / "concat.txt"
    listing.write_text("".join(f"file '{_concat_escape(str(f))}'\n" for f in files))
    with atomic_path(cfg.output) as temp:
        with Feeds(first_index=2) as feeds:
            streams = source_streams(job, feeds)
            argv = ff.concat_argv(exe, str(listing), temp, streams, cfg.input, feeds.input_args())
            ff.run_short(argv, "joining the chunks", pass_fds=feeds.pass_fds, started=feeds.start)
            feeds.finish()
        expected = job.expected_output
        got = ff.probe(temp, exe).n_frames
        if got != expected:
            raise SlowmoError(f"the joined output has {got} frames, the plan says {expected}; chunks kept in {folder}")


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
        return [os.path.join(spec, n) for n in names if os.path.splitext(n)[1].lower() in FOLDER_EXTENSIONS
                and os.path.isfile(os.path.join(spec, n))]  # fmt: skip
    return sorted(p for p in glob.glob(spec) if os.path.isfile(p))


def run_folder(cfg: Config, executor: Optional[Executor] = None,
               on_result: Optional[Callable[[str, Optional[str]], None]] = None) -> FolderResult:  # fmt: skip
    """Every video of ``cfg.input`` (a folder or glob) into the folder ``cfg.output``, ``jobs`` at
    a time. Failures are collected, not raised; ``on_result(input, error)`` hears of each as it
    ends (``error`` None: done)."""
    inputs = expand_inputs(cfg.input)
    if not inputs:
        raise UsageError(f"no video files in {cfg.input} (looked for {', '.join(FOLDER_EXTENSIONS)})")
    out_dir = Path(cfg.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [Path(p).name for p in inputs]
    if len(set(names)) != len(names):
        raise UsageError(f"{cfg.input} matches several files with the same name; outputs would collide")
    tasks = []
    result = FolderResult()
    for src in inputs:
        dst = out_dir / Path(src).name
        if dst.exists() and not cfg.overwrite:
            result.failed.append((src, f"output {dst} already exists; pass -y to overwrite it"))
            continue
        tasks.append(Task(str(dst), cfg=replace(cfg, input=src, output=str(dst), jobs=1, ray=None, progress=False)))
    executor = executor or make_executor(cfg)
    for task, res in executor.run(tasks):
        if res.ok:
            result.done.append((task.input, task.output))
        else:
            result.failed.append((task.input, res.error))
        if on_result is not None:
            on_result(task.input, None if res.ok else res.error)
    return result
