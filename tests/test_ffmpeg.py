"""Pure parts of the ffmpeg layer and the audio graph: parsing, argv building."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ds_slowmo.audio import atempo_chain
from ds_slowmo.config import Config
from ds_slowmo import ffmpeg as ff
from ds_slowmo import timeline as tl
from ds_slowmo.ffmpeg import (
    AudioStream, SubtitleStream, VideoInfo, constant_rate, decoder_filters, packet_rate, packets_info,
    parse_first_frame_time, parse_framecrc,
)  # fmt: skip
from ds_slowmo.errors import FFmpegError, InputError, UsageError, ffmpeg_said
from ds_slowmo.config import check_paths
from ds_slowmo.ffmpeg import RawVideo, decoder_argv, parse_input_info, parse_y4m_header, rationalize_fps, video_out
from ds_slowmo.taps import encoder_argv

MP4_HEADER = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 't.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 367 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], 286 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
Stream mapping:
"""

Y4M_HEADER = """\
Input #0, yuv4mpegpipe, from 'pipe:0':
  Duration: N/A, start: 0.000000, bitrate: N/A
  Stream #0:0: Video: rawvideo (444P / 0x50343434), yuv444p(progressive), 1920x1080, 23.98 fps, 23.98 tbr, 23.98 tbn
Stream mapping:
Output #0, rawvideo, to 'pipe:1':
  Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 1920x1080, q=2-31, 1192 kb/s, 23.98 fps
"""


def test_parse_input_info_mp4():
    info = parse_input_info(MP4_HEADER)
    assert (info.width, info.height, info.pix_fmt) == (320, 240, "yuv420p")
    assert info.rate == Fraction(30000, 1001)
    assert info.duration == Fraction(2)
    assert info.has_audio


def test_parse_input_info_verbose_stream_line():
    line = ("Input #0, mov, from 'a.mp4':\n  Stream #0:0[0x1](und): Video: h264 (High), 1 reference frame "
            "(avc1 / 0x31637661), yuvj420p(pc, progressive, left), 1280x720 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr\n")
    info = parse_input_info(line)
    assert (info.pix_fmt, info.width, info.height, info.rate) == ("yuvj420p", 1280, 720, 25)


def test_parse_input_info_pipe_ignores_output_block():
    info = parse_input_info(Y4M_HEADER)
    assert (info.width, info.height, info.pix_fmt, info.rate) == (1920, 1080, "yuv444p", Fraction(24000, 1001))
    assert not info.has_audio and info.duration is None


def test_parse_input_info_no_video():
    with pytest.raises(InputError, match="no video"):
        parse_input_info("Input #0, wav, from 'a.wav':\n  Stream #0:0: Audio: pcm_s16le, 48000 Hz\n")


@pytest.mark.parametrize(
    "text, rate",
    [("25", 25), ("29.97", Fraction(30000, 1001)), ("23.98", Fraction(24000, 1001)),
     ("59.94", Fraction(60000, 1001)), ("12.50", Fraction(25, 2)), ("1k", 1000), ("7.50", Fraction(15, 2))],
)  # fmt: skip
def test_rationalize_fps(text, rate):
    assert rationalize_fps(text) == rate


def test_y4m_header():
    assert parse_y4m_header(b"YUV4MPEG2 W320 H240 F30000:1001 Ip A1:1 C444\nFRAME\n") == (320, 240, Fraction(30000, 1001))
    with pytest.raises(InputError):
        parse_y4m_header(b"garbage")


def test_ffmpeg_error_quotes_tail():
    err = FFmpegError("encoding failed", "line1\nline2\n[libx264] height not divisible by 2\n")
    assert "height not divisible by 2" in str(err)
    assert err.exit_code == 1


# what ffmpeg 5.1 and 9.0 print for four failures, captured; and what explains each
PRESET_90 = """\
x264 [error]: invalid preset 'nosuch'
[libx264 @ 0x55a8011b1100] Error setting preset/tune nosuch/(null).
[vost#0:0/libx264 @ 0x55a8011b05c0] [enc:libx264 @ 0x55a8011b1000] Error while opening encoder - maybe incorrect parameters such as bit_rate, rate, width or height.
[vf#0:0 @ 0x55a8011b2e80] Error sending frames to consumers: Invalid argument
[vf#0:0 @ 0x55a8011b2e80] Task finished with error code: -22 (Invalid argument)
[vf#0:0 @ 0x55a8011b2e80] Terminating thread with return code -22 (Invalid argument)
[vost#0:0/libx264 @ 0x55a8011b05c0] [enc:libx264 @ 0x55a8011b1000] Could not open encoder before EOF
[vost#0:0/libx264 @ 0x55a8011b05c0] Task finished with error code: -22 (Invalid argument)
[out#0/matroska @ 0x55a8011af7c0] Nothing was written into output file, because at least one of its streams received no packets.
"""
JUNK_51 = """\
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c8488c98c0] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c8488c98c0] moov atom not found
[AVIOContext @ 0x55c8488d2500] Statistics: 5000 bytes read, 0 seeks
junk.mp4: Invalid data found when processing input
"""
JUNK_90 = """\
[in#0/mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c23fa1fd40] moov atom not found
[in#0 @ 0x55c23fa1fd40] Error opening input: Invalid data found when processing input
Error opening input file junk.mp4.
Error opening input files: Invalid data found when processing input

Exiting with exit code -1094995529
"""
ENCODER_90 = """\
[vost#0:0/rawvideo @ 0x55d1] Unknown encoder 'nosuch'
[vost#0:0/rawvideo @ 0x55d1] Error selecting an encoder
Error opening output file /tmp/w/.out.mkv.part-6167.mkv.
Error opening output files: Encoder not found
"""


@pytest.mark.parametrize("tail, said", [
    (PRESET_90, "x264 [error]: invalid preset 'nosuch' | Error setting preset/tune nosuch/(null)."),
    (JUNK_51, "moov atom not found | junk.mp4: Invalid data found when processing input"),
    (JUNK_90, "moov atom not found | Invalid data found when processing input"),
    (ENCODER_90, "Unknown encoder 'nosuch' | Encoder not found"),
    ("Input #0, lavfi\n  Stream #0:0: Video: rawvideo\nsomething odd\n", "something odd"),
])  # fmt: skip
def test_ffmpeg_said_quotes_only_what_explains_the_failure(tail, said):
    """ffmpeg's restatements (Task finished, Conversion failed), statistics and stream lists
    stay out of our one-line errors; a line naming our temporary file names the user's."""
    assert ffmpeg_said(tail) == said
    assert ffmpeg_said("Error opening output /tmp/.o.mp4.part-12.mp4: Permission denied") == (
        "Error opening output /tmp/o.mp4: Permission denied")


@pytest.mark.parametrize("stretch, chain", [
    (1, []), (2, ["atempo=0.5"]), (4, ["atempo=0.5", "atempo=0.5"]),
    (3, ["atempo=0.5", "atempo=0.666666666667"]), (16, ["atempo=0.5"] * 4),
])  # fmt: skip
def test_atempo_chain(stretch, chain):
    assert atempo_chain(stretch) == chain


def test_atempo_chain_product_is_exact_enough():
    for f in range(2, 65):
        prod = 1.0
        for part in atempo_chain(f):
            v = float(part.split("=")[1])
            assert 0.5 <= v <= 100
            prod *= v
        assert abs(prod - 1 / f) < 1e-9


def _job(tmp_path, **kw):
    from ds_slowmo.ffmpeg import VideoInfo
    from ds_slowmo.job import prepare

    cfg = Config.from_strings(**{"input": str(tmp_path / "in put.mp4"), "output": str(tmp_path / "o ut.mp4"), **kw})
    return prepare(cfg, VideoInfo(width=322, height=239, rate=Fraction(30000, 1001), pix_fmt="yuv420p", n_frames=50))


def fmts(encoder):
    return {"libx264": ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12", "yuv420p10le", "gray"),
            "libx265": ("yuv420p", "yuv420p12le", "gbrp"), "libvpx-vp9": ("yuv420p", "yuva420p", "yuv420p10le"),
            "prores_ks": ("yuva444p10le",)}.get(encoder, ())  # fmt: skip


def test_encoder_argv_is_a_list_with_exact_rates(tmp_path):
    job = _job(tmp_path)
    raw = RawVideo("yuv420p", 322, 239, Fraction(30000, 1001), color_space="bt709", color_range="tv")
    enc = encoder_argv("ffmpeg", job, raw, "t.mp4", [])
    assert "30000/1001" in enc and "322x239" in enc
    assert enc[enc.index("-crf") + 1] == "16"
    assert enc[enc.index("-vf") + 1] == "crop=322:238:0:0"  # 4:2:0 H.264 needs even sizes
    assert enc.count("-colorspace") == 2 and enc[-1] == "t.mp4"  # tagged on the input and the output
    dec = decoder_argv("ffmpeg", "in put.mp4", pipe=False, limit=25)
    assert dec[dec.index("-i") + 1] == "in put.mp4" and dec[dec.index("-frames:v") + 1] == "25"
    assert decoder_argv("ffmpeg", "12:30 a.mp4", limit=None, pipe=False)[-0:].count("file:12:30 a.mp4") == 1


@pytest.mark.parametrize("container, pix_fmt, want, note", [
    ("yuv4mpegpipe", "yuv420p", ["-pix_fmt", "yuv420p"], None),
    ("yuv4mpegpipe", "yuvj420p", ["-pix_fmt", "yuv420p"], None),
    ("yuv4mpegpipe", "yuv420p10le", ["-strict", "-1", "-pix_fmt", "yuv420p10le"], None),
    ("yuv4mpegpipe", "gbrp", ["-pix_fmt", "yuv444p"], "y4m cannot carry gbrp"),
    ("nut", "gbrp", ["-c:v", "rawvideo", "-pix_fmt", "gbrp"], None),
    ("matroska", "yuv422p10le", ["-c:v", "ffv1"], None),
    (".mp4", "yuv420p10le", ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p10le"], None),
    (".mkv", "yuv420p12le", ["-c:v", "libx265", "-crf", "16", "-pix_fmt", "yuv420p12le"], None),
    (".mp4", "gray", ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "gray"], None),
    (".mp4", "gbrp", ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p"], "cannot take gbrp"),
    (".mp4", "yuva420p", ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv420p"], "alpha plane is dropped"),
    (".mov", "yuva420p", ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le"], None),
    (".webm", "yuv444p", ["-c:v", "libvpx-vp9", "-crf", "24", "-b:v", "0", "-pix_fmt", "yuv420p"], "plays everywhere"),
    (".webm", "yuva420p", ["-c:v", "libvpx-vp9", "-crf", "24", "-b:v", "0", "-pix_fmt", "yuva420p"], None),
])  # fmt: skip
def test_video_out_keeps_the_native_format_where_it_can(container, pix_fmt, want, note):
    raw = RawVideo(pix_fmt, 320, 240, Fraction(25), color_space="bt709", sar=Fraction(32, 27))
    out = video_out(container, raw, None, (), fmts)
    assert list(out.args[: len(want)]) == want
    if note is None:
        assert not out.notes
        assert "-colorspace" in out.args and out.args[out.args.index("-aspect") + 1] == "128:81"
    else:
        assert any(note in n for n in out.notes), out.notes


def test_video_out_leaves_a_users_codec_alone():
    raw = RawVideo("yuv420p10le", 320, 240, Fraction(25), color_trc="arib-std-b67")
    out = video_out(".mkv", raw, None, ("-c:v", "ffv1"), fmts)
    assert list(out.args) == ["-color_trc", "arib-std-b67"] and not out.filters


@pytest.mark.parametrize("kwargs, message", [
    (dict(factor=1), "--factor must be an integer >= 2"),
    (dict(mode="fps", ranges=["1:2"]), "--range has no meaning"),
    (dict(device="tpu"), "--device"),
    (dict(batch_size=0), "--batch-size"),
    (dict(scale=0.3), "--scale"),
    (dict(audio="loud"), "--audio"),
    (dict(format="avi"), "-f/--format"),
    (dict(output="out"), "no extension"),
    (dict(slow_rate="0.3"), "slow-rate"),
    (dict(slow_rate="0.5", factor=4), "means --factor 2"),
    (dict(encoder_args="'unclosed"), "--encoder-args"),
])  # fmt: skip
def test_config_rejects(kwargs, message):
    with pytest.raises(UsageError, match=message):
        Config.from_strings(**kwargs)


def test_config_same_file_in_and_out(tmp_path):
    f = tmp_path / "a.mp4"
    f.write_bytes(b"")
    with pytest.raises(UsageError, match="is the input file"):
        check_paths(Config(input=str(f), output=str(f), overwrite=True))


# ---------------------------------------------------------------------------------------------
# The richer probe: stream lines and packet timestamps, as ffmpeg 5.1 and 9.0 print them


# ffmpeg 5.1, -v verbose, an HEVC mkv with two audio tracks, subtitles and a font
RICH_MKV_51 = """\
Input #0, matroska,webm, from 'rich.mkv':
  Metadata:
    ENCODER         : Lavf59.27.100
  Duration: 00:00:01.02, start: 0.000000, bitrate: 318 kb/s
  Stream #0:0: Video: hevc (Main 10), 1 reference frame, yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive, left), 160x120 [SAR 4:3 DAR 16:9], 25 fps, 25 tbr, 1k tbn
    Metadata:
      ENCODER         : Lavc59.37.100 libx265
      DURATION        : 00:00:01.021000000
  Stream #0:1: Audio: aac (LC), 48000 Hz, mono, fltp (default)
    Metadata:
      ENCODER         : Lavc59.37.100 aac
      DURATION        : 00:00:01.021000000
  Stream #0:2: Audio: flac, 44100 Hz, stereo, s16
    Metadata:
      ENCODER         : Lavc59.37.100 flac
      DURATION        : 00:00:01.021000000
  Stream #0:3: Subtitle: subrip
    Metadata:
      ENCODER         : Lavc59.37.100 srt
      DURATION        : 00:00:01.021000000
  Stream #0:4: Attachment: ttf
    Metadata:
      filename        : f.ttf
      mimetype        : application/x-truetype-font
Output #0, null, to 'pipe:':
"""

# ffmpeg 9.0, -v verbose, HDR side data
HDR_MKV_90 = """\
Input #0, matroska,webm, from 'hdr.mkv':
  Metadata:
    ENCODER         : Lavf63.1.102
  Duration: 00:00:01.04, start: 0.040000, bitrate: 132 kb/s
  Stream #0:0: Video: hevc (Main 10), 1 reference frame, yuv420p10le(tv, bt2020nc/bt2020/arib-std-b67, progressive, left), 160x120 [SAR 4:3 DAR 16:9], 25 fps, 25 tbr, 1k tbn, start 0.040000
    Metadata:
      ENCODER         : Lavc63.1.102 libx265
      DURATION        : 00:00:01.040000000
    Side data:
      Content light level metadata: MaxCLL=1000, MaxFALL=400
      Mastering display metadata: has_primaries:1 has_luminance:1 r(0.6800,0.3200) g(0.2650,0.6900) b(0.1500 0.0600) wp(0.3127, 0.3290) min_luminance=0.000100, max_luminance=1000.000000
[out#0/null @ 0x55c97fd357c0] Adding streams from explicit maps...
[vost#0:0/copy @ 0x55c97fd51980] Created video stream from input stream 0:0
Stream mapping:
"""

# ffmpeg 5.1: a rotated mp4; and ffmpeg 9.0's spelling of the same side data
ROT_MP4_51 = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'rot5.mp4':
  Duration: 00:00:03.00, start: 0.000000, bitrate: 131 kb/s
  Stream #0:0[0x1](und): Video: h264 (High), 1 reference frame (avc1 / 0x31637661), yuv420p(progressive, left), 160x120 (160x128) [SAR 1:1 DAR 4:3], 126 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
    Side data:
      displaymatrix: rotation of 90.00 degrees
Output #0, null, to 'pipe:':
"""
ROT_MP4_90 = ROT_MP4_51.replace("displaymatrix", "Display Matrix").replace("-90.00", "-90.00")

TFF_MP4_51 = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'tff.mp4':
  Duration: 00:00:01.00, start: 0.000000, bitrate: 147 kb/s
  Stream #0:0[0x1](und): Video: h264 (High), 1 reference frame (avc1 / 0x31637661), yuv420p(top first, left), 160x120 (160x128) [SAR 1:1 DAR 4:3], 138 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
"""


def test_parse_rich_mkv_51():
    info = parse_input_info(RICH_MKV_51)
    assert (info.pix_fmt, info.sar, info.field_order) == ("yuv420p10le", Fraction(4, 3), "progressive")
    assert (info.color_range, info.color_space, info.color_primaries, info.color_trc, info.chroma_location) == (
        "tv", "bt2020nc", "bt2020", "arib-std-b67", "left")  # fmt: skip
    assert info.audio == (AudioStream(1, "aac", 48000, 1, layout="mono"), AudioStream(2, "flac", 44100, 2, layout="stereo"))
    assert [a.layout_arg for a in info.audio] == ["mono", "stereo"]
    assert AudioStream(0, "pcm_s16le", 48000, 6, layout="6 channels").layout_arg == "6c"  # raw samples: a count
    assert info.has_audio and info.subtitles == (SubtitleStream(3, "subrip"),)
    assert (info.attachments, info.data_streams, info.rotation) == (1, 0, 0)
    assert info.mastering_display is None and info.content_light is None


def test_parse_hdr_side_data_90():
    info = parse_input_info(HDR_MKV_90)
    assert info.content_light == "MaxCLL=1000, MaxFALL=400"
    assert info.mastering_display is not None and info.mastering_display.startswith("has_primaries:1")
    assert info.mastering_display.endswith("max_luminance=1000.000000")
    assert not info.has_audio and info.duration == Fraction(104, 100)


@pytest.mark.parametrize("text, rotation", [(ROT_MP4_51, 90), (ROT_MP4_90, 90), (MP4_HEADER, 0)])
def test_parse_rotation(text, rotation):
    assert parse_input_info(text).rotation == rotation


@pytest.mark.parametrize("inner, expect", [
    ("yuv420p(top first, left)", dict(field_order="tt", chroma_location="left")),
    ("yuv420p(bottom coded first (swapped))", dict(field_order="bt")),
    ("yuv420p(tv, bt709)", dict(color_range="tv", color_space="bt709", color_primaries="bt709", color_trc="bt709")),
    ("yuv420p(pc, bt470bg/unknown/unknown, progressive)",
     dict(color_range="pc", color_space="bt470bg", color_primaries=None, color_trc=None, field_order="progressive")),
    ("yuv420p", dict(field_order="unknown", color_range=None, color_space=None)),
])  # fmt: skip
def test_parse_pix_details(inner, expect):
    info = parse_input_info(f"Input #0, x, from 'a':\n  Stream #0:0: Video: h264, {inner}, 64x48, 25 fps\n")
    for key, value in expect.items():
        assert getattr(info, key) == value, key
    assert parse_input_info(TFF_MP4_51).field_order == "tt"


# ffmpeg 5.1, `-map 0:v -map 0:a? -c copy -f framecrc`: an mp4 whose last packet its edit list discards
FRAMECRC_MP4_51 = """\
#tb 0: 1/1000000
#media_type 0: video
#tb 1: 1/44100
#media_type 1: audio
0,     -80000,          0,    40000,     3174, 0xa7ceb39c
1,      -1024,      -1024,     1024,        6, 0x03460155
0,     -40000,      80000,    40000,     1184, 0x62984a6a, F=0x0
1,          0,          0,     1024,      208, 0xe4db649d
0,          0,      40000,    40000,      546, 0x85ad14dd, F=0x0
0,      40000,     160000,    40000,      943, 0xc332d607, F=0x4
0,      80000,     120000,    40000,      943, 0xc332d607, F=0x0
"""
# ffmpeg 9.0: mpegts packets carry side data columns; 5.1 avi B-frames have no pts
FRAMECRC_TS_90 = """\
#tb 0: 1/90000
0,      -7200,          0,     3600,     3110, 0x34877f28, S=1, MPEGTS Stream ID,        1, 0x00e000e0
0,      -3600,      14400,     3600,     1060, 0x4a8a0292, F=0x0, S=1, MPEGTS Stream ID,        1, 0x00e000e0
0,          0,       7200,     3600,      424, 0x3735ddf0, F=0x0, S=1, MPEGTS Stream ID,        1, 0x00e000e0
0,       3600,       3600,     3600,      413, 0x2e78d2c2, F=0x0, S=1, MPEGTS Stream ID,        1, 0x00e000e0
0,       7200,      10800,     3600,      380, 0x096cbe9d, F=0x0, S=1, MPEGTS Stream ID,        1, 0x00e000e0
"""
FRAMECRC_AVI_51 = """\
#tb 0: 125/2997
0,          0, -9223372036854775808,        1,     6302, 0x22393ea5
0,          1, -9223372036854775808,        1,     5839, 0x2d5ae28a, F=0x0
0,          2,          2,        1,     2369, 0xd4ed39be, F=0x0
"""


def test_parse_framecrc():
    mp4 = parse_framecrc(FRAMECRC_MP4_51)
    assert mp4[0].time_base == Fraction(1, 1000000) and mp4[0].pts == (0, 80000, 40000, 160000, 120000)
    assert mp4[0].flags == (1, 0, 0, 4, 0) and mp4[1].pts == (-1024, 0)
    ts = parse_framecrc(FRAMECRC_TS_90)[0]
    assert ts.pts == (0, 14400, 7200, 3600, 10800) and ts.flags == (1, 0, 0, 0, 0) and ts.durations == (3600,) * 5
    assert parse_framecrc(FRAMECRC_AVI_51)[0].pts == (None, None, 2)


def _base(**kw):
    return VideoInfo(**{"width": 64, "height": 48, "rate": Fraction(25), "pix_fmt": "yuv420p", **kw})


def test_packets_info_leaves_out_discarded_packets():
    info = packets_info(_base(audio=(AudioStream(1, "aac", 44100, 1),)), parse_framecrc(FRAMECRC_MP4_51))
    assert info.n_frames == 4 and info.frame_times == (0, Fraction(1, 25), Fraction(2, 25), Fraction(3, 25))
    assert info.keyframes == (0,) and not info.vfr and info.start == 0
    assert info.audio[0].start == Fraction(-1024, 44100)


def test_packets_info_without_pts():
    info = packets_info(_base(rate=Fraction(24000, 1001)), parse_framecrc(FRAMECRC_AVI_51))
    assert info.n_frames == 3 and info.frame_times is None and info.keyframes == ()
    assert info.rate == Fraction(2997, 125)  # every packet lasts one tick of 125/2997


def test_packet_rate_keeps_nominal_when_durations_vary():
    pk = ff.Packets(Fraction(1, 1000), (0, 33, 67), (1, 0, 0), (33, 34, 33))
    assert packet_rate(pk, None, Fraction(30000, 1001)) == Fraction(30000, 1001)


def test_parse_first_frame_time_both_versions():
    v51 = ("[Parsed_showinfo_1 @ 0x5] config in time_base: 1/90000, frame_rate: 25/1\n"
           "[Parsed_showinfo_1 @ 0x5] n:   0 pts: 129600 pts_time:1.44    pos:    39104 fmt:yuv420p sar:1/1\n")  # fmt: skip
    v90 = ("[Parsed_showinfo_1 @ 0x7] config in time_base: 1/90000, frame_rate: 25/1\n"
           "[Parsed_showinfo_1 @ 0x7] n:   0 pts: 129600 pts_time:1.44    duration:   3600 duration_time:0.04\n")  # fmt: skip
    assert parse_first_frame_time(v51) == parse_first_frame_time(v90) == Fraction(36, 25)
    assert parse_first_frame_time("nothing") is None


def test_decoder_argv_windows():
    w = tl.DecodeWindow(35, 3, seek=Fraction(47, 50), select_time=Fraction(139, 100), expect=(Fraction(139, 100), 1))
    argv = decoder_argv("ffmpeg", "a.ts", pipe=False, window=w, pix_fmt="yuv420p10le")
    assert argv[argv.index("-ss") + 1] == "0.940000" and argv.index("-ss") < argv.index("-i")
    assert "-copyts" in argv and "-start_at_zero" in argv and "-noaccurate_seek" in argv
    assert argv[argv.index("-vf") + 1] == "select='gte(t\\,1.390000000)'"
    assert argv[argv.index("-frames:v") + 1] == "3" and argv[-3:] == ["-pix_fmt", "yuv420p10le", "pipe:1"]
    fallback = decoder_argv("ffmpeg", "a.avi", pipe=False, window=tl.DecodeWindow(20, None, select_index=20))
    assert "-ss" not in fallback and fallback[fallback.index("-vf") + 1] == "select='gte(n\\,20)'"
    assert "-frames:v" not in fallback
    assert decoder_filters(None, Fraction(25)) == ["tpad=stop=-1:stop_mode=clone", "fps=25/1"]
    with pytest.raises(ValueError):
        decoder_argv("ffmpeg", "v.mp4", pipe=False, cfr_rate=Fraction(25))
    pipe = decoder_argv("ffmpeg", "-", pipe=True, limit=5)
    assert "-copyts" not in pipe and pipe[pipe.index("-i") + 1] == "pipe:0"


def test_constant_rate_view():
    times = tuple(Fraction(k, 25) for k in range(10)) + tuple(Fraction(10, 25) + Fraction(k, 10) for k in range(1, 4))
    info = _base(n_frames=len(times), frame_times=times, keyframes=(0, 11), vfr=True)
    view, grid = constant_rate(info)
    # 0.5 s -> slot 12.5, rounded up to 13; 0.7 s -> 17.5 -> 18; it ends 0.1 s after 0.7 s (slot 20)
    assert grid is not None and grid.source == (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 10, 10, 11, 11, 11, 12, 12)
    assert view.n_frames == grid.count == 20 and (grid.duplicated, grid.dropped) == (7, 0)
    assert view.frame_times == grid.times() and view.keyframes == (0, grid.source.index(11))
    same, none = constant_rate(_base(n_frames=3, frame_times=(0, Fraction(1, 25), Fraction(2, 25))))
    assert none is None and same.n_frames == 3


def test_tags_use_the_names_ffmpegs_options_take():
    """ffmpeg prints an RGB stream's matrix as "gbr" but its -colorspace option says "rgb";
    unset tags are left out."""
    raw = RawVideo("gbrp", 4, 4, Fraction(25), color_space="gbr", color_trc="unknown", color_range="pc")
    assert raw.tag_args() == ["-color_range", "pc", "-colorspace", "rgb"]


def test_y4m_aspect_is_the_upright_pictures():
    assert ff.parse_y4m_aspect(b"YUV4MPEG2 W120 H160 F25:1 Ip A3:4 C444 XYSCSS=444\n") == Fraction(3, 4)
    assert ff.parse_y4m_aspect(b"YUV4MPEG2 W120 H160 F25:1 Ip A0:0 C444\n") is None
    assert ff.parse_y4m_aspect(b"YUV4MPEG2 W120 H160 F25:1 Ip C444\n") is None


FRAME_SIDE_51 = """\
[showinfo@v @ 0x55cea4d20780] n:   0 pts:      0 pts_time:0       pos:       48 fmt:yuv420p10le sar:1/1 s:160x120 i:P iskey:1 type:I
[showinfo@v @ 0x55cea4d20780]   side data - mastering display: has_primaries:1 has_luminance:1 r(0.6800,0.3200) g(0.2650,0.6900) b(0.1500 0.0600) wp(0.3127, 0.3290) min_luminance=0.000100, max_luminance=1000.000000
[showinfo@v @ 0x55cea4d20780]   side data - Content Light Level information: MaxCLL=1000, MaxFALL=400
"""
FRAME_SIDE_90 = """\
[showinfo@v @ 0x7fecac002340]   side data - H.26[45] User Data Unregistered SEI message: UUID=2ca2de09-b517-47db-bb55-a4fe7fc2fc4e
[showinfo@v @ 0x7fecac002340]   side data - Mastering display metadata: has_primaries:1 has_luminance:1 r(0.6800,0.3200) g(0.2650,0.6900) b(0.1500 0.0600) wp(0.3127, 0.3290) min_luminance=0.000100, max_luminance=1000.000000
[showinfo@v @ 0x7fecac002340]   side data - Content light level metadata: MaxCLL=1000, MaxFALL=400
"""


@pytest.mark.parametrize("text", [FRAME_SIDE_51, FRAME_SIDE_90])
def test_hdr_side_data_of_a_decoded_frame(text):
    found = ff.parse_frame_side_data(text)
    assert found["content_light"] == "MaxCLL=1000, MaxFALL=400"
    assert found["mastering_display"].startswith("has_primaries:1") and found["mastering_display"].endswith("1000.000000")
    assert ff.parse_frame_side_data(text.replace("showinfo@v", "showinfo@a0")) == {}
    assert ff.side_data_note(None, None) is None
    assert "HDR mastering-display and content-light" in (ff.side_data_note("x", "MaxCLL=1") or "")


SONG_51 = """\
Input #0, mp3, from 'song.mp3':
  Duration: 00:00:01.03, start: 0.025057, bitrate: 80 kb/s
  Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp, 64 kb/s
  Stream #0:1: Video: png, rgb24(pc), 64x64 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
"""
FILM_90 = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'film.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 949 kb/s
  Stream #0:0[0x1](und): Video: png (png  / 0x20676E70), rgb24(pc, gbr/unknown/unknown), 64x64 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
  Stream #0:1[0x2](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], 949 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
  Stream #0:2[0x3](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 69 kb/s (default)
"""


def test_cover_art_is_never_the_video():
    with pytest.raises(InputError, match="only a still picture"):
        parse_input_info(SONG_51)
    assert ff.is_cover_art_only(SONG_51) and not ff.is_cover_art_only(FILM_90)
    info = parse_input_info(FILM_90)
    assert (info.width, info.height, info.pix_fmt, info.covers) == (160, 120, "yuv420p", 1)
