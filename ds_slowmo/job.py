"""What a run will do, worked out before any frame moves: :func:`prepare` turns a request and
the input's facts into a :class:`Job` (the plan, the model's options and the decode window).

Shared by a whole run, a chunk of a chunked run and each file of a folder run. The window
arithmetic is pure (:func:`frames_to_decode`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Optional

from .audio import carries_audio
from .chunks import Chunk, Frames, frames_to_decode
from .config import Config
from .errors import InputError, UsageError
from .ffmpeg import VideoInfo
from .limits import check_plan
from .models import ModelOptions
from .plan import Plan, build_plan

__all__ = ["Job", "prepare", "DEINTERLACE"]

log = logging.getLogger("ds_slowmo")

INTERLACED = {"tt": "top field first", "bb": "bottom field first", "tb": "top field first, swapped",
              "bt": "bottom field first, swapped"}  # fmt: skip
#: one progressive frame per frame, only where a frame is flagged interlaced
DEINTERLACE = "bwdif=mode=send_frame:parity=auto:deint=interlaced"


@dataclass(frozen=True)
class Job:
    """One run's facts and decisions: the request, the input, the plan, the decode window."""

    cfg: Config
    info: VideoInfo
    plan: Plan
    window: Frames
    chunk: Optional[Chunk] = None

    @property
    def model_options(self) -> ModelOptions:
        """What the model is told; ``any_time`` when the plan (or --dedupe, whose runs can have
        any length) asks for times other than k/2^n."""
        any_time = self.plan.needs_any_time(self.cfg.dedupe, self.info.n_frames)
        return replace(model_options(self.cfg), any_time=any_time)

    @property
    def timing_kept(self) -> bool:
        """The output plays the whole input at its own pace (``--mode fps``, nothing trimmed):
        streams with their own timing (audio, subtitles) can be copied as they are."""
        n = self.info.n_frames
        return self.plan.mode == "fps" and n is not None and self.plan.kept(n) == range(n)

    def for_chunk(self, chunk: Chunk, cfg: Config) -> "Job":
        """This job's chunk ``chunk``, run by a worker with ``cfg``: the same input facts and
        plan (nothing is probed again), the chunk's own decode window."""
        return replace(self, cfg=cfg, chunk=chunk, window=frames_to_decode(self.plan, seekable=True, chunk=chunk))

    @property
    def expected_output(self) -> Optional[int]:
        """Output frames the run writes, when the input's length is known."""
        if self.chunk is not None:
            return self.chunk.out_count
        return None if self.info.n_frames is None else self.plan.output_count(self.info.n_frames)


def model_options(cfg: Config) -> ModelOptions:
    return ModelOptions(factor=cfg.factor, weights=cfg.weights, device=cfg.device, batch_size=cfg.batch_size,
                        scale=cfg.scale, threads=cfg.threads, runtime=cfg.runtime, precision=cfg.precision)  # fmt: skip


def plan_for(cfg: Config, info: VideoInfo) -> Plan:
    rate = cfg.input_rate or info.rate
    return build_plan(mode=cfg.mode, factor=cfg.factor, rate=rate, n_frames=info.n_frames,
                      ranges=cfg.ranges, trim=cfg.trim, target=cfg.fps)  # fmt: skip


def prepare(cfg: Config, info: VideoInfo, chunk: Optional[Chunk] = None) -> Job:
    """The job for ``cfg`` on an input described by ``info`` (a probed file, or a pipe's
    header with an unknown length)."""
    if info.n_frames == 0:
        raise InputError(f"{cfg.input} has no video frames")
    if info.field_order in INTERLACED and not cfg.deinterlace:
        raise UsageError(
            f"the input is interlaced ({INTERLACED[info.field_order]}): interpolating it would blend "
            "its fields into ghosts; pass --deinterlace, or deinterlace it first"
        )
    plan = plan_for(cfg, info)
    check_plan(plan, info.width, info.height, cfg.batch_size)
    _note_input_rate(cfg, info)
    if cfg.ranges and cfg.mode == "slowmo" and not plan.slowed:
        log.warning("no --range selects a gap between two kept frames: nothing is slowed down")
    return Job(cfg, info, plan, frames_to_decode(plan, seekable=not cfg.input_is_pipe, chunk=chunk), chunk)


def _note_input_rate(cfg: Config, info: VideoInfo) -> None:
    """``--input-rate`` other than the file's own retimes the picture; the audio keeps its own
    times (it is not retimed with it), so a kept audio track no longer matches: said once."""
    rate = cfg.input_rate
    if rate is None or rate == info.rate or not info.has_audio or cfg.audio != "stretch" or cfg.input_is_pipe:
        return
    if cfg.output_is_pipe or not carries_audio(cfg.output):
        return
    n = info.n_frames
    drift = f" (by {float(abs(n / rate - n / info.rate)):.3f} s at the end of its {n} frames)" if n else ""
    log.warning(
        "--input-rate %s plays the picture of this %s fps file at another speed, but its audio keeps its own: "
        "they no longer match%s; add --audio mute or --audio drop, or retime the audio first", rate, info.rate, drift,
    )  # fmt: skip
