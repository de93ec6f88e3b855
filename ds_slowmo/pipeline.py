"""The engine: a run composed of a source (decoder + reader thread), the model stage on the
calling thread, and output taps (encoder, ``--compare``, ``--inspect``), each with its own
processes and threads, joined by bounded queues.

The shutdown order lives here: on success the source is finished, the counts are checked, the
taps are finished, and the output is renamed into place; on any failure every process is killed
and every temporary removed first (that unblocks the threads), then the threads are joined.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from .analysis import CUT_THRESHOLD
from .chunks import Chunk
from .config import Config, check_paths
from .errors import SlowmoError
from .job import Job
from .models import Interpolator, ModelOptions, load_model
from .models.base import prepare as prepare_model
from .options import default
from .plan import Plan, build_plan, check_length, format_rate, parse_fps, parse_span
from .progress import Progress
from .review import CompareTap, InspectTap
from .source import Source, open_source
from .door import Door
from .stage import StageStats, interpolate_frames, make_frames
from .taps import EncoderTap, Tap

DEFAULT_MODEL: str = default("model")  # the option table's, as the CLI's

__all__ = ["RunStats", "slowmo_frames", "run"]


@dataclass
class RunStats(StageStats):
    """What a run did, and where its time went (seconds). The model stage's own counts and
    times come from :class:`~ds_slowmo.stage.StageStats`."""

    input: str = ""
    output: str = ""
    model: str = ""
    width: int = 0
    height: int = 0
    in_rate: Fraction = Fraction(0)
    out_rate: Fraction = Fraction(0)
    frames_out: int = 0
    wall_s: float = 0.0
    input_wait_s: float = 0.0  # model stage waiting for decoded frames
    output_wait_s: float = 0.0  # model stage blocked because the encoder is behind
    decode_s: float = 0.0  # reader thread: waiting on the decoder's pipe
    encode_s: float = 0.0  # writer thread: waiting on the encoder's pipe
    setup_s: float = 0.0  # probe + model load + process start
    inspect_path: Optional[str] = None
    plan: Optional[Plan] = field(default=None, repr=False)

    @classmethod
    def of(cls, job: Job, model_name: str) -> "RunStats":
        """The figures a run of ``job`` knows before it starts."""
        return cls(input=job.cfg.input, output=job.cfg.output, model=model_name, width=job.info.width,
                   height=job.info.height, in_rate=job.plan.in_rate, out_rate=job.plan.out_rate, plan=job.plan)  # fmt: skip

    @property
    def model_busy(self) -> float:
        return self.model_s / self.wall_s if self.wall_s else 0.0

    @property
    def fps_out(self) -> float:
        return self.frames_out / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input, "output": self.output, "model": self.model,
            "size": f"{self.width}x{self.height}", "in_rate": format_rate(self.in_rate),
            "out_rate": format_rate(self.out_rate), "frames_in": self.frames_in,
            "frames_out": self.frames_out, "interpolated": self.interpolated,
            "wall_s": round(self.wall_s, 4), "fps_out": round(self.fps_out, 3),
            "model_s": round(self.model_s, 4), "model_busy": round(self.model_busy, 4),
            "input_wait_s": round(self.input_wait_s, 4), "output_wait_s": round(self.output_wait_s, 4),
            "decode_s": round(self.decode_s, 4), "encode_s": round(self.encode_s, 4),
            "setup_s": round(self.setup_s, 4), "cuts": [list(c) for c in self.cuts],
            "cut_frames": self.cut_frames, "duplicates": self.duplicates,
        }  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The frame-level API


def slowmo_frames(
    source: Iterable[np.ndarray],
    *,
    factor: int = 2,
    mode: str = "slowmo",
    ranges: Sequence[str] = (),
    trim: Optional[str] = None,
    rate: Union[Fraction, int, str] = 25,
    fps: Union[Fraction, int, str, None] = None,
    model: Union[str, Interpolator] = DEFAULT_MODEL,
    batch_size: int = 1,
    scene_threshold: Optional[float] = CUT_THRESHOLD,
    dedupe: Optional[float] = None,
    **model_options: Any,
) -> Iterator[np.ndarray]:
    """Frame-level API without ffmpeg: RGB frames in, output frames out.

    ``ranges``/``trim`` take the CLI's spellings (``"10:20"``, ``"0.4s:0.8s"``); times need
    ``rate``; ``fps`` is an output rate as ``--fps`` takes it. Range ends are checked once the
    source is exhausted. ``scene_threshold=None``
    turns cut detection off; ``dedupe`` is a duplicate threshold (e.g. 3.0) or ``None``.
    """
    fr = Fraction(rate)
    spans = tuple(parse_span(r) for r in ranges)
    trim_span = parse_span(trim, "--trim") if trim else None
    target = parse_fps(str(fps)) if fps is not None else None
    if target is not None and not ranges:
        mode = "fps"  # as on the command line: --fps alone changes only the rate
    plan = build_plan(mode=mode, factor=factor, rate=fr, n_frames=None, ranges=spans, trim=trim_span, target=target)
    if isinstance(model, str):
        any_time = plan.needs_any_time(dedupe is not None)
        model = load_model(model, ModelOptions(factor=factor, batch_size=batch_size, any_time=any_time, **model_options))
    stats = StageStats()
    yield from interpolate_frames(source, plan, model, batch_size=batch_size, stats=stats,
                                  scene_threshold=scene_threshold, dedupe=dedupe)  # fmt: skip
    check_length(plan, spans, trim_span, stats.frames_in)


# ---------------------------------------------------------------------------------------------
# A whole run: source -> stage -> taps


def run(
    cfg: Config,
    *,
    stdin: Optional[int] = None,
    stdout: Optional[int] = None,
    model: Optional[Interpolator] = None,
    chunk: Optional[Chunk] = None,
) -> RunStats:
    """Run one job. ``stdin``/``stdout`` are file descriptors for pipe mode (default: this
    process's). ``model`` overrides ``cfg.model`` with a ready interpolator (tests, API).
    ``chunk`` runs one piece of a chunked run (:mod:`ds_slowmo.chunks`): its decoder starts at
    the chunk, and exactly the chunk's output frames are written (video only)."""
    t_start = time.perf_counter()
    check_paths(cfg)
    stop = threading.Event()
    parts: list[Any] = []  # the source and the taps, for the error path
    try:
        with ExitStack() as stack:
            source = open_source(cfg, stack, stop, chunk=chunk, stdin=stdin)
            parts.append(source)
            job = source.job
            model = model or load_model(cfg.model, job.model_options)
            prepare_model(model, source.raw.height, source.raw.width)
            stats = RunStats.of(job, model.name)
            taps = _open_taps(job, source, model.name, stats, stack, stdout)
            parts.extend(taps)
            stats.setup_s = time.perf_counter() - t_start
            written = _drive(_stage(job, source, model, stats), taps)
            source.finish()
            _check_written(job, source, written)
            for tap in taps:
                tap.finish()
            _collect(stats, source, taps, written)
    except BaseException:
        # leaving the stack killed every process and removed every temporary file; now the
        # threads can be unblocked and joined
        stop.set()
        for part in parts:
            part.abort()
        raise
    stats.wall_s = time.perf_counter() - t_start
    return stats


def _open_taps(job: Job, source: Source, model_name: str, stats: RunStats, stack: ExitStack,
               stdout: Optional[int]) -> list[Tap]:  # fmt: skip
    """The encoder, and ``--compare`` and ``--inspect`` when asked for."""
    cfg, raw = job.cfg, source.raw
    show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
    progress = Progress(job.expected_output) if show else None
    if progress is not None:
        stack.callback(progress.close)
    taps: list[Tap] = [EncoderTap(job, raw, stack, stdout=stdout, progress=progress)]
    if cfg.compare is not None:
        assert source.original is not None  # --compare needs a file input (Config checks)
        taps.append(CompareTap(job, raw, source.original, model_name, stack))
    if cfg.inspect is not None:
        taps.append(InspectTap(job, raw, stats.cuts, stack))
    return taps


def _stage(job: Job, source: Source, model: Interpolator, stats: RunStats) -> Iterator[np.ndarray]:
    """The model stage over the source's native frames, through the model's door."""
    cfg, chunk = job.cfg, job.chunk
    door = Door(model, source.fmt, source.raw.width, source.raw.height, source.colour)
    return make_frames(
        source.frames(), job.plan, door, door.thumb, batch_size=cfg.batch_size, stats=stats,
        scene_threshold=cfg.scene_threshold if cfg.scene_detect else None,
        dedupe=cfg.dedupe_threshold if cfg.dedupe else None, first_index=job.window.first,
        stop_before=chunk.stop if chunk and not chunk.last else None,
    )  # fmt: skip


def _drive(frames: Iterator[np.ndarray], taps: Sequence[Tap]) -> int:
    """Every output frame to every tap, in order; returns how many there were."""
    k = 0
    for k, frame in enumerate(frames, start=1):
        for tap in taps:
            tap.put(k - 1, frame)
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


def _collect(stats: RunStats, source: Source, taps: Sequence[Tap], written: int) -> None:
    job = source.job
    stats.frames_out = written
    # the source frames this run used: the trim's (or the chunk's) frames that were read
    chunk = job.chunk
    stats.frames_in = chunk.stop - chunk.start if chunk else len(job.plan.kept(job.window.first + source.count))
    stats.input_wait_s, stats.decode_s = source.waited.seconds, source.reader.waited.seconds
    encoder = taps[0]
    assert isinstance(encoder, EncoderTap)
    stats.output_wait_s, stats.encode_s = encoder.waited.seconds, encoder.writer.waited.seconds
    if stats.inspect_path is None and any(isinstance(t, InspectTap) for t in taps):
        stats.inspect_path = source.job.cfg.inspect_path
