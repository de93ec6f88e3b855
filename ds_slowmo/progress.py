"""A one-line progress display on stderr (never stdout: stdout carries video), and its
estimate of the time left (:func:`eta`, pure)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Callable, Iterator, Optional

__all__ = ["Progress", "Work", "eta", "format_clock", "megabytes", "wanted", "progress_for"]

#: the run's --progress/--no-progress (None: not said), for what runs inside it (downloads)
_WANTED: ContextVar[Optional[bool]] = ContextVar("ds_slowmo_progress", default=None)


def wanted(setting: Optional[bool] = None) -> bool:
    """Is progress shown? ``setting`` when given, else the run's (:func:`progress_for`), else
    when stderr is a terminal."""
    chosen = setting if setting is not None else _WANTED.get()
    if chosen is not None:
        return chosen
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress_for(setting: Optional[bool]) -> Iterator[None]:
    """Inside, :func:`wanted` answers ``setting`` (the command line's or the API's choice), so
    a weight download the run sets off shows its progress as the run does."""
    token = _WANTED.set(setting)
    try:
        yield
    finally:
        _WANTED.reset(token)


def format_clock(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


@dataclass(frozen=True)
class Work:
    """Where a run stands: output frames written of ``frames``, and the model's share:
    in-betweens made of ``inbetweens`` (the plan's count) in ``model_s`` seconds."""

    written: int
    frames: int
    made: int
    inbetweens: int
    model_s: float


def eta(work: Work, elapsed: float) -> Optional[float]:
    """Seconds left: the in-betweens still to make at their measured cost (model seconds per
    in-between so far), plus the frames still to write at what the rest of a frame has cost
    (decoding, encoding, waiting: the time not spent in the model, per frame written). Kept
    frames cost no model time, so a run that copies for a while and then slows a moment down
    is not promised the copying's pace. ``None`` until the cost of an in-between is known."""
    if work.written >= work.frames:
        return 0.0
    if work.inbetweens > work.made and work.made == 0:
        return None
    per_made = work.model_s / work.made if work.made else 0.0
    per_frame = max(0.0, elapsed - work.model_s) / work.written if work.written else 0.0
    return max(0, work.inbetweens - work.made) * per_made + (work.frames - work.written) * per_frame


class Progress:
    """Frames done, output frames/s, ETA when the total is known; redrawn at most every
    ``interval`` seconds with a carriage return. With ``what`` (e.g. ``"downloading DAIN
    weights"``) it counts bytes instead: that label, the percentage and megabytes."""

    def __init__(
        self, total: Optional[int], stream: Optional[IO[str]] = None, interval: float = 0.5, *, what: str = "",
        model: Optional[Callable[[], tuple[int, float]]] = None, inbetweens: int = 0,
    ) -> None:  # fmt: skip
        self.total, self.what = total, what
        self.model, self.inbetweens = model, inbetweens  # (in-betweens made, model seconds) so far; planned
        self.stream = stream or sys.stderr
        self.interval = interval
        self.start = time.monotonic()
        self._last = 0.0
        self.done = 0
        self._drawn = False

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        if self.what:
            share = f"{min(100, self.done * 100 // self.total):3d}% " if self.total else ""
            total = f" / {megabytes(self.total)}" if self.total else ""
            self.stream.write(f"\rds-slowmo: {self.what} {share}{megabytes(self.done)}{total}\x1b[K")
            self.stream.flush()
            return
        elapsed = max(now - self.start, 1e-9)
        fps = self.done / elapsed
        if self.total:
            text = f"ds-slowmo: {self.done}/{self.total} frames ({100.0 * self.done / self.total:4.1f}%)  {fps:6.1f} fps"
            made, model_s = self.model() if self.model is not None else (0, 0.0)
            if self.inbetweens:
                text += f"  {min(made, self.inbetweens)}/{self.inbetweens} in-betweens"
            left = eta(Work(self.done, self.total, made, self.inbetweens, model_s), elapsed)
            text += f"  ETA {format_clock(left)}" if left is not None else "  ETA --:--"
        else:
            text = f"ds-slowmo: {self.done} frames  {fps:6.1f} fps  {format_clock(elapsed)}"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()
