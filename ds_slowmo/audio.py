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
from dataclasses import dataclass
from typing import Mapping, Optional, Protocol, Sequence

from . import containers
from .plan import AudioSegment, round_nearest

__all__ = [
    "AUDIO_MODES", "AUDIO_STRETCHES", "AudioTrack", "Piece", "atempo_chain", "audio_args", "audio_filter_graph",
    "audio_pieces", "audio_wanted", "can_copy", "carries_audio", "copies", "output_time", "segment_samples",
    "PIECE_LEAD",
]  # fmt: skip

AUDIO_MODES = ("stretch", "mute", "drop")
AUDIO_STRETCHES = ("pin", "atempo")

log = logging.getLogger("ds_slowmo")

# samples of silence each stretched piece starts with: ffmpeg 5.1 reads a packet of every
# input before it starts, long before the piece's own sound is made; the graph cuts them
PIECE_LEAD = 4096


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


def _stretched_chain(src: str, first: int, last: int, stretch: int, length: int, out: str) -> list[str]:
    """``atempo`` of input samples ``[first, last)``, cut and padded to ``length``. atempo drops
    its last window or so, so it is fed the segment's last quarter second again, mirrored: real
    sound to cut, and never the sound that follows the segment (an onset there would come out
    early)."""
    n = last - first
    ahead = min(n, 1 << 14)
    tag = out.strip("[]")
    return [
        f"{src}atrim=start_sample={first}:end_sample={last},asetpts=N/SR/TB,asplit=2[{tag}a][{tag}b]",
        f"[{tag}b]atrim=start_sample={n - ahead},asetpts=N/SR/TB,areverse[{tag}r]",
        f"[{tag}a][{tag}r]concat=n=2:v=0:a=1,{','.join(atempo_chain(stretch))},asetpts=N/SR/TB,"
        f"atrim=end_sample={length},apad=whole_len={length}{out}",
    ]


def _plain_chain(src: str, first: int, last: int, length: int, mute: bool, out: str) -> str:
    """Input samples ``[first, last)`` as they are (or silence), cut and padded to ``length``."""
    filters = [f"atrim=start_sample={first}:end_sample={last}", "asetpts=N/SR/TB"]
    if mute:
        filters.append("volume=0")  # silence of the stretched length: apad makes it up
    filters += [f"atrim=end_sample={length}", f"apad=whole_len={length}"]
    return f"{src}{','.join(filters)}{out}"


def _piece_chain(feed: int, length: int, out: str) -> str:
    """A stretched piece from its pipe: past the silence it starts with, exactly ``length``."""
    return f"[{feed}:a]atrim=start_sample={PIECE_LEAD},asetpts=N/SR/TB,atrim=end_sample={length},apad=whole_len={length}{out}"


@dataclass(frozen=True)
class Piece:
    """A stretched segment of one track, made outside the graph: the track's samples
    ``[first, last)`` (counted from its first decoded sample; outside the track, silence) into
    exactly ``length`` output samples, with input sample ``first + i`` belonging at output
    sample ``line(i)``."""

    track: int
    segment: int
    first: int
    last: int
    length: int
    sample_rate: int
    out_start: Fraction  # output time where the segment starts
    seg_start: Fraction  # plan time where it starts
    stretch: int
    offset: Fraction  # plan time of the track's sample 0

    def line(self, i: int) -> int:
        t = self.offset + Fraction(self.first + i, self.sample_rate)
        out = self.out_start + (t - self.seg_start) * self.stretch
        edge = round_nearest(self.out_start * self.sample_rate)
        return min(max(0, round_nearest(out * self.sample_rate) - edge), self.length)


def _track_pieces(j: int, track: AudioTrack, segments: Sequence[AudioSegment], video_start: Fraction) -> list[Piece]:
    """The pieces of track ``j`` that the stretcher makes: its slowed segments."""
    sr = track.sample_rate
    offset = track.start - video_start
    bounds = _output_bounds(segments)
    pieces = []
    for i, (seg, length) in enumerate(zip(segments, segment_samples(segments, sr))):
        if seg.stretch > 1:
            first, last = (round_nearest((t - offset) * sr) for t in (seg.start, seg.end))
            pieces.append(Piece(j, i, first, last, length, sr, bounds[i], seg.start, seg.stretch, offset))
    return pieces


def audio_pieces(segments: Sequence[AudioSegment], tracks: Sequence[AudioTrack], video_start: Fraction) -> list[Piece]:
    """Every track's stretched pieces, track by track, in order."""
    return [p for j, t in enumerate(tracks) for p in _track_pieces(j, t, segments, video_start)]


def _track_graph(
    j: int, track: AudioTrack, segments: Sequence[AudioSegment], video_start: Fraction, mode: str, input_index: int,
    feeds: Mapping[tuple[int, int], int],
) -> str:  # fmt: skip
    """The chains for audio track ``j``: its samples counted from the first decoded one,
    silence put before it where it starts after the picture and after it where it ends before
    the picture, then every segment in order; a segment in ``feeds`` (``(j, i) -> input``)
    comes from that input, made by the stretcher."""
    sr = track.sample_rate
    offset = track.start - video_start  # plan time of the track's sample 0

    def position(t: Fraction) -> int:
        return round_nearest((t - offset) * sr)

    lead = max(0, -position(segments[0].start))  # samples of silence it needs before it
    head = [f"aresample={sr}", "asetpts=N/SR/TB"]
    if lead:
        head += [f"adelay=delays={lead}S:all=1", "asetpts=N/SR/TB"]
    head.append("apad")  # a track that ends early goes on as silence
    lengths = segment_samples(segments, sr)
    own = [i for i in range(len(segments)) if (j, i) not in feeds]  # segments cut from the track here
    names = {i: f"[t{j}s{i}]" for i in own}
    chains = []
    if own:
        split = f",asplit={len(own)}" if len(own) > 1 else ""
        chains.append(f"[{input_index}:a:{j}]{','.join(head)}{split}" + "".join(names.values()))
    for i, (seg, length) in enumerate(zip(segments, lengths)):
        out = f"[t{j}o{i}]"
        if (j, i) in feeds:
            chains.append(_piece_chain(feeds[(j, i)], length, out))
            continue
        first, last = position(seg.start) + lead, position(seg.end) + lead
        if seg.stretch > 1 and mode == "stretch":
            chains += _stretched_chain(names[i], first, last, seg.stretch, length, out)
        else:
            chains.append(_plain_chain(names[i], first, last, length, mode == "mute" and seg.stretch > 1, out))
    n = len(segments)
    parts = "".join(f"[t{j}o{i}]" for i in range(n))
    chains.append(f"{parts}concat=n={n}:v=0:a=1[aout{j}]" if n > 1 else f"{parts}anull[aout{j}]")
    return ";".join(chains)


def audio_filter_graph(
    segments: Sequence[AudioSegment], mode: str, tracks: Sequence[AudioTrack], video_start: Fraction,
    input_index: int = 1, feeds: Mapping[tuple[int, int], int] = {},
) -> str:  # fmt: skip
    """A ``-filter_complex`` graph with one output ``[aoutJ]`` per track ``J`` (the input's
    ``J``-th audio stream), which plays ``segments`` in order, each stretched (``stretch``:
    by ``atempo``, or read from the input ``feeds[(J, i)]`` the stretcher fills) or replaced by
    silence of the stretched length (``mute``), each exactly its length in samples; so the
    whole lasts exactly as long as the segments say (the output video)."""
    if mode not in ("stretch", "mute"):
        raise ValueError(f"no audio graph for mode {mode!r}")
    if not segments:
        raise ValueError("no audio segments")
    return ";".join(
        _track_graph(j, t, segments, video_start, mode, input_index, feeds) for j, t in enumerate(tracks)
    )


def carries_audio(output: Optional[str]) -> bool:
    """Can this output hold audio? ``None`` is a pipe (video only); image sequences, y4m,
    gif and raw video streams can't (:mod:`ds_slowmo.containers` says which)."""
    if output is None or output in ("-", "pipe:1", "pipe:"):
        return False
    return containers.of_file(output).audio is not None


def can_copy(track: AudioTrack, output: str) -> bool:
    """Does the output container take this track's codec as it is?"""
    audio = containers.of_file(output).audio
    return audio is not None and audio.takes(track.codec)


def audio_args(
    *, mode: str, segments: Sequence[AudioSegment], tracks: Sequence[AudioTrack], video_start: Fraction,
    output: Optional[str], timing_kept: bool = False, input_index: int = 1,
    feeds: Mapping[tuple[int, int], int] = {},
) -> list[str]:  # fmt: skip
    """Encoder arguments that add the source's audio (the encoder's input ``input_index``).

    ``mode``: stretch, mute or drop (``--audio``). ``segments``: the plan's audio segments.
    ``tracks``: every audio stream of the input, in stream order. ``video_start``: presentation
    time of the first video frame. ``output``: the output file (``None``: a pipe).
    ``timing_kept``: the output plays the whole input at its own pace (``--mode fps``, no trim),
    so tracks that start with the picture are copied when the container takes their codec.
    ``feeds``: the inputs that bring stretched pieces (see :func:`audio_graph_inputs`)."""
    if not audio_wanted(mode, tracks, segments, output):
        return []
    args: list[str] = []
    if copies(tracks, video_start, output, timing_kept):
        for j in range(len(tracks)):
            args += ["-map", f"{input_index}:a:{j}"]
        return args + ["-c:a", "copy"]
    args += ["-filter_complex", audio_filter_graph(segments, mode, tracks, video_start, input_index, feeds)]
    audio = containers.of_file(output or "").audio
    encoder = audio.encoder if audio is not None else None
    for j in range(len(tracks)):
        args += ["-map", f"[aout{j}]", f"-map_metadata:s:a:{j}", f"{input_index}:s:a:{j}"]
    return args + (["-c:a", encoder] if encoder else [])


def copies(tracks: Sequence[AudioTrack], video_start: Fraction, output: Optional[str], timing_kept: bool) -> bool:
    """Are the tracks copied as they are? When the output plays the whole input at its own
    pace, every track starts with the picture and the container takes its codec."""
    return output is not None and timing_kept and all(t.start == video_start and can_copy(t, output) for t in tracks)


def audio_wanted(mode: str, tracks: Sequence[AudioTrack], segments: Sequence[AudioSegment],
                 output: Optional[str]) -> bool:  # fmt: skip
    """Does the output get audio? (Says so, once, when an output that can't carry it drops it.)"""
    if mode == "drop" or not tracks or not segments:
        return False
    if output is None or not carries_audio(output):
        # a pipe is video only by design (the help says so): a note with -v, not a warning
        say = log.info if output is None else log.warning
        say("%s can't carry audio: the output has none (%d audio track%s dropped)",
            "a pipe" if output is None else os.path.basename(output), len(tracks), "" if len(tracks) == 1 else "s")
        return False
    return True
