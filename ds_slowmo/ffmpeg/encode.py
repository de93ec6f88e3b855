"""What the encoder is told (pure): raw frames on a pipe (:class:`RawVideo`), the codec, pixel
format and tags for each container (:func:`video_out`), and the short join and PNG commands.
``encoders`` (:func:`~.probe.encoder_pix_fmts`) says which pixel formats an encoder takes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Optional, Sequence

from .. import containers
from ..pixfmt import NATIVE, PixFmt
from ..plan import format_rate
from .args import path_arg, preamble
from .parse import UNSET

__all__ = ["RawVideo", "VideoOut", "video_out", "side_data_note", "concat_argv", "png_argv"]


#: the one tag name ffmpeg prints that its options don't take
_OPTION_NAME = {"gbr": "rgb"}


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
        return [a for flag, value in pairs if value and value not in UNSET for a in (flag, _OPTION_NAME.get(value, value))]

    def input_args(self, source: str = "pipe:0") -> list[str]:
        """Read these frames as an input (ffmpeg's stdin by default)."""
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-s", f"{self.width}x{self.height}",
                "-framerate", format_rate(self.rate), *self.tag_args(), "-i", source]  # fmt: skip

    def aspect_args(self) -> list[str]:
        if self.sar == 1:
            return []
        dar = self.sar * self.width / self.height
        return ["-aspect", f"{dar.numerator}:{dar.denominator}"]


def side_data_note(mastering_display: Optional[str], content_light: Optional[str]) -> Optional[str]:
    """The note for HDR metadata the input carries and the output won't: raw frames on a pipe
    can't bring it to the encoder."""
    lost = [what for what, value in (("mastering-display", mastering_display), ("content-light", content_light)) if value]
    if not lost:
        return None
    light = f" ({content_light})" if content_light else ""
    return (f"not kept: the HDR {' and '.join(lost)} metadata{light}; raw frames can't carry it to the encoder "
            "(set it again with the encoder's own options, e.g. x265's master-display and max-cll)")


def concat_argv(exe: str, listing: str, target: str, audio: Sequence[str], source: str,
                inputs: Sequence[str] = ()) -> list[str]:  # fmt: skip
    """Join chunk files listed in ``listing`` without re-encoding; the audio arguments (if any)
    read the original ``source`` as input 1, and the extra ``inputs`` after it."""
    argv = preamble(exe) + ["-f", "concat", "-safe", "0", "-i", path_arg(listing)]
    if audio:
        argv += ["-vn", "-i", path_arg(source), *inputs]
    return argv + ["-map", "0:v:0", *audio, "-c:v", "copy", "-y", path_arg(target)]


def png_argv(exe: str, raw: RawVideo, target: str, vf: Optional[str]) -> list[str]:
    """One frame of raw video on stdin -> a PNG, converted as ffmpeg converts these (tagged)
    frames."""
    chain = ([vf] if vf else []) + ["format=rgb24"]
    return preamble(exe, "error", stdin=True) + raw.input_args() + [
        "-vf", ",".join(chain), "-frames:v", "1", "-c:v", "png", "-f", "image2", "-update", "1", "-y", path_arg(target)]  # fmt: skip


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
    such as ``.mp4``: its video rule in :mod:`ds_slowmo.containers`) given the frames ``raw``.
    The input's own pixel format, colour tags and sample aspect ratio are kept wherever the
    output can carry them; a user ``-c:v`` in ``user_args`` picks the codec and ffmpeg then
    negotiates the format nearest the input's."""
    tags = raw.tag_args() + raw.aspect_args()
    if any(a in _USER_CODEC for a in user_args):
        return VideoOut(tuple(tags))
    spec = containers.lookup(container)
    if spec.video == "y4m":
        return _y4m_out(raw, tags)
    if spec.video == "raw":
        return VideoOut(("-c:v", "rawvideo", "-pix_fmt", raw.pix_fmt, *tags))
    if spec.video == "ffv1":
        return VideoOut(("-c:v", "ffv1", *tags))
    if spec.video == "rgb24":  # converted as plain ffmpeg converts these (tagged) frames
        return VideoOut(("-pix_fmt", "rgb24"))
    if spec.video == "vp9":
        return _vp9_out(raw, crf, tags, encoders)
    if spec.video == "h264":
        return _h264_out(raw, crf, tags, encoders, container, spec.prores_alpha)
    return VideoOut(tuple(tags))  # .avi, .gif, image sequences: ffmpeg's own choice


def _pixfmt(pix_fmt: str) -> PixFmt:
    """What :mod:`ds_slowmo.pixfmt` knows of a native format (a yuvj name is its yuv twin)."""
    return NATIVE[pix_fmt.replace("yuvj", "yuv")]


def _y4m_out(raw: RawVideo, tags: list[str]) -> VideoOut:
    fmt = _pixfmt(raw.pix_fmt)
    if fmt.y4m_ok:  # above 8 bits, and yuva444p, only with -strict -1 (on ffmpeg 5.1 and 9.0 alike)
        return VideoOut(("-strict", "-1") * fmt.y4m_strict + ("-pix_fmt", fmt.name, *tags))
    return _converted(raw, "yuv444p", tags, f"y4m cannot carry {raw.pix_fmt}: writing yuv444p")


def _converted(raw: RawVideo, pix_fmt: str, tags: list[str], note: str, extra: Sequence[str] = ()) -> VideoOut:
    """Frames that must change format: RGB goes to YUV with the BT.709 matrix, tagged so."""
    if _pixfmt(raw.pix_fmt).is_rgb and not _pixfmt(pix_fmt).is_rgb:
        vf = ("scale=out_color_matrix=bt709:out_range=tv:flags=accurate_rnd",)
        tags = ["-colorspace", "bt709", "-color_range", "tv"] + raw.aspect_args()
        return VideoOut((*extra, "-pix_fmt", pix_fmt, *tags), (note + " (BT.709)",), vf)
    return VideoOut((*extra, "-pix_fmt", pix_fmt, *tags), (note,))


def _crf_args(crf: Optional[int], default: int) -> list[str]:
    return ["-crf", str(default if crf is None else crf)]


def _h264_out(raw: RawVideo, crf: Optional[int], tags: list[str], encoders: Any, container: str,
              prores_alpha: bool) -> VideoOut:  # fmt: skip
    """libx264 in the input's format when it takes it (8/10-bit 4:2:0/4:2:2/4:4:4, gray), else
    libx265 (12-bit), else 4:2:0 (8 or 10-bit, what every player takes; RGB is converted with
    the BT.709 matrix), with a note. 4:2:0 and 4:2:2 at odd sizes lose their last row or
    column. Alpha is dropped (H.264 and these containers don't carry it) except where the
    container takes ProRes 4444 (``prores_alpha``: .mov), which keeps it."""
    fmt = raw.pix_fmt.replace("yuvj", "yuv")
    notes: list[str] = []
    if _pixfmt(fmt).has_alpha:
        if prores_alpha and "yuva444p10le" in encoders("prores_ks"):
            return VideoOut(("-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le", *tags))
        fmt = _without_alpha(fmt)
        raw = replace(raw, pix_fmt=fmt)
        notes.append(f"{container} with H.264 cannot carry alpha: the alpha plane is dropped")
    x264 = [f for f in encoders("libx264") if not f.startswith(("nv", "yuvj"))]
    codec = "libx264" if fmt in x264 else "libx265" if fmt in encoders("libx265") and not _pixfmt(fmt).is_rgb else None
    target = fmt if codec else ("yuv420p10le" if _pixfmt(fmt).depth > 8 else "yuv420p")  # what plays everywhere
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
    deep = _pixfmt(raw.pix_fmt).depth > 8
    fmt = "yuv420p10le" if deep else "yuv420p"
    if _pixfmt(raw.pix_fmt).has_alpha and not deep and "yuva420p" in encoders("libvpx-vp9"):
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
