"""Chunked, resumable runs and folders: the chunk plan (pure) and real runs on local worker
processes and on a local Ray cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers import REPO, decode_frames, ffmpeg_pids_mentioning, make_clip, probe_video, run_cli, trims

from ds_slowmo.chunks import boundaries, chunk_plan
from ds_slowmo.config import Config
from ds_slowmo.errors import UsageError
from ds_slowmo.ffmpeg import parse_keyframes
from ds_slowmo.parallel import LocalExecutor, run_chunked, work_folder
from ds_slowmo.worker import TaskResult
from ds_slowmo.plan import Copy, build_plan, parse_span


# -- the chunk plan (pure) ---------------------------------------------------------------------
def test_boundaries_prefer_keyframes():
    assert boundaries(0, 100, [0, 25, 50, 75], 20) == [0, 25, 50, 75]
    assert boundaries(0, 100, [0, 25, 50, 75], 40) == [0, 50]
    # keyframes too far apart: every `target` frames instead
    assert boundaries(0, 100, [0], 30) == [0, 30, 60]
    # no crumb at the end
    assert boundaries(0, 101, [0, 25, 50, 75, 100], 25) == [0, 25, 50, 75]
    assert boundaries(10, 20, [0, 50], 100) == [10]


@st.composite
def chunked_cases(draw):
    n = draw(st.integers(2, 300))
    factor = draw(st.integers(2, 5))
    mode = draw(st.sampled_from(["slowmo", "fps"]))
    trim = draw(trims(n, n - 2))
    ranges = []
    if mode == "slowmo" and draw(st.booleans()):
        a = draw(st.integers(0, n - 1))
        ranges = [(a, draw(st.integers(a + 1, n)))]
    plan = build_plan(mode=mode, factor=factor, rate=Fraction(25), n_frames=n,
                      ranges=[parse_span(f"{a}:{b}") for a, b in ranges],
                      trim=parse_span(f"{trim[0]}:{trim[1]}", "--trim") if trim else None)  # fmt: skip
    keys = sorted(set(draw(st.lists(st.integers(0, n - 1), max_size=20))))
    target = draw(st.integers(1, 60))
    return n, plan, keys, target


@settings(max_examples=300, deadline=None)
@given(chunked_cases())
def test_chunks_partition_the_single_run_exactly(case):
    n, plan, keys, target = case
    chunks = chunk_plan(plan, n, keys, target)
    steps = list(plan.steps(n))
    assert sum(c.out_count for c in chunks) == len(steps) == plan.output_count(n)
    kept = plan.kept(n)
    assert chunks[0].start == kept.start and chunks[-1].stop == kept.stop and chunks[-1].last
    out = 0
    for c, nxt in zip(chunks, chunks[1:] + [None]):
        assert c.out_first == out
        assert c.start < c.stop
        if nxt is not None:
            assert c.stop == nxt.start and not c.last
            assert c.decode_count == c.stop - c.start + 1  # one frame of overlap
        # the chunk's slice of the single run starts with Copy(start): decoders seek there
        assert steps[c.out_first] == Copy(c.start)
        out += c.out_count


def test_parse_keyframes():
    text = ("[Parsed_showinfo_0 @ 0x1] config in time_base: 1/12800, frame_rate: 25/1\n"
            "[Parsed_showinfo_0 @ 0x1] n:   0 pts:      0 pts_time:0 duration: 512\n"
            "[Parsed_showinfo_0 @ 0x1] n:   1 pts: 128000 pts_time:10 duration: 512\n")  # fmt: skip
    assert parse_keyframes(text, Fraction(25)) == [0, 250]
    assert parse_keyframes("nothing", Fraction(25)) == []


# -- real runs ----------------------------------------------------------------------------------
class RecordingExecutor(LocalExecutor):
    """Local workers that note which chunks they were given."""

    def __init__(self, jobs):
        super().__init__(jobs)
        self.ran = []

    def run(self, jobs):
        jobs = list(jobs)
        self.ran.extend(j.chunk.index for j in jobs)
        yield from super().run(jobs)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """12 s, keyframes every 2 s, with a tone: six chunks of 2 s."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    return make_clip(path, seconds=12, rate="25", size="160x120", extra=("-g", "50", "-keyint_min", "50", "-sc_threshold", "0"))


LOSSLESS = ["--encoder-args", "-c:v ffv1 -pix_fmt yuv444p"]
COMMON = ["--factor", "3", "--range", "1.5s:4.5s", "--range", "9s:10s", "--model", "blend", "--chunk-seconds", "2"]


@pytest.fixture(scope="module")
def single_run(long_clip, tmp_path_factory) -> np.ndarray:
    out = tmp_path_factory.mktemp("single") / "single.mkv"
    proc = run_cli(str(long_clip), "-o", str(out), *COMMON, *LOSSLESS)
    assert proc.returncode == 0, proc.stderr
    return decode_frames(out)


def test_chunked_equals_single_run(long_clip, single_run, tmp_path):
    out = tmp_path / "chunked.mkv"
    proc = run_cli(str(long_clip), "-o", str(out), "--jobs", "2", "-v", *COMMON, *LOSSLESS)
    assert proc.returncode == 0, proc.stderr
    assert "chunk 6/6 done" in proc.stderr
    frames = decode_frames(out)
    assert len(frames) == len(single_run) == 300 + (75 + 25) * 2
    assert np.array_equal(frames, single_run)
    assert list(tmp_path.iterdir()) == [out]  # the work folder is gone


def test_chunked_audio_is_added_once_for_the_whole_timeline(long_clip, tmp_path):
    from helpers import audio_seconds

    out = tmp_path / "a.mp4"
    proc = run_cli(str(long_clip), "-o", str(out), "--jobs", "2", *COMMON)
    assert proc.returncode == 0, proc.stderr
    info = probe_video(out)
    assert info["frames"] == 500
    assert abs(audio_seconds(out) - 500 / 25) <= 0.040


def test_resume_skips_finished_chunks_and_redoes_corrupt_ones(long_clip, single_run, tmp_path):
    out = tmp_path / "r.mkv"
    cfg = Config.from_strings(input=str(long_clip), output=str(out), factor=3, ranges=["1.5s:4.5s", "9s:10s"],
                              model="blend", chunk_seconds=2, jobs=2, encoder_args="-c:v ffv1 -pix_fmt yuv444p")  # fmt: skip

    class FailOn(LocalExecutor):
        """Chunks 3 and 5 fail, as if the machine died while they ran."""

        def run(self, jobs):
            for job, result in super().run(jobs):
                if job.chunk.index in (3, 5):
                    result = TaskResult.failed("simulated crash")
                yield job, result

    with pytest.raises(Exception, match="2 of 6 chunks failed"):
        run_chunked(cfg, FailOn(2))
    folder = work_folder(str(out))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["files"]) == [f"chunk-000{i}.mkv" for i in (0, 1, 2, 4)]
    assert not out.exists()
    # corrupt a finished chunk: it must be detected and redone
    victim = folder / "chunk-0001.mkv"
    victim.write_bytes(victim.read_bytes()[:-100] + b"x" * 100)

    rec = RecordingExecutor(2)
    stats = run_chunked(cfg, rec)
    assert sorted(rec.ran) == [1, 3, 5]
    assert stats.frames_out == 500
    assert np.array_equal(decode_frames(out), single_run)
    assert not folder.exists()


def test_changed_options_start_afresh(long_clip, tmp_path):
    out = tmp_path / "c.mkv"
    base = dict(input=str(long_clip), output=str(out), model="blend", chunk_seconds=2, jobs=2)
    folder = work_folder(str(out))
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"version": 1, "input": {}, "options": {}, "chunks": {"0": {}}}))
    rec = RecordingExecutor(2)
    run_chunked(Config.from_strings(factor=2, **base), rec)
    assert sorted(rec.ran) == [0, 1, 2, 3, 4, 5]


def test_killed_midway_then_rerun_finishes(long_clip, tmp_path):
    out = tmp_path / "k.mkv"
    args = [sys.executable, "-m", "ds_slowmo", str(long_clip), "-o", str(out), "--jobs", "2",
            "--factor", "8", "--model", "blend", "--chunk-seconds", "2", "-v"]  # fmt: skip
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, cwd=str(REPO))
    folder = work_folder(str(out))
    try:
        deadline = time.monotonic() + 120
        while not ((folder / "manifest.json").exists() and json.loads((folder / "manifest.json").read_text())["files"]):
            assert time.monotonic() < deadline and proc.poll() is None, "no chunk finished"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    done_before = set(json.loads((folder / "manifest.json").read_text())["files"])
    assert done_before and not out.exists()
    time.sleep(0.3)
    assert not ffmpeg_pids_mentioning(long_clip, folder)
    rerun = run_cli(str(long_clip), "-o", str(out), "--jobs", "2", "--factor", "8", "--model", "blend",
                    "--chunk-seconds", "2", "-v")  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming: {len(done_before)} of 6 chunks already done" in rerun.stderr
    assert probe_video(out)["frames"] == 299 * 8 + 1


def test_chunked_needs_files(clip50):
    proc = run_cli("--jobs", "2", stdin=b"")
    assert proc.returncode == 2 and "--jobs/--ray need an input file" in proc.stderr
    with pytest.raises(UsageError, match="don't combine"):
        Config(input=str(clip50), output="o.mp4", jobs=2, dedupe=True)


def test_folder_of_videos(tmp_path, clip50):
    src = tmp_path / "clips"
    src.mkdir()
    make_clip(src / "a.mp4", seconds=1, rate="25", audio=False)
    make_clip(src / "b.mkv", seconds=1, rate="25", audio=False)
    (src / "broken.mp4").write_bytes(b"not a video at all" * 100)
    (src / "notes.txt").write_text("ignored")
    out = tmp_path / "out"
    proc = run_cli(str(src), "-o", str(out), "--jobs", "2", "--factor", "2", "--model", "blend")
    assert proc.returncode == 1
    assert "2 of 3 videos done, 1 failed" in proc.stderr
    assert "broken.mp4" in proc.stderr.splitlines()[-1] and "cannot read" in proc.stderr.splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mkv"]
    assert probe_video(out / "a.mp4")["frames"] == 49 and probe_video(out / "b.mkv")["frames"] == 49
    # a glob works too, and all-good exits 0
    proc = run_cli(str(src / "*.mkv"), "-o", str(tmp_path / "out2"), "--model", "blend")
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (tmp_path / "out2").iterdir()] == ["b.mkv"]


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_chunked_equals_single_run(ray_local, long_clip, single_run, tmp_path):
    out = tmp_path / "ray.mkv"
    cfg = Config.from_strings(input=str(long_clip), output=str(out), factor=3, ranges=["1.5s:4.5s", "9s:10s"],
                              model="blend", chunk_seconds=2, ray="", encoder_args="-c:v ffv1 -pix_fmt yuv444p")  # fmt: skip
    stats = run_chunked(cfg)
    assert stats.frames_out == len(single_run)
    assert np.array_equal(decode_frames(out), single_run)


def test_an_unreachable_ray_cluster_is_one_line(clip50, tmp_path):
    proc = run_cli(str(clip50), "-o", str(tmp_path / "o.mp4"), "--ray", "127.0.0.1:1")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in lines[0] and "ray status" in lines[0]
    assert list(tmp_path.iterdir()) == []  # no work folder with an empty .lock in it


def test_token_authentication_is_named_with_its_fix(monkeypatch, tmp_path):
    """Ray says only "Failed to connect" (its reason is behind it, or in its own lines)."""
    from ds_slowmo.raycluster import auth_problem

    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token
    said = "RuntimeError: ... ray.exceptions.AuthenticationError: RPC error: InvalidAuthToken: token is missing"
    off = auth_problem("h:6380", said, {})
    assert off and "requires token authentication" in off and "RAY_AUTH_MODE=token" in off and "ray get-auth-token" in off
    none = auth_problem("h:6380", said, {"RAY_AUTH_MODE": "token"})
    assert none and "has no token" in none
    wrong = auth_problem("h:6380", said, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "abc"})
    assert wrong and "refused this machine's authentication token" in wrong
    assert auth_problem("h:6380", "ConnectionError: Failed to connect to Ray cluster", {}) is None


CLUSTER = r"""
set -u
ip link set lo up
RAY="$BIN/ray"
export HOME="$WORK/head-home" RAY_USAGE_STATS_ENABLED=0
trap 'RAY_AUTH_MODE=token "$RAY" stop --force > /dev/null 2>&1' EXIT TERM
RAY_AUTH_MODE=token "$RAY" get-auth-token --generate > /dev/null 2>&1
RAY_AUTH_MODE=token "$RAY" start --head --node-ip-address=127.0.0.1 --port=6380 --num-cpus=2 \
    --include-dashboard=false --disable-usage-stats --temp-dir="$RAYTMP" > "$WORK/head.log" 2>&1 || exit 3
TOKEN=$(cat "$HOME/.ray/auth_token")
export HOME="$WORK/client-home"
mapfile -t ARGS < "$WORK/args"
"$BIN/python" -m ds_slowmo "$SRC" -o "$WORK/no-token.mkv" --ray 127.0.0.1:6380 --jobs 2 "${ARGS[@]}" 2> "$WORK/no-token.err"
echo $? > "$WORK/no-token.rc"
RAY_AUTH_MODE=token RAY_AUTH_TOKEN="$TOKEN" "$BIN/python" -m ds_slowmo "$SRC" -o "$WORK/ray.mkv" --ray 127.0.0.1:6380 \
    --jobs 2 "${ARGS[@]}" 2> "$WORK/ray.err"
echo $? > "$WORK/ray.rc"
"""


def _loopback_namespace() -> Optional[str]:
    """Why a loopback-only network namespace can't be had here (``None``: it can)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    probe = subprocess.run(["unshare", "-rn", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"unshare -rn fails here: {probe.stderr.strip()}"


def test_a_real_ray_cluster_with_token_authentication(long_clip, single_run, tmp_path):
    """A real head (``ray start --head``, token authentication on) in a network namespace with
    only loopback up: a client without the token is told so in one line (it was "cannot
    reach ... check it with ray status"); with RAY_AUTH_MODE=token and the token, the frames
    are the single run's."""
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).parent / "ray"
    why = _loopback_namespace() or (None if ray_cli.exists() else f"no ray command beside {sys.executable}")
    if why:
        pytest.skip(why)
    ray_tmp = Path(tempfile.mkdtemp(prefix="dsr", dir="/tmp"))  # Ray's socket paths must stay short
    (tmp_path / "args").write_text("\n".join(COMMON + LOSSLESS) + "\n")
    env = {**os.environ, "BIN": str(ray_cli.parent), "WORK": str(tmp_path), "RAYTMP": str(ray_tmp), "SRC": str(long_clip)}
    for name in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(name, None)  # (an in-process local Ray sets RAY_AUTH_MODE=token in this process)
    try:
        proc = subprocess.run(["unshare", "-rn", "bash", "-c", CLUSTER], env=env, cwd=str(REPO), timeout=240,
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr + (tmp_path / "head.log").read_text()
        no_token = (tmp_path / "no-token.err").read_text().strip().splitlines()
        assert (tmp_path / "no-token.rc").read_text().strip() == "1", no_token
        assert len(no_token) == 1 and "requires token authentication" in no_token[0], no_token
        assert "RAY_AUTH_MODE=token" in no_token[0] and "ray get-auth-token" in no_token[0]
        assert not (tmp_path / "no-token.mkv").exists() and not (tmp_path / ".no-token.mkv.ds-slowmo").exists()
        assert (tmp_path / "ray.rc").read_text().strip() == "0", (tmp_path / "ray.err").read_text()
        assert np.array_equal(decode_frames(tmp_path / "ray.mkv"), single_run)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_two_runs_on_one_output_do_not_mix(long_clip, tmp_path):
    """The second chunked run writing the same output fails at once, in one line."""
    from ds_slowmo.parallel import locked_folder

    out = tmp_path / "same.mkv"
    with locked_folder(work_folder(str(out)), str(out)):
        proc = run_cli(str(long_clip), "-o", str(out), "--jobs", "2", "--chunk-seconds", "2")
    assert proc.returncode == 1 and "another ds-slowmo run is writing" in proc.stderr, proc.stderr
    assert not out.exists()


def test_a_chunked_run_probes_its_input_once(tmp_path):
    """The job is made once above the workers: three chunks on two workers, one probe pass
    (a framecrc over every packet) of the input, counted by an ffmpeg that logs its argv."""
    from ds_slowmo.ffmpeg import find_ffmpeg

    clip = make_clip(tmp_path / "six.mp4", seconds=6, rate="25", size="160x120",
                     extra=("-g", "50", "-keyint_min", "50", "-sc_threshold", "0"))  # fmt: skip
    log = tmp_path / "argv.log"
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{find_ffmpeg()}" "$@"\n')
    wrapper.chmod(0o755)
    out = tmp_path / "o.mkv"
    proc = run_cli(str(clip), "-o", str(out), "--factor", "2", "--range", "1s:5s", "--model", "blend", "--jobs", "2",
                   "--chunk-seconds", "2", "-v", env={"DS_SLOWMO_FFMPEG": str(wrapper)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = log.read_text().splitlines()
    decoders = [ln for ln in lines if str(clip) in ln and "rawvideo" in ln]
    assert len(decoders) == 3  # one decoder a chunk: three chunks ran
    probes = [ln for ln in lines if str(clip) in ln and "framecrc" in ln]
    assert len(probes) == 1, probes
    assert probe_video(out)["frames"] == 150 + 100
