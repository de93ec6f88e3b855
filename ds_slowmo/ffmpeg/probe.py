"""Asking ffmpeg about a file (its streams, every packet's time, the first decoded frame) and
about itself (which pixel formats an encoder takes). Each question is one short process."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Optional

from ..errors import InputError, ffmpeg_said
from .args import path_arg, preamble
from .parse import (
    NOTHING_BUT_COVER_ART, VideoInfo, count_streams, decoded_starts, input_block, is_cover_art_only, packets_info,
    parse_encoder_pix_fmts, parse_first_times, parse_format_refused, parse_frame_side_data, parse_framecrc,
    parse_input_info, parse_keyframes, parse_y4m_aspect, parse_y4m_header,
)  # fmt: skip
from .process import find_ffmpeg, run_short

__all__ = ["probe", "first_frames_argv", "keyframes", "encoder_pix_fmts", "can_write"]


def probe(path: str, ffmpeg: Optional[str] = None) -> VideoInfo:
    """Probe a file (not a pipe) without decoding more than a frame: the stream lines
    (``-v verbose``) and every video and audio packet's timestamps (``framecrc`` of a stream
    copy) in one run; the exact nominal rate from the header of a one-frame y4m in a second
    (in one run, ffmpeg 5.1 would decode the whole file for that one frame)."""
    exe = ffmpeg or find_ffmpeg()
    argv = preamble(exe, "verbose") + ["-i", path_arg(path), "-map", "0:V:0", "-map", "0:a?", "-c", "copy",
                                       "-f", "framecrc", "pipe:1"]  # fmt: skip
    code, out, err = run_short(argv, "probe", check=False)
    header = b""
    if code == 0:  # the first frames, decoded: the exact rate, the upright size, each track's start
        n_audio = count_streams(err, "Audio")
        code, header, first = run_short(first_frames_argv(exe, path, n_audio), "probe", check=False)
        err += first
    if code != 0 or not header:
        if "Stream #0" in err and "Video:" not in input_block(err):
            raise InputError(f"{path} has no video stream")
        if is_cover_art_only(err):
            raise InputError(f"{path}: {NOTHING_BUT_COVER_ART}")
        said = ffmpeg_said(err, 2)
        raise InputError(f"ffmpeg cannot read {path} as a video" + (f" (ffmpeg said: {said})" if said else ""))
    info = parse_input_info(err)
    width, height, rate = parse_y4m_header(header)  # the upright picture, as the decoder delivers it
    info = replace(info, width=width, height=height, rate=rate, sar=parse_y4m_aspect(header) or info.sar)
    info = packets_info(info, parse_framecrc(out.decode("ascii", "replace")))
    side = parse_frame_side_data(first)  # HDR metadata carried in the stream itself shows on a decoded frame
    info = replace(info, mastering_display=info.mastering_display or side.get("mastering_display"),
                   content_light=info.content_light or side.get("content_light"))  # fmt: skip
    return decoded_starts(info, parse_first_times(first))


def first_frames_argv(exe: str, path: str, n_audio: int) -> list[str]:
    """Decode the first video frame (as a one-frame y4m on stdout: its header has the exact
    rate and the upright size) and each audio track's first sample, saying their times
    (``showinfo@v``, ``ashowinfo@aJ``) on the timeline the encoder's audio input has."""
    chains = ["[0:V:0]trim=end_frame=1,showinfo@v[v]"] + [
        f"[0:a:{j}]atrim=end_sample=1,ashowinfo@a{j}[a{j}]" for j in range(n_audio)]  # fmt: skip
    audio = [a for j in range(n_audio) for a in ("-map", f"[a{j}]")]
    return preamble(exe, "info") + ["-i", path_arg(path), "-filter_complex", ";".join(chains),
                                    "-map", "[v]", "-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", "pipe:1",
                                    *((audio + ["-f", "null", "-"]) if audio else [])]  # fmt: skip


def keyframes(path: str, rate: Fraction, ffmpeg: Optional[str] = None) -> list[int]:
    """Keyframe frame numbers of a file's first video stream as a ``-skip_frame nokey`` decode
    shows them, for files whose probe has no frame timestamps (where it has them,
    ``VideoInfo.keyframes`` is exact); a chunk's start is only a hint: its decoder window is
    checked."""
    exe = ffmpeg or find_ffmpeg()
    argv = [*preamble(exe, "info"), "-skip_frame", "nokey", "-i", path_arg(path),
            "-map", "0:V:0", "-vf", "showinfo", "-f", "null", "-"]  # fmt: skip
    _, _, err = run_short(argv, f"listing the keyframes of {path}")
    return parse_keyframes(err, rate)


_encoder_cache: dict[tuple[str, str], tuple[str, ...]] = {}


def encoder_pix_fmts(exe: str, encoder: str) -> tuple[str, ...]:
    """Pixel formats ``encoder`` takes in this ffmpeg (empty: not built in). Cached."""
    key = (exe, encoder)
    if key not in _encoder_cache:
        _, out, _ = run_short([exe, "-hide_banner", "-h", f"encoder={encoder}"], f"asking ffmpeg about {encoder}", check=False)
        _encoder_cache[key] = parse_encoder_pix_fmts(out.decode("utf-8", "replace"))
    return _encoder_cache[key]


_format_cache: dict[tuple[str, str], bool] = {}


def can_write(exe: str, ext: str) -> bool:
    """Can this ffmpeg tell an output's format from the extension ``ext`` (``.xyz``)? Asked once
    per extension, the way the encoder will ask: ffmpeg picks the format for a name (its own
    list of muxers and their extensions), then stops, as the output has no stream. Nothing is
    written: the name lies under ``/dev/null``, which is no folder."""
    key = (exe, ext.lower())
    if key not in _format_cache:
        argv = [exe, "-hide_banner", "-nostdin", "-v", "error", "-vn", "-an", "-sn", "-dn", "-y",
                path_arg(f"/dev/null/ds-slowmo-probe{ext}")]  # fmt: skip
        _, _, err = run_short(argv, f"asking ffmpeg about {ext} files", check=False)
        _format_cache[key] = not parse_format_refused(err)
    return _format_cache[key]
