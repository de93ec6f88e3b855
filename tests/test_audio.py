"""Audio in sync: exact sample counts per segment, the input-to-output time map, which
arguments each output gets, and lip sync measured the way a viewer notices it (a white flash
and a 1 kHz beep at the same instants), on mp4, on an mkv whose video starts after its audio
and on an mpegts with a start time. Run with DS_SLOWMO_FFMPEG set to each ffmpeg."""

from __future__ import annotations

import logging
import math
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import audio_seconds, av_offsets, first_times, make_flash_beep_clip, probe_video, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo.audio import audio_args, audio_filter_graph, carries_audio, output_time, segment_samples
from ds_slowmo.ffmpeg import VideoInfo, find_ffmpeg
from ds_slowmo.plan import AudioSegment, build_plan, parse_span

NTSC = Fraction(30000, 1001)
TOLERANCE = 0.010  # lip sync: every beep within 10 ms of its flash (relative to the source)


@dataclass(frozen=True)
class Track:
    """Stand-in for ffmpeg.AudioStream: what the audio graph reads of a track."""

    codec: str = "aac"
    sample_rate: int = 48000
    start: Fraction = Fraction(0)


def seg(a: int, b: int, k: int, rate: Fraction = NTSC) -> AudioSegment:
    return AudioSegment(Fraction(a) / rate, Fraction(b) / rate, k)


# -- exact sample counts ------------------------------------------------------------------------------
@pytest.mark.parametrize("segments, sr, counts", [
    ([seg(0, 30, 1)], 48000, [48048]),  # 30 frames of NTSC: 1.001 s
    ([seg(0, 30, 1), seg(30, 60, 4), seg(60, 90, 1)], 48000, [48048, 192192, 48048]),
    ([seg(0, 1, 1), seg(1, 2, 3)], 44100, [1471, 4415]),  # boundaries at 1471.47 and 5885.88 samples
    ([seg(0, 1, 1), seg(1, 2, 1), seg(2, 3, 1)], 44100, [1471, 1472, 1471]),  # 1471.47, 2942.94, 4414.41
    ([seg(0, 0, 1), seg(0, 1, 2)], 8000, [0, 534]),  # an empty segment takes nothing
])  # fmt: skip
def test_segment_samples_table(segments, sr, counts):
    assert segment_samples(segments, sr) == counts


spans = st.lists(st.tuples(st.integers(0, 400), st.integers(1, 16)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(spans=spans, sr=st.sampled_from([8000, 22050, 44100, 48000, 96000]),
       rate=st.sampled_from([NTSC, Fraction(25), Fraction(24000, 1001), Fraction(2997, 125)]))  # fmt: skip
def test_segment_samples_never_drift(spans, sr, rate):
    segments, start = [], 0
    for length, k in spans:
        segments.append(seg(start, start + length, k, rate))
        start += length
    counts = segment_samples(segments, sr)
    exact_end = Fraction(0)
    placed = 0
    for s, n in zip(segments, counts):
        exact_end += (s.end - s.start) * s.stretch * sr
        placed += n
        assert abs(placed - exact_end) <= Fraction(1, 2)  # each boundary within half a sample
    total = sum((s.end - s.start) * s.stretch for s in segments)
    assert placed == math.floor(total * sr + Fraction(1, 2))  # the whole, rounded once


def segment_chains(graph: str, track: int = 0) -> list[tuple[int, int, int]]:
    """(first input sample, last input sample, output samples) of each segment chain cut from
    the track in the graph, plain or through atempo."""
    found = []
    chains = graph.split(";")
    for chain in chains:
        m = re.match(rf"\[t{track}s(\d+)\]atrim=start_sample=(\d+):end_sample=(\d+),", chain)
        if m:
            i, a, b = map(int, m.groups())
            # its end: in this chain, or in the chain that ends at [t{track}o{i}]
            end = next(c for c in chains if c.endswith(f"[t{track}o{i}]"))
            cut, pad = map(int, re.search(r"atrim=end_sample=(\d+),apad=whole_len=(\d+)\[", end).groups())
            assert cut == pad
            found.append((a, b, cut))
    return found


def test_graph_gives_each_segment_its_exact_length():
    segments = [seg(0, 30, 1), seg(30, 60, 4), seg(60, 90, 1)]
    g = audio_filter_graph(segments, "stretch", [Track()], Fraction(0))
    # a stretched segment reads nothing past its end (a beep there came out early): atempo's
    # lookahead is the segment's own last samples, mirrored
    assert segment_chains(g) == [(0, 48048, 48048), (48048, 96096, 192192), (96096, 144144, 48048)]
    assert "[t0o1b]atrim=start_sample=31664,asetpts=N/SR/TB,areverse[t0o1r]" in g  # its last 16384 samples
    assert "[t0o1a][t0o1r]concat=n=2:v=0:a=1,atempo=0.5,atempo=0.5," in g
    assert g.endswith("[t0o0][t0o1][t0o2]concat=n=3:v=0:a=1[aout0]")
    assert g.startswith("[1:a:0]aresample=48000,asetpts=N/SR/TB,apad,asplit=3[t0s0][t0s1][t0s2];")
    muted = audio_filter_graph(segments, "mute", [Track()], Fraction(0))
    assert "atempo" not in muted and muted.count("volume=0") == 1
    assert segment_chains(muted) == [(0, 48048, 48048), (48048, 96096, 192192), (96096, 144144, 48048)]


def test_graph_reads_stretched_pieces_from_their_inputs():
    segments = [seg(0, 30, 1), seg(30, 60, 4), seg(60, 90, 1), seg(90, 100, 2)]
    g = audio_filter_graph(segments, "stretch", [Track(), Track(sample_rate=44100)], Fraction(0),
                           feeds={(0, 1): 2, (0, 3): 3, (1, 1): 4, (1, 3): 5})  # fmt: skip
    assert "atempo" not in g
    assert segment_chains(g) == [(0, 48048, 48048), (96096, 144144, 48048)]  # cut here: only the plain ones
    assert "[2:a]atrim=start_sample=4096,asetpts=N/SR/TB,atrim=end_sample=192192,apad=whole_len=192192[t0o1]" in g
    assert "[5:a]atrim=start_sample=4096," in g and "[1:a:1]aresample=44100,asetpts=N/SR/TB,apad,asplit=2" in g
    whole = audio_filter_graph([seg(0, 30, 4)], "stretch", [Track()], Fraction(0), feeds={(0, 0): 2})
    assert "[1:a:0]" not in whole and whole.endswith("[t0o0];[t0o0]anull[aout0]")


def test_graph_places_tracks_by_their_start():
    segments = [seg(0, 30, 1), seg(30, 60, 2)]
    # audio starts 23 ms before the picture: plan time 0 is its sample 1104
    early = audio_filter_graph(segments, "stretch", [Track(start=Fraction(0))], Fraction(23, 1000))
    assert segment_chains(early)[0] == (1104, 1104 + 48048, 48048)
    assert "adelay" not in early
    # audio starts 40 ms after the picture: 1920 samples of silence go before it
    late = audio_filter_graph(segments, "stretch", [Track(start=Fraction(1, 25))], Fraction(0))
    assert "adelay=delays=1920S:all=1,asetpts=N/SR/TB" in late
    assert segment_chains(late)[0] == (0, 48048, 48048)
    # a trimmed plan starts later in the track; a 44.1 kHz second track gets its own counts
    trimmed = [seg(300, 330, 1)]
    g = audio_filter_graph(trimmed, "stretch", [Track(), Track(sample_rate=44100, start=Fraction(1, 100))], Fraction(0))
    assert segment_chains(g, 0) == [(480480, 528528, 48048)]
    assert segment_chains(g, 1) == [(441000, 485144, 44144)]  # plan time 10.01 s is its 10.00 s
    assert "[1:a:1]aresample=44100" in g and "[aout1]" in g


# -- output_time ----------------------------------------------------------------------------------
def test_output_time_table():
    segments = [seg(0, 30, 1, Fraction(30)), seg(30, 60, 4, Fraction(30)), seg(60, 90, 1, Fraction(30))]
    assert output_time(segments, Fraction(0)) == 0
    assert output_time(segments, Fraction(1)) == 1  # where the slowed span starts
    assert output_time(segments, Fraction(3, 2)) == 3  # half way into it: 1 + 0.5 * 4
    assert output_time(segments, Fraction(2)) == 5
    assert output_time(segments, Fraction(3)) == 6  # the end maps to the duration
    assert output_time(segments, Fraction(-1, 10)) is None and output_time(segments, Fraction(31, 10)) is None
    trimmed = [seg(30, 60, 1, Fraction(30))]
    assert output_time(trimmed, Fraction(1)) == 0 and output_time(trimmed, Fraction(1, 2)) is None


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 200), factor=st.integers(2, 16), data=st.data(),
       rate=st.sampled_from([NTSC, Fraction(25), Fraction(50)]))  # fmt: skip
def test_output_time_agrees_with_the_video_plan(n, factor, data, rate):
    a = data.draw(st.integers(0, n - 1))
    b = data.draw(st.integers(a + 1, n))
    t0 = data.draw(st.integers(0, n - 1))
    t1 = data.draw(st.integers(t0 + 1, n))
    plan = build_plan(mode="slowmo", factor=factor, rate=rate, n_frames=n, ranges=[parse_span(f"{a}:{b}")],
                      trim=parse_span(f"{t0}:{t1}"))  # fmt: skip
    segments = plan.audio_segments(n)
    assert sum((s.end - s.start) * s.stretch for s in segments) == plan.output_duration(n)
    previous = Fraction(-1)
    for i in plan.kept(n):  # every kept frame plays where the video puts it, strictly in order
        t = output_time(segments, Fraction(i) / rate)
        assert t == Fraction(plan.output_index(i)) / plan.out_rate
        assert t > previous
        previous = t


# -- which arguments each output gets --------------------------------------------------------------
def args_for(output, tracks=(Track(),), mode="stretch", timing_kept=False, video_start=Fraction(0)):
    segments = [seg(0, 30, 1), seg(30, 60, 2)]
    return audio_args(mode=mode, segments=segments, tracks=list(tracks), video_start=video_start,
                      output=output, timing_kept=timing_kept)  # fmt: skip


def test_audio_args_choices(caplog):
    args = args_for("o.mp4")
    assert args[0] == "-filter_complex" and args[-2:] == ["-c:a", "aac"]
    assert args[2:4] == ["-map", "[aout0]"] and "-map_metadata:s:a:0" in args
    assert args_for("o.mp4", tracks=()) == [] and args_for("o.mp4", mode="drop") == []
    assert args_for("o.avi")[-2:] != ["-c:a", "aac"]  # the container's own default encoder
    # fps mode over the whole input: copied when exact, re-encoded through the graph otherwise
    assert args_for("o.mp4", timing_kept=True) == ["-map", "1:a:0", "-c:a", "copy"]
    two = [Track(), Track(codec="ac3")]
    assert args_for("o.mkv", two, timing_kept=True) == ["-map", "1:a:0", "-map", "1:a:1", "-c:a", "copy"]
    assert args_for("o.mp4", [Track(codec="pcm_s16le")], timing_kept=True)[0] == "-filter_complex"
    assert args_for("o.webm", timing_kept=True)[0] == "-filter_complex"
    assert args_for("o.mp4", timing_kept=True, video_start=Fraction(23, 1000))[0] == "-filter_complex"
    # every track is stretched the same way
    args = args_for("o.mkv", two)
    assert args.count("-map") == 2 and "[aout1]" in args and "[1:a:1]" in args[1]
    assert not caplog.records


@pytest.mark.parametrize("output", [None, "o.gif", "o.y4m", "frames_%03d.png", "still.png", "o.h264"])
def test_outputs_that_cant_carry_audio_get_none_and_say_so(output, caplog):
    with caplog.at_level(logging.INFO if output is None else logging.WARNING, logger="ds_slowmo"):
        assert args_for(output, [Track(), Track()]) == []
    assert len(caplog.records) == 1 and "can't carry audio" in caplog.records[0].getMessage()
    assert "2 audio tracks dropped" in caplog.records[0].getMessage()
    assert not carries_audio(output)


def test_outputs_that_carry_audio():
    assert all(carries_audio(o) for o in ("o.mp4", "o.mkv", "o.mov", "o.avi", "o.ts", "o.webm", "o.nut"))


# -- real ffmpeg: the graph's output is exactly as long as the plan -----------------------------------
@pytest.mark.parametrize("sr, start", [(48000, Fraction(0)), (44100, Fraction(3, 100)), (22050, Fraction(-7, 100))])
def test_graph_output_has_the_planned_sample_count(tmp_path, sr, start):
    src = tmp_path / "tone.wav"
    exe = find_ffmpeg()
    subprocess.run([exe, "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={sr}:duration=3",
                    "-c:a", "pcm_s16le", str(src)], check=True)  # fmt: skip
    segments = [seg(0, 20, 1), seg(20, 30, 3), seg(30, 40, 1), seg(40, 45, 16), seg(45, 89, 1)]
    graph = audio_filter_graph(segments, "stretch", [Track(sample_rate=sr, start=Fraction(0))], start, input_index=0)
    out = subprocess.run([exe, "-v", "error", "-i", str(src), "-filter_complex", graph, "-map", "[aout0]",
                          "-f", "s16le", "-ac", "1", "pipe:1"], stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
    assert len(out) // 2 == sum(segment_samples(segments, sr))


# -- lip sync, end to end -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def flash_beep(tmp_path_factory) -> Path:
    return make_flash_beep_clip(tmp_path_factory.mktemp("sync") / "sync.mp4")


def assert_in_sync(source: Path, output: Path, n_flashes: int = 3, stream: int = 0) -> list[float]:
    """Every beep within TOLERANCE of its flash, relative to how they stand in the source."""
    before, after = av_offsets(source, stream), av_offsets(output, stream)
    assert len(after) == n_flashes, after
    drift = [a - b for a, b in zip(after, before)]
    assert max(map(abs, drift)) <= TOLERANCE, f"beeps off their flashes by {[round(d * 1000, 1) for d in drift]} ms"
    return drift


ONE_RANGE = ("--range", "1s:2s")
THREE_RANGES = ("--range", "0.8s:1.4s", "--range", "1.7s:2.2s", "--range", "2.8s:3.3s")


@pytest.mark.parametrize("factor", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("ranges", [ONE_RANGE, THREE_RANGES], ids=["one-range", "three-ranges"])
def test_beeps_stay_on_their_flashes(flash_beep, tmp_path, factor, ranges):
    out = tmp_path / "o.mp4"
    proc = run_cli(str(flash_beep), "-o", str(out), "--factor", str(factor), *ranges)
    assert proc.returncode == 0, proc.stderr
    assert_in_sync(flash_beep, out)


def test_mute_keeps_sync_after_the_range(flash_beep, tmp_path):
    out = tmp_path / "m.mp4"
    proc = run_cli(str(flash_beep), "-o", str(out), "--factor", "4", *THREE_RANGES, "--audio", "mute")
    assert proc.returncode == 0, proc.stderr
    assert_in_sync(flash_beep, out)


@pytest.mark.parametrize("trim", [None, "10:"])
def test_fps_mode_keeps_sync(flash_beep, tmp_path, trim):
    out = tmp_path / "f.mkv"
    proc = run_cli(str(flash_beep), "-o", str(out), "--mode", "fps", "--factor", "2", *(["--trim", trim] if trim else []))
    assert proc.returncode == 0, proc.stderr
    assert_in_sync(flash_beep, out)


def test_fps_mode_copy_keeps_sync_and_length(flash_beep, tmp_path):
    """The copy path (fps mode over the whole input, a track that starts with the picture)."""
    video = tmp_path / "v.mp4"
    proc = run_cli(str(flash_beep), "-o", str(video), "--mode", "fps", "--factor", "2", "--audio", "drop")
    assert proc.returncode == 0, proc.stderr
    n = probe_video(flash_beep)["frames"]
    plan = build_plan(mode="fps", factor=2, rate=NTSC, n_frames=n)
    out = tmp_path / "o.mp4"
    args = audio_args(mode="stretch", segments=plan.audio_segments(n), tracks=[Track()], video_start=Fraction(0),
                      output=str(out), timing_kept=True)  # fmt: skip
    assert args == ["-map", "1:a:0", "-c:a", "copy"]
    subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(video), "-vn", "-i", str(flash_beep), "-map", "0:v:0", *args,
                    "-c:v", "copy", str(out)], check=True)  # fmt: skip
    assert_in_sync(flash_beep, out)
    assert audio_seconds(out) == audio_seconds(flash_beep)  # every sample of it, no more


def test_chunked_run_keeps_sync(flash_beep, tmp_path):
    out = tmp_path / "j.mp4"
    proc = run_cli(str(flash_beep), "-o", str(out), "--factor", "4", *THREE_RANGES, "--jobs", "2", "--chunk-seconds", "1")
    assert proc.returncode == 0, proc.stderr
    assert_in_sync(flash_beep, out)


@pytest.fixture(scope="module")
def offset_inputs(flash_beep, tmp_path_factory) -> dict[str, Path]:
    """An mkv whose video starts 23 ms after its audio; an mpegts starting at 10 s, 12-frame GOP;
    an mkv with a second audio track; an mkv whose audio starts 40 ms after its video."""
    d = tmp_path_factory.mktemp("offsets")
    exe = find_ffmpeg()
    mkv, ts = d / "late_video.mkv", d / "start.ts"
    subprocess.run([exe, "-v", "error", "-itsoffset", "0.023", "-i", str(flash_beep), "-i", str(flash_beep),
                    "-map", "0:v", "-map", "1:a", "-c", "copy", str(mkv)], check=True)  # fmt: skip
    subprocess.run([exe, "-v", "error", "-i", str(flash_beep), "-c:v", "libx264", "-preset", "ultrafast", "-g", "12",
                    "-c:a", "aac", "-output_ts_offset", "10", "-f", "mpegts", str(ts)], check=True)  # fmt: skip
    two = d / "two_tracks.mkv"  # a second track: PCM at 44.1 kHz, in French
    subprocess.run([exe, "-v", "error", "-i", str(flash_beep), "-map", "0:v", "-map", "0:a", "-map", "0:a", "-c:v", "copy",
                    "-c:a:0", "copy", "-c:a:1", "pcm_s16le", "-ar:a:1", "44100", "-metadata:s:a:1", "language=fra",
                    str(two)], check=True)  # fmt: skip
    late = d / "late_audio.mkv"  # the sound starts 40 ms after the picture: silence goes first
    subprocess.run([exe, "-v", "error", "-i", str(flash_beep), "-itsoffset", "0.04", "-i", str(flash_beep),
                    "-map", "0:v", "-map", "1:a", "-c", "copy", str(late)], check=True)  # fmt: skip
    return {"mkv": mkv, "ts": ts, "two": two, "late": late}


@pytest.mark.parametrize("kind, factor", [("mkv", 4), ("mkv", 16), ("ts", 4), ("ts", 16), ("two", 4), ("late", 16)])
def test_offset_containers_keep_sync(offset_inputs, tmp_path, kind, factor):
    """The audio graph placed by the streams' measured starts (what ffmpeg.VideoInfo carries
    once the probe reports them), muxed with the slowed video the CLI made."""
    src = offset_inputs[kind]
    video = tmp_path / "v.mkv"
    proc = run_cli(str(src), "-o", str(video), "--factor", str(factor), *ONE_RANGE, "--audio", "drop")
    assert proc.returncode == 0, proc.stderr
    n = probe_video(src)["frames"]
    plan = build_plan(mode="slowmo", factor=factor, rate=NTSC, n_frames=n, ranges=[parse_span("1s:2s")])
    video_start, starts = first_times(src)
    out = tmp_path / "o.mkv"
    rates = [48000, 44100][: len(starts)]
    tracks = [Track(start=s, sample_rate=r) for s, r in zip(starts, rates)]
    args = audio_args(mode="stretch", segments=plan.audio_segments(n), tracks=tracks, video_start=video_start,
                      output=str(out))  # fmt: skip
    subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(video), "-vn", "-i", str(src), "-map", "0:v:0", *args,
                    "-c:v", "copy", str(out)], check=True)  # fmt: skip
    for j in range(len(tracks)):  # every track slowed the same way, each in sync
        assert_in_sync(src, out, stream=j)
    if kind == "two":
        probe = subprocess.run([find_ffmpeg(), "-hide_banner", "-i", str(out)], stderr=subprocess.PIPE, text=True).stderr
        assert re.search(r"Stream #0:2\(fra\): Audio: aac.*44100 Hz", probe), probe  # tags kept, own rate kept


@pytest.mark.skipif(not hasattr(VideoInfo, "start"), reason="ffmpeg.VideoInfo does not report stream starts yet")
@pytest.mark.parametrize("kind", ["mkv", "ts"])
def test_offset_containers_keep_sync_end_to_end(offset_inputs, tmp_path, kind):
    out = tmp_path / "o.mp4"
    proc = run_cli(str(offset_inputs[kind]), "-o", str(out), "--factor", "4", *ONE_RANGE)
    assert proc.returncode == 0, proc.stderr
    assert_in_sync(offset_inputs[kind], out)


def test_an_input_rate_that_retimes_the_picture_says_the_audio_no_longer_matches(flash_beep, tmp_path):
    """--input-rate 30 on a 30000/1001 file plays the picture faster; the audio is not
    retimed with it, so its beeps leave their flashes: said in one warning (it was silent).
    The file's own rate, or no audio kept, says nothing."""
    out = tmp_path / "o.mp4"
    proc = run_cli(str(flash_beep), "-o", str(out), "--input-rate", "25", *ONE_RANGE)
    assert proc.returncode == 0, proc.stderr
    assert "--input-rate 25 plays the picture of this 30000/1001 fps file at another speed" in proc.stderr
    assert "no longer match" in proc.stderr and "--audio mute or --audio drop" in proc.stderr
    drift = [a - b for a, b in zip(av_offsets(out), av_offsets(flash_beep))]
    assert max(map(abs, drift)) > TOLERANCE  # what the warning says
    for quiet in (["--input-rate", "30000/1001"], ["--input-rate", "25", "--audio", "mute"]):
        proc = run_cli(str(flash_beep), "-o", str(out), "-y", *quiet, *ONE_RANGE)
        assert proc.returncode == 0 and "--input-rate" not in proc.stderr, proc.stderr
