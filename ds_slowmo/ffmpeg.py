"""ffmpeg: finding it, probing inputs, and running decoder/encoder subprocesses safely.

Every process is started from an argv list (never a shell string), lives inside a
``with``/``try-finally`` that closes its pipes, waits, and kills it on error or interrupt, and
has its stderr drained by a daemon thread into a bounded tail that error messages quote.
"""

from __future__ import annotations

import bisect
import collections
import logging
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import IO, Any, Optional, Sequence

from . import timeline as tl
from .errors import FFmpegError, InputError, SlowmoError, ffmpeg_said
from .pixfmt import NATIVE, PixFmt
from .plan import format_rate

log = logging.getLogger("ds_slowmo")

__all__ = [
    "find_ffmpeg",
    "AudioStream",
    "SubtitleStream",
    "Packets",
    "parse_framecrc",
    "packets_info",
    "keyframes",
    "parse_keyframes",
    "decoder_argv",
    "decoder_filters",
    "decode_window",
    "file_window",
    "constant_rate",
    "parse_first_frame_time",
    "VideoInfo",
    "probe",
    "parse_input_info",
    "parse_y4m_header",
    "rationalize_fps",
    "FFmpegProcess",
]


def find_ffmpeg() -> str:
    """``$DS_SLOWMO_FFMPEG``, else ``ffmpeg`` on PATH, else imageio-ffmpeg's bundled binary."""
    env = os.environ.get("DS_SLOWMO_FFMPEG")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise SlowmoError(f"DS_SLOWMO_FFMPEG={env} is not an executable file; fix or unset it")
        return env
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        raise SlowmoError(
            "ffmpeg not found: install it (apt-get install ffmpeg), pip install imageio-ffmpeg, "
            "or set DS_SLOWMO_FFMPEG"
        ) from None
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


# ---------------------------------------------------------------------------------------------
# Parsing what ffmpeg prints (pure)


@dataclass(frozen=True)
class AudioStream:
    index: int  # absolute stream index in the input
    codec: str
    sample_rate: int
    channels: int
    start: Fraction = Fraction(0)  # time of its first sample, on the video's timeline


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
_SAR_RE = re.compile(r"\[SAR (\d+):(\d+) DAR")
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


def _input_block(stderr: str) -> str:
    """The ``Input #0`` block of ffmpeg's log, without what follows it."""
    inp = stderr.find("Input #0")
    block = stderr[inp:] if inp >= 0 else stderr
    for marker in ("\nOutput #0", "\nStream mapping:"):
        cut = block.find(marker)
        if cut >= 0:
            block = block[:cut]
    return block


def parse_input_info(stderr: str) -> VideoInfo:
    """Everything the ``Input #0`` block of ``-v verbose`` says about the first video stream
    (size, pixel format, rounded rate, SAR, colour, field order, side data), the other streams
    and the duration. Raises :class:`InputError` when there is no video."""
    block = _input_block(stderr)
    streams = list(_STREAM_RE.finditer(block))
    video = next((m for m in streams if m.group("kind") == "Video"), None)
    if video is None:
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
    sar = _SAR_RE.search(rest)
    side = _side_data(block, video)
    return VideoInfo(
        width=int(size.group(1)), height=int(size.group(2)), rate=rationalize_fps(fps.group(1) + fps.group(2)),
        pix_fmt=_pix_fmt(rest), duration=duration,
        sar=Fraction(int(sar.group(1)), int(sar.group(2))) if sar and int(sar.group(1)) and int(sar.group(2)) else Fraction(1),
        audio=tuple(_audio_stream(m) for m in streams if m.group("kind") == "Audio"),
        subtitles=tuple(SubtitleStream(int(m.group("index")), _codec(m.group("rest")))
                        for m in streams if m.group("kind") == "Subtitle"),
        attachments=sum(m.group("kind") == "Attachment" for m in streams),
        data_streams=sum(m.group("kind") == "Data" for m in streams),
        **_pix_details(rest), **side,
    )  # fmt: skip


def _codec(rest: str) -> str:
    return rest.split(",")[0].split()[0] if rest.strip() else "unknown"


def _audio_stream(m: "re.Match[str]") -> AudioStream:
    rest = m.group("rest")
    hz = _HZ_RE.search(rest)
    rate, channels = 0, 0
    if hz:
        rate = int(hz.group(1))
        layout = hz.group(2).strip()
        n = re.match(r"(\d+) channels", layout)
        channels = int(n.group(1)) if n else _LAYOUT_CHANNELS.get(layout, 0)
    return AudioStream(index=int(m.group("index")), codec=_codec(rest), sample_rate=rate, channels=channels)


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
    return None if not name or name in _UNSET else name


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


# ---------------------------------------------------------------------------------------------
# Processes


class _StderrDrain(threading.Thread):
    """Reads a process's stderr to EOF, keeping the first lines (stream info) and a tail."""

    def __init__(self, stream: IO[bytes], head_lines: int = 400, tail_lines: int = 40) -> None:
        super().__init__(daemon=True, name="ffmpeg-stderr")
        self._stream = stream
        self.head: list[str] = []
        self._head_max = head_lines
        self._tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.header_done = threading.Event()  # set at "Stream mapping:"/"Output #0" or EOF
        self._lock = threading.Lock()

    def run(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    if len(self.head) < self._head_max:
                        self.head.append(line)
                    self._tail.append(line)
                if line.startswith(("Stream mapping:", "Output #0", "Press [q]")):
                    self.header_done.set()
        finally:
            self.header_done.set()
            self._stream.close()

    def tail(self) -> str:
        with self._lock:
            return "\n".join(self._tail)

    def head_text(self) -> str:
        with self._lock:
            return "\n".join(self.head)


def _widen_pipe(fd: int, size: int = 1 << 20) -> None:
    """Ask Linux for a pipe buffer of ``size`` bytes (default 64 KiB): a frame then crosses in
    one or two writes instead of a dozen, with as many fewer wake-ups of both processes. Best
    effort: elsewhere, or above the system's limit, the pipe stays as it is."""
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if setpipe is None:
        return
    try:
        fcntl.fcntl(fd, setpipe, size)
    except OSError:
        pass  # EPERM above /proc/sys/fs/pipe-max-size for unprivileged users: keep the default


class FFmpegProcess:
    """One ffmpeg subprocess, used as a context manager.

    On a clean exit of the ``with`` block the caller has already called :meth:`finish`. On any
    exception (``KeyboardInterrupt`` included) the process is killed and reaped, so no ffmpeg
    outlives its run.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        role: str,
        stdin: Any = subprocess.DEVNULL,
        stdout: Any = subprocess.DEVNULL,
    ) -> None:
        self.role = role
        self.argv = list(argv)
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                bufsize=0,
            )
        except OSError as exc:
            raise FFmpegError(f"could not start ffmpeg ({self.argv[0]}): {exc}") from exc
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                _widen_pipe(pipe.fileno())
        assert self.proc.stderr is not None
        self._drain = _StderrDrain(self.proc.stderr)
        self._drain.start()

    # -- use ---------------------------------------------------------------------------------
    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    @property
    def stdout(self) -> IO[bytes]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def stderr_tail(self) -> str:
        return self._drain.tail()

    def wait_header(self) -> str:
        """Block until ffmpeg has printed its stream info (or died); return what it printed."""
        self._drain.header_done.wait()
        return self._drain.head_text()

    def finish(self, timeout: Optional[float] = None) -> int:
        """Close stdin (EOF for an encoder), wait for exit, drain stderr; return the code."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        code = self.proc.wait(timeout)
        self._drain.join()
        return code

    def kill(self) -> None:
        """Kill and reap (idempotent). Pipes are closed so no thread stays blocked on them."""
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self.proc.wait()
        self._drain.join(timeout=5)

    def __enter__(self) -> "FFmpegProcess":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # Success path: the caller finished the process. Anything else: kill it.
        if exc_type is not None or self.proc.poll() is None:
            self.kill()


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


#: what ffmpeg prints for an unset tag; and the one printed name its options don't take
_UNSET = ("unknown", "unspecified", "reserved")
_OPTION_NAME = {"gbr": "rgb"}


def run_short(argv: Sequence[str], what: str, stdin: Optional[bytes] = None, *, check: bool = True,
              pass_fds: Sequence[int] = ()) -> tuple[int, bytes, str]:  # fmt: skip
    """Run a short ffmpeg command to its end; return (exit code, stdout, stderr). With ``check``
    a non-zero exit raises :class:`FFmpegError` naming ``what`` with ffmpeg's own words. The
    process is reaped on any exception, ``KeyboardInterrupt`` included."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=tuple(pass_fds))  # fmt: skip
    try:
        out, err = proc.communicate(stdin)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise FFmpegError(f"{what} failed (ffmpeg exit code {proc.returncode})", text)
    return proc.returncode, out, text


def probe(path: str, ffmpeg: Optional[str] = None) -> VideoInfo:
    """Probe a file (not a pipe) without decoding more than a frame: the stream lines
    (``-v verbose``) and every video and audio packet's timestamps (``framecrc`` of a stream
    copy) in one run; the exact nominal rate from the header of a one-frame y4m in a second
    (in one run, ffmpeg 5.1 would decode the whole file for that one frame)."""
    exe = ffmpeg or find_ffmpeg()
    argv = preamble(exe, "verbose") + ["-i", path_arg(path), "-map", "0:v:0", "-map", "0:a?", "-c", "copy",
                                       "-f", "framecrc", "pipe:1"]  # fmt: skip
    code, out, err = run_short(argv, "probe", check=False)
    header = b""
    if code == 0:  # the first frames, decoded: the exact rate, the upright size, each track's start
        n_audio = sum(m.group("kind") == "Audio" for m in _STREAM_RE.finditer(_input_block(err)))
        code, header, first = run_short(first_frames_argv(exe, path, n_audio), "probe", check=False)
        err += first
    if code != 0 or not header:
        if "Stream #0" in err and "Video:" not in _input_block(err):
            raise InputError(f"{path} has no video stream")
        said = ffmpeg_said(err, 2)
        raise InputError(f"ffmpeg cannot read {path} as a video" + (f" (ffmpeg said: {said})" if said else ""))
    info = parse_input_info(err)
    width, height, rate = parse_y4m_header(header)
    info = replace(info, width=width, height=height, rate=rate)
    info = packets_info(info, parse_framecrc(out.decode("ascii", "replace")))
    return decoded_starts(info, parse_first_times(first))


def first_frames_argv(exe: str, path: str, n_audio: int) -> list[str]:
    """Decode the first video frame (as a one-frame y4m on stdout: its header has the exact
    rate and the upright size) and each audio track's first sample, saying their times
    (``showinfo@v``, ``ashowinfo@aJ``) on the timeline the encoder's audio input has."""
    chains = ["[0:v:0]trim=end_frame=1,showinfo@v[v]"] + [
        f"[0:a:{j}]atrim=end_sample=1,ashowinfo@a{j}[a{j}]" for j in range(n_audio)]  # fmt: skip
    audio = [a for j in range(n_audio) for a in ("-map", f"[a{j}]")]
    return preamble(exe, "info") + ["-i", path_arg(path), "-filter_complex", ";".join(chains),
                                    "-map", "[v]", "-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", "pipe:1",
                                    *((audio + ["-f", "null", "-"]) if audio else [])]  # fmt: skip


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


def is_url(path: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path))


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


def keyframes(path: str, rate: Fraction, ffmpeg: Optional[str] = None) -> list[int]:
    """Keyframe frame numbers of a file's first video stream as a ``-skip_frame nokey`` decode
    shows them, for files whose probe has no frame timestamps (where it has them,
    ``VideoInfo.keyframes`` is exact); a chunk's start is only a hint: its decoder window is
    checked."""
    exe = ffmpeg or find_ffmpeg()
    argv = [*preamble(exe, "info"), "-skip_frame", "nokey", "-i", path_arg(path),
            "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"]  # fmt: skip
    _, _, err = run_short(argv, f"listing the keyframes of {path}")
    return parse_keyframes(err, rate)


# ---------------------------------------------------------------------------------------------
# argv builders (pure) and short commands


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


@dataclass(frozen=True)
class RawVideo:
    """Raw frames on a pipe between ds-slowmo and ffmpeg: layout, rate and the colour tags and
    sample aspect ratio they carry (``None``: unspecified, kept unspecified)."""

    pix_fmt: str
    width: int
    height: int
    rate: Fraction
    color_range: Optional[str] = None
    color_space: Optional[str] = None
    color_primaries: Optional[str] = None
    color_trc: Optional[str] = None
    chroma_location: Optional[str] = None
    sar: Fraction = Fraction(1)

    def tag_args(self) -> list[str]:
        """Options that tag a stream with these colour properties (input or output side)."""
        pairs = (("-color_range", self.color_range), ("-colorspace", self.color_space),
                 ("-color_primaries", self.color_primaries), ("-color_trc", self.color_trc),
                 ("-chroma_sample_location", self.chroma_location))  # fmt: skip
        return [a for flag, value in pairs if value and value not in _UNSET for a in (flag, _OPTION_NAME.get(value, value))]

    def input_args(self, source: str = "pipe:0") -> list[str]:
        """Read these frames as an input (ffmpeg's stdin by default)."""
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-s", f"{self.width}x{self.height}",
                "-framerate", format_rate(self.rate), *self.tag_args(), "-i", source]  # fmt: skip

    def aspect_args(self) -> list[str]:
        if self.sar == 1:
            return []
        dar = self.sar * self.width / self.height
        return ["-aspect", f"{dar.numerator}:{dar.denominator}"]


_ENCODER_FMTS_RE = re.compile(r"Supported pixel formats: ([^\n]*)")
_encoder_cache: dict[tuple[str, str], tuple[str, ...]] = {}


def encoder_pix_fmts(exe: str, encoder: str) -> tuple[str, ...]:
    """Pixel formats ``encoder`` takes in this ffmpeg (empty: not built in). Cached."""
    key = (exe, encoder)
    if key not in _encoder_cache:
        proc = subprocess.run([exe, "-hide_banner", "-h", f"encoder={encoder}"], capture_output=True,
                              stdin=subprocess.DEVNULL, check=False)  # fmt: skip
        m = _ENCODER_FMTS_RE.search(proc.stdout.decode("utf-8", "replace"))
        _encoder_cache[key] = tuple(m.group(1).split()) if m else ()
    return _encoder_cache[key]


def concat_argv(exe: str, listing: str, target: str, audio: Sequence[str], source: str) -> list[str]:
    """Join chunk files listed in ``listing`` without re-encoding; the audio arguments (if any)
    read the original ``source`` as input 1."""
    argv = preamble(exe) + ["-f", "concat", "-safe", "0", "-i", path_arg(listing)]
    if audio:
        argv += ["-vn", "-i", path_arg(source)]
    return argv + ["-map", "0:v:0", *audio, "-c:v", "copy", "-y", path_arg(target)]


def png_argv(exe: str, raw: RawVideo, target: str, vf: Optional[str]) -> list[str]:
    """One frame of raw video on stdin -> a PNG, converted as ffmpeg converts these (tagged)
    frames."""
    chain = ([vf] if vf else []) + ["format=rgb24"]
    return preamble(exe, "error", stdin=True) + raw.input_args() + [
        "-vf", ",".join(chain), "-frames:v", "1", "-c:v", "png", "-f", "image2", "-update", "1", "-y", path_arg(target)]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# What the encoder writes: codec, pixel format and tags (pure; ``encoders`` says which pixel
# formats an encoder takes, empty when it is not built in)

_H264_LIKE = (".mp4", ".m4v", ".mov", ".mkv", ".ts", ".m2ts", ".mts", "mpegts")
_USER_CODEC = ("-c:v", "-vcodec", "-codec:v", "-c", "-codec")


@dataclass(frozen=True)
class VideoOut:
    """The encoder's video arguments, the filters its frames need first (a chain for ``-vf`` or
    the end of a filter graph), and one-line notes on anything it could not keep."""

    args: tuple[str, ...]
    notes: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        """The arguments with the filters as ``-vf``."""
        return (["-vf", ",".join(self.filters)] if self.filters else []) + list(self.args)


def video_out(container: str, raw: RawVideo, crf: Optional[int], user_args: Sequence[str],
              encoders: Any) -> VideoOut:  # fmt: skip
    """Codec, pixel format and tags for ``container`` (a pipe format name or a file extension
    such as ``.mp4``) given the frames ``raw``. The input's own pixel format, colour tags and
    sample aspect ratio are kept wherever the output can carry them; a user ``-c:v`` in
    ``user_args`` picks the codec and ffmpeg then negotiates the format nearest the input's."""
    tags = raw.tag_args() + raw.aspect_args()
    if any(a in _USER_CODEC for a in user_args):
        return VideoOut(tuple(tags))
    if container in ("yuv4mpegpipe", ".y4m"):
        return _y4m_out(raw, tags)
    if container in ("nut", ".nut"):
        return VideoOut(("-c:v", "rawvideo", "-pix_fmt", raw.pix_fmt, *tags))
    if container == "matroska":
        return VideoOut(("-c:v", "ffv1", *tags))
    if container == "rawvideo":  # rgb24, converted as plain ffmpeg converts these (tagged) frames
        return VideoOut(("-pix_fmt", "rgb24"))
    if container == ".webm":
        return _vp9_out(raw, crf, tags, encoders)
    if container in _H264_LIKE:
        return _h264_out(raw, crf, tags, encoders, container)
    return VideoOut(tuple(tags))  # .avi, .gif, image sequences: ffmpeg's own choice


def _native(pix_fmt: str) -> PixFmt:
    """What :mod:`ds_slowmo.pixfmt` knows of a native format (a yuvj name is its yuv twin)."""
    return NATIVE[pix_fmt.replace("yuvj", "yuv")]


def _y4m_out(raw: RawVideo, tags: list[str]) -> VideoOut:
    fmt = _native(raw.pix_fmt)
    if fmt.y4m_ok:  # above 8 bits, and yuva444p, only with -strict -1 (on ffmpeg 5.1 and 9.0 alike)
        return VideoOut(("-strict", "-1") * fmt.y4m_strict + ("-pix_fmt", fmt.name, *tags))
    return _converted(raw, "yuv444p", tags, f"y4m cannot carry {raw.pix_fmt}: writing yuv444p")


def _converted(raw: RawVideo, pix_fmt: str, tags: list[str], note: str, extra: Sequence[str] = ()) -> VideoOut:
    """Frames that must change format: RGB goes to YUV with the BT.709 matrix, tagged so."""
    if _native(raw.pix_fmt).is_rgb and not _native(pix_fmt).is_rgb:
        vf = ("scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd",)
        tags = ["-colorspace", "bt709", "-color_range", "tv"] + raw.aspect_args()
        return VideoOut((*extra, "-pix_fmt", pix_fmt, *tags), (note + " (BT.709)",), vf)
    return VideoOut((*extra, "-pix_fmt", pix_fmt, *tags), (note,))


def _crf_args(crf: Optional[int], default: int) -> list[str]:
    return ["-crf", str(default if crf is None else crf)]


def _h264_out(raw: RawVideo, crf: Optional[int], tags: list[str], encoders: Any, container: str) -> VideoOut:
    """libx264 in the input's format when it takes it (8/10-bit 4:2:0/4:2:2/4:4:4, gray), else
    libx265 (12-bit), else 4:2:0 (8 or 10-bit, what every player takes; RGB is converted with
    the BT.709 matrix), with a note. 4:2:0 and 4:2:2 at odd sizes lose their last row or
    column. Alpha is dropped (H.264 and these containers don't carry it) except in .mov, where
    ProRes 4444 keeps it."""
    fmt = raw.pix_fmt.replace("yuvj", "yuv")
    notes: list[str] = []
    if _native(fmt).has_alpha:
        if container == ".mov" and "yuva444p10le" in encoders("prores_ks"):
            return VideoOut(("-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", *tags))
        fmt = _without_alpha(fmt)
        raw = replace(raw, pix_fmt=fmt)
        notes.append(f"{container} with H.264 cannot carry alpha: the alpha plane is dropped")
    x264 = [f for f in encoders("libx264") if not f.startswith(("nv", "yuvj"))]
    codec = "libx264" if fmt in x264 else "libx265" if fmt in encoders("libx265") and not _native(fmt).is_rgb else None
    target = fmt if codec else ("yuv420p10le" if _native(fmt).depth > 8 else "yuv420p")  # what plays everywhere
    crop = _even_crop(raw, target)
    if crop:
        notes.append(f"H.264 4:2:0/4:2:2 needs even sizes: the last {crop[1]} cropped away")
    vf = (crop[0],) if crop else ()
    if codec:
        return VideoOut(("-c:v", codec, *_crf_args(crf, 16), "-pix_fmt", fmt, *tags), tuple(notes), vf)
    out = _converted(raw, target, tags, f"libx264 cannot take {raw.pix_fmt}: writing {target}",
                     ("-c:v", "libx264", *_crf_args(crf, 16)))  # fmt: skip
    return VideoOut(out.args, tuple(notes) + out.notes, vf + out.filters)


def _vp9_out(raw: RawVideo, crf: Optional[int], tags: list[str], encoders: Any) -> VideoOut:
    """VP9 profile 0 (8-bit 4:2:0) or 2 (10/12-bit 4:2:0): what browsers and phones play.
    Alpha is kept (yuva420p) where this ffmpeg's libvpx takes it."""
    deep = _native(raw.pix_fmt).depth > 8
    fmt = "yuv420p10le" if deep else "yuv420p"
    if _native(raw.pix_fmt).has_alpha and not deep and "yuva420p" in encoders("libvpx-vp9"):
        fmt = "yuva420p"
    base = ("-c:v", "libvpx-vp9", *_crf_args(crf, 24), "-b:v", "0")
    if fmt == raw.pix_fmt:
        return VideoOut((*base, "-pix_fmt", fmt, *tags))
    return _converted(raw, fmt, tags, f".webm plays everywhere as {fmt}: converting {raw.pix_fmt}", base)


def _without_alpha(pix_fmt: str) -> str:
    return pix_fmt.replace("yuva", "yuv").replace("gbrap", "gbrp")


def _even_crop(raw: RawVideo, fmt: str) -> Optional[tuple[str, str]]:
    """A crop filter to even sizes where H.264's chroma needs them (4:2:0 both, 4:2:2 width)."""
    odd_w = raw.width % 2 == 1 and fmt.startswith(("yuv420", "yuv422"))
    odd_h = raw.height % 2 == 1 and fmt.startswith("yuv420")
    if not (odd_w or odd_h):
        return None
    what = " and ".join(w for w, odd in (("column", odd_w), ("row", odd_h)) if odd)
    return f"crop={raw.width - odd_w}:{raw.height - odd_h}:0:0", what


_OUT_STREAM_RE = re.compile(r"Output #0.*?Stream #0:0[^\n]*?: Video: (?P<rest>[^\n]*)", re.DOTALL)


def parse_output_pix_fmt(header: str) -> Optional[str]:
    """The pixel format of the first output stream in ffmpeg's header (what a decoder writes)."""
    m = _OUT_STREAM_RE.search(header)
    return _pix_fmt(m.group("rest")) if m else None


# ---------------------------------------------------------------------------------------------
# The decoder: argv (pure) and the check of a seek


def _seconds(x: Fraction, places: int = 9) -> str:
    """A decimal ffmpeg reads; ``-ss`` takes microseconds, so seeks are rounded down to them."""
    if places == 6:
        x = Fraction((x * 1_000_000).__floor__(), 1_000_000)
    return f"{float(x):.{places}f}"


def decoder_filters(window: Optional[tl.DecodeWindow], cfr_rate: Optional[Fraction] = None) -> list[str]:
    """The decoder's video filters: constant-rate conversion (``fps``, after cloning the last
    frame so every ffmpeg version fills the grid to its end), then the window's selection."""
    chain = []
    if cfr_rate is not None:
        chain += ["tpad=stop=-1:stop_mode=clone", f"fps={format_rate(cfr_rate)}"]
    if window is not None and window.select_time is not None:
        chain.append(f"select='gte(t\\,{_seconds(window.select_time)})'")
    elif window is not None and window.select_index is not None:
        chain.append(f"select='gte(n\\,{window.select_index})'")
    return chain


def decoder_input(src: str, window: Optional[tl.DecodeWindow]) -> list[str]:
    """A file input that starts where ``window`` seeks, on the default timeline (``-copyts
    -start_at_zero``, so a seek doesn't move the times the filters see)."""
    seek = ["-noaccurate_seek", "-ss", _seconds(window.seek, 6)] if window is not None and window.seek is not None else []
    return ["-copyts", "-start_at_zero", *seek, "-i", path_arg(src)]


def decoder_argv(
    exe: str, src: str, *, pipe: bool, window: Optional[tl.DecodeWindow] = None, limit: Optional[int] = None,
    pix_fmt: Optional[str] = None, cfr_rate: Optional[Fraction] = None, extra_filters: Sequence[str] = (),
    output: Sequence[str] = ("-f", "rawvideo"), target: str = "pipe:1", level: Optional[str] = None,
) -> list[str]:
    """A decoder of ``src`` (``pipe:0`` when ``pipe``, at ``-v info`` so its header tells the
    stream; ``level`` sets another) writing raw frames in ``pix_fmt`` (None: as the filters leave them) to stdout: the
    frames of ``window`` (or the first ``limit``, or all), on the default timeline (``-copyts
    -start_at_zero``, so a seek doesn't move the times the filters see)."""
    count = window.count if window is not None else limit
    if cfr_rate is not None and count is None:
        raise ValueError("a constant-rate conversion clones the last frame forever: give a frame count")
    argv = preamble(exe, level or ("info" if pipe else "warning"), stdin=pipe)
    argv += ["-i", "pipe:0"] if pipe else decoder_input(src, window)
    argv += ["-map", "0:v:0"]
    chain = decoder_filters(window, cfr_rate) + list(extra_filters)
    if chain:
        argv += ["-vf", ",".join(chain)]
    if count is not None:
        argv += ["-frames:v", str(count)]
    argv += ["-fps_mode", "passthrough", "-an", "-sn", "-dn", *output]
    return argv + (["-pix_fmt", pix_fmt] if pix_fmt else []) + [target]


_SHOWINFO_PTS_RE = re.compile(r"\bn: *0 pts: *(-?\d+) ")


def parse_first_frame_time(stderr: str) -> Optional[Fraction]:
    """The time of the first frame a ``showinfo`` filter logged (``None``: none logged)."""
    tbs = _TB_RE.findall(stderr)
    m = _SHOWINFO_PTS_RE.search(stderr)
    if not tbs or not m:
        return None
    num, den = tbs[-1]
    return int(m.group(1)) * Fraction(int(num), int(den))


def decode_window(
    exe: str, src: str, windows: Sequence[tl.DecodeWindow], cfr_rate: Optional[Fraction] = None
) -> tl.DecodeWindow:
    """The first of ``windows`` (from :func:`ds_slowmo.timeline.decode_windows`) shown to give
    the wanted first frame: each seek is tried on one frame, with ``showinfo`` saying its time.
    The last window (decoding from the start) needs no check."""
    if len(windows) == 1 or windows[0].expect is None:
        return windows[0]
    for w in windows[:-1]:
        one = replace(w, count=1)
        argv = decoder_argv(exe, src, pipe=False, window=one, cfr_rate=cfr_rate, extra_filters=["showinfo"],
                            output=("-f", "null"), target="-", level="info")  # fmt: skip
        code, _, err = run_short(argv, "seek check", check=False)
        t = parse_first_frame_time(err) if code == 0 else None
        if t is not None and w.expect is not None and w.expect[0] <= t < w.expect[1]:
            return w
        log.debug("seek to %ss for frame %d gave a frame at %ss; trying further back", w.seek, w.first, t)
    log.info("frame %d can't be reached by seeking exactly; decoding from the start", windows[-1].first)
    return windows[-1]


def constant_rate(info: VideoInfo) -> tuple[VideoInfo, Optional[tl.CfrGrid]]:
    """A variable-rate input as the decoder delivers it after ``fps`` conversion at its nominal
    rate: frame count, times and keyframes of the constant-rate frames (and the grid, for the
    decoder's ``cfr_rate``); any other input unchanged, with ``None``."""
    if not info.vfr or info.frame_times is None:
        return info, None
    grid = tl.cfr_grid(info.frame_times, info.rate)
    keys = sorted({bisect.bisect_left(grid.source, k) for k in info.keyframes} - {grid.count})
    log.info(
        "variable frame rate: converting to a constant %s fps (%d source frames -> %d: %d duplicated, %d dropped)",
        f"{info.rate.numerator}/{info.rate.denominator}" if info.rate.denominator != 1 else info.rate.numerator,
        info.n_frames, grid.count, grid.duplicated, grid.dropped,
    )  # fmt: skip
    view = replace(info, n_frames=grid.count, frame_times=grid.times(), keyframes=tuple(keys), start=grid.start,
                   cfr_rate=info.rate)  # fmt: skip
    return view, grid


def file_window(exe: str, path: str, info: VideoInfo, first: int, count: Optional[int]) -> tl.DecodeWindow:
    """How a decoder of the file ``path`` delivers exactly its frames ``[first, first + count)``
    (``count=None``: to the end), as :func:`constant_rate` numbers them: a seek that a
    one-frame check (:func:`decode_window`) shows right, else decoding from the start."""
    if info.cfr_rate is not None and count is None and info.n_frames is not None:
        count = info.n_frames - first  # the cloned last frame would go on forever
    windows = tl.decode_windows(info.frame_times, info.keyframes, first, count)
    return decode_window(exe, path, windows, info.cfr_rate)
