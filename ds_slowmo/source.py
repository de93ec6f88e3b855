"""The source: an ffmpeg decoder of the input (a file or standard input) and the reader
thread that fills a bounded queue with its frames, in the input's own pixel format.

:func:`open_input` tells what the input is (a file's probe; a pipe's decoder, started, and
its header); the job is made from that above the source, and :func:`start_source` starts
reading the job's frames: a file's decoder at the job's window, or the pipe's.
"""

from __future__ import annotations

import logging
import queue
import subprocess
import sys
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Iterator, Optional

import numpy as np

from . import ffmpeg as ff
from . import colour
from .config import Config
from .errors import FFmpegError, InputError, ffmpeg_problems, ffmpeg_said
from .door import Colour
from .job import DEINTERLACE, Job
from .pixfmt import NATIVE, Native, native_for
from .threads import Counter, Reader, drain, queue_items

__all__ = ["Input", "Source", "Original", "open_input", "start_source", "raw_of", "colour_of"]

log = logging.getLogger("ds_slowmo")


@dataclass(frozen=True)
class Original:
    """How a file's decoder reads the job's frames (input options, filters, frame count), so
    another ffmpeg (``--compare``) can read exactly the same frames."""

    input_args: list[str]
    filters: list[str]
    count: Optional[int]


class Source:
    """A running decoder and its reader: :meth:`frames` yields the window's frames."""

    def __init__(self, job: Job, decoder: ff.FFmpegProcess, native: Native, q_size: int, stop: threading.Event,
                 original: "Optional[Original]" = None, retime: "Optional[ff.PipeRetimer[np.ndarray]]" = None) -> None:  # fmt: skip
        self.job, self.decoder, self.fmt, self.original, self.retime = job, decoder, native.fmt, original, retime
        self.raw = raw_of(job, native)
        self.colour = colour_of(job.info, native)
        self.q: "queue.Queue[Any]" = queue.Queue(maxsize=q_size)
        self.waited = Counter()  # the consumer waiting for frames
        size = self.fmt.frame_size(self.raw.width, self.raw.height)
        self.reader = Reader(decoder.stdout, size, self.q, stop, job.window.count, retime)
        self.reader.start()

    def frames(self) -> Iterator[np.ndarray]:
        """The frames: 1-D byte buffers in :attr:`fmt`, exactly as the decoder wrote them."""
        return queue_items(self.q, self.waited)

    @property
    def count(self) -> int:
        return self.reader.count

    def finish(self) -> None:
        """After the last frame: the decoder ended well (or was stopped on purpose at the
        window's end), and the window got the frames it needed."""
        self.reader.join()
        if self.reader.hit_limit:
            self.decoder.kill()  # we stopped reading on purpose (the trim's or chunk's end)
        else:
            code = self.decoder.finish()
            if code != 0:
                tail = self.decoder.stderr_tail()
                if self.job.cfg.input_is_pipe and _mp4_index_at_end(tail):
                    raise InputError(MP4_ON_A_PIPE)
                raise FFmpegError(f"decoding {self.what} failed (ffmpeg exit code {code})", tail)
            self._report_problems()
        note = self.retime.note() if self.retime is not None else None
        if note:
            log.info("%s", note)
        self._check_count()

    @property
    def what(self) -> str:
        """The input as messages name it."""
        return "standard input" if self.job.cfg.input_is_pipe else self.job.cfg.input

    def _report_problems(self) -> None:
        """A decoder that ended well may still have met damage (a truncated file, corrupt
        packets): what it said, in one warning line."""
        n, said = ffmpeg_problems(self.decoder.stderr_text())
        if n:
            log.warning("ffmpeg reported %d problem%s decoding %s, which may be damaged or cut short; the run used "
                        "the %d frames it could decode: %s", n, "s" * (n > 1), self.what, self.count, said)  # fmt: skip

    def _check_count(self) -> None:
        n, w, job = self.reader.count, self.job.window, self.job
        if n == 0:
            raise InputError("the input has no video frames")
        if w.exact and n != w.count:
            raise InputError(
                f"chunk {job.chunk.index if job.chunk else 0}: the decoder gave {n} frames from frame {w.first}, "
                f"expected {w.count}; this file does not seek frame-exactly (run without --jobs)"
            )
        total = job.info.n_frames
        if w.first and not self.reader.hit_limit and total is not None and w.first + n != total:
            raise InputError(
                f"seeking to frame {w.first} of {job.cfg.input} was not frame-exact ({n} frames "
                f"after it, expected {total - w.first}); please report this file"
            )

    def abort(self) -> None:
        """After the decoder was killed: unblock the reader and wait for it."""
        drain(self.q)
        self.reader.join(timeout=10)

    @property
    def ended_early(self) -> bool:
        """The stream ended before the window's limit (so its length is now known)."""
        return not self.reader.hit_limit


@dataclass(frozen=True)
class Input:
    """The input, opened as far as the job needs it: what ffmpeg says of it. For a file that
    is its probe (nothing runs yet); for a pipe, the decoder already reading it, whose header
    told the stream and which native format it chose."""

    info: ff.VideoInfo
    decoder: Optional[ff.FFmpegProcess] = None
    native: Optional[Native] = None
    times: Optional[ff.FrameTimes] = None  # a pipe's frame times, as its decoder says them


def open_input(cfg: Config, stack: ExitStack, stdin: Optional[int] = None) -> Input:
    """Probe the input file, or start the decoder of the pipe (its process joins ``stack``)."""
    exe = ff.find_ffmpeg()
    if not cfg.input_is_pipe:
        return Input(ff.constant_rate(ff.probe(cfg.input, exe))[0])
    # the format is known only once ffmpeg has read the stream: let it keep the input's own
    # (or convert to the nearest native one), and read which it chose from its header;
    # showinfo@ts says the exact rate and each frame's time: a variable-rate stream is
    # converted to its nominal rate as a file is (PipeRetimer)
    times = ff.FrameTimes()
    chain = [f"{ff.FRAME_TIMES}=checksum=0", *deinterlace(cfg), f"format={ACCEPTED}"]
    decoder = stack.enter_context(ff.FFmpegProcess(
        ff.decoder_argv(exe, cfg.input, pipe=True, extra_filters=chain), role="decoder",
        stdin=stdin if stdin is not None else sys.stdin.fileno(), stdout=subprocess.PIPE, take=times))  # fmt: skip
    info = _pipe_info(decoder)
    chosen = ff.parse_output_pix_fmt(decoder.wait_header()) or info.pix_fmt
    native = _native(info.pix_fmt if chosen.replace("yuvj", "yuv") == info.pix_fmt.replace("yuvj", "yuv") else chosen)
    return Input(info, decoder, native, times)


def start_source(job: Job, inp: Input, stack: ExitStack, stop: threading.Event) -> Source:
    """The job's frames: the pipe's running decoder, or a decoder of the file started at the
    job's window (a seek a one-frame check shows right); the reader thread starts here."""
    cfg = job.cfg
    if inp.decoder is not None and inp.native is not None:
        times = inp.times
        if times is not None and not times.readable:
            log.debug("the pipe decoder's frame times can't be read: frames are taken as they come")
        retime = ff.PipeRetimer[np.ndarray](times, inp.info.rate) if times is not None and times.readable else None
        return Source(job, inp.decoder, inp.native, cfg.queue_size, stop, retime=retime)
    exe = ff.find_ffmpeg()
    native = _native(job.info.pix_fmt)
    cfr_rate = job.info.cfr_rate
    window = ff.file_window(exe, cfg.input, job.info, job.window.first, job.window.count)
    original = Original(ff.decoder_input(cfg.input, window), ff.decoder_filters(window, cfr_rate) + deinterlace(cfg),
                        window.count)  # fmt: skip
    decoder = stack.enter_context(ff.FFmpegProcess(
        ff.decoder_argv(exe, cfg.input, pipe=False, window=window, pix_fmt=decoded_as(job.info.pix_fmt, native),
                        cfr_rate=cfr_rate, extra_filters=deinterlace(cfg)),
        role="decoder", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE))  # fmt: skip
    return Source(job, decoder, native, cfg.queue_size, stop, original)


#: what a pipe decoder may hand over: every native format (the yuvj names are their full-range
#: twins, kept as they are rather than squeezed to limited range)
ACCEPTED = "|".join([*NATIVE, "yuvj420p", "yuvj422p", "yuvj444p"])


def _native(pix_fmt: str) -> Native:
    native = native_for(pix_fmt)
    if native.note:
        log.info("%s", native.note)
    return native


def decoded_as(pix_fmt: str, native: Native) -> str:
    """The decoder's output format: the native one, except that a yuvj input keeps its own name
    (the same samples; asking for the yuv twin would squeeze full range into limited)."""
    return pix_fmt if pix_fmt.startswith("yuvj") and pix_fmt.replace("yuvj", "yuv") == native.fmt.name else native.fmt.name


def deinterlace(cfg: Config) -> list[str]:
    """The decoder's deinterlacer, when asked for (it touches only frames flagged interlaced)."""
    return [DEINTERLACE] if cfg.deinterlace else []


def raw_of(job: Job, native: Native) -> ff.RawVideo:
    """The frames as they cross the pipes from the decoder and on to the encoder: the native
    format, with the input's colour tags and sample aspect ratio (a yuvj input is full range)."""
    info = job.info
    rng = info.color_range or ("pc" if native.full_range_hint and not native.fmt.is_rgb else None)
    return ff.RawVideo(native.fmt.name, info.width, info.height, job.plan.out_rate, color_range=rng,
                       color_space=info.color_space, color_primaries=info.color_primaries,
                       color_trc=info.color_trc, chroma_location=info.chroma_location, sar=info.sar)  # fmt: skip


def colour_of(info: ff.VideoInfo, native: Native) -> Colour:
    """How a model's door reads these samples as RGB: the tagged matrix, else what players
    guess (BT.601 below 720 lines, BT.709 from 720 up); the tagged range, else limited (full
    for yuvj and gray)."""
    tagged = info.color_space if info.color_space in colour.MATRICES else None
    full = info.color_range in ("pc", "jpeg") if info.color_range else native.full_range_hint
    return Colour(colour.guess_matrix(info.height, tagged), full, info.chroma_location)


MP4_ON_A_PIPE = ("standard input is an mp4/mov whose index (moov atom) comes after the video, which can't be read "
                 "from a pipe: give the file as INPUT, or remux it with -movflags +faststart")


def _mp4_index_at_end(stderr: str) -> bool:
    """ffmpeg's words for an mp4 read from a pipe whose moov atom it never reached."""
    return "moov atom not found" in stderr or ("mov,mp4" in stderr and "partial file" in stderr)


def _pipe_info(decoder: ff.FFmpegProcess) -> ff.VideoInfo:
    """The stream on standard input, once the decoder has described it and its first output
    frame; the decoder's own reason when it can't get that far (before any encoder starts)."""
    header = decoder.wait_header()
    if "Output #0" in header:
        try:
            return ff.parse_pipe_info(header)
        except InputError:
            decoder.kill()
            raise
    decoder.kill()  # it ended (or stopped talking) before writing a frame: say why
    text = decoder.stderr_text()
    if _mp4_index_at_end(text):
        raise InputError(MP4_ON_A_PIPE)
    said = ffmpeg_said(text)
    if "Input #0" not in header:
        raise InputError(
            "standard input is not a video stream ffmpeg can read"
            + (f" (ffmpeg said: {said})" if said else "")
            + "; pipe y4m, nut, matroska or mpegts, or give an input file"
        )
    ff.parse_input_info(header)  # no video stream, no rate: its own reason
    if said:
        raise InputError(f"decoding standard input failed before its first frame (ffmpeg said: {said})")
    raise InputError("standard input has no video frames")
