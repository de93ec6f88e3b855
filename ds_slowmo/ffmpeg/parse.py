"""Reading what ffmpeg prints (pure): the ``Input #0`` block, y4m headers, framecrc packet
lists, ``showinfo`` lines, an encoder's pixel formats. Tested on captured stderr."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Optional, Sequence

from .. import timeline as tl
from ..errors import InputError

__all__ = [
    "AudioStream",
    "SubtitleStream",
    "VideoInfo",
    "Packets",
    "UNSET",
    "rationalize_fps",
    "input_block",
    "count_streams",
    "parse_input_info",
    "parse_y4m_header",
    "parse_y4m_aspect",
    "parse_frame_side_data",
    "is_cover_art_only",
    "NOTHING_BUT_COVER_ART",
    "parse_framecrc",
    "packet_rate",
    "packets_info",
    "parse_first_times",
    "decoded_starts",
    "parse_keyframes",
    "parse_encoder_pix_fmts",
    "parse_format_refused",
    "parse_output_pix_fmt",
    "FRAME_TIMES",
    "parse_link",
    "parse_frame_pts",
    "parse_pipe_info",
    "parse_first_frame_time",
]


@dataclass(frozen=True)
class AudioStream:
    index: int  # absolute stream index in the input
    codec: str
    sample_rate: int
    channels: int
    start: Fraction = Fraction(0)  # time of its first sample, on the video's timeline
    layout: str = ""  # channel layout as ffmpeg names it (stereo, 5.1(side)); "" unknown

    @property
    def layout_arg(self) -> str:
        """The layout to declare for raw samples of this track (``-ch_layout``)."""
        return self.layout if self.layout and not self.layout.endswith("channels") else f"{max(1, self.channels)}c"


@dataclass(frozen=True)
class SubtitleStream:
    index: int
    codec: str


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg says about an input. Times are seconds on the timeline ffmpeg's filters and
    ``-ss`` use by default: the input's start time already subtracted."""

    width: int
    height: int
    rate: Fraction  # nominal rate (exact for files, from a one-frame y4m header)
    pix_fmt: str
    n_frames: Optional[int] = None  # None: unknown (a pipe)
    duration: Optional[Fraction] = None
    start: Fraction = Fraction(0)  # presentation time of the first video frame
    frame_times: Optional[tuple[Fraction, ...]] = None  # every frame, presentation order; None: unknown
    keyframes: tuple[int, ...] = ()  # frame indices of keyframe packets (empty: unknown)
    vfr: bool = False
    audio: tuple[AudioStream, ...] = ()
    subtitles: tuple[SubtitleStream, ...] = ()
    attachments: int = 0
    data_streams: int = 0
    covers: int = 0  # video streams of one still picture each (cover art), not the video
    field_order: str = "unknown"  # progressive, tt, bb, tb, bt or unknown
    sar: Fraction = Fraction(1)
    rotation: int = 0  # display matrix degrees (information only)
    color_range: Optional[str] = None
    color_space: Optional[str] = None
    color_primaries: Optional[str] = None
    color_trc: Optional[str] = None
    chroma_location: Optional[str] = None
    mastering_display: Optional[str] = None
    content_light: Optional[str] = None
    cfr_rate: Optional[Fraction] = None  # set by constant_rate(): the decoder converts to this rate

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)


_STREAM_RE = re.compile(
    r"^\s*Stream #0:(?P<index>\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (?P<kind>Video|Audio|Subtitle|Attachment|Data): "
    r"(?P<rest>.*)$",
    re.MULTILINE,
)
_SIZE_RE = re.compile(r"(?<![\w#])(\d{1,5})x(\d{1,5})(?![\w])")
_FPS_RE = re.compile(r"([\d.]+)(k?) (fps|tbr)")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_SAR_RE = re.compile(r"\bSAR (\d+):(\d+) DAR")  # "[SAR 4:3 DAR 16:9]", and a y4m input's "SAR 4:3 DAR 16:9"
_HZ_RE = re.compile(r"(\d+) Hz, ([^,]+)")
_ROTATION_RE = re.compile(r"display ?matrix: rotation of (-?[\d.]+) degrees", re.IGNORECASE)
_MASTERING_RE = re.compile(r"^\s*mastering display metadata[:,] *(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
_LIGHT_RE = re.compile(r"^\s*content light level metadata[:,] *(.*?)\s*$", re.IGNORECASE | re.MULTILINE)
_FIELD_ORDERS = {"progressive": "progressive", "top first": "tt", "bottom first": "bb",
                 "top coded first (swapped)": "tb", "bottom coded first (swapped)": "bt"}  # fmt: skip
_CHROMA_LOCS = ("left", "center", "topleft", "top", "bottomleft", "bottom")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "3.0(back)": 3, "4.0": 4, "quad": 4,
                    "quad(side)": 4, "3.1": 4, "4.1": 5, "5.0": 5, "5.0(side)": 5, "5.1": 6, "5.1(side)": 6,
                    "6.0": 6, "6.1": 7, "7.0": 7, "7.1": 8, "7.1(wide)": 8, "octagonal": 8}  # fmt: skip


def rationalize_fps(text: str) -> Fraction:
    """ffmpeg prints rates rounded to 2 decimals ("29.97"). Read NTSC-style rates as
    ``n*1000/1001`` when that prints the same, else take the decimal literally."""
    if text.endswith("k"):
        return Fraction(text[:-1]) * 1000
    value = Fraction(text)
    if value.denominator == 1:
        return value
    ntsc = Fraction(round(value * Fraction(1001, 1000)) * 1000, 1001)
    if ntsc > 0 and f"{float(ntsc):.2f}" == f"{float(value):.2f}":
        return ntsc
    return value


def input_block(stderr: str) -> str:
    """The ``Input #0`` block of ffmpeg's log, without what follows it."""
    inp = stderr.find("Input #0")
    block = stderr[inp:] if inp >= 0 else stderr
    for marker in ("\nOutput #0", "\nStream mapping:"):
        cut = block.find(marker)
        if cut >= 0:
            block = block[:cut]
    return block


def count_streams(stderr: str, kind: str) -> int:
    """How many streams of ``kind`` (``Audio``, ``Subtitle``...) the ``Input #0`` block lists."""
    return sum(m.group("kind") == kind for m in _STREAM_RE.finditer(input_block(stderr)))


def parse_input_info(stderr: str) -> VideoInfo:
    """Everything the ``Input #0`` block of ``-v verbose`` says about the first video stream
    (size, pixel format, rounded rate, SAR, colour, field order, side data), the other streams
    and the duration. Raises :class:`InputError` when there is no video."""
    block = input_block(stderr)
    streams = list(_STREAM_RE.finditer(block))
    videos = [m for m in streams if m.group("kind") == "Video"]
    video = next((m for m in videos if not _is_cover(m)), None)
    if video is None:
        if videos:
            raise InputError(NOTHING_BUT_COVER_ART)
        raise InputError("the input has no video stream that ffmpeg can read")
    rest = video.group("rest")
    size = _SIZE_RE.search(rest)
    if not size:
        raise InputError(f"could not read the frame size from ffmpeg's stream line: {rest.strip()}")
    fps = _FPS_RE.search(rest)
    if not fps:
        raise InputError("the input video has no frame rate; pass --input-rate (e.g. --input-rate 25)")
    duration = None
    d = _DURATION_RE.search(block)
    if d:
        duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + Fraction(d.group(3))
    side = _side_data(block, video)
    return VideoInfo(
        width=int(size.group(1)), height=int(size.group(2)), rate=rationalize_fps(fps.group(1) + fps.group(2)),
        pix_fmt=_pix_fmt(rest), duration=duration,
        sar=_sar(rest) or Fraction(1),
        audio=tuple(_audio_stream(m) for m in streams if m.group("kind") == "Audio"),
        subtitles=tuple(SubtitleStream(int(m.group("index")), _codec(m.group("rest")))
                        for m in streams if m.group("kind") == "Subtitle"),
        attachments=sum(m.group("kind") == "Attachment" for m in streams), covers=sum(map(_is_cover, videos)),
        data_streams=sum(m.group("kind") == "Data" for m in streams),
        **_pix_details(rest), **side,
    )  # fmt: skip


#: what an input whose only pictures are cover art (an mp3's, say) is told
NOTHING_BUT_COVER_ART = ("the input has no video, only a still picture (cover art, an attached picture): "
                         "there is nothing to slow down")


def _is_cover(stream: "re.Match[str]") -> bool:
    """A video stream that is one still picture: cover art, a thumbnail (ffmpeg's ``-map 0:V``
    leaves these out)."""
    rest = stream.group("rest")
    return "(attached pic)" in rest or "(still image)" in rest


def is_cover_art_only(stderr: str) -> bool:
    """Does the ``Input #0`` block list video streams, all of them cover art?"""
    videos = [m for m in _STREAM_RE.finditer(input_block(stderr)) if m.group("kind") == "Video"]
    return bool(videos) and all(_is_cover(m) for m in videos)


def _sar(text: str) -> Optional[Fraction]:
    """The ``SAR n:d`` of a stream line; ``None`` when absent or unset (a zero)."""
    m = _SAR_RE.search(text)
    if not m or not int(m.group(1)) or not int(m.group(2)):
        return None
    return Fraction(int(m.group(1)), int(m.group(2)))


def _codec(rest: str) -> str:
    return rest.split(",")[0].split()[0] if rest.strip() else "unknown"


def _audio_stream(m: "re.Match[str]") -> AudioStream:
    rest = m.group("rest")
    hz = _HZ_RE.search(rest)
    rate, channels, layout = 0, 0, ""
    if hz:
        rate = int(hz.group(1))
        layout = hz.group(2).strip()
        n = re.match(r"(\d+) channels", layout)
        channels = int(n.group(1)) if n else _LAYOUT_CHANNELS.get(layout, 0)
    return AudioStream(index=int(m.group("index")), codec=_codec(rest), sample_rate=rate, channels=channels,
                       layout=layout)  # fmt: skip


def _side_data(block: str, video: "re.Match[str]") -> dict[str, Any]:
    """Rotation, mastering display and content light of the video stream's own lines."""
    nxt = _STREAM_RE.search(block, video.end())
    own = block[video.end() : nxt.start() if nxt else len(block)]
    rot = _ROTATION_RE.search(own)
    md = _MASTERING_RE.search(own)
    cl = _LIGHT_RE.search(own)
    return {
        "rotation": round(float(rot.group(1))) if rot else 0,
        "mastering_display": md.group(1) if md else None,
        "content_light": cl.group(1) if cl else None,
    }


def _top_fields(text: str) -> list[str]:
    """Split at commas that are not inside parentheses."""
    depth = 0
    fields: list[str] = []
    cur: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    fields.append("".join(cur))
    return fields


def _pix_field(stream_rest: str) -> str:
    # "h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 320x240 ..." -> that field;
    # the first field after the codec that starts with a bare name ("1 reference frame" is not)
    for f in _top_fields(stream_rest)[1:]:
        name = f.strip().split("(")[0].strip()
        if re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return f.strip()
    return ""


def _pix_fmt(stream_rest: str) -> str:
    field = _pix_field(stream_rest)
    return field.split("(")[0].strip() if field else "unknown"


def _colour_name(name: str) -> Optional[str]:
    return None if not name or name in UNSET else name


def _pix_details(stream_rest: str) -> dict[str, Any]:
    """Range, matrix/primaries/transfer, field order and chroma location from the pixel format's
    parentheses, e.g. ``yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive, left)``."""
    field = _pix_field(stream_rest)
    inner = field[field.find("(") + 1 : field.rfind(")")] if "(" in field else ""
    out: dict[str, Any] = {"field_order": "unknown"}
    for item in (x.strip() for x in _top_fields(inner) if x.strip()):
        if item in ("tv", "pc"):
            out["color_range"] = item
        elif item in _FIELD_ORDERS:
            out["field_order"] = _FIELD_ORDERS[item]
        elif item in _CHROMA_LOCS:
            out["chroma_location"] = item
        else:
            parts = item.split("/")
            space, prim, trc = parts if len(parts) == 3 else (item, item, item)
            out["color_space"], out["color_primaries"], out["color_trc"] = (
                _colour_name(space), _colour_name(prim), _colour_name(trc))  # fmt: skip
    return out


def parse_y4m_header(header: bytes) -> tuple[int, int, Fraction]:
    """``YUV4MPEG2 W320 H240 F30000:1001 ...`` -> (width, height, exact rate)."""
    line = header.split(b"\n", 1)[0].decode("ascii", "replace")
    if not line.startswith("YUV4MPEG2"):
        raise InputError("ffmpeg did not produce a y4m header while probing")
    fields = {f[0]: f[1:] for f in line.split()[1:] if f}
    try:
        num, den = fields["F"].split(":")
        return int(fields["W"]), int(fields["H"]), Fraction(int(num), int(den))
    except (KeyError, ValueError, ZeroDivisionError):
        raise InputError(f"unreadable y4m header from ffmpeg: {line!r}") from None


def parse_y4m_aspect(header: bytes) -> Optional[Fraction]:
    """The sample aspect ratio of a y4m header (``A3:4``); ``None`` when it is unset
    (``A0:0``) or absent. For a decoded rotated frame it is the upright picture's."""
    line = header.split(b"\n", 1)[0].decode("ascii", "replace")
    m = re.search(r" A(\d+):(\d+)(?: |$)", line)
    if not m or not int(m.group(1)) or not int(m.group(2)):
        return None
    return Fraction(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class Packets:
    """One output stream of a ``-c copy -f framecrc`` run: time base, and each packet's pts
    (``None``: no pts) and flags (1 keyframe, 4 discard), in the order ffmpeg muxed them."""

    time_base: Fraction
    pts: tuple[Optional[int], ...]
    flags: tuple[int, ...]
    durations: tuple[int, ...] = ()


_NOPTS = -9223372036854775808


def parse_framecrc(text: str) -> dict[int, Packets]:
    """``#tb 0: 1/12800`` headers and ``0, dts, pts, duration, size, crc[, F=0x0][, S=...]``
    lines of ffmpeg's framecrc muxer (5.1 and 9.x spell them the same) -> packets per stream."""
    tbs: dict[int, Fraction] = {}
    pts: dict[int, list[Optional[int]]] = {}
    flags: dict[int, list[int]] = {}
    durs: dict[int, list[int]] = {}
    for line in text.splitlines():
        if line.startswith("#tb "):
            idx, _, tb = line[4:].partition(":")
            tbs[int(idx)] = Fraction(tb.strip())
            continue
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 6:
            continue
        st, p = int(fields[0]), int(fields[2])
        f = next((int(x[2:], 16) for x in fields[6:] if x.startswith("F=")), 1)
        pts.setdefault(st, []).append(None if p == _NOPTS else p)
        flags.setdefault(st, []).append(f)
        durs.setdefault(st, []).append(int(fields[3]))
    return {st: Packets(tbs.get(st, Fraction(1)), tuple(pts[st]), tuple(flags[st]), tuple(durs[st])) for st in pts}


def packet_rate(packets: Packets, times: Optional[Sequence[Fraction]], nominal: Fraction) -> Fraction:
    """The exact rate of a constant-rate stream whose packets all last the same (ffmpeg's
    nominal rate can be a guess: 24000/1001 for an avi of 2997/125), else ``nominal``."""
    durs = set(packets.durations)
    if len(durs) != 1 or min(durs) <= 0:
        return nominal
    step = min(durs) * packets.time_base
    if times is not None and any(b - a != step for a, b in zip(times, times[1:])):
        return nominal
    rate = 1 / step
    return rate if abs(rate - nominal) < nominal / 100 else nominal


def packets_info(info: VideoInfo, packets: dict[int, Packets]) -> VideoInfo:
    """``info`` (from the stream lines) completed with what the packets say: frame count and
    times (discarded packets left out), start, keyframes, variable rate, audio start times.
    Output stream 0 is the video, 1.. the audio streams in input order."""
    video = packets.get(0)
    if video is None:
        return replace(info, n_frames=0)
    kept = [(p, f) for p, f in zip(video.pts, video.flags) if not f & 4]
    times = tl.frame_times([p for p, _ in kept], video.time_base)
    keys: tuple[int, ...] = ()
    if times is not None:
        keys = tl.keyframe_indices([p for p, f in kept if f & 1 and p is not None], video.time_base, times)
    audio = []
    for k, a in enumerate(info.audio):
        ap = packets.get(k + 1)
        known = [p for p, f in zip(ap.pts, ap.flags) if p is not None and not f & 4] if ap else []
        audio.append(replace(a, start=min(known) * ap.time_base) if ap and known else a)
    return replace(
        info, n_frames=len(kept), frame_times=times, keyframes=keys, audio=tuple(audio),
        rate=packet_rate(video, times, info.rate),
        start=times[0] if times else Fraction(0),
        vfr=bool(times) and tl.is_vfr(times, video.time_base),  # type: ignore[arg-type]
    )  # fmt: skip


#: what ffmpeg prints for an unset tag
UNSET = ("unknown", "unspecified", "reserved")


_FIRST_RE = re.compile(r"^\[a?showinfo@(\w+) @ [^\]]*\].*?pts_time:(-?[\d.]+)", re.MULTILINE)


def parse_first_times(stderr: str) -> dict[str, Fraction]:
    """``{"v": t, "a0": t, ...}``: the first time each named showinfo reported."""
    found: dict[str, Fraction] = {}
    for m in _FIRST_RE.finditer(stderr):
        found.setdefault(m.group(1), Fraction(m.group(2)))
    return found


def decoded_starts(info: VideoInfo, times: dict[str, Fraction]) -> VideoInfo:
    """Each audio track's start, measured where it counts: its first *decoded* sample against
    the first decoded frame (an AAC track's first packet is a priming packet before 0, which
    the decoder drops), placed on the video's own timeline (``info.start``)."""
    if "v" not in times:
        return info
    shift = info.start - times["v"]
    audio = tuple(replace(a, start=times[f"a{j}"] + shift) if f"a{j}" in times else a for j, a in enumerate(info.audio))
    return replace(info, audio=audio)


_FRAME_SIDE_RE = re.compile(
    r"^\[showinfo@v @ [^\]]*\] +side data - (?:(?P<md>mastering display(?: metadata)?)|(?P<cl>content light level"
    r"(?: information| metadata))): *(?P<value>.*?)\s*$", re.IGNORECASE | re.MULTILINE)


def parse_frame_side_data(stderr: str) -> dict[str, str]:
    """HDR metadata carried in the stream itself (SEI of HEVC, say), which only a decoded
    frame shows: ``mastering_display`` and ``content_light`` from what ``showinfo@v`` said of
    the first frame (ffmpeg 5.1 and 9.0 word them differently)."""
    found: dict[str, str] = {}
    for m in _FRAME_SIDE_RE.finditer(stderr):
        found.setdefault("mastering_display" if m.group("md") else "content_light", m.group("value"))
    return found


_TB_RE = re.compile(r"config in time_base: (\d+)/(\d+)")
_KEY_RE = re.compile(r"\bn: *\d+ pts: *(-?\d+) ")


def parse_keyframes(stderr: str, rate: Fraction) -> list[int]:
    """Frame numbers of keyframes from ``showinfo`` lines of a ``-skip_frame nokey`` decode."""
    tb = _TB_RE.search(stderr)
    if not tb:
        return []
    base = Fraction(int(tb.group(1)), int(tb.group(2)))
    frames = []
    for m in _KEY_RE.finditer(stderr):
        t = int(m.group(1)) * base * rate
        frames.append(int(t + Fraction(1, 2)) if t >= 0 else 0)
    return sorted(set(frames))


_ENCODER_FMTS_RE = re.compile(r"Supported pixel formats: ([^\n]*)")


def parse_encoder_pix_fmts(help_text: str) -> tuple[str, ...]:
    """The pixel formats ``ffmpeg -h encoder=NAME`` lists (empty: the encoder is not built in)."""
    m = _ENCODER_FMTS_RE.search(help_text)
    return tuple(m.group(1).split()) if m else ()


# ffmpeg 5.1: "Unable to find a suitable output format for 'x'"; 9.0: "Unable to choose an output format"
_NO_FORMAT_RE = re.compile(r"Unable to (?:find a suitable|choose an) output format for")


def parse_format_refused(stderr: str) -> bool:
    """Does ffmpeg say it can't tell an output file's format from its name?"""
    return bool(_NO_FORMAT_RE.search(stderr))


_OUT_STREAM_RE = re.compile(r"Output #0.*?Stream #0:0[^\n]*?: Video: (?P<rest>[^\n]*)", re.DOTALL)


def parse_output_pix_fmt(header: str) -> Optional[str]:
    """The pixel format of the first output stream in ffmpeg's header (what a decoder writes)."""
    m = _OUT_STREAM_RE.search(header)
    return _pix_fmt(m.group("rest")) if m else None


#: the instance name of the pipe decoder's ``showinfo``: the exact rate and each frame's time
FRAME_TIMES = "showinfo@ts"
_LINK_RE = re.compile(r"^\[" + FRAME_TIMES + r" @ [^\]]*\] config in time_base: (\d+)/(\d+), frame_rate: (\d+)/(\d+)",
                      re.MULTILINE)  # fmt: skip
_FRAME_PTS_RE = re.compile(r"^\[" + FRAME_TIMES + r" @ [^\]]*\] n: *\d+ pts: *(-?\d+|NOPTS) ")


def parse_link(stderr: str) -> Optional[tuple[Fraction, Optional[Fraction]]]:
    """The time base and the exact frame rate (``None``: unknown) of the frames the pipe
    decoder's ``showinfo@ts`` sees (ffmpeg prints rates rounded everywhere else: 16.67 fps)."""
    m = _LINK_RE.search(stderr)
    if not m:
        return None
    tb_num, tb_den, num, den = (int(g) for g in m.groups())
    if not tb_num or not tb_den:
        return None
    return Fraction(tb_num, tb_den), Fraction(num, den) if num and den else None


def parse_frame_pts(line: str) -> "Optional[int | str]":
    """The pts of one ``showinfo@ts`` frame line (``"NOPTS"`` when the frame has none);
    ``None`` for any other line."""
    m = _FRAME_PTS_RE.match(line)
    if not m:
        return None
    return m.group(1) if m.group(1) == "NOPTS" else int(m.group(1))


def parse_pipe_info(header: str) -> VideoInfo:
    """What a pipe decoder's header says of its stream: the ``Input #0`` block, with the size
    and SAR it writes (upright: a rotated stream is turned before it is written) and the
    exact rate of ``showinfo@ts``. Raises :class:`InputError` when there is no video, or
    when the decoder ended before writing any frame (no output stream)."""
    info = parse_input_info(header)
    out = _OUT_STREAM_RE.search(header)
    size = _SIZE_RE.search(out.group("rest")) if out else None
    if out is None or size is None:
        raise InputError("the decoder ended before its first frame")
    link = parse_link(header)
    return replace(
        info, width=int(size.group(1)), height=int(size.group(2)),
        sar=_sar(out.group("rest")) or info.sar,
        rate=link[1] if link and link[1] else info.rate,
    )  # fmt: skip


_SHOWINFO_PTS_RE = re.compile(r"\bn: *0 pts: *(-?\d+) ")


def parse_first_frame_time(stderr: str) -> Optional[Fraction]:
    """The time of the first frame a ``showinfo`` filter logged (``None``: none logged)."""
    tbs = _TB_RE.findall(stderr)
    m = _SHOWINFO_PTS_RE.search(stderr)
    if not tbs or not m:
        return None
    num, den = tbs[-1]
    return int(m.group(1)) * Fraction(int(num), int(den))
