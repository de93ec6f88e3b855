"""Shared fixtures: ffmpeg, synthetic clips, and guards that no ffmpeg process outlives a
test and that nothing logs at ERROR unexpectedly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pytest
from helpers import ffmpeg_children, make_clip

from ds_slowmo.ffmpeg import find_ffmpeg


@pytest.fixture(scope="session")
def ffmpeg_exe() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def clip50(clip_dir: Path) -> Path:
    """The issue's reference clip: testsrc2 at 25 fps, 50 frames, with a tone."""
    return make_clip(clip_dir / "clip50.mp4", seconds=2, rate="25")


@pytest.fixture(scope="session")
def clip_ntsc(clip_dir: Path) -> Path:
    return make_clip(clip_dir / "ntsc.mkv", seconds=1, rate="30000/1001", audio=False)


@pytest.fixture(scope="session")
def clip5s(clip_dir: Path) -> Path:
    """5 s at 25 fps with a tone: the audio-sync example."""
    return make_clip(clip_dir / "clip5s.mp4", seconds=5, rate="25")


@pytest.fixture(autouse=True)
def no_orphan_ffmpeg() -> Iterator[None]:
    """Every test: no ffmpeg child of this process may outlive it."""
    yield
    leftover = [p for p in ffmpeg_children() if p.is_running() and p.status() != "zombie"]
    assert not leftover, f"ffmpeg processes outlived the test: {[p.cmdline() for p in leftover]}"


@pytest.fixture(autouse=True)
def fail_on_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A test that logs at ERROR unexpectedly fails (as PySceneDetect's suite does)."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, f"unexpected ERROR logs: {[r.getMessage() for r in errors]}"


