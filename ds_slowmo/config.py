"""The validated request: a frozen dataclass whose defaults come from the option table
(:mod:`ds_slowmo.options`), checked before any work starts.

:class:`Config` checks values; :func:`check_paths` checks the filesystem (input readable,
outputs writable and new unless ``-y``, output not the input).
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Optional, Union

from . import containers
from .containers import PIPE_FORMATS, frame_codes, frame_name, is_sequence
from .errors import InputError, UsageError
from .ffmpeg import can_write, find_ffmpeg, is_url
from .options import BY_FIELD, default
from .plan import MODES, Span, parse_rate, parse_slow_rate, parse_span

__all__ = ["Config", "check_paths"]

_SCALES = ("auto", 1.0, 0.5, 0.25)


@dataclass(frozen=True)
class Config:
    """Everything one run needs. Build it with :meth:`from_strings` (the CLI and the API both
    do): user-written strings are parsed there, so a bad request fails before any process
    starts. Defaults are the option table's."""

    input: str = default("input")
    output: str = default("output")
    format: Optional[str] = default("format")  # stream format for a pipe output; default y4m
    factor: int = default("factor")
    mode: str = default("mode")
    ranges: tuple[Span, ...] = default("ranges")
    trim: Optional[Span] = default("trim")
    model: str = default("model")
    weights: Optional[str] = default("weights")
    device: str = default("device")
    runtime: str = default("runtime")
    precision: str = default("precision")
    batch_size: int = default("batch_size")
    queue_size: int = default("queue_size")
    scale: Union[float, str] = default("scale")
    audio: str = default("audio")
    audio_stretch: str = default("audio_stretch")  # pin (onsets on their picture) or atempo
    progress: Optional[bool] = default("progress")  # None: on when stderr is a terminal
    overwrite: bool = default("overwrite")
    crf: Optional[int] = default("crf")
    encoder_args: tuple[str, ...] = ()
    input_rate: Optional[Fraction] = default("input_rate")  # override the input's rate
    deinterlace: bool = default("deinterlace")
    fps: Optional[Fraction] = default("fps")  # output frame rate (--fps); None: from mode and factor
    threads: Optional[int] = default("threads")
    scene_detect: bool = default("scene_detect")
    scene_threshold: float = default("scene_threshold")
    dedupe: bool = default("dedupe")
    dedupe_threshold: float = default("dedupe_threshold")
    compare: Optional[str] = default("compare")  # also write a side-by-side video here
    inspect: Optional[int] = default("inspect")  # write a contact sheet of this gap
    inspect_output: Optional[str] = default("inspect_output")
    jobs: int = default("jobs")  # chunks (one file) or files (a folder) at a time
    ray: Optional[str] = default("ray")  # "" = local or $RAY_ADDRESS, else a cluster address
    chunk_seconds: float = default("chunk_seconds")

    def __post_init__(self) -> None:
        self._check_speed()
        self._check_model()
        self._check_review()
        self._check_output()
        if self.jobs < 1:
            raise UsageError(f"--jobs must be >= 1 (got {self.jobs})")
        if not (math.isfinite(self.chunk_seconds) and self.chunk_seconds > 0):
            raise UsageError(f"--chunk-seconds must be a positive number of seconds (got {self.chunk_seconds})")

    def _check_speed(self) -> None:
        if self.factor < 2:
            raise UsageError(f"--factor must be an integer >= 2 (got {self.factor})")
        if self.factor > 64:
            raise UsageError(f"--factor must be at most 64 (got {self.factor})")
        if self.mode not in MODES:
            raise UsageError(f"--mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        if self.fps is not None and self.fps <= 0:
            raise UsageError(f"--fps must be positive (got {self.fps})")
        if self.mode == "fps" and self.ranges:
            raise UsageError("--range has no meaning with --mode fps (it raises the rate everywhere); use --trim")
        for span in self.ranges + ((self.trim,) if self.trim else ()):
            _check_order(span, "--trim" if span is self.trim else "--range")

    def _check_model(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1 (got {self.batch_size})")
        if self.queue_size < 1:
            raise UsageError(f"--queue-size must be >= 1 (got {self.queue_size})")
        if self.scale not in _SCALES:
            raise UsageError(f"--scale must be auto, 1, 0.5 or 0.25 (got {self.scale})")
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise UsageError(f"--crf must be between 0 and 63 (got {self.crf})")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be >= 1 (got {self.threads})")

    def _check_review(self) -> None:
        if not 0 < self.scene_threshold <= 255:
            raise UsageError(f"--scene-threshold must be in (0, 255] (got {self.scene_threshold})")
        if not 0 <= self.dedupe_threshold <= 255:
            raise UsageError(f"--dedupe-threshold must be in [0, 255] (got {self.dedupe_threshold})")
        if self.inspect is not None and self.inspect < 0:
            raise UsageError(f"--inspect takes a gap number >= 0 (got {self.inspect})")
        if self.compare is not None:
            if self.input_is_pipe:
                raise UsageError("--compare needs an input file (it reads the original a second time)")
            if not os.path.splitext(self.compare)[1]:
                raise UsageError(f"--compare {self.compare} has no extension; name it like compare.mp4")
            if containers.of_file(self.compare).sequence:
                raise UsageError(f"--compare {self.compare} names an image; the comparison is a video: name it like "
                                 "compare.mp4")  # fmt: skip
            if self.compare in (self.output, self.input):
                raise UsageError("--compare must name a file other than the input and the output")
        if self.chunked and (self.dedupe or self.compare is not None or self.inspect is not None):
            raise UsageError("--dedupe, --compare and --inspect don't combine with --jobs/--ray on one file yet")

    def _check_output(self) -> None:
        if self.format is not None:
            fmt = containers.pipe_format(self.format)
            if fmt is None:
                raise UsageError(f"-f/--format must be one of {', '.join(PIPE_FORMATS)} (got {self.format!r})")
            if not self.output_is_pipe:
                raise UsageError("-f/--format applies to a pipe output; a file output's format follows its extension")
            object.__setattr__(self, "format", fmt)
        if self.input_is_batch:
            if self.output_is_pipe:
                raise UsageError("a folder or glob INPUT needs -o FOLDER for the outputs")
            if self.compare is not None or self.inspect is not None:
                raise UsageError("--compare and --inspect take one input file, not a folder")
        elif not self.output_is_pipe and not os.path.splitext(self.output)[1] and not os.path.isdir(self.output):
            raise UsageError(f"output {self.output} has no extension; name it like out.mp4 or out.mkv")
        elif not self.output_is_pipe:
            _check_frame_numbers(self.output)

    @property
    def input_is_pipe(self) -> bool:
        return self.input == "-"

    @property
    def output_is_pipe(self) -> bool:
        return self.output == "-"

    @property
    def inspect_path(self) -> str:
        """Where ``--inspect`` writes its contact sheet."""
        return self.inspect_output or f"inspect-gap{self.inspect}.png"

    @property
    def input_is_batch(self) -> bool:
        """A folder, or a glob pattern that is not itself a file."""
        if self.input_is_pipe:
            return False
        return os.path.isdir(self.input) or (any(c in self.input for c in "*?[") and not os.path.exists(self.input))

    @property
    def chunked(self) -> bool:
        """One file split into chunks run in parallel."""
        return (self.jobs > 1 or self.ray is not None) and not self.input_is_batch

    @classmethod
    def from_strings(cls, **options: Any) -> "Config":
        """Build from the CLI's or the API's values: strings are converted as the command line
        converts them, other values are type-checked, paths may be ``os.PathLike``, and
        ``ranges`` may be one string or a list. Unknown names are usage errors."""
        values: dict[str, Any] = {}
        for name, value in options.items():
            opt = BY_FIELD.get(name)
            if opt is None or opt.cli_only:
                raise UsageError(f"unknown option {name!r}")
            if name in ("input", "output", "compare", "inspect_output", "weights") and isinstance(value, os.PathLike):
                value = os.fspath(value)
            values[name] = opt.coerce(value)
        _fold_fps(values)
        _fold_slow_rate(values)
        values["ranges"] = tuple(parse_span(r, "--range") for r in values.get("ranges") or ())
        trim = values.get("trim")
        values["trim"] = parse_span(trim, "--trim") if trim else None
        rate = values.get("input_rate")
        values["input_rate"] = parse_rate(rate) if rate else None
        values["encoder_args"] = _split_args(values.get("encoder_args"))
        return cls(**{k: v for k, v in values.items() if v is not None or BY_FIELD[k].default is None})


def _check_frame_numbers(output: str) -> None:
    """A frame number in an output's name (``%d``, ``%04d``; ``%%`` is a literal ``%``) makes
    an image sequence of a known image type (:mod:`ds_slowmo.containers`), which names exactly
    one; a video file's name may hold any ``%``."""
    name = os.path.basename(output)
    if "%" not in name:
        return
    codes = frame_codes(name)
    ext = os.path.splitext(name)[1]
    if not containers.known(output) and codes:
        raise UsageError(f"output {output}: a frame number in the name makes an image sequence, and {ext} is no "
                         "image type ds-slowmo knows (.png, .tif, .jpg, .exr, .dpx, ...); write %% for a literal %")
    if containers.of_file(output).sequence and codes != 1:
        what = "a % that starts no frame number" if codes is None else f"{codes} frame numbers"
        raise UsageError(f"output {output} has {what}; an image sequence names one, like frames_%04d{ext} "
                         "(write %% for a literal %)")  # fmt: skip


def _check_order(span: Span, option: str) -> None:
    """A span whose ends are written the same way (two frames, or two times) must run forward;
    said before any input is read (spans of mixed kinds are checked against the input's rate)."""
    a, b = span.start, span.stop
    if a is None or b is None:
        return
    ends = (a.frame, b.frame) if a.frame is not None and b.frame is not None else (a.seconds, b.seconds)
    if None not in ends and ends[0] >= ends[1]:  # type: ignore[operator]
        raise UsageError(f"{option} {span}: the start must come before the end")


def _fold_fps(values: dict[str, Any]) -> None:
    """``--fps`` without ``--range`` only changes the rate (mode ``fps``); with ``--range`` it
    slows the ranges by the factor and writes at that rate."""
    if values.get("fps") is None or values.get("ranges"):
        return
    if values.get("slow_rate") is not None or values.get("factor") is not None:
        raise UsageError("--fps without --range only changes the frame rate; --factor/--slow-rate slow a --range down")
    values["mode"] = "fps"


def _fold_slow_rate(values: dict[str, Any]) -> None:
    slow = values.pop("slow_rate", None)
    if slow is None:
        return
    factor = parse_slow_rate(slow)
    if values.get("factor") not in (None, factor):
        raise UsageError(f"--slow-rate {slow} means --factor {factor}, but --factor {values['factor']} was also given")
    values["factor"] = factor


def _split_args(text: Optional[str]) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text)) if text else ()
    except ValueError as exc:
        raise UsageError(f"--encoder-args: {exc}") from None


def local_path(path: str) -> str:
    """ffmpeg's ``file:NAME`` is the file NAME."""
    return path[5:] if path.startswith("file:") else path


def check_paths(cfg: Config) -> None:
    """The filesystem side of a request: the input is a readable file (or a URL), every file
    this run writes is new (or ``-y``) in an existing, writable folder, in a format ffmpeg can
    write, and the output is not the input."""
    src = local_path(cfg.input)
    if not cfg.input_is_pipe and not is_url(src):
        if not os.path.exists(src):
            raise InputError(f"input file not found: {cfg.input}")
        if os.path.isdir(src):
            raise InputError(f"input is a folder, not a video file: {cfg.input}")
        if not os.access(src, os.R_OK):
            raise InputError(f"input file is not readable (permissions): {cfg.input}")
    if not cfg.output_is_pipe and os.path.isdir(cfg.output):
        raise UsageError(f"output {cfg.output} is a folder; give a file name such as out.mp4")
    if not cfg.output_is_pipe and not cfg.input_is_pipe and os.path.abspath(cfg.output) == os.path.abspath(cfg.input):
        raise UsageError("the output file is the input file; choose another output name")
    targets = [("output", cfg.output)] if not cfg.output_is_pipe else []
    if cfg.compare:
        targets.append(("--compare", cfg.compare))
    if cfg.inspect is not None:
        targets.append(("--inspect", cfg.inspect_path))
    for what, path in targets:
        head, name = os.path.split(os.path.abspath(path))
        out = os.path.join(head, frame_name(name, 1) if is_sequence(path) else name)
        if is_sequence(path) and "%" in head:
            raise UsageError(f"{what} {path}: ffmpeg reads a % in an image sequence's folder as part of its pattern; "
                             "write it to a folder without %")  # fmt: skip
        if os.path.exists(out) and not cfg.overwrite:
            raise UsageError(f"{what} {path} already exists; pass -y to overwrite it")
        if not os.path.isdir(head):
            raise UsageError(f"{what} folder {head} does not exist; create it first")
        if not os.access(head, os.W_OK):
            raise UsageError(f"{what} folder {head} is not writable")
    _check_format(cfg)


def _check_format(cfg: Config) -> None:
    """Refuse, before any work, a file output whose format ffmpeg can't tell from its name
    (``out.xyz``): the table's video extensions and image sequences are known; ffmpeg is asked
    about the rest, and about an image type without a frame number (one still image). ``-f``
    in ``--encoder-args`` names the format itself."""
    targets = [("output", cfg.output, "-f" in cfg.encoder_args)] if not cfg.output_is_pipe else []
    targets += [("--compare", cfg.compare, False)] if cfg.compare else []
    for what, path, named in targets:
        ext = os.path.splitext(path)[1]
        sure = containers.known(path) and (is_sequence(path) or not containers.of_file(path).sequence)
        if named or sure or can_write(find_ffmpeg(), ext):
            continue
        hint = f" (an image sequence needs a frame number: frames_%04d{ext})" if containers.known(path) else ""
        raise UsageError(f"{what} {path}: ffmpeg has no format for {ext} files{hint}; name it like out.mp4, "
                         f"out.mkv, out.mov or out.webm, or write to a pipe (-o -) in a stream format chosen "
                         f"with -f ({', '.join(PIPE_FORMATS)})")  # fmt: skip
