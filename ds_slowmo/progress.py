"""A one-line progress display on stderr (never stdout: stdout carries video)."""

from __future__ import annotations

import sys
import time
from typing import IO, Optional

__all__ = ["Progress", "format_clock", "megabytes"]


def format_clock(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


class Progress:
    """Frames done, output frames/s, ETA when the total is known; redrawn at most every
    ``interval`` seconds with a carriage return. With ``what`` (e.g. ``"downloading DAIN
    weights"``) it counts bytes instead: that label, the percentage and megabytes."""

    def __init__(
        self, total: Optional[int], stream: Optional[IO[str]] = None, interval: float = 0.5, *, what: str = ""
    ) -> None:
        self.total, self.what = total, what
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
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / fps if fps > 0 else 0.0
            text = f"ds-slowmo: {self.done}/{self.total} frames ({pct:4.1f}%)  {fps:6.1f} fps  ETA {format_clock(eta)}"
        else:
            text = f"ds-slowmo: {self.done} frames  {fps:6.1f} fps  {format_clock(elapsed)}"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()
