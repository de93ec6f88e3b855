"""The streaming engine: decoder -> bounded queue -> model (batches of pairs) -> bounded queue
-> encoder, with a reader thread, the model stage on the calling thread, and a writer thread.

Back-pressure comes from bounded queues; the end of a stream is an ``_EOF`` sentinel; a
worker's exception travels through its queue (reader) or is re-raised where the writer is
joined. No thread polls. Memory is bounded by ``queue_size`` and ``batch_size``.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO, Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from . import ffmpeg as ff
from .audio import audio_filter_graph
from .cache import temp_beside
from .chunks import Chunk
from .config import Config
from .errors import FFmpegError, InputError, OutputClosed, SlowmoError, UsageError, ffmpeg_said
from .analysis import CUT_THRESHOLD
from .models import Interpolator, ModelOptions, load_model
from .models.base import prepare
from .plan import Plan, build_plan, check_length, format_rate, parse_span
from .progress import Progress
from .review import contact_sheet, label_filter, side_by_side, write_png
from .stage import StageStats, interpolate_frames

__all__ = ["RunStats", "slowmo_frames", "run"]

_EOF = object()
_LOSSY_CONTAINERS = (".mp4", ".m4v", ".mov", ".mkv")


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
    model: Union[str, Interpolator] = "blend",
    batch_size: int = 1,
    scene_threshold: Optional[float] = CUT_THRESHOLD,
    dedupe: Optional[float] = None,
    **model_options: Any,
) -> Iterator[np.ndarray]:
    """Frame-level API without ffmpeg: RGB frames in, output frames out.

    ``ranges``/``trim`` take the CLI's spellings (``"10:20"``, ``"0.4s:0.8s"``); times need
    ``rate``. Range ends are checked once the source is exhausted. ``scene_threshold=None``
    turns cut detection off; ``dedupe`` is a duplicate threshold (e.g. 3.0) or ``None``.
    """
    fr = Fraction(rate)
    spans = tuple(parse_span(r) for r in ranges)
    trim_span = parse_span(trim, "--trim") if trim else None
    plan = build_plan(mode=mode, factor=factor, rate=fr, n_frames=None, ranges=spans, trim=trim_span)
    if isinstance(model, str):
        model = load_model(model, ModelOptions(factor=factor, batch_size=batch_size, **model_options))
    stats = StageStats()
    yield from interpolate_frames(source, plan, model, batch_size=batch_size, stats=stats,
                                  scene_threshold=scene_threshold, dedupe=dedupe)  # fmt: skip
    check_length(plan, spans, trim_span, stats.frames_in)


# ---------------------------------------------------------------------------------------------
# Threads


def _readinto_full(stream: IO[bytes], view: memoryview) -> int:
    got = 0
    total = len(view)
    while got < total:
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


class _Reader(threading.Thread):
    """Reads raw RGB frames from the decoder into a bounded queue; ends with ``_EOF`` or the
    exception that stopped it."""

    def __init__(self, stream: IO[bytes], shape: tuple[int, int, int], q: "queue.Queue[Any]",
                 stop: threading.Event, limit: Optional[int], stats: RunStats) -> None:  # fmt: skip
        super().__init__(daemon=True, name="ds-slowmo-reader")
        self.stream, self.shape, self.q, self.stop, self.limit, self.stats = stream, shape, q, stop, limit, stats
        self.count = 0
        self.hit_limit = False

    def run(self) -> None:
        try:
            nbytes = self.shape[0] * self.shape[1] * self.shape[2]
            while not self.stop.is_set():
                if self.limit is not None and self.count >= self.limit:
                    self.hit_limit = True
                    break
                frame = np.empty(self.shape, dtype=np.uint8)
                t0 = time.perf_counter()
                got = _readinto_full(self.stream, memoryview(frame.data).cast("B"))
                self.stats.decode_s += time.perf_counter() - t0
                if got == 0:
                    break
                if got < nbytes:
                    raise InputError(
                        f"the decoder stopped in the middle of frame {self.count} "
                        f"({got} of {nbytes} bytes); the input is truncated or corrupt"
                    )
                self.q.put(frame)
                self.count += 1
            self.q.put(_EOF)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.q.put(exc)


class _Writer(threading.Thread):
    """Writes frames from a bounded queue into an encoder, through ``transform`` if given
    (output frame number, frame) -> frame. On failure it records the exception and keeps
    draining, so the producer never blocks on a dead writer."""

    def __init__(self, stream: IO[bytes], q: "queue.Queue[Any]", progress: Optional[Progress],
                 stats: RunStats, transform: Optional[Callable[[int, np.ndarray], np.ndarray]] = None,
                 name: str = "ds-slowmo-writer") -> None:  # fmt: skip
        super().__init__(daemon=True, name=name)
        self.stream, self.q, self.progress, self.stats, self.transform = stream, q, progress, stats, transform
        self.count = 0
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            while True:
                item = self.q.get()
                if item is _EOF:
                    return
                if self.transform is not None:
                    item = self.transform(self.count, item)
                t0 = time.perf_counter()
                view = memoryview(item).cast("B")
                done = 0
                while done < len(view):
                    done += self.stream.write(view[done:]) or 0
                self.stats.encode_s += time.perf_counter() - t0
                self.count += 1
                if self.progress is not None:
                    self.progress.update(self.count)
        except BaseException as exc:
            self.error = exc
            while self.q.get() is not _EOF:
                pass

    def close(self) -> None:
        """Unblock and end the thread from outside (error paths): empty the queue, send EOF."""
        if self.is_alive():
            _drain(self.q)
            self.q.put(_EOF)


def _queue_items(q: "queue.Queue[Any]", stats: RunStats) -> Iterator[np.ndarray]:
    while True:
        t0 = time.perf_counter()
        item = q.get()
        stats.input_wait_s += time.perf_counter() - t0
        if item is _EOF:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _drain(q: "queue.Queue[Any]") -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


# ---------------------------------------------------------------------------------------------
# argv builders (pure)


def _video_codec_args(cfg: Config, ext: str, width: int, height: int) -> list[str]:
    if ext in _LOSSY_CONTAINERS:
        # PaddleGAN's setting; 4:2:0 needs even sizes, so odd frames keep full chroma
        pix = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        return ["-c:v", "libx264", "-crf", str(16 if cfg.crf is None else cfg.crf), "-pix_fmt", pix]
    return ["-crf", str(cfg.crf)] if cfg.crf is not None else []


def _stream_args(fmt: str, pix_fmt: str, crf: Optional[int]) -> list[str]:
    if fmt == "yuv4mpegpipe":
        return ["-f", "yuv4mpegpipe", "-pix_fmt", pix_fmt]
    if fmt == "rawvideo":
        return ["-f", "rawvideo", "-pix_fmt", "rgb24"]
    if fmt == "nut":
        return ["-f", "nut", "-c:v", "rawvideo", "-pix_fmt", pix_fmt]
    if fmt == "matroska":
        return ["-f", "matroska", "-c:v", "ffv1", "-pix_fmt", pix_fmt]
    return ["-f", fmt, "-c:v", "libx264", "-crf", str(16 if crf is None else crf), "-pix_fmt", "yuv420p"]


def audio_args(cfg: Config, plan: Plan, n_frames: int, has_audio: bool) -> list[str]:
    """Encoder arguments for the second input (the source file's audio)."""
    if cfg.input_is_pipe or cfg.output_is_pipe or not has_audio or cfg.audio == "drop":
        return []
    ext_in = os.path.splitext(cfg.input)[1].lower()
    ext_out = os.path.splitext(cfg.output)[1].lower()
    whole = plan.trim_start == 0 and (plan.trim_stop is None or plan.trim_stop >= n_frames)
    if plan.mode == "fps" and whole and ext_in == ext_out:
        return ["-map", "1:a:0", "-c:a", "copy"]
    segments = plan.audio_segments(n_frames)
    if not segments:
        return []
    graph = audio_filter_graph(segments, cfg.audio, plan.output_duration(n_frames))
    codec = ["-c:a", "aac"] if ext_out in _LOSSY_CONTAINERS else []
    return ["-filter_complex", graph, "-map", "[aout]"] + codec


def _rgb_input_argv(exe: str, width: int, height: int, rate: Fraction) -> list[str]:
    """An encoder's first input: our raw RGB frames on its stdin, at an exact rate."""
    return [exe, "-hide_banner", "-nostats", "-v", "warning", "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{width}x{height}", "-framerate", format_rate(rate), "-i", "pipe:0"]  # fmt: skip


def encoder_argv(
    exe: str, cfg: Config, *, width: int, height: int, rate: Fraction, target: str,
    pix_fmt: str, audio: Sequence[str],
) -> list[str]:  # fmt: skip
    argv = _rgb_input_argv(exe, width, height, rate)
    if audio:
        argv += ["-vn", "-i", cfg.input]
    argv += ["-map", "0:v:0"] + list(audio)
    if cfg.output_is_pipe:
        argv += _stream_args(cfg.format or "yuv4mpegpipe", pix_fmt, cfg.crf)
    else:
        ext = os.path.splitext(cfg.output)[1].lower()
        if ext == ".y4m":
            argv += ["-pix_fmt", pix_fmt]
        else:
            argv += _video_codec_args(cfg, ext, width, height)
    argv += list(cfg.encoder_args)
    argv += ["-y", target]
    return argv


# ---------------------------------------------------------------------------------------------
# A whole run


def _check_output_target(cfg: Config) -> None:
    """Every file this run will write must be new (or ``-y``) in an existing, writable folder."""
    targets = [("output", cfg.output)] if not cfg.output_is_pipe else []
    if cfg.compare:
        targets.append(("--compare", cfg.compare))
    if cfg.inspect is not None:
        targets.append(("--inspect", cfg.inspect_path))
    for what, path in targets:
        out = os.path.abspath(path)
        if os.path.exists(out) and not cfg.overwrite:
            raise UsageError(f"{what} {path} already exists; pass -y to overwrite it")
        folder = os.path.dirname(out)
        if not os.path.isdir(folder):
            raise UsageError(f"{what} folder {folder} does not exist; create it first")
        if not os.access(folder, os.W_OK):
            raise UsageError(f"{what} folder {folder} is not writable")


def _model_options(cfg: Config) -> ModelOptions:
    return ModelOptions(factor=cfg.factor, weights=cfg.weights, device=cfg.device,
                        batch_size=cfg.batch_size, scale=cfg.scale, threads=cfg.threads)  # fmt: skip


class _Originals:
    """The original frames, read in order from their own decoder, for the side-by-side view."""

    def __init__(self, q: "queue.Queue[Any]") -> None:
        self.q = q
        self.index = -1
        self.frame: Optional[np.ndarray] = None
        self.ended = False

    def at(self, j: int) -> np.ndarray:
        while self.index < j and not self.ended:
            item = self.q.get()
            if item is _EOF:
                self.ended = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self.index, self.frame = self.index + 1, item
        if self.frame is None:
            raise InputError("the input has no video frames")
        return self.frame  # past the end of the original: hold its last frame


class _Compare:
    """``--compare``: a second decoder of the input, and an encoder of ``[original | result]``."""

    def __init__(self, exe: str, cfg: Config, plan: Plan, info: ff.VideoInfo, model_name: str,
                 stack: ExitStack, stop: threading.Event) -> None:  # fmt: skip
        assert cfg.compare is not None
        self.cfg, self.plan = cfg, plan
        self.temp = temp_beside(cfg.compare)
        w2, h = 2 * info.width, info.height
        self.decoder = stack.enter_context(ff.FFmpegProcess(
            ff.file_decoder_argv(exe, cfg.input, info, 0, plan.trim_stop), role="compare decoder",
            stdout=subprocess.PIPE))  # fmt: skip
        speed = f"x{cfg.factor} {'slow motion' if cfg.mode == 'slowmo' else 'frame rate'}"
        labels = label_filter([("original", 0), (f"ds-slowmo {model_name} {speed}", info.width)], h)
        ext = os.path.splitext(cfg.compare)[1].lower()
        argv = _rgb_input_argv(exe, w2, h, plan.out_rate)
        argv += (["-vf", labels] if labels else []) + _video_codec_args(cfg, ext, w2, h) + ["-y", self.temp]
        self.encoder = stack.enter_context(ff.FFmpegProcess(argv, role="compare encoder", stdin=subprocess.PIPE))
        self.q_orig: "queue.Queue[Any]" = queue.Queue(maxsize=cfg.queue_size)
        self.q_out: "queue.Queue[Any]" = queue.Queue(maxsize=cfg.queue_size)
        self.reader = _Reader(self.decoder.stdout, (h, info.width, 3), self.q_orig, stop, plan.trim_stop,
                              RunStats())  # fmt: skip
        originals = _Originals(self.q_orig)

        def pair(k: int, frame: np.ndarray) -> np.ndarray:
            return side_by_side(originals.at(plan.original_index(k)), frame)

        self.writer = _Writer(self.encoder.stdin, self.q_out, None, RunStats(), pair, "ds-slowmo-compare")
        self.reader.start()
        self.writer.start()

    def put(self, frame: np.ndarray) -> None:
        if self.writer.error is not None:
            self._check_encoder()
        self.q_out.put(frame)

    def _check_encoder(self) -> None:
        code = self.encoder.finish()
        if code != 0:
            raise FFmpegError(f"encoding {self.cfg.compare} failed (ffmpeg exit code {code})", self.encoder.stderr_tail())
        if self.writer.error is not None:
            raise self.writer.error

    def finish(self) -> None:
        self.q_out.put(_EOF)
        self.writer.join()
        self.decoder.kill()  # the originals past the result's end are not needed
        _drain(self.q_orig)
        self.reader.join()
        self._check_encoder()
        assert self.cfg.compare is not None
        os.replace(self.temp, self.cfg.compare)

    def abort(self) -> None:
        _drain(self.q_orig)
        self.writer.close()
        for t in (self.reader, self.writer):
            t.join(timeout=10)
        _unlink(self.temp)


def _unlink(path: Optional[str]) -> None:
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _inspect_window(cfg: Config, plan: Plan, n_frames: Optional[int]) -> Optional[tuple[int, int]]:
    """Output frame numbers ``[first, last]`` of ``--inspect GAP``: its left frame, in-betweens
    and right frame."""
    if cfg.inspect is None:
        return None
    g = cfg.inspect
    if not (plan.keeps(g) and plan.keeps(g + 1)) or (n_frames is not None and g + 1 >= n_frames):
        kept = f"{plan.trim_start}..{'' if n_frames is None else plan.kept(n_frames).stop - 2}"
        raise UsageError(f"--inspect {g}: gap {g} (frames {g} and {g + 1}) is not in the kept input (gaps {kept})")
    first = plan.output_index(g)
    return first, first + 1 + len(plan.gap_times(g))


def _write_inspect(exe: str, cfg: Config, plan: Plan, frames: list[np.ndarray], stats: RunStats) -> str:
    g = cfg.inspect
    assert g is not None
    path = cfg.inspect_path
    if len(frames) < 2:
        raise UsageError(f"--inspect {g}: the input ended before gap {g}")
    sheet, tile_w = contact_sheet(frames)
    cut = any(a <= g < b for a, b in stats.cuts)
    note = " cut: copy" if cut else ""
    labels = [(f"frame {g}", 0)] + [
        (f"t={t}{note}", (j + 1) * tile_w) for j, t in enumerate(plan.gap_times(g))
    ] + [(f"frame {g + 1}", (len(frames) - 1) * tile_w)]  # fmt: skip
    write_png(exe, sheet, path, label_filter(labels, sheet.shape[0]))
    return path


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
    ``chunk`` runs one piece of a chunked run (:mod:`ds_slowmo.chunks`): its decoder seeks to
    the chunk, and exactly the chunk's output frames are written (video only)."""
    t_start = time.perf_counter()
    stats = RunStats(input=cfg.input, output=cfg.output)
    exe = ff.find_ffmpeg()
    _check_output_target(cfg)
    info: Optional[ff.VideoInfo] = None
    if not cfg.input_is_pipe:
        info = ff.constant_rate(ff.probe(cfg.input, exe))[0]
        if info.n_frames == 0:
            raise InputError(f"{cfg.input} has no video frames")

    stop = threading.Event()
    q_in: "queue.Queue[Any]" = queue.Queue(maxsize=cfg.queue_size)
    q_out: "queue.Queue[Any]" = queue.Queue(maxsize=max(cfg.queue_size, cfg.factor))
    reader: Optional[_Reader] = None
    writer: Optional[_Writer] = None
    compare: Optional[_Compare] = None
    temp = None if cfg.output_is_pipe else temp_beside(cfg.output)
    finished = False
    with ExitStack() as stack:
        try:
            plan: Optional[Plan] = None
            if info is not None:
                plan = _plan(cfg, info)
                window = _inspect_window(cfg, plan, info.n_frames)
                model = model or load_model(cfg.model, _model_options(cfg))
            # a file decoder starts where it is needed: a chunk's first frame, or the trim's
            first = chunk.start if chunk else (plan.trim_start if plan else 0)
            if chunk:
                limit: Optional[int] = chunk.decode_count
            elif plan is not None and plan.trim_stop is not None:
                limit = plan.trim_stop - first
            else:
                limit = None
            if info is not None:  # a file: exactly the frames [first, first + limit), by their timestamps
                dec_argv = ff.file_decoder_argv(exe, cfg.input, info, first, limit)
            else:
                dec_argv = ff.decoder_argv(exe, cfg.input, pipe=True, limit=limit)
            decoder = stack.enter_context(ff.FFmpegProcess(
                dec_argv,
                role="decoder", stdin=(stdin if stdin is not None else sys.stdin.fileno()) if cfg.input_is_pipe else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
            ))  # fmt: skip
            if info is None:
                info = _pipe_info(cfg, decoder)
                plan = _plan(cfg, info)
                limit = plan.trim_stop  # a pipe can't seek: read from its start, stop at the trim's end
                window = _inspect_window(cfg, plan, None)
                model = model or load_model(cfg.model, _model_options(cfg))
            assert plan is not None and model is not None
            stats.plan, stats.model = plan, model.name
            stats.width, stats.height, stats.in_rate, stats.out_rate = info.width, info.height, plan.in_rate, plan.out_rate
            n_known = info.n_frames
            audio = audio_args(cfg, plan, n_known, info.has_audio) if n_known and not chunk else []
            encoder = stack.enter_context(ff.FFmpegProcess(
                encoder_argv(exe, cfg, width=info.width, height=info.height, rate=plan.out_rate,
                             target=temp or "pipe:1", pix_fmt=ff.output_pix_fmt(info.pix_fmt), audio=audio),
                role="encoder", stdin=subprocess.PIPE,
                stdout=(stdout if stdout is not None else sys.stdout.fileno()) if cfg.output_is_pipe else subprocess.DEVNULL,
            ))  # fmt: skip
            prepare(model, info.height, info.width)
            if cfg.compare is not None:
                compare = _Compare(exe, cfg, plan, info, model.name, stack, stop)
            total = chunk.out_count if chunk else (plan.output_count(n_known) if n_known else None)
            show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
            progress = Progress(total) if show else None
            reader = _Reader(decoder.stdout, (info.height, info.width, 3), q_in, stop, limit, stats)
            writer = _Writer(encoder.stdin, q_out, progress, stats)
            reader.start()
            writer.start()
            stats.setup_s = time.perf_counter() - t_start

            frames_out = interpolate_frames(
                _queue_items(q_in, stats), plan, model, batch_size=cfg.batch_size, stats=stats,
                scene_threshold=cfg.scene_threshold if cfg.scene_detect else None,
                dedupe=cfg.dedupe_threshold if cfg.dedupe else None,
                first_index=first,
                stop_before=chunk.stop if chunk and not chunk.last else None,
            )  # fmt: skip
            inspected: list[np.ndarray] = []
            for k, out in enumerate(frames_out):
                if writer.error is not None:
                    _finish_encoder(encoder, writer, cfg)  # raises: the writer failed
                t0 = time.perf_counter()
                q_out.put(out)
                stats.output_wait_s += time.perf_counter() - t0
                if compare is not None:
                    compare.put(out)
                if window is not None and window[0] <= k <= window[1]:
                    inspected.append(out)
            q_out.put(_EOF)
            writer.join()
            n_read = reader.count
            reader.join()
            if progress is not None:
                progress.close()
            _finish_decoder(decoder, reader, cfg)
            _finish_encoder(encoder, writer, cfg)
            stats.frames_out = writer.count
            # every frame accounted for
            if n_read == 0:
                raise InputError("the input has no video frames")
            if chunk is not None:
                if n_read != chunk.decode_count:
                    raise InputError(
                        f"chunk {chunk.index}: the decoder gave {n_read} frames from frame {chunk.start}, "
                        f"expected {chunk.decode_count}; this file does not seek frame-exactly (run without --jobs)"
                    )
                expected = chunk.out_count
            else:
                n_in = first + n_read  # source frames up to where decoding stopped
                if first and not reader.hit_limit and info.n_frames is not None and n_in != info.n_frames:
                    raise InputError(
                        f"seeking to frame {first} of {cfg.input} was not frame-exact ({n_read} frames "
                        f"after it, expected {info.n_frames - first}); please report this file"
                    )
                if not reader.hit_limit:
                    check_length(plan, cfg.ranges, cfg.trim, n_in)
                expected = plan.output_count(n_in)
            if stats.frames_out != expected:
                raise SlowmoError(
                    f"internal error: wrote {stats.frames_out} frames, the plan says {expected}; please report this"
                )
            if compare is not None:
                compare.finish()
            if window is not None:
                stats.inspect_path = _write_inspect(exe, cfg, plan, inspected, stats)
            if temp is not None:
                os.replace(temp, cfg.output)
            finished = True
        finally:
            stop.set()
            if not finished:
                # kill the processes first: that unblocks any thread stuck on a pipe
                stack.close()
                _drain(q_in)
                if writer is not None:
                    writer.close()
                if compare is not None:
                    compare.abort()
            for t in (reader, writer):
                if t is not None:
                    t.join(timeout=10)
            if not finished:
                _unlink(temp)
    stats.wall_s = time.perf_counter() - t_start
    return stats


def _plan(cfg: Config, info: ff.VideoInfo) -> Plan:
    rate = cfg.input_rate or info.rate
    return build_plan(mode=cfg.mode, factor=cfg.factor, rate=rate, n_frames=info.n_frames,
                      ranges=cfg.ranges, trim=cfg.trim)  # fmt: skip


def _pipe_info(cfg: Config, decoder: ff.FFmpegProcess) -> ff.VideoInfo:
    header = decoder.wait_header()
    try:
        return ff.parse_input_info(header)
    except InputError:
        decoder.kill()
        said = ffmpeg_said(decoder.stderr_tail(), 1)
        if not said or "Input #0" not in header:
            raise InputError(
                "standard input is not a video stream ffmpeg can read"
                + (f" (ffmpeg said: {said})" if said else "")
                + "; pipe y4m, nut, matroska or mpegts, or give an input file"
            ) from None
        raise


def _finish_decoder(decoder: ff.FFmpegProcess, reader: _Reader, cfg: Config) -> None:
    if reader.hit_limit:
        decoder.kill()  # we stopped reading on purpose (trim end)
        return
    code = decoder.finish()
    if code != 0:
        raise FFmpegError(
            f"decoding {'standard input' if cfg.input_is_pipe else cfg.input} failed (ffmpeg exit code {code})",
            decoder.stderr_tail(),
        )


def _finish_encoder(encoder: ff.FFmpegProcess, writer: _Writer, cfg: Config) -> None:
    code = encoder.finish()
    tail = encoder.stderr_tail()
    failed = code != 0 or writer.error is not None
    closed = code == -13 or "Broken pipe" in tail or isinstance(writer.error, BrokenPipeError)
    if cfg.output_is_pipe and failed and closed:
        raise OutputClosed("the reader of standard output closed the pipe")
    if code != 0:
        raise FFmpegError(f"encoding {cfg.output if not cfg.output_is_pipe else 'to standard output'} failed (ffmpeg exit code {code})", tail)
    if writer.error is not None:
        raise writer.error
