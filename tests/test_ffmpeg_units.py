"""Pure parts of the ffmpeg layer and the audio graph: parsing, argv building."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ds_slowmo.audio import atempo_chain, audio_filter_graph
from ds_slowmo.config import Config
from ds_slowmo.errors import FFmpegError, InputError, UsageError
from ds_slowmo.ffmpeg import output_pix_fmt, parse_input_info, parse_y4m_header, rationalize_fps
from ds_slowmo.config import check_paths
from ds_slowmo.ffmpeg import RawVideo, decoder_argv, video_out
from ds_slowmo.taps import encoder_argv
from ds_slowmo.plan import AudioSegment, build_plan, parse_span

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


def test_output_pix_fmt():
    assert output_pix_fmt("yuv444p") == "yuv444p"
    assert output_pix_fmt("yuvj420p") == "yuv420p"
    assert output_pix_fmt("rgb24") == "yuv444p"
    assert output_pix_fmt("yuv420p10le") == "yuv444p"


def test_ffmpeg_error_quotes_tail():
    err = FFmpegError("encoding failed", "line1\nline2\n[libx264] height not divisible by 2\n")
    assert "height not divisible by 2" in str(err)
    assert err.exit_code == 1


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


def test_audio_graph_shape():
    segs = [AudioSegment(Fraction(0), Fraction(1), 1), AudioSegment(Fraction(1), Fraction(2), 2)]
    g = audio_filter_graph(segs, "stretch", Fraction(3))
    assert g.startswith("[1:a:0]asplit=2[s0][s1];")
    assert "[s0]atrim=start=0:end=1,asetpts=PTS-STARTPTS[a0]" in g
    assert "[s1]atrim=start=1:end=2,asetpts=PTS-STARTPTS,atempo=0.5[a1]" in g
    assert g.endswith("[a0][a1]concat=n=2:v=0:a=1,apad=whole_dur=3,atrim=end=3[aout]")
    muted = audio_filter_graph(segs, "mute", Fraction(3))
    assert "atempo=0.5,volume=0[a1]" in muted and "volume=0[a0]" not in muted
    single = audio_filter_graph(segs[:1], "stretch", Fraction(1))
    assert single == "[1:a:0]atrim=start=0:end=1,asetpts=PTS-STARTPTS[a0];[a0]apad=whole_dur=1,atrim=end=1[aout]"


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
    dec = decoder_argv("ffmpeg", "in put.mp4", limit=25, pipe=False)
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
    (".mp4", "gbrp", ["-c:v", "libx264", "-crf", "16", "-pix_fmt", "yuv444p"], "cannot take gbrp"),
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
