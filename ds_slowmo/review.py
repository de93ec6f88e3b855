"""Looking at a result before publishing it: a side-by-side video and a contact sheet of a gap.

- ``--compare OUT``: original on the left, result on the right, labelled, at the same moment:
  beside output frame ``k`` is the source frame it comes from (a kept frame is itself), or for
  an in-between the source frame nearest its position, so inside a slowed stretch the left
  side holds each source frame while the right side moves through the gap. The original
  comes from a second decoder of the input file, so memory stays bounded.
- ``--inspect GAP``: one PNG with the gap's left frame, its in-betweens and its right frame.

Labels are drawn by ffmpeg's ``drawtext`` with a system TrueType font; with no font on the
machine the pictures are made without labels (and a warning says so).
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import subprocess
from contextlib import ExitStack
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from . import ffmpeg as ff
from .cache import atomic_path
from .errors import UsageError
from .job import Job
from .source import Original
from .stage import CUT
from .plan import Plan, format_rate
from .taps import FedEncoder

__all__ = ["find_font", "label_filter", "CompareTap", "InspectTap", "compare_argv", "inspect_window", "nearest_source_timing"]

log = logging.getLogger("ds_slowmo")

_FONT_GLOBS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/**/DejaVuSans*.ttf",
    "/usr/share/fonts/**/*.ttf",
    "/usr/local/share/fonts/**/*.ttf",
    "/Library/Fonts/*.ttf",
    "/System/Library/Fonts/*.ttf",
    "C:/Windows/Fonts/arial.ttf",
)


@lru_cache(maxsize=1)
def find_font() -> Optional[str]:
    """``$DS_SLOWMO_FONT``, else a TrueType font from the usual system folders, else None."""
    env = os.environ.get("DS_SLOWMO_FONT")
    if env:
        return env if os.path.isfile(env) else None
    for pattern in _FONT_GLOBS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            if os.path.isfile(path):
                return path
    return None


def _escape(text: str) -> str:
    # drawtext option values inside a single-quoted filter argument
    return text.replace("\\", "\\\\").replace("'", "\u2019").replace(":", "\\:").replace("%", "\\%")


def label_filter(labels: Sequence[tuple[str, int]], height: int) -> Optional[str]:
    """A ``drawtext`` chain writing each ``(text, x)`` at the top of the frame; None without a
    font."""
    font = find_font()
    if font is None:
        log.warning("no TrueType font found (set DS_SLOWMO_FONT): pictures are written without labels")
        return None
    size = max(12, height // 18)
    parts = [
        f"drawtext=fontfile='{_escape(font)}':text='{_escape(text)}':x={x}+{size // 2}:y={size // 2}:"
        f"fontsize={size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw={max(2, size // 5)}"
        for text, x in labels
    ]
    return ",".join(parts)


class CompareTap(FedEncoder):
    """``--compare``: an encoder that reads our result on stdin and the original file itself,
    puts them side by side (original left) and labels them. The original is retimed to the
    plan (:func:`nearest_source_timing`), so output frame ``k`` sits beside the source frame
    it comes from, or the nearest one."""

    def __init__(self, job: Job, raw: ff.RawVideo, original: Original, model_name: str, stack: ExitStack) -> None:
        cfg = job.cfg
        assert cfg.compare is not None
        target = stack.enter_context(atomic_path(cfg.compare))
        argv = compare_argv(ff.find_ffmpeg(), job, raw, original, model_name, target)
        encoder = stack.enter_context(ff.FFmpegProcess(argv, role="compare encoder", stdin=subprocess.PIPE))
        super().__init__(encoder, cfg.compare, cfg.queue_size, thread="ds-slowmo-compare")


def compare_argv(exe: str, job: Job, raw: ff.RawVideo, original: Original, model_name: str, target: str) -> list[str]:
    """Result frames on stdin (input 0) and the original file (input 1, read as the source's
    decoder reads it) -> ``[original | result]``."""
    cfg, plan = job.cfg, job.plan
    assert cfg.compare is not None
    speed = f"{format_rate(plan.out_rate)} fps" if cfg.fps else f"x{cfg.factor}"
    speed += " slow motion" if plan.slowed else (" frame rate" if not cfg.fps else "")
    labels = label_filter([("original", 0), (f"ds-slowmo {model_name} {speed}", raw.width)], raw.height)
    wide = dataclasses.replace(raw, width=2 * raw.width)
    ext = os.path.splitext(cfg.compare)[1].lower()
    video = ff.video_out(ext, wide, cfg.crf, (), lambda e: ff.encoder_pix_fmts(exe, e))
    first = [*original.filters] + ([f"trim=end_frame={original.count}"] if original.count is not None else [])
    retime = [*nearest_source_timing(plan, job.window.first), "tpad=stop=-1:stop_mode=clone", f"format={raw.pix_fmt}"]
    after = [f for f in (labels, *video.filters) if f]
    graph = (f"[1:V:0]{','.join(first + retime)}[o];[o][0:v]hstack=inputs=2:shortest=1"
             + "".join(f",{f}" for f in after) + "[v]")  # fmt: skip
    return (ff.preamble(exe, stdin=True) + raw.input_args() + original.input_args
            + ["-filter_complex", graph, "-map", "[v]", *video.args, "-y", ff.path_arg(target)])  # fmt: skip


def nearest_source_timing(plan: Plan, first: int) -> list[str]:
    """Filters that time the original's frames (``first`` the first one decoded) so that
    output frame ``k`` shows the source frame it comes from, or the nearest one to its
    position (halfway goes to the earlier frame): source frame ``j`` is put at output frame
    :meth:`Plan.nearest_source` ``(j)``, spelled as an ffmpeg expression of ``N`` (integer
    arithmetic, exact in doubles), and ``fps`` keeps the last frame of each output instant and
    repeats it until the next."""
    q = plan.in_rate / plan.out_rate  # output instants fall every p ticks, a unit of stretch is d
    p, d = q.numerator, q.denominator
    f, ts = plan.factor - 1, plan.trim_start
    i = f"(N+{first - 1})"  # the frame before j
    spans = [(max(a, ts), b) for a, b in plan.slowed]
    slowed = "".join(f"+{2 * f}*(clip({i},{a},{b})-{a})+{f}*gte({i},{a})*lt({i},{b})" for a, b in spans)
    twice = f"(2*({i}-{ts})+1{slowed})"  # 2 * weight_before(j - 1) + stretch(j - 1)
    pts = f"if(lte(N+{first},{ts}),0,floor({twice}*{d}/{2 * p})+1)"
    return [f"settb={format_rate(1 / plan.out_rate)}", f"setpts='{pts}'", f"fps={format_rate(plan.out_rate)}"]


class InspectTap:
    """``--inspect GAP``: keeps the output frames of one gap (its left frame, the in-betweens,
    its right frame) and writes them as one labelled PNG row at the end."""

    def __init__(self, job: Job, raw: ff.RawVideo, stack: ExitStack) -> None:
        self.job, self.raw = job, raw
        self.first, self.last = inspect_window(job)
        self.frames: list[np.ndarray] = []
        self.kinds: list[str] = []
        self.target = stack.enter_context(atomic_path(job.cfg.inspect_path))

    def put(self, index: int, frame: np.ndarray, kind: str) -> None:
        if self.first <= index <= self.last:
            self.frames.append(frame)
            self.kinds.append(kind)

    def finish(self) -> None:
        g = self.job.cfg.inspect
        assert g is not None
        if len(self.frames) < 2:
            raise UsageError(f"--inspect {g}: the input ended before gap {g}")
        n, (w, h) = len(self.frames), (self.raw.width, self.raw.height)
        step = max(1, -(-w // 320))
        tw, th = -(-w // step), -(-h // step)
        text = label_filter([(label, j * tw) for j, label in enumerate(self.labels(g))], th)
        vf = f"scale={tw}:{th}:flags=neighbor,tile={n}x1" + (f",{text}" if text else "")
        argv = ff.png_argv(ff.find_ffmpeg(), self.raw, self.target, vf)
        ff.run_short(argv, f"writing {self.job.cfg.inspect_path}", b"".join(f.tobytes() for f in self.frames))

    def labels(self, g: int) -> list[str]:
        """``frame 29``, ``t=1/4``, ..., ``frame 30``; an in-between copied at a scene cut says
        so."""
        names = [f"frame {g}" if u == 0 else f"t={u}" for u in self.job.plan.frames_at(g, False)]
        names = (names + [f"frame {g + 1}"])[: len(self.frames)]
        return [name + (" cut: copy" if kind == CUT else "") for name, kind in zip(names, self.kinds)]

    def abort(self) -> None:
        self.frames.clear()
        self.kinds.clear()


def inspect_window(job: Job) -> tuple[int, int]:
    """Output frame numbers ``[first, last]`` of ``--inspect GAP``: its left frame, in-betweens
    and right frame."""
    cfg, plan, n = job.cfg, job.plan, job.info.n_frames
    g = cfg.inspect
    assert g is not None
    if not (plan.keeps(g) and plan.keeps(g + 1)) or (n is not None and g + 1 >= n):
        kept = f"{plan.trim_start}..{'' if n is None else plan.kept(n).stop - 2}"
        raise UsageError(f"--inspect {g}: gap {g} (frames {g} and {g + 1}) is not in the kept input (gaps {kept})")
    if not any(u for u in plan.frames_at(g, False)):
        slowed = ", ".join(f"{a}..{b - 1}" for a, b in plan.slowed)
        where = f"one of the slowed gaps ({slowed})" if slowed else "a gap inside a --range"
        raise UsageError(f"--inspect {g}: no in-between is made in gap {g} (it is not slowed down, so the sheet would "
                         f"show frames {g} and {g + 1} alone); inspect {where}, or slow just that gap with "
                         f"--trim {g}:{g + 2}")  # fmt: skip
    return plan.output_index(g), plan.output_index(g + 1)
