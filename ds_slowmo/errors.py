"""The exception tree. The CLI catches only :class:`SlowmoError` and prints one line."""

from __future__ import annotations

import re

__all__ = [
    "SlowmoError",
    "UsageError",
    "InputError",
    "FFmpegError",
    "ModelError",
    "ModelUnavailable",
    "OutputClosed",
    "ffmpeg_said",
    "ffmpeg_problems",
]

#: ``[ctx @ 0x...] `` prefixes (ffmpeg 9 nests two: ``[vost#0:0/libx264 @ 0x..] [enc:libx264 @ 0x..]``)
_PREFIX = re.compile(r"^(?:\[[^\]]* @ (?:0x)?[0-9a-f]+\] )+")
#: lines that restate a failure, report progress or list streams: never the reason
_NOISE = re.compile(
    r"^(?:Exiting with exit code|Conversion failed|Statistics: |Task finished with error code|Terminating thread"
    r"|Nothing was written into output file|Could not open encoder before EOF|Error initializing output stream"
    r"|Error while opening encoder|Error opening (?:input|output) files?\b(?!:)|Error (?:sending frames to consumers"
    r"|marking filters as finished|selecting an encoder|while filtering|while processing the decoded data)"
    r"|Consider increasing the value|Press \[q\]|Input #|Output #|Stream #|Stream mapping|Duration: |Metadata:"
    r"|Side data:|frame=|video:|Starting thread|All streams finished|\S+ +: )"
)
#: generic openings before the reason itself (``Error opening input: Invalid data found ...``)
_OPENING = re.compile(
    r"^(?:Error (?:opening (?:input|output)(?: files?)?|while decoding stream #\d+:\d+|during demuxing"
    r"|writing trailer of \S+|sending frames to consumers)|Decoding error): "
)
#: the words of a line that explains a failure
_EXPLAINS = re.compile(
    r"(?i)\b(?:errors?|invalid|unknown|not found|no such|cannot|can't|could not|couldn't|failed|failure|unable|unsupported"
    r"|not supported|does not|doesn't|incorrect|permission denied|corrupt|missing|partial file|too (?:many|large|small)"
    r"|out of range|mismatch|impossible|not implemented|matches no streams|unrecognized|illegal|truncated"
    r"|not allowed|denied|must be|requires?|only supports?|unavailable|exceeds)\b"
)
#: our temporary names (``.out.mp4.part-123.mp4``), quoted as the name the user gave
_TEMP = re.compile(r"\.([^/\s'\"]+?)\.part-\d+(?:\.[A-Za-z0-9]+)?")


def ffmpeg_said(stderr_tail: str, lines: int = 2) -> str:
    """What explains an ffmpeg failure, from the tail of its stderr, on one line: the first
    ``lines`` distinct lines that say what went wrong (else the last meaningful ones), without
    ``[ctx @ 0x...]`` prefixes, restatements (``Conversion failed!``, ``Task finished with
    error code``), stream listings and statistics, and with our temporary names as the user's."""
    kept: list[str] = []
    for raw in stderr_tail.splitlines():
        line = _PREFIX.sub("", raw.strip())
        if not line or _NOISE.match(line):
            continue
        line = _TEMP.sub(r"\1", _OPENING.sub("", line))
        if line not in kept:
            kept.append(line)
    explains = [line for line in kept if _EXPLAINS.search(line)]
    return " | ".join(explains[:lines] if explains else kept[-lines:])


def ffmpeg_problems(stderr: str) -> tuple[int, str]:
    """How many lines of a decoder's stderr say something went wrong (a damaged or truncated
    input: ``partial file``, ``Invalid NAL unit size``, ``concealing errors``), and the first
    two of them on one line as :func:`ffmpeg_said` quotes them."""
    lines = [_PREFIX.sub("", raw.strip()) for raw in stderr.splitlines()]
    problems = [line for line in lines if line and not _NOISE.match(line) and _EXPLAINS.search(line)]
    return len(problems), ffmpeg_said("\n".join(problems))


class SlowmoError(Exception):
    """Root of every error ds-slowmo raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(SlowmoError, ValueError):
    """The request itself is wrong (bad option, range outside the input, ...). Exit code 2."""

    exit_code = 2


class InputError(SlowmoError):
    """The input cannot be read or decoded."""


class FFmpegError(SlowmoError):
    """An ffmpeg subprocess failed. The message ends with the tail of its stderr."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        self.stderr_tail = stderr_tail
        said = ffmpeg_said(stderr_tail)
        super().__init__(f"{message} (ffmpeg said: {said})" if said else message)


class ModelError(SlowmoError):
    """A model failed to load or run (bad weights, shape mismatch, ...)."""


class ModelUnavailable(ModelError):
    """A model's framework or weights are not installed / reachable."""


class OutputClosed(SlowmoError):
    """The reader of standard output went away (``| head``). Not a failure: the CLI exits 0
    quietly, as a filter whose consumer has had enough."""

    exit_code = 0
