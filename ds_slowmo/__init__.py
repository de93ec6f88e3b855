"""ds-slowmo: streaming slow motion and frame interpolation."""

from .errors import FFmpegError, InputError, ModelError, ModelUnavailable, SlowmoError, UsageError

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "SlowmoError",
    "UsageError",
    "InputError",
    "FFmpegError",
    "ModelError",
    "ModelUnavailable",
]
