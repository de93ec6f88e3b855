"""What every ffmpeg command line starts with, and how a path is spelled on one (pure)."""

from __future__ import annotations

import re

__all__ = ["is_url", "path_arg", "preamble"]


def is_url(path: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path))


def path_arg(path: str) -> str:
    """A local path as ffmpeg must be given it: ``12:30 clip.mp4`` would be read as a protocol,
    so a path with a colon gets the ``file:`` prefix. URLs and pipes pass as they are."""
    if ":" not in path or path.startswith(("pipe:", "file:")) or is_url(path):
        return path
    return "file:" + path


def preamble(exe: str, level: str = "warning", *, stdin: bool = False) -> list[str]:
    """What every ffmpeg command starts with. ``stdin``: the process reads its standard input
    (frames, or a stream); otherwise ``-nostdin`` keeps it off the terminal."""
    return [exe, "-hide_banner", "-nostats", "-v", level] + ([] if stdin else ["-nostdin"])
