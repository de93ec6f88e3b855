"""The exception tree. The CLI catches only :class:`SlowmoError` and prints one line."""

from __future__ import annotations

__all__ = [
    "SlowmoError",
    "UsageError",
    "InputError",
    "FFmpegError",
    "ModelError",
    "ModelUnavailable",
    "OutputClosed",
]


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
        tail = stderr_tail.strip().splitlines()[-3:] if stderr_tail else []
        full = message if not tail else f"{message} (ffmpeg said: {' | '.join(t.strip() for t in tail)})"
        super().__init__(full)


class ModelError(SlowmoError):
    """A model failed to load or run (bad weights, shape mismatch, ...)."""


class ModelUnavailable(ModelError):
    """A model's framework or weights are not installed / reachable."""


class OutputClosed(SlowmoError):
    """The reader of standard output went away (``| head``). Not a failure: the CLI exits 0
    quietly, as a filter whose consumer has had enough."""

    exit_code = 0
