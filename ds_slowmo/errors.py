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
]

_NOISE = re.compile(r"^(Exiting with exit code|Conversion failed|Error opening output file |Error opening input file )")
_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\] ")


def ffmpeg_said(stderr_tail: str, lines: int = 3) -> str:
    """The last few meaningful lines of ffmpeg's stderr joined on one line, without noise
    (exit-code lines, our temporary file names) or ``[ctx @ 0x...]`` prefixes."""
    kept: list[str] = []
    for raw in stderr_tail.splitlines():
        line = _PREFIX.sub("", raw.strip())
        if line and not _NOISE.match(line) and line not in kept[-1:]:
            kept.append(line)
    return " | ".join(kept[-lines:])


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
