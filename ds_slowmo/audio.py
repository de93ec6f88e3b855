"""Audio that stays in sync with slowed ranges: ffmpeg arguments built from the plan.

Pure bookkeeping and string building. Every time is an exact :class:`~fractions.Fraction`;
every audio segment is cut and padded to an exact number of samples, computed from the
cumulative exact output times, so rounding never accumulates and ``atempo``'s ragged edges
(each stage drops about 30 ms at the end) can't move what follows.

Times
-----
*Plan time* ``t`` is the time of the source video: frame ``i`` is at ``i / rate`` and the
first video frame at 0 (what :meth:`~ds_slowmo.plan.Plan.audio_segments` returns).
An audio track's sample ``n`` plays at plan time ``track.start - video_start + n / sample_rate``,
where ``track.start`` is the presentation time of its first *decoded* sample and
``video_start`` that of the first video frame, both on one timeline (only the difference
matters). The graph counts samples from the first decoded one, so it does not depend on how
the encoder's own input timeline is shifted.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from typing import Optional, Protocol, Sequence

from .plan import AudioSegment, round_nearest

__all__ = [
    "AUDIO_MODES", "AudioTrack", "atempo_chain", "audio_args", "audio_filter_graph",
    "can_copy", "carries_audio", "output_time", "segment_samples",
]  # fmt: skip

AUDIO_MODES = ("stretch", "mute", "drop")

log = logging.getLogger("ds_slowmo")

# extra input fed to a stretched segment past its end, so atempo's short tail is real sound
# (cut to the exact length after), not a gap of silence
_LOOKAHEAD = Fraction(1, 4)

# outputs that can't carry audio: images, raw video streams, y4m, gif
_NO_AUDIO = frozenset((
    ".gif", ".apng", ".y4m", ".yuv", ".rgb", ".raw", ".h264", ".264", ".h265", ".265", ".hevc",
    ".ivf", ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pam",
    ".exr", ".dpx", ".tga", ".jxl",
))  # fmt: skip

# audio codecs (ffmpeg's names) each container takes as they are; None: about anything
_COPYABLE: dict[str, Optional[frozenset[str]]] = {
    ".mkv": None, ".mka": None, ".nut": None,
    ".mp4": frozenset(("aac", "mp3", "ac3", "eac3", "alac")),
    ".m4v": frozenset(("aac", "mp3", "ac3", "eac3", "alac")),
    ".mov": frozenset(("aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le")),
    ".webm": frozenset(("opus", "vorbis")),
    ".avi": frozenset(("mp3", "ac3", "mp2", "pcm_s16le", "pcm_u8")),
    ".ts": frozenset(("aac", "mp3", "mp2", "ac3", "eac3")),
    ".m2ts": frozenset(("aac", "mp3", "mp2", "ac3", "eac3")),
}  # fmt: skip

# containers whose default audio encoder isn't what we want
_ENCODER = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac", ".ts": "aac", ".m2ts": "aac"}


class AudioTrack(Protocol):
    """One audio stream of the input (``ffmpeg.VideoInfo.audio`` holds these)."""

    @property
    def codec(self) -> str: ...  # ffmpeg's codec name: "aac", "pcm_s16le", ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def start(self) -> Fraction: ...  # presentation time of the first decoded sample


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


def _output_bounds(segments: Sequence[AudioSegment]) -> list[Fraction]:
    """Exact output times where each segment starts, then where the last one ends."""
    bounds = [Fraction(0)]
    for seg in segments:
        if seg.end < seg.start or seg.stretch < 1:
            raise ValueError(f"bad audio segment {seg}")
        bounds.append(bounds[-1] + (seg.end - seg.start) * seg.stretch)
    return bounds


def output_time(segments: Sequence[AudioSegment], t: Fraction) -> Optional[Fraction]:
    """Where plan time ``t`` lands in the output (seconds from its start), through the same
    segments the audio follows; ``None`` when ``t`` is outside them (trimmed away). The end of
    the last segment maps to the output's duration. Monotonic, exact."""
    bounds = _output_bounds(segments)
    for seg, out0 in zip(segments, bounds):
        if seg.start <= t < seg.end:
            return out0 + (t - seg.start) * seg.stretch
    if segments and t == segments[-1].end:
        return bounds[-1]
    return None


def segment_samples(segments: Sequence[AudioSegment], sample_rate: int) -> list[int]:
    """Samples each segment gets in the output: differences of the rounded cumulative exact
    output times, so they sum to the whole output's length rounded once."""
    edges = [round_nearest(b * sample_rate) for b in _output_bounds(segments)]
    return [b - a for a, b in zip(edges, edges[1:])]


def _segment_chain(src: str, first: int, last: int, stretch: int, length: int, mute: bool, out: str) -> str:
    """Input samples ``[first, last)`` (of a track counted from sample 0), slowed ``stretch``
    times, then cut and padded to exactly ``length`` samples."""
    filters = [f"atrim=start_sample={first}:end_sample={last}", "asetpts=N/SR/TB"]
    if mute and stretch > 1:
        filters.append("volume=0")  # silence of the stretched length: apad makes it up
    elif stretch > 1:
        filters += atempo_chain(stretch) + ["asetpts=N/SR/TB"]
    filters += [f"atrim=end_sample={length}", f"apad=whole_len={length}"]
    return f"{src}{','.join(filters)}{out}"


def _track_graph(
    j: int, track: AudioTrack, segments: Sequence[AudioSegment], video_start: Fraction, mute: bool, input_index: int
) -> str:  # fmt: skip
    """The chains for audio track ``j``: its samples counted from the first decoded one,
    silence put before it where it starts after the picture, then every segment in order."""
    sr = track.sample_rate
    offset = track.start - video_start  # plan time of the track's sample 0

    def position(t: Fraction) -> int:
        return round_nearest((t - offset) * sr)

    lead = max(0, -position(segments[0].start))  # samples of silence it needs before it
    head = [f"aresample={sr}", "asetpts=N/SR/TB"]
    if lead:
        head += [f"adelay=delays={lead}S:all=1", "asetpts=N/SR/TB"]
    lengths = segment_samples(segments, sr)
    n = len(segments)
    names = [f"[t{j}s{i}]" for i in range(n)]
    chains = [f"[{input_index}:a:{j}]{','.join(head)}" + (f",asplit={n}" if n > 1 else "") + "".join(names)]
    ahead = round_nearest(_LOOKAHEAD * sr)
    for i, (seg, length) in enumerate(zip(segments, lengths)):
        first, last = position(seg.start) + lead, position(seg.end) + lead
        if seg.stretch > 1 and not mute:
            last += ahead
        chains.append(_segment_chain(names[i], first, last, seg.stretch, length, mute, f"[t{j}o{i}]"))
    parts = "".join(f"[t{j}o{i}]" for i in range(n))
    chains.append(f"{parts}concat=n={n}:v=0:a=1[aout{j}]" if n > 1 else f"{parts}anull[aout{j}]")
    return ";".join(chains)


def audio_filter_graph(
    segments: Sequence[AudioSegment], mode: str, tracks: Sequence[AudioTrack], video_start: Fraction,
    input_index: int = 1,
) -> str:  # fmt: skip
    """A ``-filter_complex`` graph with one output ``[aoutJ]`` per track ``J`` (the input's
    ``J``-th audio stream), which plays ``segments`` in order, each stretched (``stretch``) or
    replaced by silence of the stretched length (``mute``), each exactly its length in
    samples; so the whole lasts exactly as long as the segments say (the output video)."""
    if mode not in ("stretch", "mute"):
        raise ValueError(f"no audio graph for mode {mode!r}")
    if not segments:
        raise ValueError("no audio segments")
    return ";".join(
        _track_graph(j, t, segments, video_start, mode == "mute", input_index) for j, t in enumerate(tracks)
    )


def carries_audio(output: Optional[str]) -> bool:
    """Can this output hold audio? ``None`` is a pipe (video only); image sequences, y4m,
    gif and raw video streams can't."""
    if output is None or output in ("-", "pipe:1", "pipe:"):
        return False
    if "%" in os.path.basename(output):
        return False
    return os.path.splitext(output)[1].lower() not in _NO_AUDIO


def can_copy(track: AudioTrack, output: str) -> bool:
    """Does the output container take this track's codec as it is?"""
    codecs = _COPYABLE.get(os.path.splitext(output)[1].lower(), frozenset())
    return codecs is None or track.codec in codecs


def audio_args(
    *, mode: str, segments: Sequence[AudioSegment], tracks: Sequence[AudioTrack], video_start: Fraction,
    output: Optional[str], timing_kept: bool = False, input_index: int = 1,
) -> list[str]:  # fmt: skip
    """Encoder arguments that add the source's audio (the encoder's input ``input_index``).

    ``mode``: stretch, mute or drop (``--audio``). ``segments``: the plan's audio segments.
    ``tracks``: every audio stream of the input, in stream order. ``video_start``: presentation
    time of the first video frame. ``output``: the output file (``None``: a pipe).
    ``timing_kept``: the output plays the whole input at its own pace (``--mode fps``, no trim),
    so tracks that start with the picture are copied when the container takes their codec."""
    if mode == "drop" or not tracks or not segments:
        return []
    if output is None or not carries_audio(output):
        # a pipe is video only by design (the help says so): a note with -v, not a warning
        say = log.info if output is None else log.warning
        say("%s can't carry audio: the output has none (%d audio track%s dropped)",
            "a pipe" if output is None else os.path.basename(output), len(tracks), "" if len(tracks) == 1 else "s")
        return []
    args: list[str] = []
    if timing_kept and all(t.start == video_start and can_copy(t, output) for t in tracks):
        for j in range(len(tracks)):
            args += ["-map", f"{input_index}:a:{j}"]
        return args + ["-c:a", "copy"]
    args += ["-filter_complex", audio_filter_graph(segments, mode, tracks, video_start, input_index)]
    encoder = _ENCODER.get(os.path.splitext(output)[1].lower())
    for j in range(len(tracks)):
        args += ["-map", f"[aout{j}]", f"-map_metadata:s:a:{j}", f"{input_index}:s:a:{j}"]
    return args + (["-c:a", encoder] if encoder else [])
