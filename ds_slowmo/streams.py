"""Everything an output takes from the source besides its video: the audio tracks (the audio
graph, with the stretched pieces fed through pipes), the subtitles (text ones retimed through
the plan, bitmap ones copied when the timing is kept) and the attachments. The encoder of a
run and the join of a chunked run both ask :func:`source_streams` for their arguments.

Inputs: the source file is the encoder's input 1; what :class:`~ds_slowmo.feeds.Feeds` adds
comes after it.
"""

from __future__ import annotations

import logging
import os
import threading
from fractions import Fraction
from typing import Iterator, Optional

from . import audio as au
from . import containers
from . import ffmpeg as ff
from .errors import ffmpeg_said
from .feeds import Feeds
from .job import Job
from .stretched import add_pieces
from .subtitles import EventMap, event_map, retime, text_format

__all__ = ["source_streams"]

log = logging.getLogger("ds_slowmo")

_OWN_CODEC = {"srt": "srt", "ass": "ass", "webvtt": "webvtt"}  # the text format -> its codec


def source_streams(job: Job, feeds: Feeds) -> list[str]:
    """Encoder arguments for the source's audio, then its other streams; extra inputs go into
    ``feeds``. Nothing for a pipe input (it can't be read twice), a chunk (the join adds them
    once) or an input of unknown length."""
    n = job.info.n_frames
    if job.cfg.input_is_pipe or job.chunk is not None or n is None:
        return []
    return _audio(job, n, feeds) + _others(job, n, feeds)


def _container(job: Job) -> str:
    return os.path.splitext(job.cfg.output)[1].lower()


def _audio(job: Job, n: int, feeds: Feeds) -> list[str]:
    """The audio tracks, kept in sync with the plan of the source's ``n`` frames."""
    cfg, info = job.cfg, job.info
    segments = job.plan.audio_segments(n)
    output = None if cfg.output_is_pipe else cfg.output
    if not au.audio_wanted(cfg.audio, info.audio, segments, output):
        return []
    inputs: dict[tuple[int, int], int] = {}
    copied = au.copies(info.audio, info.start, output, job.timing_kept)
    if cfg.audio == "stretch" and cfg.audio_stretch == "pin" and not copied:
        inputs = add_pieces(feeds, ff.find_ffmpeg(), cfg.input, info.audio, au.audio_pieces(segments, info.audio, info.start))
    return au.audio_args(mode=cfg.audio, segments=segments, tracks=info.audio, video_start=info.start, output=output,
                         timing_kept=job.timing_kept, feeds=inputs)  # fmt: skip


def _others(job: Job, n: int, feeds: Feeds) -> list[str]:
    """Text subtitles retimed (into containers that take them), bitmap subtitles copied when
    the output plays the whole input at its own pace and the container takes their codec,
    attachments where it keeps them (:mod:`ds_slowmo.containers` says which); whatever is left
    is dropped, in one line."""
    info, container = job.info, _container(job)
    spec = containers.lookup(container)
    text = [(j, s, fmt) for j, s in enumerate(info.subtitles) if (fmt := text_format(s.codec)) is not None]
    bitmap = [j for j, s in enumerate(info.subtitles) if text_format(s.codec) is None]
    copied = [j for j in bitmap if job.timing_kept and spec.subtitles.takes(info.subtitles[j].codec)]
    args: list[str] = []
    dropped = {"subtitle": 0, "attachment": info.attachments, "data": info.data_streams, "cover picture": info.covers}
    k = 0  # output subtitle streams so far
    fallback = spec.subtitles.text
    if text and fallback is not None:
        segments = job.plan.audio_segments(n)
        move = event_map(lambda t: au.output_time(segments, t), segments[0].start, segments[-1].end, info.start)
        for j, _stream, fmt in text:
            body = _retimed(job.cfg.input, j, fmt, move)
            if body is None:
                dropped["subtitle"] += 1
                continue

            def produce(stop: threading.Event, b: bytes = body) -> Iterator[bytes]:
                return iter([b])

            index = feeds.add(["-f", fmt], produce, f"subtitles-{j}")
            own = _OWN_CODEC[fmt]  # kept where the container takes it (.mkv), else what text becomes there
            codec = own if spec.subtitles.takes(own) else fallback
            args += ["-map", f"{index}:s:0", f"-c:s:{k}", codec, f"-map_metadata:s:s:{k}", f"1:s:s:{j}"]
            k += 1
    else:
        dropped["subtitle"] += len(text)
    if copied:
        # copied with their own times: moved by the video's start, as the frames are
        index = feeds.extra(["-itsoffset", _seconds(-info.start), "-vn", "-an", "-i", ff.path_arg(job.cfg.input)])
        for j in copied:
            args += ["-map", f"{index}:s:{j}", f"-c:s:{k}", "copy", f"-map_metadata:s:s:{k}", f"1:s:s:{j}"]
            k += 1
    dropped["subtitle"] += len(bitmap) - len(copied)
    if spec.attachments and info.attachments:  # their tags carry their file names, which Matroska needs
        args += ["-map", "1:t?", "-c:t", "copy"]
        args += [a for j in range(info.attachments) for a in (f"-map_metadata:s:t:{j}", f"1:s:t:{j}")]
        dropped["attachment"] = 0
    said = ", ".join(f"{c} {kind} stream{'s' * (c > 1)}" for kind, c in dropped.items() if c)
    if said:
        # where they would be kept, for what the table can keep elsewhere (not a cover or data)
        why = f" ({_where_kept()})" if dropped["subtitle"] or dropped["attachment"] else ""
        log.warning("not kept: %s%s", said, why)
    return args


def _where_kept() -> str:
    """Which containers keep subtitles and attachments (from the table)."""
    ext = [(k, c) for k, c in containers.TABLE.items() if k.startswith(".")]
    text = [k for k, c in ext if c.subtitles.text is not None]
    pictures = [k for k, c in ext if any(text_format(codec) is None for codec in c.subtitles.copies)]
    fonts = [k for k, c in ext if c.attachments]
    return (f"text subtitles go into {', '.join(text)}; picture subtitles only into {', '.join(pictures)} by a "
            f"whole-input --mode fps run; attachments into {', '.join(fonts)}")


def _seconds(t: Fraction) -> str:
    return f"{float(t):.6f}"


def _retimed(path: str, j: int, fmt: str, move: EventMap) -> Optional[bytes]:
    """Subtitle stream ``j`` of ``path`` read as a whole text file (its times on the timeline
    where the input's start time is 0, as the probe's), its events moved; None when ffmpeg
    can't read it as text (said in a line) or no event is left."""
    exe = ff.find_ffmpeg()
    argv = ff.preamble(exe, "error") + ["-i", ff.path_arg(path), "-map", f"0:s:{j}", "-c:s", _OWN_CODEC[fmt],
                                        "-f", fmt, "pipe:1"]  # fmt: skip
    code, out, err = ff.run_short(argv, f"reading subtitle stream {j}", check=False)
    if code != 0:
        log.warning("subtitle stream %d could not be read as %s: %s", j, fmt, ffmpeg_said(err, 1) or f"exit code {code}")
        return None
    text = retime(out.decode("utf-8", "replace"), fmt, move)
    empty = not text.strip() if fmt == "srt" else ("-->" not in text and "Dialogue:" not in text)
    if empty:
        log.info("subtitle stream %d has no event in the output's span", j)
        return None
    return text.encode("utf-8")
