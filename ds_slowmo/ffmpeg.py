"""ffmpeg: finding it, probing inputs, and running decoder/encoder subprocesses safely.

Every process is started from an argv list (never a shell string), lives inside a
``with``/``try-finally`` that closes its pipes, waits, and kills it on error or interrupt, and
has its stderr drained by a daemon thread into a bounded tail that error messages quote.
"""

from __future__ import annotations

import collections
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Any, Optional, Sequence

from .errors import FFmpegError, InputError, SlowmoError, ffmpeg_said
from .plan import format_rate

__all__ = [
    "find_ffmpeg",
    "VideoInfo",
    "probe",
    "parse_input_info",
    "parse_y4m_header",
    "rationalize_fps",
    "FFmpegProcess",
    "Y4M_PIX_FMTS",
]

#: pixel formats ffmpeg's yuv4mpegpipe muxer writes without -strict
Y4M_PIX_FMTS = ("yuv420p", "yuv422p", "yuv444p", "yuv411p", "gray")


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
class VideoInfo:
    width: int
    height: int
    rate: Fraction
    pix_fmt: str
    n_frames: Optional[int] = None  # None: unknown (a pipe)
    duration: Optional[Fraction] = None
    has_audio: bool = False
    rate_exact: bool = True  # False when only ffmpeg's rounded "29.97 fps" was available
    color_range: Optional[str] = None
    color_space: Optional[str] = None
    color_primaries: Optional[str] = None
    color_trc: Optional[str] = None
    chroma_location: Optional[str] = None
    sar: Fraction = Fraction(1)
    field_order: str = "unknown"


_VIDEO_RE = re.compile(
    r"Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Video: (?P<rest>.*)$", re.MULTILINE
)
_SIZE_RE = re.compile(r"(?<![\w#])(\d{1,5})x(\d{1,5})(?![\w])")
_FPS_RE = re.compile(r"([\d.]+)(k?) (fps|tbr)")
_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_AUDIO_RE = re.compile(r"Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Audio: ", re.MULTILINE)
_PACKETS_RE = re.compile(r"Output stream #0:0 \(video\): (\d+) (?:packets|frames) muxed")


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


def parse_input_info(stderr: str) -> VideoInfo:
    """Width, height, pixel format, (rounded) rate, duration and audio presence from the
    ``Input #0`` block ffmpeg prints. Raises :class:`InputError` when there is no video."""
    inp = stderr.find("Input #0")
    block = stderr[inp:] if inp >= 0 else stderr
    out = block.find("Output #0")
    if out >= 0:
        block = block[:out]
    m = _VIDEO_RE.search(block)
    if not m:
        raise InputError("the input has no video stream that ffmpeg can read")
    rest = m.group("rest")
    size = _SIZE_RE.search(rest)
    if not size:
        raise InputError(f"could not read the frame size from ffmpeg's stream line: {rest.strip()}")
    pix = pix_fmt_of(rest)
    fps = _FPS_RE.search(rest)
    if not fps:
        raise InputError(
            "the input video has no frame rate; pass --input-rate (e.g. --input-rate 25)"
        )
    rate = rationalize_fps(fps.group(1) + fps.group(2))
    duration = None
    d = _DURATION_RE.search(block)
    if d:
        duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + Fraction(d.group(3))
    return VideoInfo(
        width=int(size.group(1)),
        height=int(size.group(2)),
        rate=rate,
        pix_fmt=pix,
        duration=duration,
        has_audio=bool(_AUDIO_RE.search(block)),
        rate_exact=False,
    )


def pix_fmt_of(stream_rest: str) -> str:
    # "h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x240 ..." -> "yuv420p"
    depth = 0
    fields: list[str] = []
    cur: list[str] = []
    for ch in stream_rest:
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
    # the first field after the codec that is a bare name ("1 reference frame" is not)
    for f in fields[1:]:
        name = f.strip().split("(")[0].strip()
        if re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return name
    return "unknown"


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
        pass_fds: Sequence[int] = (),
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
                pass_fds=tuple(pass_fds),
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

    def check(self, what: str, timeout: Optional[float] = None) -> None:
        """:meth:`finish` and raise :class:`FFmpegError` with the stderr tail on failure."""
        code = self.finish(timeout)
        if code != 0:
            raise FFmpegError(f"{what} failed (ffmpeg exit code {code})", self.stderr_tail())

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


def _run_capture(argv: Sequence[str], what: str) -> tuple[int, bytes, str]:
    """Run a short ffmpeg command to completion; (code, stdout bytes, stderr text)."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err.decode("utf-8", "replace")


def probe(path: str, ffmpeg: Optional[str] = None) -> VideoInfo:
    """Probe a file (not a pipe): size, exact rate (from a one-frame y4m header), pixel
    format, frame count (packets of the first video stream), duration and audio."""
    exe = ffmpeg or find_ffmpeg()
    if not is_url(path):
        if not os.path.exists(path):
            raise InputError(f"input file not found: {path}")
        if os.path.isdir(path):
            raise InputError(f"input is a folder, not a video file: {path}")
        if not os.access(path, os.R_OK):
            raise InputError(f"input file is not readable (permissions): {path}")
    argv = [
        exe, "-hide_banner", "-nostdin", "-nostats", "-v", "verbose", "-i", path_arg(path),
        "-map", "0:v:0", "-c", "copy", "-f", "null", "-",
        "-map", "0:v:0", "-frames:v", "1", "-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", "pipe:1",
    ]  # fmt: skip
    code, out, err = _run_capture(argv, "probe")
    if code != 0 or not out:
        if "Stream #0" in err and "Video:" not in err.split("Output #0")[0]:
            raise InputError(f"{path} has no video stream")
        said = ffmpeg_said(err, 2)
        raise InputError(f"ffmpeg cannot read {path} as a video" + (f" (ffmpeg said: {said})" if said else ""))
    info = parse_input_info(err)
    width, height, rate = parse_y4m_header(out)
    m = _PACKETS_RE.search(err)
    n_frames = int(m.group(1)) if m else None
    return VideoInfo(
        width=width,
        height=height,
        rate=rate,
        pix_fmt=info.pix_fmt,
        n_frames=n_frames,
        duration=info.duration,
        has_audio=info.has_audio,
        rate_exact=True,
    )


def is_url(path: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", path))


def output_pix_fmt(input_pix_fmt: str) -> str:
    """y4m can carry only a few formats: keep the input's when it can, else yuv444p."""
    base = input_pix_fmt.replace("yuvj", "yuv")
    return base if base in Y4M_PIX_FMTS else "yuv444p"


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
    """Keyframe frame numbers of a file's first video stream (only keyframes are decoded)."""
    exe = ffmpeg or find_ffmpeg()
    argv = [exe, "-hide_banner", "-nostdin", "-nostats", "-skip_frame", "nokey", "-i", path_arg(path),
            "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"]  # fmt: skip
    code, _, err = _run_capture(argv, "keyframes")
    if code != 0:
        raise FFmpegError(f"could not list the keyframes of {path}", err)
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
        return [a for flag, value in pairs if value for a in (flag, value)]

    def input_args(self, source: str = "pipe:0") -> list[str]:
        """Read these frames as an input (ffmpeg's stdin by default)."""
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-s", f"{self.width}x{self.height}",
                "-framerate", format_rate(self.rate), *self.tag_args(), "-i", source]  # fmt: skip

    def aspect_args(self) -> list[str]:
        if self.sar == 1:
            return []
        dar = self.sar * self.width / self.height
        return ["-aspect", f"{dar.numerator}:{dar.denominator}"]


def run_short(argv: Sequence[str], what: str, stdin: Optional[bytes] = None) -> tuple[bytes, str]:
    """Run a short ffmpeg command to its end; return (stdout, stderr). A non-zero exit raises
    :class:`FFmpegError` naming ``what`` with ffmpeg's own words. The process is reaped on any
    exception, ``KeyboardInterrupt`` included."""
    proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        out, err = proc.communicate(stdin)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise FFmpegError(f"{what} failed (ffmpeg exit code {proc.returncode})", text)
    return out, text


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
    """One frame of raw video on stdin -> a PNG, converted with the frames' own matrix."""
    chain = [_to_rgb_filter(raw)] + ([vf] if vf else [])
    return preamble(exe, "error", stdin=True) + raw.input_args() + [
        "-vf", ",".join(chain), "-frames:v", "1", "-c:v", "png", "-f", "image2", "-update", "1", "-y", path_arg(target)]  # fmt: skip


def _to_rgb_filter(raw: RawVideo) -> str:
    """A ``scale`` to RGB that reads the frames with their own matrix and range."""
    opts = []
    if raw.color_space:
        opts.append(f"in_color_matrix={_SWS_MATRIX.get(raw.color_space, 'auto')}")
    if raw.color_range:
        opts.append(f"in_range={'full' if raw.color_range in ('pc', 'jpeg') else 'limited'}")
    return "scale=" + ":".join(opts + ["flags=accurate_rnd+full_chroma_int"]) + ",format=rgb24"


#: ffmpeg's colorspace names -> swscale's matrix names
_SWS_MATRIX = {"bt709": "bt709", "smpte170m": "bt601", "bt470bg": "bt601", "fcc": "fcc",
               "smpte240m": "smpte240m", "bt2020nc": "bt2020", "bt2020c": "bt2020"}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# What the encoder writes: codec, pixel format and tags (pure; ``encoders`` says which pixel
# formats an encoder takes, empty when it is not built in)

#: y4m without -strict: these; with -strict -1 also high bit depths, yuva444p and gray10/12/16
_Y4M_OFFICIAL = ("yuv420p", "yuv422p", "yuv444p", "yuv411p", "gray")
_Y4M_STRICT = tuple(f"yuv4{c}p{d}le" for c in ("20", "22", "44") for d in (9, 10, 12, 14, 16)) + (
    "yuva444p", "gray9le", "gray10le", "gray12le", "gray16le")  # fmt: skip
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
    if container == "rawvideo":
        return VideoOut(("-pix_fmt", "rgb24"), filters=(_to_rgb_filter(raw),))
    if container == ".webm":
        return _vp9_out(raw, crf, tags, encoders)
    if container in _H264_LIKE:
        return _h264_out(raw, crf, tags, encoders, container)
    return VideoOut(tuple(tags))  # .avi, .gif, image sequences: ffmpeg's own choice


def _y4m_out(raw: RawVideo, tags: list[str]) -> VideoOut:
    fmt = raw.pix_fmt.replace("yuvj", "yuv")
    if fmt in _Y4M_OFFICIAL:
        return VideoOut(("-pix_fmt", fmt, *tags))
    if fmt in _Y4M_STRICT:
        return VideoOut(("-strict", "-1", "-pix_fmt", fmt, *tags))
    return _converted(raw, "yuv444p", tags, f"y4m cannot carry {raw.pix_fmt}: writing yuv444p")


def _converted(raw: RawVideo, pix_fmt: str, tags: list[str], note: str, extra: Sequence[str] = ()) -> VideoOut:
    """Frames that must change format: RGB goes to YUV with the BT.709 matrix, tagged so."""
    if _is_rgb(raw.pix_fmt) and not _is_rgb(pix_fmt):
        vf = ("scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd",)
        tags = ["-colorspace", "bt709", "-color_range", "tv"] + raw.aspect_args()
        return VideoOut((*extra, "-pix_fmt", pix_fmt, *tags), (note + " (BT.709)",), vf)
    return VideoOut((*extra, "-pix_fmt", pix_fmt, *tags), (note,))


def _is_rgb(pix_fmt: str) -> bool:
    return pix_fmt.startswith(("gbr", "rgb", "bgr", "argb", "abgr"))


def _crf_args(crf: Optional[int], default: int) -> list[str]:
    return ["-crf", str(default if crf is None else crf)]


def _h264_out(raw: RawVideo, crf: Optional[int], tags: list[str], encoders: Any, container: str) -> VideoOut:
    """libx264 in the input's format when it takes it (8/10-bit 4:2:0/4:2:2/4:4:4, gray), else
    libx265 (12-bit, RGB), else the nearest libx264 format, with a note. Alpha is dropped (H.264
    and these containers don't carry it) except in .mov, where ProRes 4444 keeps it."""
    fmt = raw.pix_fmt.replace("yuvj", "yuv")
    notes: list[str] = []
    if _has_alpha(fmt):
        if container == ".mov" and "yuva444p10le" in encoders("prores_ks"):
            return VideoOut(("-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", *tags))
        fmt = _without_alpha(fmt)
        notes.append(f"{container} with H.264 cannot carry alpha: the alpha plane is dropped")
    crop = _even_crop(raw, fmt)
    if crop:
        notes.append(f"H.264 4:2:0/4:2:2 needs even sizes: the last {crop[1]} cropped away")
    vf = (crop[0],) if crop else ()
    x264 = [f for f in encoders("libx264") if not f.startswith(("nv", "yuvj"))]
    if fmt in x264:
        return VideoOut(("-c:v", "libx264", *_crf_args(crf, 16), "-pix_fmt", fmt, *tags), tuple(notes), vf)
    if fmt in encoders("libx265") and not _is_rgb(fmt):
        return VideoOut(("-c:v", "libx265", *_crf_args(crf, 16), "-pix_fmt", fmt, *tags), tuple(notes), vf)
    near = "yuv444p10le" if _depth(fmt) > 8 else "yuv444p"
    out = _converted(raw, near, tags, f"libx264 cannot take {raw.pix_fmt}: writing {near}",
                     ("-c:v", "libx264", *_crf_args(crf, 16)))  # fmt: skip
    return VideoOut(out.args, tuple(notes) + out.notes, vf + out.filters)


def _vp9_out(raw: RawVideo, crf: Optional[int], tags: list[str], encoders: Any) -> VideoOut:
    """VP9 profile 0 (8-bit 4:2:0) or 2 (10/12-bit 4:2:0): what browsers and phones play.
    Alpha is kept (yuva420p) where this ffmpeg's libvpx takes it."""
    deep = _depth(raw.pix_fmt) > 8
    fmt = "yuv420p10le" if deep else "yuv420p"
    if _has_alpha(raw.pix_fmt) and not deep and "yuva420p" in encoders("libvpx-vp9"):
        fmt = "yuva420p"
    base = ("-c:v", "libvpx-vp9", *_crf_args(crf, 24), "-b:v", "0")
    if fmt == raw.pix_fmt:
        return VideoOut((*base, "-pix_fmt", fmt, *tags))
    return _converted(raw, fmt, tags, f".webm plays everywhere as {fmt}: converting {raw.pix_fmt}", base)


def _has_alpha(pix_fmt: str) -> bool:
    return pix_fmt.startswith(("yuva", "gbrap", "rgba", "bgra", "argb", "abgr", "ya"))


def _without_alpha(pix_fmt: str) -> str:
    return pix_fmt.replace("yuva", "yuv").replace("gbrap", "gbrp")


def _depth(pix_fmt: str) -> int:
    m = re.search(r"(\d+)(?:le|be)$", pix_fmt)
    return int(m.group(1)) if m else 8


def _even_crop(raw: RawVideo, fmt: str) -> Optional[tuple[str, str]]:
    """A crop filter to even sizes where H.264's chroma needs them (4:2:0 both, 4:2:2 width)."""
    odd_w = raw.width % 2 == 1 and fmt.startswith(("yuv420", "yuv422"))
    odd_h = raw.height % 2 == 1 and fmt.startswith("yuv420")
    if not (odd_w or odd_h):
        return None
    what = " and ".join(w for w, odd in (("column", odd_w), ("row", odd_h)) if odd)
    return f"crop={raw.width - odd_w}:{raw.height - odd_h}:0:0", what


def decoder_argv(exe: str, src: str, *, limit: Optional[int], pipe: bool, seek: Optional[Fraction] = None,
                 pix_fmt: Optional[str] = None, vf: Optional[str] = None) -> list[str]:  # fmt: skip
    """Decode the first video stream to raw frames on stdout, one per decoded frame, in
    ``pix_fmt`` (None: whatever ``vf`` or the decoder gives)."""
    argv = preamble(exe, "info", stdin=True) if pipe else preamble(exe)
    if seek is not None:
        argv += ["-ss", f"{float(seek):.6f}"]
    argv += ["-i", "pipe:0" if pipe else path_arg(src), "-map", "0:v:0"]
    if limit is not None:
        argv += ["-frames:v", str(limit)]
    argv += ["-vf", vf] if vf else []
    argv += ["-pix_fmt", pix_fmt] if pix_fmt else []
    return argv + ["-fps_mode", "passthrough", "-an", "-sn", "-dn", "-f", "rawvideo", "pipe:1"]


_OUT_STREAM_RE = re.compile(r"Output #0.*?Stream #0:0[^\n]*?: Video: (?P<rest>[^\n]*)", re.DOTALL)


def parse_output_pix_fmt(header: str) -> Optional[str]:
    """The pixel format of the first output stream in ffmpeg's header (what a decoder writes)."""
    m = _OUT_STREAM_RE.search(header)
    return pix_fmt_of(m.group("rest")) if m else None
