"""The engine: a run composed of a source (decoder + reader thread), the model stage on the
calling thread, and output taps (encoder, ``--compare``, ``--inspect``), each with its own
processes and threads, joined by bounded queues.

The shutdown order lives here: on success the source is finished, the counts are checked, the
taps are finished, and the output is renamed into place; on any failure every process is killed
and every temporary removed first (that unblocks the threads), then the threads are joined.
"""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack
from fractions import Fraction
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from .analysis import CUT_THRESHOLD
from .config import Config, check_paths
from .errors import SlowmoError
from .job import Job, prepare
from .limits import check_per_frame
from .models import Interpolator, ModelOptions, load_model
from .models.base import prepare as prepare_model
from .options import BY_FIELD, default, in_api_words
from .plan import build_plan, check_length, parse_fps, parse_rate, parse_span
from .progress import Progress, wanted
from .review import CompareTap, InspectTap
from .source import Input, Source, open_input, start_source
from .door import Door
from .stage import Out, StageStats, interpolate_frames, make_frames
from .stats import RunStats
from .taps import EncoderTap, Tap

DEFAULT_MODEL: str = default("model")  # the option table's, as the CLI's

__all__ = ["RunStats", "slowmo_frames", "run", "run_job"]


# ---------------------------------------------------------------------------------------------
# The frame-level API


def slowmo_frames(
    source: Iterable[Any],
    *,
    factor: Union[int, str] = 2,
    mode: str = "slowmo",
    ranges: Union[str, Sequence[str]] = (),
    trim: Optional[str] = None,
    rate: Union[Fraction, int, str] = 25,
    fps: Union[Fraction, int, str, None] = None,
    model: Union[str, Interpolator] = DEFAULT_MODEL,
    batch_size: Union[int, str] = 1,
    scene_threshold: Optional[float] = CUT_THRESHOLD,
    dedupe: Optional[float] = None,
    **model_options: Any,
) -> Iterator[np.ndarray]:
    """Frame-level API without ffmpeg: RGB frames in, output frames out.

    ``source`` yields ``(H, W, 3)`` uint8 arrays (or nested lists of 0..255 values).
    ``factor``, ``mode``, ``ranges``, ``trim``, ``fps`` and ``batch_size`` take what the
    command line takes, as strings or Python values (``factor="2"`` is ``factor=2``);
    ``ranges``/``trim`` are the CLI's spellings (``"10:20"``, ``"0.4s:0.8s"``); times need
    ``rate``, the frames' rate. Range ends are checked once the source is exhausted.
    ``scene_threshold=None`` turns cut detection off; ``dedupe`` is a duplicate threshold
    (e.g. 3.0) or ``None``. Errors name these parameters.
    """
    try:
        yield from _slowmo_frames(source, factor=factor, mode=mode, ranges=ranges, trim=trim, rate=rate, fps=fps,
                                  model=model, batch_size=batch_size, scene_threshold=scene_threshold,
                                  dedupe=dedupe, model_options=model_options)  # fmt: skip
    except SlowmoError as exc:
        in_api_words(exc)
        raise


def _slowmo_frames(source: Iterable[Any], *, factor: Any, mode: Any, ranges: Any, trim: Any, rate: Any, fps: Any,
                   model: Union[str, Interpolator], batch_size: Any, scene_threshold: Optional[float],
                   dedupe: Optional[float], model_options: dict[str, Any]) -> Iterator[np.ndarray]:  # fmt: skip
    """:func:`slowmo_frames`, its values converted as the option table converts them."""
    factor, mode, batch_size = (BY_FIELD[k].coerce(v) for k, v in (("factor", factor), ("mode", mode), ("batch_size", batch_size)))
    spans = tuple(parse_span(r) for r in BY_FIELD["ranges"].coerce(ranges))
    trim_span = parse_span(trim, "--trim") if trim else None
    fr = parse_rate(str(rate)) if not isinstance(rate, Fraction) else rate
    target = parse_fps(str(fps)) if fps is not None else None
    if target is not None and not ranges:
        mode = "fps"  # as on the command line: --fps alone changes only the rate
    plan = build_plan(mode=mode, factor=factor, rate=fr, n_frames=None, ranges=spans, trim=trim_span, target=target)
    check_per_frame(plan)
    if isinstance(model, str):
        any_time = plan.needs_any_time(dedupe is not None)
        model = load_model(model, ModelOptions(factor=factor, batch_size=batch_size, any_time=any_time, **model_options))
    stats = StageStats()
    yield from interpolate_frames(source, plan, model, batch_size=batch_size, stats=stats,
                                  scene_threshold=scene_threshold, dedupe=dedupe)  # fmt: skip
    check_length(plan, spans, trim_span, stats.frames_in)


# ---------------------------------------------------------------------------------------------
# A whole run: source -> stage -> taps


def run(cfg: Config, *, stdin: Optional[int] = None, stdout: Optional[int] = None,
        model: Optional[Interpolator] = None) -> RunStats:  # fmt: skip
    """Run one request. ``stdin``/``stdout`` are file descriptors for pipe mode (default: this
    process's). ``model`` overrides ``cfg.model`` with a ready interpolator (tests, API)."""
    return _run(cfg, None, stdin, stdout, model)


def run_job(job: Job, *, model: Optional[Interpolator] = None) -> RunStats:
    """Run a job made above this process (a chunk of a chunked run, :meth:`Job.for_chunk`): a
    file input whose facts the job already holds, so nothing is probed again; its decoder
    starts at the chunk, and exactly the chunk's output frames are written (video only)."""
    return _run(job.cfg, job, None, None, model)


def _run(cfg: Config, job: Optional[Job], stdin: Optional[int], stdout: Optional[int],
         model: Optional[Interpolator]) -> RunStats:  # fmt: skip
    """Top down: open the input, make the job, start the source, load the model, open the
    taps, and drive the stage's frames into them."""
    t_start = time.perf_counter()
    check_paths(cfg)
    stop = threading.Event()
    parts: list[Any] = []  # the source and the taps, for the error path
    try:
        with ExitStack() as stack:
            inp = open_input(cfg, stack, stdin) if job is None else Input(job.info)
            job = job or prepare(cfg, inp.info)
            source = start_source(job, inp, stack, stop)
            parts.append(source)
            model = model or load_model(cfg.model, job.model_options)
            prepare_model(model, source.raw.height, source.raw.width)
            stats = RunStats.of(job, model.name)
            encoder, review = _open_taps(job, source, stats, stack, stdout)
            taps = [encoder, *review]
            parts.extend(taps)
            stats.setup_s = time.perf_counter() - t_start
            written = _drive(_stage(job, source, model, stats), taps)
            source.finish()
            _check_written(job, source, written)
            for tap in taps:
                tap.finish()
            _collect(stats, job, source, encoder, written)
    except BaseException:
        # leaving the stack killed every process and removed every temporary file; now the
        # threads can be unblocked and joined
        stop.set()
        for part in parts:
            part.abort()
        raise
    stats.wall_s = time.perf_counter() - t_start
    return stats


def _open_taps(job: Job, source: Source, stats: RunStats, stack: ExitStack,
               stdout: Optional[int]) -> tuple[EncoderTap, list[Tap]]:  # fmt: skip
    """The encoder (with the progress line, which reads the model's work so far from
    ``stats``), and the review taps: ``--compare`` and ``--inspect`` when asked for."""
    cfg, raw, model_name = job.cfg, source.raw, stats.model
    progress = _progress(job, stats) if wanted(cfg.progress) else None
    if progress is not None:
        stack.callback(progress.close)
    encoder = EncoderTap(job, raw, stack, stdout=stdout, progress=progress)
    review: list[Tap] = []
    if cfg.compare is not None:
        assert source.original is not None  # --compare needs a file input (Config checks)
        review.append(CompareTap(job, raw, source.original, model_name, stack))
    if cfg.inspect is not None:
        review.append(InspectTap(job, raw, stack))
    return encoder, review


def _progress(job: Job, stats: RunStats) -> Progress:
    """The progress line: output frames, and in-betweens made of those the plan makes."""
    n = job.info.n_frames
    planned = job.plan.interp_count(n) if n and job.chunk is None else 0
    return Progress(job.expected_output, model=lambda: (stats.interpolated + stats.cut_frames, stats.model_s),
                    inbetweens=planned)  # fmt: skip


def _stage(job: Job, source: Source, model: Interpolator, stats: RunStats) -> Iterator[Out[np.ndarray]]:
    """The model stage over the source's native frames, through the model's door."""
    cfg, chunk = job.cfg, job.chunk
    door = Door(model, source.fmt, source.raw.width, source.raw.height, source.colour)
    return make_frames(
        source.frames(), job.plan, door, door.thumb, batch_size=cfg.batch_size, stats=stats,
        scene_threshold=cfg.scene_threshold if cfg.scene_detect else None,
        dedupe=cfg.dedupe_threshold if cfg.dedupe else None, first_index=job.window.first,
        stop_before=chunk.stop if chunk and not chunk.last else None,
    )  # fmt: skip


def _drive(frames: Iterator[Out[np.ndarray]], taps: Sequence[Tap]) -> int:
    """Every output frame, with its kind, to every tap, in order; returns how many there were."""
    k = 0
    for k, out in enumerate(frames, start=1):
        for tap in taps:
            tap.put(k - 1, out.frame, out.kind)
    return k


def _check_written(job: Job, source: Source, written: int) -> None:
    """Every frame accounted for: the count the plan gives for what was read."""
    if job.chunk is not None:
        expected = job.chunk.out_count
    else:
        n_in = job.window.first + source.count  # source frames up to where decoding stopped
        if source.ended_early:
            check_length(job.plan, job.cfg.ranges, job.cfg.trim, n_in)
        expected = job.plan.output_count(n_in)
    if written != expected:
        raise SlowmoError(f"internal error: wrote {written} frames, the plan says {expected}; please report this")


def _collect(stats: RunStats, job: Job, source: Source, encoder: EncoderTap, written: int) -> None:
    stats.frames_out = written
    # the source frames this run used: the trim's (or the chunk's) frames that were read
    chunk = job.chunk
    stats.frames_in = chunk.stop - chunk.start if chunk else len(job.plan.kept(job.window.first + source.count))
    stats.input_wait_s, stats.decode_s = source.waited.seconds, source.reader.waited.seconds
    stats.output_wait_s, stats.encode_s = encoder.waited.seconds, encoder.writer.waited.seconds
    if job.cfg.inspect is not None:
        stats.inspect_path = job.cfg.inspect_path
