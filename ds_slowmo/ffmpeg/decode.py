"""The decoder: its argv (pure), constant-rate conversion of variable-rate input, and the
one-frame check that proves a seek lands on the wanted frame."""

from __future__ import annotations

import bisect
import logging
import queue
from dataclasses import replace
from fractions import Fraction
from typing import Generic, Optional, Sequence, TypeVar

from .. import timeline as tl
from ..plan import format_rate
from .args import path_arg, preamble
from .parse import FRAME_TIMES, VideoInfo, parse_first_frame_time, parse_frame_pts, parse_link
from .process import run_short

log = logging.getLogger("ds_slowmo")

__all__ = [
    "decoder_filters", "decoder_input", "decoder_argv", "checked_window", "constant_rate", "file_window",
    "FrameTimes", "PipeRetimer", "vfr_note",
]  # fmt: skip


def _seconds(x: Fraction, places: int = 9) -> str:
    """A decimal ffmpeg reads; ``-ss`` takes microseconds, so seeks are rounded down to them."""
    if places == 6:
        x = Fraction((x * 1_000_000).__floor__(), 1_000_000)
    return f"{float(x):.{places}f}"


def decoder_filters(window: Optional[tl.DecodeWindow], cfr_rate: Optional[Fraction] = None) -> list[str]:
    """The decoder's video filters: constant-rate conversion (``fps``, after cloning the last
    frame so every ffmpeg version fills the grid to its end), then the window's selection."""
    chain = []
    if cfr_rate is not None:
        chain += ["tpad=stop=-1:stop_mode=clone", f"fps={format_rate(cfr_rate)}"]
    if window is not None and window.select_time is not None:
        chain.append(f"select='gte(t\\,{_seconds(window.select_time)})'")
    elif window is not None and window.select_index is not None:
        chain.append(f"select='gte(n\\,{window.select_index})'")
    return chain


def decoder_input(src: str, window: Optional[tl.DecodeWindow]) -> list[str]:
    """A file input that starts where ``window`` seeks, on the default timeline (``-copyts
    -start_at_zero``, so a seek doesn't move the times the filters see)."""
    seek = ["-noaccurate_seek", "-ss", _seconds(window.seek, 6)] if window is not None and window.seek is not None else []
    return ["-copyts", "-start_at_zero", *seek, "-i", path_arg(src)]


def decoder_argv(
    exe: str, src: str, *, pipe: bool, window: Optional[tl.DecodeWindow] = None, limit: Optional[int] = None,
    pix_fmt: Optional[str] = None, cfr_rate: Optional[Fraction] = None, extra_filters: Sequence[str] = (),
    output: Sequence[str] = ("-f", "rawvideo"), target: str = "pipe:1", level: Optional[str] = None,
) -> list[str]:
    """A decoder of ``src`` (``pipe:0`` when ``pipe``, at ``-v info`` so its header tells the
    stream; ``level`` sets another) writing raw frames in ``pix_fmt`` (None: as the filters leave them) to stdout: the
    frames of ``window`` (or the first ``limit``, or all), on the default timeline (``-copyts
    -start_at_zero``, so a seek doesn't move the times the filters see)."""
    count = window.count if window is not None else limit
    if cfr_rate is not None and count is None:
        raise ValueError("a constant-rate conversion clones the last frame forever: give a frame count")
    argv = preamble(exe, level or ("info" if pipe else "warning"), stdin=pipe)
    argv += ["-i", "pipe:0"] if pipe else decoder_input(src, window)
    argv += ["-map", "0:V:0"]  # the video, never cover art
    chain = decoder_filters(window, cfr_rate) + list(extra_filters)
    if chain:
        argv += ["-vf", ",".join(chain)]
    if count is not None:
        argv += ["-frames:v", str(count)]
    argv += ["-fps_mode", "passthrough", "-an", "-sn", "-dn", *output]
    return argv + (["-pix_fmt", pix_fmt] if pix_fmt else []) + [target]


def checked_window(
    exe: str, src: str, windows: Sequence[tl.DecodeWindow], cfr_rate: Optional[Fraction] = None
) -> tl.DecodeWindow:
    """The first of ``windows`` (from :func:`ds_slowmo.timeline.decode_windows`) shown to give
    the wanted first frame: each seek is tried on one frame, with ``showinfo`` saying its time.
    The last window (decoding from the start) needs no check."""
    if len(windows) == 1 or windows[0].expect is None:
        return windows[0]
    for w in windows[:-1]:
        one = replace(w, count=1)
        argv = decoder_argv(exe, src, pipe=False, window=one, cfr_rate=cfr_rate, extra_filters=["showinfo"],
                            output=("-f", "null"), target="-", level="info")  # fmt: skip
        code, _, err = run_short(argv, "seek check", check=False)
        t = parse_first_frame_time(err) if code == 0 else None
        if t is not None and w.expect is not None and w.expect[0] <= t < w.expect[1]:
            return w
        log.debug("seek to %ss for frame %d gave a frame at %ss; trying further back", w.seek, w.first, t)
    log.info("frame %d can't be reached by seeking exactly; decoding from the start", windows[-1].first)
    return windows[-1]


def vfr_note(what: str, rate: Fraction, frames_in: int, frames_out: int, duplicated: int, dropped: int) -> str:
    """What ``-v`` says of a variable-rate input converted to its nominal constant rate."""
    return (f"variable frame rate{what}: converting to a constant {rate} fps ({frames_in} source frames -> "
            f"{frames_out}: {duplicated} duplicated, {dropped} dropped)")


def constant_rate(info: VideoInfo) -> tuple[VideoInfo, Optional[tl.CfrGrid]]:
    """A variable-rate input as the decoder delivers it after ``fps`` conversion at its nominal
    rate: frame count, times and keyframes of the constant-rate frames (and the grid, for the
    decoder's ``cfr_rate``); any other input unchanged, with ``None``."""
    if not info.vfr or info.frame_times is None:
        return info, None
    grid = tl.cfr_grid(info.frame_times, info.rate)
    keys = sorted({bisect.bisect_left(grid.source, k) for k in info.keyframes} - {grid.count})
    log.info("%s", vfr_note("", info.rate, grid.frames, grid.count, grid.duplicated, grid.dropped))
    view = replace(info, n_frames=grid.count, frame_times=grid.times(), keyframes=tuple(keys), start=grid.start,
                   cfr_rate=info.rate)  # fmt: skip
    return view, grid


def file_window(exe: str, path: str, info: VideoInfo, first: int, count: Optional[int]) -> tl.DecodeWindow:
    """How a decoder of the file ``path`` delivers exactly its frames ``[first, first + count)``
    (``count=None``: to the end), as :func:`constant_rate` numbers them: a seek that a
    one-frame check (:func:`checked_window`) shows right, else decoding from the start."""
    if info.cfr_rate is not None and count is None and info.n_frames is not None:
        count = info.n_frames - first  # the cloned last frame would go on forever
    windows = tl.decode_windows(info.frame_times, info.keyframes, first, count)
    return checked_window(exe, path, windows, info.cfr_rate)


_END = object()


class FrameTimes:
    """The time of each frame a pipe decoder writes, as its ``showinfo@ts`` prints it: a
    :class:`~.process.LineTaker` for the decoder's stderr (those lines are kept out of its
    tail), read in step with the frames. A frame's line is printed before the frame is
    written, so :meth:`next` never waits for more than the stderr drain to catch up."""

    def __init__(self) -> None:
        self._q: "queue.Queue[object]" = queue.Queue()  # unbounded: at most the frames still in the pipes
        self._time_base: Optional[Fraction] = None
        self._ended = False
        self.seen = 0  # frame lines taken so far

    _PREFIX = f"[{FRAME_TIMES} @"

    def take(self, line: str) -> bool:
        if not line.startswith(self._PREFIX):
            return False
        if " n:" in line:  # a frame (the common case, once a frame)
            pts = parse_frame_pts(line)
            if pts is not None and not self._ended:
                self.seen += 1
                self._q.put(pts)
            return True
        link = parse_link(line) if " config in " in line else None
        if link is not None:  # the header line (the exact rate): kept for the header
            self._time_base = link[0]
            return False
        return True

    def end(self) -> None:
        self._q.put(_END)

    @property
    def readable(self) -> bool:
        """Were the first frame's time and the time base read, by the end of the header (the
        first frame passes showinfo before ffmpeg describes its output)? Only then are the
        frames timed by them: a line that never came would leave the reader waiting."""
        return self._time_base is not None and self.seen > 0

    def stop(self) -> None:
        """No more times are wanted (frames pass as they come): none is kept from here on."""
        self._ended = True

    def next(self) -> Optional[Fraction]:
        """The next frame's time; ``None`` when it has none (or the decoder said no more)."""
        if self._ended:
            return None
        pts = self._q.get()
        if pts is _END:
            self._ended = True
        if not isinstance(pts, int) or self._time_base is None:
            return None
        return pts * self._time_base


F = TypeVar("F")


class PipeRetimer(Generic[F]):
    """A pipe's frames converted to its nominal constant rate, as a file's are
    (:func:`constant_rate`, :func:`~ds_slowmo.timeline.cfr_grid`): each frame is passed on as
    many times as the ``fps`` rule shows it (0: dropped, 2 or more: repeated), one frame late
    (its count needs the next frame's time). A constant-rate stream passes unchanged; frames
    without times pass as they come."""

    def __init__(self, times: FrameTimes, rate: Fraction) -> None:
        self.times, self.rate, self.clock = times, rate, tl.CfrStream(rate)
        self.held: Optional[F] = None
        self.off = False
        self.frames_in = self.frames_out = self.duplicated = self.dropped = 0

    def feed(self, frame: F) -> list[F]:
        """The frames to pass on now that ``frame`` came."""
        self.frames_in += 1
        t = None if self.off else self.times.next()
        if t is None:  # no time to go by: as they come
            out = [] if self.held is None else [self.held]
            self.off, self.held = True, None
            self.times.stop()
            return self._shown(out + [frame])
        n = self.clock.arrive(t)
        out = self._repeat(n) if self.held is not None else []
        self.held = frame
        return out

    def rest(self) -> list[F]:
        """The frames to pass on at the end of the stream."""
        out = self._repeat(self.clock.end()) if self.held is not None else []
        self.held = None
        return out

    def _repeat(self, n: int) -> list[F]:
        assert self.held is not None
        self.dropped += n == 0
        self.duplicated += max(0, n - 1)
        return self._shown([self.held] * n)

    def _shown(self, frames: list[F]) -> list[F]:
        self.frames_out += len(frames)
        return frames

    def note(self) -> Optional[str]:
        """What ``-v`` says once the stream ended, when the conversion changed anything."""
        if not (self.duplicated or self.dropped):
            return None
        return vfr_note(" on standard input", self.rate, self.frames_in, self.frames_out, self.duplicated, self.dropped)
