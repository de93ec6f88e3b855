"""What each output container carries: one table, read by the encoder's video rules
(:func:`ds_slowmo.ffmpeg.video_out`), the audio (:mod:`ds_slowmo.audio`), the other streams
(:mod:`ds_slowmo.taps`), the pipe formats (:mod:`ds_slowmo.config`, the ``--format`` help), folder
inputs (:mod:`ds_slowmo.parallel`) and image sequences (:mod:`ds_slowmo.cache`). Pure.

A key is a file extension with its dot (``.mp4``) or a stream format for standard output as
``-f`` names it (``mpegts``, ``y4m``). An extension outside the table gets :data:`OTHER`
(ffmpeg's own choices); whether ffmpeg can write it at all is ffmpeg's to say
(:func:`ds_slowmo.ffmpeg.can_write`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "VIDEO_RULES", "Audio", "Subtitles", "Container", "OTHER", "TABLE", "PIPE_FORMATS",
    "FOLDER_EXTENSIONS", "FRAME_CODE", "lookup", "of_file", "known", "pipe_format", "frame_codes", "frame_name",
    "is_sequence",
]  # fmt: skip

#: how the video is encoded (see :func:`ds_slowmo.ffmpeg.video_out`): ``h264`` libx264 (libx265
#: for 12-bit) in the input's format where it can; ``vp9`` libvpx-vp9 as browsers play it; ``y4m``
#: the input's format where y4m holds it; ``raw`` rawvideo in the input's format; ``ffv1``
#: lossless FFV1; ``rgb24`` raw RGB; ``auto`` ffmpeg's own choice for the container
VIDEO_RULES = ("h264", "vp9", "y4m", "raw", "ffv1", "rgb24", "auto")


@dataclass(frozen=True)
class Audio:
    """A container that carries audio: the codecs it takes as they are (``None``: about any),
    and the encoder a stretched track is written with (``None``: ffmpeg's default there)."""

    copies: Optional[frozenset[str]]
    encoder: Optional[str] = None

    def takes(self, codec: str) -> bool:
        return self.copies is None or codec in self.copies


@dataclass(frozen=True)
class Subtitles:
    """The subtitle codecs (ffmpeg's names; encoder names such as ``srt`` too) a container takes
    as they are: a picture track is copied into it when the output keeps the input's timing,
    a retimed text track (:data:`ds_slowmo.subtitles.TEXT_FORMATS`) keeps its own format
    there. ``text``: the codec a text track in any other format becomes there (``None``: the
    container carries no text subtitles). :mod:`ds_slowmo.streams` reads both."""

    copies: frozenset[str] = frozenset()
    text: Optional[str] = None

    def takes(self, codec: str) -> bool:
        return codec in self.copies


@dataclass(frozen=True)
class Container:
    """What one output container carries.

    ``video``: its rule (:data:`VIDEO_RULES`); ``prores_alpha``: frames with alpha go to ProRes
    4444 instead of losing it. ``audio``: ``None`` where it carries none. ``attachments``: fonts
    and the like are copied. ``sequence``: with a frame number in its name (``%04d``) ffmpeg
    writes one file per frame. ``pipe``: ffmpeg's ``-f`` name where it is a stream format for
    standard output. ``folder_input``: a folder input picks files of this extension."""

    video: str
    audio: Optional[Audio]
    subtitles: Subtitles = Subtitles()
    attachments: bool = False
    prores_alpha: bool = False
    sequence: bool = False
    pipe: Optional[str] = None
    folder_input: bool = False

    def __post_init__(self) -> None:
        if self.video not in VIDEO_RULES:
            raise ValueError(f"unknown video rule {self.video!r}")


_MP4_AUDIO = frozenset(("aac", "mp3", "ac3", "eac3", "alac"))
_PCM = frozenset(("pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"))
_TS_AUDIO = frozenset(("aac", "mp3", "mp2", "ac3", "eac3"))
# what ffmpeg's Matroska muxer takes (mov_text is not among them: it is retimed as SRT)
_MKV_SUBTITLES = frozenset(("subrip", "srt", "ass", "ssa", "webvtt", "text", "dvd_subtitle", "dvb_subtitle",
                            "hdmv_pgs_subtitle", "hdmv_text_subtitle", "arib_caption"))  # fmt: skip
_MOV_TEXT = Subtitles(frozenset(("mov_text",)), "mov_text")

#: extensions ffmpeg writes one image per frame to when the name holds a frame number (those of
#: libavformat/img2.c's ff_img_tags that ffmpeg 5.1 and 9.0 can encode); none carries audio
_IMAGES = (
    ".png", ".jpg", ".jpeg", ".jps", ".mpo", ".ljpg", ".jls", ".pns", ".mng", ".ppm", ".pnm", ".pgm", ".pgmyuv",
    ".pbm", ".pam", ".pfm", ".phm", ".pix", ".y", ".raw", ".bmp", ".tga", ".tiff", ".tif", ".dng", ".sgi", ".pcx",
    ".sun", ".ras", ".rs", ".im1", ".im8", ".im24", ".im32", ".sunras", ".j2c", ".jp2", ".jpc", ".j2k", ".dpx",
    ".exr", ".webp", ".xbm", ".xwd", ".jxl", ".qoi",
)  # fmt: skip

_ENTRIES: tuple[tuple[tuple[str, ...], Container], ...] = (
    ((".mp4", ".m4v"), Container("h264", Audio(_MP4_AUDIO, "aac"), _MOV_TEXT, folder_input=True)),
    ((".mov",), Container("h264", Audio(_MP4_AUDIO | _PCM, "aac"), _MOV_TEXT, prores_alpha=True, folder_input=True)),
    ((".mkv",), Container("h264", Audio(None, "aac"), Subtitles(_MKV_SUBTITLES, "ass"), attachments=True,
                          folder_input=True)),  # fmt: skip
    ((".webm",), Container("vp9", Audio(frozenset(("opus", "vorbis"))), Subtitles(frozenset(("webvtt",)), "webvtt"),
                           folder_input=True)),  # fmt: skip
    ((".avi",), Container("auto", Audio(frozenset(("mp3", "ac3", "mp2", "pcm_s16le", "pcm_u8"))), folder_input=True)),
    # (MPEG-TS takes dvb_subtitle and dvb_teletext; not offered until a test copies them)
    ((".ts", ".m2ts", ".mts"), Container("h264", Audio(_TS_AUDIO, "aac"), folder_input=True)),
    ((".nut",), Container("raw", Audio(None), folder_input=True)),
    ((".y4m",), Container("y4m", None, folder_input=True)),
    ((".flv", ".mpg", ".mpeg", ".wmv"), Container("auto", Audio(frozenset()), folder_input=True)),
    # animations and raw streams: video only
    ((".gif", ".apng", ".yuv", ".rgb", ".h264", ".264", ".h265", ".265", ".hevc", ".ivf"), Container("auto", None)),
    (_IMAGES, Container("auto", None, sequence=True)),
    # stream formats for standard output (video only by design); the first name is the one shown
    (("y4m", "yuv4mpegpipe"), Container("y4m", None, pipe="yuv4mpegpipe")),
    (("nut",), Container("raw", None, pipe="nut")),
    (("matroska", "mkv"), Container("ffv1", None, pipe="matroska")),
    (("mpegts",), Container("h264", None, pipe="mpegts")),
    (("rawvideo",), Container("rgb24", None, pipe="rawvideo")),
)

#: every key (an extension or a pipe format name) -> what it carries
TABLE: dict[str, Container] = {key: spec for keys, spec in _ENTRIES for key in keys}

#: an extension outside the table: audio carried (re-encoded by ffmpeg's default), nothing else
OTHER = Container("auto", Audio(frozenset()))

#: the stream formats for standard output, as ``--format`` takes them (y4m is the default)
PIPE_FORMATS = tuple(keys[0] for keys, spec in _ENTRIES if spec.pipe)

#: the extensions a folder input picks
FOLDER_EXTENSIONS = tuple(key for keys, spec in _ENTRIES if spec.folder_input for key in keys)


def lookup(key: str) -> Container:
    """The record of an extension (``.mp4``, any case) or a pipe format name; an extension
    outside the table (or none: ``""``) gets :data:`OTHER`."""
    if key.startswith(".") or not key:
        return TABLE.get(key.lower(), OTHER)
    spec = TABLE.get(key)
    if spec is None or spec.pipe is None:
        raise KeyError(f"no stream format {key!r}")
    return spec


def of_file(path: str) -> Container:
    """The record of a file by its extension."""
    return lookup(os.path.splitext(path)[1])


def known(path: str) -> bool:
    """Is this file's extension in the table?"""
    return os.path.splitext(path)[1].lower() in TABLE


def pipe_format(name: str) -> Optional[str]:
    """ffmpeg's ``-f`` name of a stream format for standard output (``y4m`` -> ``yuv4mpegpipe``);
    ``None`` for anything else."""
    spec = TABLE.get(name) if not name.startswith(".") else None
    return spec.pipe if spec is not None else None


# ---------------------------------------------------------------------------------------------
# Frame numbers in a file name, as ffmpeg's image2 muxer reads them (av_get_frame_filename2):
# ``%d`` or ``%0Nd``/``%Nd`` (always zero-padded to N), ``%%`` a literal %, any other % an error

#: one code: digits, then ``d`` (a frame number) or ``%`` (a literal %)
FRAME_CODE = re.compile(r"%(\d*)([d%]?)")


def frame_codes(name: str) -> Optional[int]:
    """How many frame numbers the file name ``name`` holds; ``None`` when a ``%`` starts
    something ffmpeg can't read (then it takes the name as no pattern at all)."""
    count = 0
    for m in FRAME_CODE.finditer(name):
        if not m.group(2):
            return None
        count += m.group(2) == "d"
    return count


def frame_name(pattern: str, number: int) -> str:
    """The file ffmpeg writes for frame ``number`` of a pattern of one frame number."""
    return FRAME_CODE.sub(lambda m: "%" if m.group(2) == "%" else f"{number:0{m.group(1) or 0}d}", pattern)


def is_sequence(path: str) -> bool:
    """Does ffmpeg write this output as one image per frame: an image extension and exactly
    one frame number in the file name (``frames_%04d.png``)? ``out 100%.mp4`` is one file."""
    return of_file(path).sequence and frame_codes(os.path.basename(path)) == 1
