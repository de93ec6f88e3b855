"""The Python API as an application meets it: its docstring tells the truth, its errors name
its keywords, it takes frames as Python gives them, and it logs only what the application
asks for (warnings still reach stderr)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import REPO, make_clip, run_cli

import ds_slowmo
from ds_slowmo.ffmpeg import find_ffmpeg
from ds_slowmo.options import API_NAMES, BY_FIELD, api_words


def test_the_docstring_states_the_real_defaults():
    """Every ``name=value`` the docstring gives as a default is the option table's."""
    doc = ds_slowmo.slowmo.__doc__ or ""
    defaults = doc[doc.index("its defaults:") : doc.index("An existing")]
    pairs = re.findall(r"``(\w+)=([^`]+)``", defaults)
    assert {name for name, _ in pairs} >= {"factor", "mode", "model", "audio", "overwrite"}
    for name, value in pairs:
        assert eval(value) == BY_FIELD[name].default, name  # noqa: S307 - our own docstring


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("api") / "c.mp4", seconds=0.4, audio=False)


def test_errors_name_keywords_not_flags(clip, tmp_path):
    out = tmp_path / "o.mkv"
    ds_slowmo.slowmo(clip, out, model="blend")
    with pytest.raises(ds_slowmo.UsageError, match=r"already exists; pass overwrite=True to overwrite it$"):
        ds_slowmo.slowmo(clip, out, model="blend")
    ds_slowmo.slowmo(clip, out, model="blend", overwrite=True)
    with pytest.raises(ds_slowmo.UsageError, match=r"^factor must be an integer >= 2 \(got 1\)$"):
        ds_slowmo.slowmo(clip, out, factor=1)
    with pytest.raises(ds_slowmo.UsageError, match=r"^ranges 5:99 ends at frame 99"):
        ds_slowmo.slowmo(clip, out, model="blend", overwrite=True, ranges="5:99")
    # the command line keeps its flags
    proc = run_cli(str(clip), "-o", str(out))
    assert proc.returncode == 2 and "pass -y to overwrite it" in proc.stderr


def test_every_flag_has_an_api_spelling():
    assert API_NAMES["-y"] == "overwrite=True" and API_NAMES["--no-scene-detect"] == "scene_detect=False"
    assert API_NAMES["-o"] == "dst" and API_NAMES["--chunk-seconds"] == "chunk_seconds"
    assert api_words("-f/--format applies to a pipe output") == "format applies to a pipe output"
    # ffmpeg's own words and flags ds-slowmo doesn't have stay as they are
    said = "encoding x failed (ffmpeg said: Unknown encoder; try -f nut)"
    assert api_words(said) == said
    assert api_words("remux it with -movflags +faststart") == "remux it with -movflags +faststart"


FRAMES = [np.full((4, 6, 3), 10 * i, np.uint8) for i in range(4)]


def test_slowmo_frames_takes_strings_as_the_command_line_does():
    want = [f.copy() for f in ds_slowmo.slowmo_frames(FRAMES, factor=2, model="blend")]
    got = list(ds_slowmo.slowmo_frames(FRAMES, factor="2", batch_size="1", model="blend"))
    assert len(got) == len(want) == 7 and all(np.array_equal(a, b) for a, b in zip(got, want))


def test_slowmo_frames_takes_nested_lists():
    want = list(ds_slowmo.slowmo_frames(FRAMES, factor=2, model="blend"))
    got = list(ds_slowmo.slowmo_frames([f.tolist() for f in FRAMES], factor=2, model="blend"))
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    with pytest.raises(ds_slowmo.InputError, match="whole numbers in 0..255"):
        list(ds_slowmo.slowmo_frames([[[[300, 0, 0]]]] * 2, model="blend"))
    with pytest.raises(ds_slowmo.InputError, match="must be uint8"):
        list(ds_slowmo.slowmo_frames([np.zeros((4, 6, 3), np.float32)] * 2, model="blend"))


@pytest.mark.parametrize("kwargs, message", [
    ({"factor": "x"}, "factor: expected an integer, got 'x'"),
    ({"factor": 2.5}, "factor takes an integer (got float 2.5)"),
    ({"factor": 1}, "factor must be an integer >= 2 (got 1)"),
    ({"mode": "y"}, "mode must be one of slowmo, fps (got 'y')"),
    ({"ranges": ["1:9"]}, "ranges 1:9 ends at frame 9, past the end of the input (4 frames, 0.16s)"),
])  # fmt: skip
def test_slowmo_frames_errors_name_its_parameters(kwargs, message):
    with pytest.raises(ds_slowmo.UsageError) as err:
        list(ds_slowmo.slowmo_frames(FRAMES, model="blend", **kwargs))
    assert str(err.value) == message


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory):
    """Two shots with a hard cut between frames 5 and 6, and a tone."""
    path = tmp_path_factory.mktemp("cut") / "cut.mkv"
    graph = "testsrc2=size=160x120:rate=25:d=0.24[a];smptebars=size=160x120:rate=25:d=0.24[b];[a][b]concat=n=2[v]"
    subprocess.run([find_ffmpeg(), "-v", "error", "-y", "-filter_complex", graph, "-f", "lavfi", "-i", "sine=d=0.48",
                    "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)  # fmt: skip
    return path


def _api_stderr(tmp_path, cut_clip, before: str) -> str:
    """stderr of an application that runs slowmo() over a scene cut (an INFO line for -v)
    into a .gif (a WARNING: its audio can't go there), after ``before``."""
    script = textwrap.dedent(f"""
        import logging
        {before}
        import ds_slowmo
        ds_slowmo.slowmo({str(cut_clip)!r}, {str(tmp_path / "o.gif")!r}, model="blend", overwrite=True, progress=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.parametrize("before", ["", "import paddle"])
def test_the_api_logs_only_warnings_unless_asked(tmp_path, cut_clip, before):
    """Paddle puts a handler on the root logger at import; our details must not ride on it."""
    if before:
        pytest.importorskip("paddle")
    err = _api_stderr(tmp_path, cut_clip, before)
    assert "can't carry audio" in err  # a warning that matters reaches the user
    assert "scene cut" not in err, err


def test_the_api_logs_details_when_the_application_asks(tmp_path, cut_clip):
    err = _api_stderr(tmp_path, cut_clip, "logging.basicConfig(); logging.getLogger('ds_slowmo').setLevel(logging.INFO)")
    assert "scene cut between frames 5 and 6" in err and "can't carry audio" in err


def test_importing_paddle_for_a_model_leaves_the_root_logger_alone():
    pytest.importorskip("paddle")
    script = textwrap.dedent("""
        import logging
        from ds_slowmo.models import _paddle
        _paddle.import_paddle("rife")
        root = logging.getLogger()
        print(len(root.handlers), root.level)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=str(REPO), timeout=300)
    assert proc.stdout.split() == ["0", "30"], proc.stderr
