"""argv -> Config -> run; errors -> one stderr line and an exit code.

Exit codes: 0 done (also when the reader of stdout closed the pipe early), 1 runtime failure,
2 usage error, 130 interrupted. ``DS_SLOWMO_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import NoReturn, Optional, Sequence

from . import __version__
from .analysis import CUT_THRESHOLD, DUP_THRESHOLD
from .config import Config
from .errors import OutputClosed, SlowmoError, UsageError
from .models import DEFAULT_MODEL, MODELS

__all__ = ["main", "build_parser"]

PROG = "ds-slowmo"

EPILOG = """\
examples:
  ds-slowmo in.mp4 -o out.mp4 --factor 4 --range 4.8s:6.0s     slow 4.8-6.0 s down 4x, audio kept in sync
  ds-slowmo in.mp4 -o out.mp4 --mode fps --factor 2            double the frame rate, same duration
  ds-slowmo in.mp4 -o out.mp4 --fps 59.94                       any output rate, same duration
  ffmpeg -i in.mp4 -f yuv4mpegpipe - | ds-slowmo --factor 4 --range 120:150 | ffmpeg -i - out.mp4

positions (for --range and --trim): a frame number (120), seconds (4.8s) or a clock time
(00:01:02.5); either end may be left open (120: or :6s). Range numbers refer to the original
input even with --trim. Times map to frames by rounding time x rate.

pipes: INPUT '-' reads any stream ffmpeg can read from a pipe (y4m, nut, matroska, mpegts);
OUTPUT '-' writes y4m in the input's pixel format. Pipe mode carries video only: audio needs a
file input and a file output. Messages and progress go to stderr; stdout carries only video.

exit codes: 0 done, 1 runtime failure, 2 usage error, 130 interrupted.
Set DS_SLOWMO_DEBUG=1 for tracebacks, DS_SLOWMO_FFMPEG to pick an ffmpeg binary,
DS_SLOWMO_HOME for the model cache (default ~/.cache/ds-slowmo).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="Streaming slow motion and frame interpolation: make chosen moments slow "
        "motion, or raise the frame rate, with a deep interpolation model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", nargs="?", default="-", metavar="INPUT",
                   help="video file or URL; '-' (default) reads a stream from stdin")
    p.add_argument("-o", "--output", default="-", metavar="OUTPUT",
                   help="output file (container from its extension); '-' (default) writes to stdout")
    p.add_argument("-f", "--format", default=None, metavar="FMT",
                   help="stream format for stdout: y4m (default), nut, matroska, mpegts, rawvideo")
    p.add_argument("-y", "--overwrite", action="store_true", help="overwrite an existing OUTPUT")

    g = p.add_argument_group("what to make")
    speed = g.add_mutually_exclusive_group()
    speed.add_argument("--factor", type=_int, default=None, metavar="F",
                       help="frames per input frame interval, an integer >= 2 (default 2)")
    speed.add_argument("--slow-rate", default=None, metavar="R",
                       help="the same as a speed: 0.5 = --factor 2, 0.25 = --factor 4")
    g.add_argument("--mode", choices=("slowmo", "fps"), default="slowmo",
                   help="slowmo: same rate, slowed ranges last F times longer (default); "
                   "fps: F times the frame rate, same duration")
    g.add_argument("--fps", default=None, metavar="RATE",
                   help="output frame rate: 60, 50, 60000/1001, any positive rational (23.976, 29.97, 59.94, "
                   "119.88 mean n*1000/1001); alone it keeps the duration, with --range it also slows the ranges")
    g.add_argument("--range", dest="ranges", action="append", default=[], metavar="A:B",
                   help="slow only frames A..B (or times); repeatable; default: the whole input")
    g.add_argument("--trim", default=None, metavar="A:B", help="keep only input frames [A, B) (or times)")
    g.add_argument("--input-rate", default=None, metavar="RATE",
                   help="take the input's frame rate as RATE (e.g. 30000/1001) instead of what ffmpeg reports")

    m = p.add_argument_group("model")
    m.add_argument("--model", choices=sorted(MODELS), default=DEFAULT_MODEL,
                   help=f"interpolation model (default {DEFAULT_MODEL})")
    m.add_argument("--weights", default=None, metavar="PATH", help="model weights to use instead of the default")
    m.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help="where the model runs (default auto)")
    m.add_argument("--scale", type=float, default=1.0, metavar="S",
                   help="rife: estimate flow at this scale, 1, 0.5 or 0.25 (lower for HD/4K; default 1)")
    m.add_argument("--batch-size", type=_int, default=1, metavar="N", help="frame pairs per model call (default 1)")
    m.add_argument("--queue-size", type=_int, default=8, metavar="N",
                   help="frames buffered between stages; bounds memory (default 8)")
    m.add_argument("--threads", type=_int, default=None, metavar="N", help="CPU threads for the model (default: all cores)")

    r = p.add_argument_group("what the interpolation may not do, and checking it")
    r.add_argument("--scene-detect", action=argparse.BooleanOptionalAction, default=True,
                   help="at a scene cut, copy the nearer frame instead of mixing two shots (default on)")
    r.add_argument("--scene-threshold", type=float, default=CUT_THRESHOLD, metavar="X",
                   help=f"how different two frames must be to count as a cut, 0-255 (default {CUT_THRESHOLD:g})")
    r.add_argument("--dedupe", action="store_true",
                   help="treat runs of (near-)identical frames as one held frame and interpolate "
                   "through them; no frame is removed, timing is kept")
    r.add_argument("--dedupe-threshold", type=float, default=DUP_THRESHOLD, metavar="X",
                   help=f"largest difference still counted as a duplicate, 0-255 (default {DUP_THRESHOLD:g})")
    r.add_argument("--compare", default=None, metavar="FILE",
                   help="also write a side-by-side video: original left, result right (file input)")
    r.add_argument("--inspect", type=_int, default=None, metavar="GAP",
                   help="also write a PNG contact sheet of gap GAP (frames GAP, GAP+1 and the in-betweens)")
    r.add_argument("--inspect-output", default=None, metavar="FILE",
                   help="where --inspect writes (default inspect-gapGAP.png)")
    r.add_argument("-v", "--verbose", action="store_true", help="list scene cuts and other details on stderr")

    s = p.add_argument_group("scale-out (file or folder input)")
    s.add_argument("--jobs", type=_int, default=1, metavar="N",
                   help="run N chunks of the file (or N files of a folder) at a time in worker processes; "
                   "a rerun resumes where a failed or interrupted run stopped")
    s.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run the chunks or files as Ray tasks (on ADDRESS, $RAY_ADDRESS, or a local Ray); "
                   "pip install 'ds-slowmo[ray]'")
    s.add_argument("--chunk-seconds", type=float, default=10.0, metavar="S",
                   help="length of a chunk, cut at the next keyframe (default 10)")

    o = p.add_argument_group("output")
    o.add_argument("--audio", choices=("stretch", "mute", "drop"), default="stretch",
                   help="file mode: stretch slowed audio (pitch kept), mute it, or drop the audio track (default stretch)")
    o.add_argument("--crf", type=_int, default=None, metavar="N", help="x264 quality for .mp4/.mkv/.mov (default 16)")
    o.add_argument("--encoder-args", default=None, metavar="ARGS",
                   help="extra ffmpeg output options, e.g. \"-preset slow -tune film\"")
    o.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: when stderr is a terminal)")
    o.add_argument("--stats", action="store_true", help="print a summary of the run on stderr at the end")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    return Config.from_strings(
        ranges=args.ranges, trim=args.trim, slow_rate=args.slow_rate, input_rate=args.input_rate,
        encoder_args=args.encoder_args, fps=args.fps, input=args.input, output=args.output, format=args.format,
        factor=args.factor, mode=args.mode, model=args.model, weights=args.weights, device=args.device,
        batch_size=args.batch_size, queue_size=args.queue_size, scale=args.scale, audio=args.audio,
        progress=args.progress, overwrite=args.overwrite, crf=args.crf, threads=args.threads,
        scene_detect=args.scene_detect, scene_threshold=args.scene_threshold, dedupe=args.dedupe,
        dedupe_threshold=args.dedupe_threshold, compare=args.compare, inspect=args.inspect,
        inspect_output=args.inspect_output, jobs=args.jobs, ray=args.ray, chunk_seconds=args.chunk_seconds,
    )  # fmt: skip


def _on_sigterm(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    debug = os.environ.get("DS_SLOWMO_DEBUG", "") not in ("", "0")
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = build_parser().parse_args(argv)
        cfg = config_from_args(args)
        _log_to_stderr(args.verbose)
        if cfg.output_is_pipe and sys.stdout.isatty() and cfg.format != "rawvideo":
            raise UsageError("refusing to write video to a terminal; give -o OUTPUT or pipe stdout into a program")
        if cfg.input_is_batch:
            return _run_folder(cfg)
        if cfg.chunked:
            from .parallel import run_chunked

            stats = run_chunked(cfg)
        else:
            from .pipeline import run

            stats = run(cfg)
        if args.stats:
            _print_stats(stats)
        return 0
    except OutputClosed:
        if debug:
            raise
        return 0
    except SlowmoError as exc:
        if debug:
            raise
        sys.stderr.write(f"{PROG}: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_folder(cfg: Config) -> int:
    from .parallel import run_folder

    def report(src: str, res: dict) -> None:
        state = "done" if res["ok"] else f"FAILED: {res['error']}"
        sys.stderr.write(f"{PROG}: {src}: {state}\n")

    result = run_folder(cfg, on_result=report)
    total = len(result.done) + len(result.failed)
    sys.stderr.write(f"{PROG}: {len(result.done)} of {total} videos done, {len(result.failed)} failed\n")
    for src, why in result.failed:
        sys.stderr.write(f"{PROG}: failed: {src}: {why}\n")
    return 1 if result.failed else 0


def _log_to_stderr(verbose: bool) -> None:
    """Our messages on stderr as ``ds-slowmo: ...``: warnings always, details with -v. They
    don't propagate to the root logger, where Paddle installs a handler of its own."""
    log = logging.getLogger("ds_slowmo")
    log.propagate = False
    if not any(getattr(h, "_ds_slowmo", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        handler._ds_slowmo = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO if verbose else logging.WARNING)


def _print_stats(stats: object) -> None:
    from .pipeline import RunStats

    assert isinstance(stats, RunStats)
    d = stats.as_dict()
    sys.stderr.write(
        f"{PROG}: {d['frames_in']} frames in ({d['size']} @ {d['in_rate']}) -> {d['frames_out']} out "
        f"@ {d['out_rate']}, {d['interpolated']} interpolated by {d['model']} in {d['wall_s']:.2f} s "
        f"({d['fps_out']:.1f} fps; model busy {100 * stats.model_busy:.0f}%); "
        f"{len(stats.cuts)} scene cuts, {stats.duplicates} duplicate frames\n"
    )
    if stats.inspect_path:
        sys.stderr.write(f"{PROG}: wrote {stats.inspect_path}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
