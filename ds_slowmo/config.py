"""The validated request: a frozen dataclass checked before any work starts."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional

from .analysis import CUT_THRESHOLD, DUP_THRESHOLD
from .audio import AUDIO_MODES
from .errors import UsageError
from .plan import MODES, Span, parse_fps, parse_rate, parse_slow_rate, parse_span

__all__ = ["Config", "DEVICES", "STREAM_FORMATS"]

DEVICES = ("auto", "cpu", "gpu")
#: formats for a pipe OUTPUT (stdout); y4m is the default
STREAM_FORMATS = ("yuv4mpegpipe", "y4m", "nut", "matroska", "mkv", "rawvideo", "mpegts")
_FORMAT_ALIASES = {"y4m": "yuv4mpegpipe", "mkv": "matroska"}


@dataclass(frozen=True)
class Config:
    """Everything one run needs. Build it with keyword arguments; strings for ranges, trim,
    slow rate and input rate are parsed and checked here, so a bad request fails before any
    process starts."""

    input: str = "-"
    output: str = "-"
    format: Optional[str] = None  # stream format for a pipe output; default y4m
    factor: int = 2
    mode: str = "slowmo"
    ranges: tuple[Span, ...] = ()
    trim: Optional[Span] = None
    model: str = "blend"
    weights: Optional[str] = None
    device: str = "auto"
    batch_size: int = 1
    queue_size: int = 8
    scale: float = 1.0
    audio: str = "stretch"
    progress: Optional[bool] = None  # None: on when stderr is a terminal
    overwrite: bool = False
    crf: Optional[int] = None
    encoder_args: tuple[str, ...] = ()
    input_rate: Optional[Fraction] = None  # override the input's rate (pipes with odd rates)
    fps: Optional[Fraction] = None  # output frame rate (--fps); None: from mode and factor
    threads: Optional[int] = None
    scene_detect: bool = True
    scene_threshold: float = CUT_THRESHOLD
    dedupe: bool = False
    dedupe_threshold: float = DUP_THRESHOLD
    compare: Optional[str] = None  # also write a side-by-side video here
    inspect: Optional[int] = None  # write a contact sheet of this gap
    inspect_output: Optional[str] = None
    jobs: int = 1  # chunks (one file) or files (a folder) at a time
    ray: Optional[str] = None  # run on Ray: "" = local or $RAY_ADDRESS, else a cluster address
    chunk_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not isinstance(self.factor, int) or isinstance(self.factor, bool) or self.factor < 2:
            raise UsageError(f"--factor must be an integer >= 2 (got {self.factor})")
        if self.factor > 64:
            raise UsageError(f"--factor must be at most 64 (got {self.factor})")
        if self.mode not in MODES:
            raise UsageError(f"--mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        if self.fps is not None and self.fps <= 0:
            raise UsageError(f"--fps must be positive (got {self.fps})")
        if self.mode == "fps" and self.ranges:
            raise UsageError("--range has no meaning with --mode fps (it raises the rate everywhere); use --trim")
        if self.device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)} (got {self.device!r})")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1 (got {self.batch_size})")
        if self.queue_size < 1:
            raise UsageError(f"--queue-size must be >= 1 (got {self.queue_size})")
        if self.audio not in AUDIO_MODES:
            raise UsageError(f"--audio must be one of {', '.join(AUDIO_MODES)} (got {self.audio!r})")
        if self.scale not in (1.0, 0.5, 0.25):
            raise UsageError(f"--scale must be 1, 0.5 or 0.25 (got {self.scale})")
        if self.crf is not None and not 0 <= self.crf <= 63:
            raise UsageError(f"--crf must be between 0 and 63 (got {self.crf})")
        if self.threads is not None and self.threads < 1:
            raise UsageError(f"--threads must be >= 1 (got {self.threads})")
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
            if self.compare in (self.output, self.input):
                raise UsageError("--compare must name a file other than the input and the output")
        if self.format is not None:
            fmt = _FORMAT_ALIASES.get(self.format, self.format)
            if fmt not in STREAM_FORMATS:
                raise UsageError(
                    f"-f/--format must be one of y4m, nut, matroska, mpegts, rawvideo (got {self.format!r})"
                )
            if not self.output_is_pipe:
                raise UsageError("-f/--format applies to a pipe output; a file output's format follows its extension")
            object.__setattr__(self, "format", fmt)
        if self.jobs < 1:
            raise UsageError(f"--jobs must be >= 1 (got {self.jobs})")
        if self.chunk_seconds <= 0:
            raise UsageError(f"--chunk-seconds must be positive (got {self.chunk_seconds})")
        if self.input_is_batch:
            if self.output_is_pipe or (os.path.exists(self.output) and not os.path.isdir(self.output)):
                raise UsageError("a folder or glob INPUT needs -o FOLDER for the outputs")
            if self.compare is not None or self.inspect is not None:
                raise UsageError("--compare and --inspect take one input file, not a folder")
        else:
            if self.output != "-" and os.path.isdir(self.output):
                raise UsageError(f"output {self.output} is a folder; give a file name such as out.mp4")
            if not self.output_is_pipe and not os.path.splitext(self.output)[1]:
                raise UsageError(f"output {self.output} has no extension; name it like out.mp4 or out.mkv")
            if self.chunked and (self.dedupe or self.compare is not None or self.inspect is not None):
                raise UsageError("--dedupe, --compare and --inspect don't combine with --jobs/--ray on one file yet")
        if self.output != "-" and self.input != "-" and os.path.abspath(self.output) == os.path.abspath(self.input):
            raise UsageError("the output file is the input file; choose another output name")

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
    def from_strings(
        cls,
        *,
        ranges: tuple[str, ...] | list[str] = (),
        trim: Optional[str] = None,
        slow_rate: Optional[str] = None,
        input_rate: Optional[str] = None,
        encoder_args: Optional[str] = None,
        fps: Optional[str] = None,
        **kwargs: object,
    ) -> "Config":
        """Build from user-written strings (the CLI and the Python API both come here).
        ``fps`` without ``ranges`` only changes the rate (mode ``fps``); with ``ranges`` it
        slows them by the factor and outputs at that rate."""
        if fps is not None:
            kwargs["fps"] = parse_fps(fps)
            if not ranges:
                if slow_rate is not None or kwargs.get("factor") is not None:
                    raise UsageError("--fps without --range only changes the frame rate; "
                                     "--factor/--slow-rate slow a --range down")  # fmt: skip
                kwargs["mode"] = "fps"
        if slow_rate is not None:
            factor = parse_slow_rate(slow_rate)
            if "factor" in kwargs and kwargs["factor"] not in (None, factor):
                raise UsageError(f"--slow-rate {slow_rate} means --factor {factor}, but --factor {kwargs['factor']} was also given")
            kwargs["factor"] = factor
        elif kwargs.get("factor") is None:
            kwargs.pop("factor", None)
        spans = tuple(parse_span(r, "--range") for r in ranges)
        trim_span = parse_span(trim, "--trim") if trim else None
        rate = parse_rate(input_rate) if input_rate else None
        try:
            enc = tuple(shlex.split(encoder_args)) if encoder_args else ()
        except ValueError as exc:
            raise UsageError(f"--encoder-args: {exc}") from None
        return cls(ranges=spans, trim=trim_span, input_rate=rate, encoder_args=enc, **kwargs)  # type: ignore[arg-type]
