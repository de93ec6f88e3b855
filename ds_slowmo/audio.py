"""Audio that stays in sync with slowed ranges: an ffmpeg filter graph built from the plan.

Pure string building; :func:`audio_args` turns a plan into encoder arguments.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from .plan import AudioSegment

__all__ = ["AUDIO_MODES", "atempo_chain", "audio_filter_graph"]

AUDIO_MODES = ("stretch", "mute", "drop")


def _num(x: Fraction) -> str:
    """A decimal ffmpeg parses, exact to the microsecond and beyond."""
    s = f"{float(x):.9f}".rstrip("0").rstrip(".")
    return s or "0"


def atempo_chain(stretch: int) -> list[str]:
    """``atempo`` filters that slow audio by ``stretch`` with pitch kept. One atempo accepts
    0.5..100, so slowing by more than 2 chains several (4 -> 0.5, 0.5; 3 -> 0.5, 0.666...)."""
    if stretch < 1:
        raise ValueError(f"stretch must be >= 1 (got {stretch})")
    if stretch == 1:
        return []
    tempo = Fraction(1, stretch)
    parts: list[str] = []
    while tempo < Fraction(1, 2):
        parts.append("atempo=0.5")
        tempo *= 2
    if tempo != 1:
        parts.append(f"atempo={float(tempo):.12g}")
    return parts


def audio_filter_graph(
    segments: Sequence[AudioSegment], mode: str, total: Fraction, source: str = "1:a:0"
) -> str:
    """A ``-filter_complex`` graph whose output ``[aout]`` plays ``segments`` in order, each
    stretched (``stretch``) or replaced by silence of the stretched length (``mute``), then
    padded/cut to exactly ``total`` seconds (the output video's duration)."""
    if mode not in ("stretch", "mute"):
        raise ValueError(f"no audio graph for mode {mode!r}")
    if not segments:
        raise ValueError("no audio segments")
    chains: list[str] = []
    n = len(segments)
    inputs = [f"[{source}]"] if n == 1 else [f"[s{j}]" for j in range(n)]
    if n > 1:
        chains.append(f"[{source}]asplit={n}" + "".join(inputs))
    labels = []
    for j, seg in enumerate(segments):
        filters = [f"atrim=start={_num(seg.start)}:end={_num(seg.end)}", "asetpts=PTS-STARTPTS"]
        filters += atempo_chain(seg.stretch)
        if mode == "mute" and seg.stretch > 1:
            filters.append("volume=0")
        label = f"[a{j}]"
        chains.append(inputs[j] + ",".join(filters) + label)
        labels.append(label)
    joined = "".join(labels)
    tail = f"apad=whole_dur={_num(total)},atrim=end={_num(total)}"
    if n > 1:
        chains.append(f"{joined}concat=n={n}:v=0:a=1,{tail}[aout]")
    else:
        chains.append(f"{joined}{tail}[aout]")
    return ";".join(chains)
