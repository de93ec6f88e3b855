"""Pure parts of the ffmpeg layer and the audio graph: parsing, argv building."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ds_slowmo.audio import atempo_chain
from ds_slowmo.config import Config
from ds_slowmo.errors import FFmpegError, InputError, UsageError
from ds_slowmo.ffmpeg import output_pix_fmt, parse_input_info, parse_y4m_header, rationalize_fps
from ds_slowmo.pipeline import decoder_argv, encoder_argv

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


def test_argv_are_lists_with_exact_rates(tmp_path):
    cfg = Config(input="in put.mp4", output=str(tmp_path / "o ut.mp4"))
    enc = encoder_argv("ffmpeg", cfg, width=322, height=239, rate=Fraction(30000, 1001), target="t.mp4",
                       pix_fmt="yuv420p", audio=[])  # fmt: skip
    assert "30000/1001" in enc and "322x239" in enc
    assert enc[enc.index("-pix_fmt", enc.index("-map")) + 1] == "yuv444p"  # odd size keeps full chroma
    assert enc[enc.index("-crf") + 1] == "16"
    dec = decoder_argv("ffmpeg", "in put.mp4", limit=25, pipe=False)
    assert dec[dec.index("-i") + 1] == "in put.mp4" and dec[dec.index("-frames:v") + 1] == "25"
    pipe_cfg = Config(input="-", output="-", format="nut")
    enc = encoder_argv("ffmpeg", pipe_cfg, width=2, height=2, rate=Fraction(25), target="pipe:1",
                       pix_fmt="yuv444p", audio=[])  # fmt: skip
    i = enc.index("-f", enc.index("-map"))
    assert enc[i : i + 4] == ["-f", "nut", "-c:v", "rawvideo"]


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
    with pytest.raises(UsageError, match="is the input file"):
        Config(input=str(f), output=str(f))
