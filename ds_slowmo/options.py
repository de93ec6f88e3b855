"""The one option table: every option's flag, field, type, default, choices and help.

The argparse parser (:func:`ds_slowmo.cli.build_parser`), the defaults of
:class:`~ds_slowmo.config.Config` and so of the Python API (:func:`ds_slowmo.slowmo`) all come
from :data:`OPTIONS`, so the command line and the API cannot disagree.

A value given as a string (the command line, or ``crf="20"`` in the API) goes through the
option's ``convert``; any other value must already have the option's ``kind``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Optional

from .analysis import CUT_THRESHOLD, DUP_THRESHOLD
from .audio import AUDIO_MODES, AUDIO_STRETCHES
from .containers import PIPE_FORMATS
from .errors import SlowmoError, UsageError
from .models import DEFAULT_MODEL, MODELS
from .models.runtime import PRECISIONS, RUNTIMES
from .plan import MODES, parse_fps

__all__ = ["Option", "OPTIONS", "BY_FIELD", "default", "to_int", "to_float", "GROUPS", "api_words", "in_api_words", "API_NAMES"]


def to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def to_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


def _scale(text: str) -> "float | str":
    return "auto" if text == "auto" else to_float(text)


@dataclass(frozen=True)
class Option:
    """One option. ``field`` names the :class:`Config` field (or a CLI-only setting when
    ``cli_only``). ``action`` is argparse's: None (takes a value), ``store_true``, ``bool``
    (``--x/--no-x``), ``append`` (repeatable, collected into a tuple)."""

    field: str
    flags: tuple[str, ...]
    default: Any
    help: str
    group: str
    convert: Optional[Callable[[str], Any]] = None
    kind: tuple[type, ...] = (str,)
    choices: Optional[tuple[str, ...]] = None
    metavar: Optional[str] = None
    action: Optional[str] = None
    nargs: Optional[str] = None
    const: Any = None
    exclusive: Optional[str] = None  # name of a mutually exclusive set
    cli_only: bool = False

    @property
    def flag(self) -> str:
        return self.flags[-1]

    def coerce(self, value: Any) -> Any:
        """A value from the API or the command line, checked and converted (UsageError with
        the flag's name when it can't be)."""
        if value is None:
            return None
        if self.action == "append":
            items = (value,) if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)):
                raise UsageError(f"{self.flag} takes a string or a list of strings (got {type(value).__name__})")
            return tuple(self._one(v) for v in items)
        return self._one(value)

    def _one(self, value: Any) -> Any:
        if isinstance(value, str) and self.convert is not None:
            try:
                value = self.convert(value)
            except ValueError as exc:
                raise UsageError(f"{self.flag}: {exc}") from None
        if isinstance(value, bool) and bool not in self.kind:
            raise UsageError(f"{self.flag} takes {self._kind_name()} (got {value!r})")
        if not isinstance(value, self.kind):
            raise UsageError(f"{self.flag} takes {self._kind_name()} (got {type(value).__name__} {value!r})")
        if self.choices is not None and value not in self.choices:
            raise UsageError(f"{self.flag} must be one of {', '.join(self.choices)} (got {value!r})")
        return value

    def _kind_name(self) -> str:
        names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
        return " or ".join(names.get(k, k.__name__) for k in self.kind)


_IO, _WHAT, _MODEL, _REVIEW, _SCALE, _OUT = (
    "input and output", "what to make", "model", "what the interpolation may not do, and checking it",
    "scale-out (file or folder input)", "output",
)  # fmt: skip
GROUPS = (_IO, _WHAT, _MODEL, _REVIEW, _SCALE, _OUT)
_NUM = (int, float)

OPTIONS: tuple[Option, ...] = (
    Option("input", ("input",), "-", "video file, folder or glob; '-' (default) reads a stream from stdin",
           _IO, metavar="INPUT", nargs="?", kind=(str,)),
    Option("output", ("-o", "--output"), "-",
           "output file (container from its extension), or a folder for a folder INPUT; "
           "'-' (default) writes to stdout", _IO, metavar="OUTPUT"),
    Option("format", ("-f", "--format"), None,
           f"stream format for stdout: {PIPE_FORMATS[0]} (default), {', '.join(PIPE_FORMATS[1:])}", _IO, metavar="FMT"),
    Option("overwrite", ("-y", "--overwrite"), False, "overwrite an existing OUTPUT", _IO,
           action="store_true", kind=(bool,)),
    Option("factor", ("--factor",), 2, "frames per input frame interval, an integer >= 2 (default 2)", _WHAT,
           convert=to_int, kind=(int,), metavar="F", exclusive="speed"),
    Option("slow_rate", ("--slow-rate",), None, "the same as a speed: 0.5 = --factor 2, 0.25 = --factor 4, 1/3 = --factor 3",
           _WHAT, metavar="R", exclusive="speed"),
    Option("mode", ("--mode",), "slowmo", "slowmo: same rate, slowed ranges last F times longer (default); "
           "fps: F times the frame rate, same duration", _WHAT, choices=MODES),
    Option("fps", ("--fps",), None,
           "output frame rate: 60, 50, 60000/1001, any positive rational (23.976, 29.97, 59.94, 119.88 mean "
           "n*1000/1001); alone it keeps the duration, with --range it also slows the ranges", _WHAT,
           convert=parse_fps, kind=(Fraction,), metavar="RATE"),
    Option("ranges", ("--range",), (), "slow only frames A..B (or times); repeatable; default: the whole input",
           _WHAT, metavar="A:B", action="append"),
    Option("trim", ("--trim",), None, "keep only input frames [A, B) (or times)", _WHAT, metavar="A:B"),
    Option("deinterlace", ("--deinterlace",), False,
           "deinterlace an interlaced input (bwdif, one frame per frame) instead of refusing it", _WHAT,
           action="store_true", kind=(bool,)),
    Option("input_rate", ("--input-rate",), None,
           "take the input's frame rate as RATE (e.g. 30000/1001) instead of what ffmpeg reports", _WHAT, metavar="RATE"),
    Option("model", ("--model",), DEFAULT_MODEL, f"interpolation model (default {DEFAULT_MODEL})", _MODEL,
           choices=tuple(sorted(MODELS))),
    Option("weights", ("--weights",), None, "model weights to use instead of the default", _MODEL, metavar="PATH"),
    Option("device", ("--device",), "auto", "where the model runs (default auto)", _MODEL, choices=("auto", "cpu", "gpu")),
    Option("runtime", ("--runtime",), "auto",
           "what runs rife/rife4's network: openvino (CPU), paddle (Paddle Inference, CPU or GPU); auto (default) "
           "is OpenVINO on a CPU when installed, Paddle Inference on a GPU, and -v says which and why",
           _MODEL, choices=RUNTIMES),
    Option("precision", ("--precision",), "float32",
           "rife/rife4 arithmetic: float32 (default); half on a GPU; bf16 through OpenVINO on a CPU with "
           "AMX or AVX512-BF16 (faster, costs quality: see the README)", _MODEL, choices=PRECISIONS),
    Option("scale", ("--scale",), "auto",
           "rife: estimate flow at this scale, 1, 0.5 or 0.25; auto (default) picks it by frame height "
           "(1 up to 1088 lines, 0.5 up to 2160, 0.25 above) and -v says which",
           _MODEL, convert=_scale, kind=(float, int, str), metavar="S"),
    Option("batch_size", ("--batch-size",), 2,
           "frame pairs per model call (default 2: on a CPU, OpenVINO runs them side by side)", _MODEL,
           convert=to_int, kind=(int,), metavar="N"),
    Option("queue_size", ("--queue-size",), 8, "frames buffered between stages; bounds memory (default 8)", _MODEL,
           convert=to_int, kind=(int,), metavar="N"),
    Option("threads", ("--threads",), None, "CPU threads for the model (default: all cores)", _MODEL,
           convert=to_int, kind=(int,), metavar="N"),
    Option("scene_detect", ("--scene-detect",), True,
           "at a scene cut, hold the frame before it instead of mixing two shots (default on)", _REVIEW,
           action="bool", kind=(bool,)),
    Option("scene_threshold", ("--scene-threshold",), CUT_THRESHOLD,
           f"how different two frames must be to count as a cut, 0-255 (default {CUT_THRESHOLD:g})", _REVIEW,
           convert=to_float, kind=_NUM, metavar="X"),
    Option("dedupe", ("--dedupe",), False, "treat runs of (near-)identical frames as one held frame and interpolate "
           "through them; no frame is removed, timing is kept", _REVIEW, action="store_true", kind=(bool,)),
    Option("dedupe_threshold", ("--dedupe-threshold",), DUP_THRESHOLD,
           f"largest difference still counted as a duplicate, 0-255 (default {DUP_THRESHOLD:g})", _REVIEW,
           convert=to_float, kind=_NUM, metavar="X"),
    Option("compare", ("--compare",), None, "also write a side-by-side video: result right, and left the source frame "
           "each output frame comes from (or the nearest one), so both show the same moment (file input)",
           _REVIEW, metavar="FILE"),
    Option("inspect", ("--inspect",), None,
           "also write a PNG contact sheet of gap GAP (frames GAP, GAP+1 and the in-betweens)", _REVIEW,
           convert=to_int, kind=(int,), metavar="GAP"),
    Option("inspect_output", ("--inspect-output",), None, "where --inspect writes (default inspect-gapGAP.png)",
           _REVIEW, metavar="FILE"),
    Option("verbose", ("-v", "--verbose"), False, "list scene cuts and other details on stderr", _REVIEW,
           action="store_true", kind=(bool,), cli_only=True),
    Option("jobs", ("--jobs",), 1, "run N chunks of the file (or N files of a folder) at a time in worker processes; "
           "a rerun resumes where a failed or interrupted run stopped", _SCALE, convert=to_int, kind=(int,), metavar="N"),
    Option("ray", ("--ray",), None, "run the chunks or files as Ray tasks (on ADDRESS, $RAY_ADDRESS, or a local Ray); "
           "pip install 'ds-slowmo[ray]'", _SCALE, metavar="ADDRESS", nargs="?", const=""),
    Option("chunk_seconds", ("--chunk-seconds",), 10.0, "length of a chunk, cut at the next keyframe (default 10)",
           _SCALE, convert=to_float, kind=_NUM, metavar="S"),
    Option("audio", ("--audio",), "stretch",
           "file mode: stretch slowed audio (pitch kept), mute it, or drop the audio tracks (default stretch)", _OUT,
           choices=AUDIO_MODES),
    Option("audio_stretch", ("--audio-stretch",), "pin",
           "how slowed audio is stretched: pin (default) puts every onset (a hit, a word) on its picture, keeps "
           "pitch and attacks; atempo is ffmpeg's filter (faster; onsets up to (F-1) x 43 ms early)", _OUT,
           choices=AUDIO_STRETCHES),
    Option("crf", ("--crf",), None, "x264/x265 quality for .mp4/.mkv/.mov (default 16)", _OUT,
           convert=to_int, kind=(int,), metavar="N"),
    Option("encoder_args", ("--encoder-args",), None, "extra ffmpeg output options, e.g. \"-preset slow -tune film\"",
           _OUT, metavar="ARGS"),
    Option("progress", ("--progress",), None, "progress on stderr (default: when stderr is a terminal)", _OUT,
           action="bool", kind=(bool,)),
    Option("stats", ("--stats",), False, "print a summary of the run on stderr at the end", _OUT,
           action="store_true", kind=(bool,), cli_only=True),
)

BY_FIELD: dict[str, Option] = {o.field: o for o in OPTIONS}


def default(field: str) -> Any:
    """The table's default for a :class:`Config` field."""
    return BY_FIELD[field].default


def _api_names() -> dict[str, str]:
    """Each flag's spelling as a keyword of :func:`ds_slowmo.slowmo`: ``--chunk-seconds`` is
    ``chunk_seconds``, a switch is ``name=True`` (``-y`` is ``overwrite=True``), ``--no-x`` is
    ``x=False``, ``-o`` is ``dst``. Options of the command line alone keep their flags."""
    names: dict[str, str] = {}
    for opt in OPTIONS:
        if opt.cli_only or not opt.flags[0].startswith("-"):
            continue
        field = "dst" if opt.field == "output" else opt.field
        for flag in opt.flags:
            names[flag] = f"{field}=True" if opt.action in ("store_true", "bool") else field
            if opt.action == "bool":
                names["--no-" + flag[2:]] = f"{field}=False"
    return names


API_NAMES = _api_names()
_FLAG_RE = re.compile(r"(?<![\w-])(-[a-zA-Z]|--[a-z][a-z0-9-]*)(?![\w-])")
_SAID = " (ffmpeg said: "


def in_api_words(exc: SlowmoError) -> None:
    """Put the message of ``exc`` (about to be raised again) in the API's words (:func:`api_words`)."""
    exc.args = (api_words(str(exc)),) + exc.args[1:]


def api_words(message: str) -> str:
    """A message written for the command line, in the Python API's words: each of our flags
    becomes its keyword (:data:`API_NAMES`); what ffmpeg said is quoted as it is."""
    own, said, rest = message.partition(_SAID)
    own = _FLAG_RE.sub(lambda m: API_NAMES.get(m.group(1), m.group(1)), own)
    own = re.sub(r"\b(\w+)/\1\b", r"\1", own)  # "-f/--format" was one option
    return own + said + rest
