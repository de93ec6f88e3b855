"""argv -> Config -> run; errors -> one stderr line and an exit code.

Exit codes: 0 done (also when the reader of stdout closed the pipe early), 1 runtime failure,
2 usage error, 130 interrupted. ``DS_SLOWMO_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, Callable, NoReturn, Optional, Sequence

from . import __version__
from .config import Config
from .errors import OutputClosed, SlowmoError, UsageError
from .options import BY_FIELD, GROUPS, OPTIONS, Option
from .progress import progress_for
from .stats import RunStats
from .threads import stop_signals_interrupt

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


def _argparse_type(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _add(target: Any, opt: Option) -> None:
    kwargs: dict[str, Any] = {"help": opt.help, "default": argparse.SUPPRESS}
    if opt.action == "bool":
        kwargs["action"] = argparse.BooleanOptionalAction
    elif opt.action is not None:
        kwargs["action"] = opt.action
    else:
        if opt.convert is not None:
            kwargs["type"] = _argparse_type(opt.convert)
        if opt.choices is not None:
            kwargs["choices"] = opt.choices
    if opt.metavar is not None:
        kwargs["metavar"] = opt.metavar
    if opt.nargs is not None:
        kwargs["nargs"] = opt.nargs
    if opt.const is not None:
        kwargs["const"] = opt.const
    if opt.flags[0].startswith("-"):
        kwargs["dest"] = opt.field
    target.add_argument(*opt.flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The parser, generated from the option table. Only the options given on the command
    line end up in the namespace; every default is the table's, applied by :class:`Config`."""
    p = _Parser(
        prog=PROG,
        description="Streaming slow motion and frame interpolation: make chosen moments slow "
        "motion, or raise the frame rate, with a deep interpolation model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    groups = {name: p.add_argument_group(name) for name in GROUPS}
    exclusive: dict[str, Any] = {}
    for opt in OPTIONS:
        target: Any = groups[opt.group]
        if opt.exclusive is not None:
            if opt.exclusive not in exclusive:
                exclusive[opt.exclusive] = target.add_mutually_exclusive_group()
            target = exclusive[opt.exclusive]
        _add(target, opt)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    given = {k: v for k, v in vars(args).items() if not BY_FIELD[k].cli_only}
    return Config.from_strings(**given)


def _cli_flag(args: argparse.Namespace, field: str) -> bool:
    return bool(getattr(args, field, BY_FIELD[field].default))


def main(argv: Optional[Sequence[str]] = None) -> int:
    debug = os.environ.get("DS_SLOWMO_DEBUG", "") not in ("", "0")
    try:
        with stop_signals_interrupt():
            return _main(argv)
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


def _main(argv: Optional[Sequence[str]]) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    _log_to_stderr(_cli_flag(args, "verbose"))
    with progress_for(cfg.progress):
        return _run(cfg, args)


def _run(cfg: Config, args: argparse.Namespace) -> int:
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
    if _cli_flag(args, "stats"):
        _print_stats(stats)
    return 0


def _run_folder(cfg: Config) -> int:
    from .parallel import run_folder

    def report(src: str, error: Optional[str]) -> None:
        state = "done" if error is None else f"FAILED: {error}"
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


def _print_stats(stats: RunStats) -> None:
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
