"""ffmpeg, in small rooms: finding and running it (:mod:`.process`), reading what it prints
(:mod:`.parse`, pure), asking it about a file (:mod:`.probe`), the decoder and its seek checks
(:mod:`.decode`), and what the encoder is told (:mod:`.encode`, pure). The names the rest of
ds-slowmo uses are re-exported here."""

from __future__ import annotations

from .args import is_url, path_arg, preamble
from .decode import (
    FrameTimes, PipeRetimer, checked_window, constant_rate, decoder_argv, decoder_filters, decoder_input, file_window,
    vfr_note,
)  # fmt: skip
from .encode import RawVideo, VideoOut, concat_argv, png_argv, side_data_note, video_out
from .parse import (
    UNSET, AudioStream, Packets, SubtitleStream, VideoInfo, is_cover_art_only, packet_rate, packets_info,
    parse_first_frame_time, parse_frame_side_data, parse_framecrc, parse_input_info, parse_keyframes,
    parse_output_pix_fmt, parse_pipe_info, parse_y4m_aspect, parse_y4m_header, rationalize_fps, FRAME_TIMES,
)  # fmt: skip
from .probe import can_write, encoder_pix_fmts, keyframes, probe
from .process import FFmpegProcess, find_ffmpeg, run_short

__all__ = [
    "find_ffmpeg",
    "FFmpegProcess",
    "run_short",
    "is_url",
    "path_arg",
    "preamble",
    "AudioStream",
    "SubtitleStream",
    "VideoInfo",
    "Packets",
    "UNSET",
    "rationalize_fps",
    "parse_input_info",
    "parse_y4m_header",
    "parse_y4m_aspect",
    "parse_frame_side_data",
    "is_cover_art_only",
    "parse_framecrc",
    "packet_rate",
    "packets_info",
    "parse_keyframes",
    "parse_output_pix_fmt",
    "parse_first_frame_time",
    "probe",
    "keyframes",
    "encoder_pix_fmts",
    "can_write",
    "decoder_filters",
    "decoder_input",
    "decoder_argv",
    "checked_window",
    "constant_rate",
    "file_window",
    "FrameTimes",
    "PipeRetimer",
    "vfr_note",
    "FRAME_TIMES",
    "parse_pipe_info",
    "RawVideo",
    "VideoOut",
    "video_out",
    "side_data_note",
    "concat_argv",
    "png_argv",
]
