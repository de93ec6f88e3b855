"""The containers table (ds_slowmo/containers.py) checked against what ffmpeg really does: which
names are image sequences and which file ffmpeg writes for each frame, which extensions it can
write at all, which subtitle codecs each container takes; and the outputs it must refuse or keep
whole (the % in a name, an unknown extension)."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from ds_slowmo import containers as ct
from ds_slowmo.ffmpeg import RawVideo, can_write, find_ffmpeg, video_out
from ds_slowmo.options import BY_FIELD

from helpers import audio_seconds, av_offsets, make_flash_beep_clip, one_line_error, probe_video, run_cli

EXTENSIONS = sorted(k for k in ct.TABLE if k.startswith("."))
SEQUENCES = [k for k in EXTENSIONS if ct.TABLE[k].sequence]
VIDEOS = [k for k in EXTENSIONS if not ct.TABLE[k].sequence]
TEXT_ENCODABLE = ("ass", "mov_text", "subrip", "text", "webvtt")  # text subtitle codecs ffmpeg encodes


# -- the table, pure ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, codes, first", [
    ("f%d.png", 1, "f1.png"),
    ("f%04d.png", 1, "f0001.png"),
    ("f%3d.png", 1, "f001.png"),  # ffmpeg always pads with zeros
    ("take 100%%_%03d.png", 1, "take 100%_001.png"),
    ("f%d_%d.png", 2, None),
    ("out 100%.mp4", None, None),
    ("f%x.png", None, None),
    ("plain.png", 0, "plain.png"),
])  # fmt: skip
def test_frame_numbers_are_read_as_ffmpeg_reads_them(name, codes, first):
    assert ct.frame_codes(name) == codes
    if first is not None:
        assert ct.frame_name(name, 1) == first


@pytest.mark.parametrize("name, sequence", [
    ("frames_%03d.png", True), ("F_%04d.TIFF", True), ("d/take 100%%_%d.exr", True),
    ("out 100%.mp4", False), ("out%d.mp4", False), ("f%d.gif", False), ("still.png", False),
    ("f%d_%d.png", False), ("f%d.xyz", False), ("noext", False),
])  # fmt: skip
def test_only_an_image_type_with_one_frame_number_is_a_sequence(name, sequence):
    assert ct.is_sequence(name) is sequence


def test_pipe_formats_and_their_aliases():
    assert ct.PIPE_FORMATS == ("y4m", "nut", "matroska", "mpegts", "rawvideo")
    assert [ct.pipe_format(n) for n in ("y4m", "yuv4mpegpipe", "mkv", "matroska", "nut", "mpegts", "rawvideo")] == [
        "yuv4mpegpipe", "yuv4mpegpipe", "matroska", "matroska", "nut", "mpegts", "rawvideo"]  # fmt: skip
    assert ct.pipe_format(".mkv") is ct.pipe_format("mp4") is ct.pipe_format("") is None
    assert all(name in BY_FIELD["format"].help for name in ct.PIPE_FORMATS)
    with pytest.raises(KeyError):
        ct.lookup("mp4")
    assert ct.lookup(".XYZ") is ct.OTHER and ct.lookup("") is ct.OTHER and ct.lookup(".MKV") is ct.TABLE[".mkv"]


def test_the_table_is_consistent():
    for key, spec in ct.TABLE.items():
        if spec.audio is not None and spec.audio.encoder is not None:
            assert spec.audio.takes(spec.audio.encoder), key  # a stretched track could be copied again
        if spec.subtitles.text is not None:
            assert spec.subtitles.takes(spec.subtitles.text), key  # what text becomes, it takes as it is
        assert not (spec.pipe and (spec.audio or spec.folder_input or spec.sequence)), key  # pipes: video only
        assert not (spec.sequence and (spec.audio or spec.folder_input)), key
    assert ct.FOLDER_EXTENSIONS and all(e.startswith(".") for e in ct.FOLDER_EXTENSIONS)


def _fmts(encoder: str) -> tuple[str, ...]:
    return {"libx264": ("yuv420p", "yuv444p"), "libx265": (), "libvpx-vp9": ("yuv420p",), "prores_ks": ()}[encoder]


@pytest.mark.parametrize("key", sorted(ct.TABLE))
def test_every_container_has_its_video_rule(key):
    out = video_out(key, RawVideo("yuv420p", 64, 48, Fraction(25)), None, (), _fmts)
    codec = out.args[out.args.index("-c:v") + 1] if "-c:v" in out.args else None
    rule = ct.TABLE[key].video
    want = {"h264": "libx264", "vp9": "libvpx-vp9", "raw": "rawvideo", "ffv1": "ffv1"}.get(rule)
    assert codec == want, (key, out.args)


# -- the table against ffmpeg ---------------------------------------------------------------------
@pytest.mark.parametrize("ext", SEQUENCES)
def test_image_types_are_written_through_the_frame_number(tmp_path, ext):
    """With a frame number in its name, ffmpeg writes an image type frame by frame under the
    names frame_name gives (so the output must be written in a hidden folder, whole or not
    at all); .webp is one animated file, under the first frame's name."""
    exe = find_ffmpeg()
    pattern = f"f%02d{ext}"
    subprocess.run([exe, "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=s=32x32:r=5:d=0.6",
                    str(tmp_path / pattern)], check=True)  # fmt: skip
    names = set(os.listdir(tmp_path))
    assert ct.frame_name(pattern, 1) in names
    assert names <= {ct.frame_name(pattern, k) for k in (1, 2, 3)}, names


@pytest.mark.parametrize("ext", VIDEOS)
def test_video_types_take_a_percent_as_it_is_and_ffmpeg_writes_them(tmp_path, ext):
    exe = find_ffmpeg()
    assert can_write(exe, ext)
    if ext in (".y4m", ".webm", ".avi", ".nut", ".mkv", ".mp4", ".ts", ".gif"):
        name = f"o%d 100%{ext}"
        subprocess.run([exe, "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=s=32x32:r=5:d=0.6",
                        "-pix_fmt", "yuv420p", str(tmp_path / name)], check=True)  # fmt: skip
        assert os.listdir(tmp_path) == [name]


def test_ffmpeg_is_asked_about_other_extensions_and_nothing_is_written(tmp_path):
    exe = find_ffmpeg()
    assert not can_write(exe, ".xyz") and not can_write(exe, ".notaformat")
    assert can_write(exe, ".mxf") and can_write(exe, ".MXF") and can_write(exe, ".3gp")
    assert not os.path.exists("/dev/null/ds-slowmo-probe.mxf")


def _subtitled(tmp_path: Path, ext: str, codec: str, lang: str = "fra") -> subprocess.CompletedProcess:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,200 --> 00:00:00,600\nhello\n")
    video = ["-c:v", "libx264", "-preset", "ultrafast"] if ext != ".webm" else ["-c:v", "libvpx-vp9", "-deadline", "realtime"]
    return subprocess.run([find_ffmpeg(), "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                           "testsrc2=s=64x48:r=25,trim=end_frame=20", "-i", str(srt), "-map", "0", "-map", "1",
                           *video, "-c:s", codec, "-metadata:s:s:0", f"language={lang}",
                           str(tmp_path / f"sub-{codec}{ext}")], capture_output=True, text=True)  # fmt: skip


@pytest.mark.parametrize("ext", [e for e in VIDEOS if ct.TABLE[e].subtitles.copies & set(TEXT_ENCODABLE)])
def test_the_subtitle_codecs_a_container_takes_are_real(tmp_path, ext):
    """Every text codec the table says a container takes, ffmpeg muxes into it, and every one
    it leaves out, ffmpeg refuses there (mov_text in Matroska, subrip in MP4)."""
    takes = ct.TABLE[ext].subtitles.copies
    for codec in TEXT_ENCODABLE:
        proc = _subtitled(tmp_path, ext, codec)
        assert (proc.returncode == 0) is (codec in takes), (codec, proc.stderr)


# -- outputs the CLI writes or refuses -----------------------------------------------------------
def test_a_percent_in_a_video_name_keeps_the_audio_in_sync(tmp_path):
    """#19: ``out 100%.mp4`` was taken for an image sequence and lost its audio."""
    clip = make_flash_beep_clip(tmp_path / "fb.mp4", seconds=2, rate="25", at=(0.4, 1.2))
    out = tmp_path / "out 100%.mp4"
    proc = run_cli(str(clip), "-o", str(out), "--range", "0.2s:0.8s")
    assert proc.returncode == 0 and "can't carry audio" not in proc.stderr, proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["fb.mp4", "out 100%.mp4"]
    assert audio_seconds(out) == pytest.approx(probe_video(out)["frames"] / 25, abs=0.03)
    assert all(abs(d) < 0.045 for d in av_offsets(out)), av_offsets(out)


def test_a_literal_percent_in_an_image_sequence(clip50, tmp_path):
    """``%%`` is a literal % to ffmpeg: the hidden folder must not hold one (ffmpeg reads the
    whole path), and the first file checked for -y is the one ffmpeg writes."""
    out = tmp_path / "take 100%%_%3d.png"
    proc = run_cli(str(clip50), "-o", str(out), "--trim", "0:3")
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path)) == [f"take 100%_{i:03d}.png" for i in range(1, 6)]
    one_line_error(run_cli(str(clip50), "-o", str(out), "--trim", "0:3"), 2, "already exists")


@pytest.mark.parametrize("name, needles", [
    ("f%d_%d.png", ("2 frame numbers", "frames_%04d.png")),  # was a TypeError traceback
    ("f%x.png", ("a % that starts no frame number",)),
    ("f%d.hdr", (".hdr is no image type",)),
    ("out.xyz", ("no format for .xyz files", "out.mp4", "-f", "y4m, nut, matroska")),  # was ffmpeg's error, late
    ("still.jps", ("no format for .jps", "frames_%04d.jps")),
])  # fmt: skip
def test_outputs_ffmpeg_cant_write_are_refused_up_front(clip50, tmp_path, name, needles):
    one_line_error(run_cli(str(clip50), "-o", str(tmp_path / name)), 2, *needles)
    assert not os.listdir(tmp_path)


def test_an_unknown_extension_is_fine_when_the_format_is_named(clip50, tmp_path):
    out = tmp_path / "o.xyz"
    proc = run_cli(str(clip50), "-o", str(out), "--trim", "0:4", "--encoder-args=-f matroska")
    assert proc.returncode == 0, proc.stderr
    assert probe_video(out)["frames"] == 7
    one_line_error(run_cli(str(clip50), "-o", str(tmp_path / "o.mp4"), "--compare", str(tmp_path / "c.xyz")), 2,
                   "--compare", ".xyz")  # fmt: skip
    one_line_error(run_cli(str(clip50), "-o", str(tmp_path / "o.mp4"), "--compare", str(tmp_path / "c%d.png")), 2,
                   "--compare", "the comparison is a video")  # fmt: skip


def test_an_image_sequence_in_a_folder_with_a_percent_is_refused(clip50, tmp_path):
    folder = tmp_path / "100%d"
    folder.mkdir()
    one_line_error(run_cli(str(clip50), "-o", str(folder / "f%03d.png")), 2, "folder without %")
