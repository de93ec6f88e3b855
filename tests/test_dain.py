"""DAIN (PaddleGAN's static export): padding, weights resolution/download/extraction, and the
real loading code run on a stand-in model built with Paddle's static API. All offline."""

from __future__ import annotations

import functools
import http.server
import io
import subprocess
import sys
import tarfile
import threading
from fractions import Fraction
from pathlib import Path
from typing import Dict, Iterator, Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ds_slowmo.errors import ModelError, ModelUnavailable, UsageError
from ds_slowmo.models import dain_weights as dw
from ds_slowmo.models.base import Interpolator, ModelOptions, Padding, crop_frames, pad_amounts, pad_frames, padded_nchw
from ds_slowmo.models.dain import DainInterpolator, dain_padding, gpu_only_ops, output_to_frames, pair_to_input

try:  # tests/ may or may not be a package
    from .dain_standin import build_standin, expected_mix, standin_weights
except ImportError:
    from dain_standin import build_standin, expected_mix, standin_weights  # type: ignore[no-redef,unused-ignore]


# -- padding: PaddleGAN's rule, as pure functions ----------------------------------------------


def paddlegan_side(n: int) -> tuple[int, int]:
    """The rule as DAINPredictor states it, with its bit shifts, for comparison."""
    if n != ((n >> 7) << 7):
        padded = ((n >> 7) + 1) << 7
        before = int((padded - n) / 2)
        return before, padded - n - before
    return 32, 32


@pytest.mark.parametrize(
    "height,width,expected,size",
    [
        (1080, 1920, Padding(36, 36, 32, 32), (1152, 1984)),
        (720, 1280, Padding(24, 24, 32, 32), (768, 1344)),
        (128, 128, Padding(32, 32, 32, 32), (192, 192)),
        (127, 129, Padding(0, 1, 63, 64), (128, 256)),
        (1, 1, Padding(63, 64, 63, 64), (128, 128)),
        (480, 854, Padding(16, 16, 21, 21), (512, 896)),
    ],
)
def test_dain_padding_table(height: int, width: int, expected: Padding, size: tuple[int, int]) -> None:
    pad = dain_padding(height, width)
    assert pad == expected
    assert (height + pad.top + pad.bottom, width + pad.left + pad.right) == size


@given(st.integers(1, 5000), st.integers(1, 5000))
def test_dain_padding_matches_paddlegan(height: int, width: int) -> None:
    pad = dain_padding(height, width)
    assert (pad.top, pad.bottom) == paddlegan_side(height)
    assert (pad.left, pad.right) == paddlegan_side(width)
    for n, a, b in ((height, pad.top, pad.bottom), (width, pad.left, pad.right)):
        assert (n + a + b) % 64 == 0 and 0 <= b - a <= 1


def test_dain_padding_rejects_empty() -> None:
    with pytest.raises(ValueError):
        dain_padding(0, 10)


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_pair_to_input_and_back_is_exact(height: int, width: int, seed: int) -> None:
    pair = np.random.default_rng(seed).integers(0, 256, (2, height, width, 3), dtype=np.uint8) / np.float32(255)
    pad = dain_padding(height, width)
    x = pair_to_input(pair, pad)
    assert x.dtype == np.float32 and x.flags.c_contiguous
    assert x.shape == (2, 1, 3, height + pad.top + pad.bottom, width + pad.left + pad.right)
    # the values PaddleGAN feeds: x/255 in float32, then edge padding on the float frames
    ref = np.pad(pair[0].astype("float32").transpose(2, 0, 1), ((0, 0), (pad.top, pad.bottom), (pad.left, pad.right)), mode="edge")
    np.testing.assert_array_equal(x[0, 0], ref)
    assert (output_to_frames(x, pad) == pair).all()


def test_output_to_frames_clips() -> None:
    y = np.array([-0.5, 0.0, 0.5 / 255, 1.5 / 255, 0.999, 1.0, 7.0], dtype=np.float32).reshape(1, 1, 1, 1, 7)
    y = np.repeat(y, 3, axis=2)
    out = output_to_frames(y, Padding(0, 0, 0, 0))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0, :, 0], np.float32([0, 0, 0.5 / 255, 1.5 / 255, 0.999, 1.0, 1.0]))
    with pytest.raises(ModelError):
        output_to_frames(np.zeros((1, 3, 4, 4), np.float32), Padding(0, 0, 0, 0))


def test_crop_undoes_pad_with_dain_padding() -> None:
    frames = np.arange(2 * 5 * 7 * 3, dtype=np.uint8).reshape(2, 5, 7, 3)
    pad = dain_padding(5, 7)
    assert (crop_frames(pad_frames(frames, pad), pad) == frames).all()


@pytest.mark.parametrize("centered", [False, True])
def test_padded_nchw_is_the_zero_padding_transposed(centered: bool) -> None:
    """The RIFE models' one-copy padding equals pad_frames(mode="constant"), transposed."""
    frames = np.random.default_rng(1).random((3, 5, 7, 3), dtype=np.float32)
    pad = pad_amounts(5, 7, 4, centered=centered)
    want = pad_frames(frames, pad, mode="constant").transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(padded_nchw(list(frames), pad), want)


def test_dain_module_does_not_import_paddle() -> None:
    code = "import sys, ds_slowmo.models.dain; assert 'paddle' not in sys.modules, 'paddle imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- tars, crafted and real-shaped --------------------------------------------------------------


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"x", **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data) if fields.get("type", tarfile.REGTYPE) == tarfile.REGTYPE else 0
    for key, value in fields.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if info.size else None)


Member = Tuple[str, bytes, Dict[str, object]]


def make_tar(path: Path, members: list[Member]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data, fields in members:
            _add(tar, name, data, **fields)
    return path


def weights_tar(path: Path, folder: Path) -> Path:
    """A tar shaped like DAIN_weight.tar from a folder with model + params."""
    dir_entry: Member = ("DAIN_weight", b"", {"type": tarfile.DIRTYPE, "mode": 0o755})
    files: list[Member] = [(f"DAIN_weight/{n}", (folder / n).read_bytes(), {}) for n in ("model", "params")]
    return make_tar(path, [dir_entry, *files])


GOOD: list[Member] = [("DAIN_weight/model", b"MODEL", {}), ("DAIN_weight/params", b"PARAMS", {})]


def test_extract_takes_only_the_two_files(tmp_path: Path) -> None:
    tar = make_tar(
        tmp_path / "w.tar",
        [("DAIN_weight", b"", {"type": tarfile.DIRTYPE}), ("DAIN_weight/README", b"hi", {}), *GOOD],
    )
    files = dw.extract_weights(tar, tmp_path / "out")
    assert files.model.read_bytes() == b"MODEL" and files.params.read_bytes() == b"PARAMS"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model", "params"]


@pytest.mark.parametrize(
    "bad,why",
    [
        (("/tmp/evil", b"x", {}), "absolute"),
        (("DAIN_weight/../../evil", b"x", {}), ".."),
        (("../evil", b"x", {}), ".."),
        (("DAIN_weight/link", b"", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}), "link"),
        (("DAIN_weight/hard", b"", {"type": tarfile.LNKTYPE, "linkname": "DAIN_weight/model"}), "link"),
        (("DAIN_weight/dev", b"", {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}), "device"),
        (("DAIN_weight/blk", b"", {"type": tarfile.BLKTYPE}), "device"),
        (("DAIN_weight/fifo", b"", {"type": tarfile.FIFOTYPE}), "pipe"),
        (("DAIN_weight/model", b"AGAIN", {}), "twice"),
    ],
)
def test_extract_refuses_crafted_members(tmp_path: Path, bad: tuple[str, bytes, dict[str, object]], why: str) -> None:
    tar = make_tar(tmp_path / "evil.tar", [*GOOD, bad])
    with pytest.raises(ModelError, match="refusing") as err:
        dw.extract_weights(tar, tmp_path / "a" / "out")
    assert why in str(err.value)
    assert not (tmp_path / "a" / "out").exists()
    assert not (tmp_path / "evil").exists()


def test_extract_refuses_link_named_like_a_weight_file(tmp_path: Path) -> None:
    tar = make_tar(
        tmp_path / "evil.tar",
        [("DAIN_weight/model", b"", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}), GOOD[1]],
    )
    with pytest.raises(ModelError, match="link"):
        dw.extract_weights(tar, tmp_path / "out")


def test_extract_names_what_is_missing(tmp_path: Path) -> None:
    tar = make_tar(tmp_path / "half.tar", [GOOD[0]])
    with pytest.raises(ModelError, match="no DAIN_weight/params"):
        dw.extract_weights(tar, tmp_path / "out")
    (tmp_path / "junk.tar").write_bytes(b"\0" * 100 + b"not a tar" * 100)
    with pytest.raises(ModelError):
        dw.extract_weights(tmp_path / "junk.tar", tmp_path / "out2")


# -- resolution order --------------------------------------------------------------------------


@pytest.fixture
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Isolated $HOME, $DS_SLOWMO_HOME and no $PPGAN_HOME; downloads point nowhere."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DS_SLOWMO_HOME", str(tmp_path / "dshome"))
    monkeypatch.delenv("PPGAN_HOME", raising=False)
    monkeypatch.setenv(dw.URL_ENV, "http://127.0.0.1:1/DAIN_weight.tar")  # port 1: refused at once
    return {"home": home, "ds": tmp_path / "dshome", "ppgan": home / ".cache" / "ppgan"}


def _fake_weights(folder: Path, tag: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model").write_bytes(b"model-" + tag)
    (folder / "params").write_bytes(b"params-" + tag)
    return folder


def test_resolve_explicit_folder_and_its_parent(homes: dict[str, Path], tmp_path: Path) -> None:
    folder = _fake_weights(tmp_path / "mine" / "DAIN_weight", b"mine")
    assert dw.resolve_weights(str(folder)).model == folder / "model"
    assert dw.resolve_weights(str(folder.parent)).model == folder / "model"


def test_resolve_explicit_folder_missing_params(homes: dict[str, Path], tmp_path: Path) -> None:
    folder = _fake_weights(tmp_path / "w", b"x")
    (folder / "params").unlink()
    with pytest.raises(UsageError, match="without DAIN's params file"):
        dw.resolve_weights(str(folder))
    with pytest.raises(UsageError, match="does not exist"):
        dw.resolve_weights(str(tmp_path / "nope"))
    (tmp_path / "plain.bin").write_bytes(b"123")
    with pytest.raises(UsageError, match="neither a folder"):
        dw.resolve_weights(str(tmp_path / "plain.bin"))


def test_resolve_explicit_tar_unpacks_once_into_cache(homes: dict[str, Path], tmp_path: Path) -> None:
    tar = make_tar(tmp_path / "DAIN_weight.tar", GOOD)
    first = dw.resolve_weights(str(tar))
    assert first.model.read_bytes() == b"MODEL"
    assert first.folder.parent == homes["ds"] / "dain" and first.folder.name.startswith("tar-")
    assert dw.resolve_weights(str(tar)).model == first.model
    assert not [p for p in first.folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_resolve_order_ours_then_ppgan(homes: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ppgan = _fake_weights(homes["ppgan"] / "DAIN_weight", b"ppgan")
    assert dw.resolve_weights(None).model == ppgan / "model"
    env_ppgan = _fake_weights(tmp_path / "ppenv" / "DAIN_weight", b"env")
    monkeypatch.setenv("PPGAN_HOME", str(tmp_path / "ppenv"))
    assert dw.resolve_weights(None).model == env_ppgan / "model"
    ours = _fake_weights(homes["ds"] / "dain" / "DAIN_weight", b"ours")
    assert dw.resolve_weights(None).model == ours / "model"
    explicit = _fake_weights(tmp_path / "explicit", b"explicit")
    assert dw.resolve_weights(str(explicit)).model == explicit / "model"


def test_resolve_reuses_ppgan_tar_left_behind(homes: dict[str, Path]) -> None:
    homes["ppgan"].mkdir(parents=True)
    make_tar(homes["ppgan"] / "DAIN_weight.tar", GOOD)
    files = dw.resolve_weights(None)
    assert files.folder == homes["ds"] / "dain" / "DAIN_weight"
    assert files.params.read_bytes() == b"PARAMS"


def test_offline_message(homes: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ModelUnavailable) as err:
        dw.resolve_weights(None)
    assert capsys.readouterr() == ("", "")  # the error is the only line the user sees
    message = str(err.value)
    assert "\n" not in message
    assert "http://127.0.0.1:1/DAIN_weight.tar" in message
    assert str(homes["ds"] / "dain" / "DAIN_weight") in message
    assert "--weights" in message
    assert err.value.exit_code == 1
    assert not (homes["ds"] / "dain").exists() or not any((homes["ds"] / "dain").iterdir())


def test_offline_message_names_the_real_url_by_default(homes: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(dw.URL_ENV)
    assert dw.download_url() == "https://paddlegan.bj.bcebos.com/applications/DAIN_weight.tar"
    assert dw.DAIN_URL in dw._offline_message(dw.DAIN_URL, "offline")


# -- download over HTTP (a local server) --------------------------------------------------------


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_download_installs_into_cache_with_progress_on_stderr(
    homes: dict[str, Path], http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, base = http_root
    make_tar(root / "DAIN_weight.tar", [("DAIN_weight", b"", {"type": tarfile.DIRTYPE}), *GOOD])
    monkeypatch.setenv(dw.URL_ENV, f"{base}/DAIN_weight.tar")
    files = dw.resolve_weights(None, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "downloading DAIN weights" in captured.err and "100%" in captured.err
    assert f"downloading {base}/DAIN_weight.tar" in captured.err
    assert files.folder == homes["ds"] / "dain" / "DAIN_weight"
    assert files.model.read_bytes() == b"MODEL"
    assert sorted(p.name for p in (homes["ds"] / "dain").iterdir()) == ["DAIN_weight"]  # temp files gone
    (root / "DAIN_weight.tar").unlink()  # cached now: no second download
    assert dw.resolve_weights(None).model == files.model


def test_download_of_a_crafted_tar_installs_nothing(
    homes: dict[str, Path], http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = http_root
    make_tar(root / "DAIN_weight.tar", [*GOOD, ("../../evil", b"x", {})])
    monkeypatch.setenv(dw.URL_ENV, f"{base}/DAIN_weight.tar")
    with pytest.raises(ModelError, match="refusing"):
        dw.resolve_weights(None, progress=False, log=lambda msg: None)
    assert not any((homes["ds"] / "dain").iterdir())


def test_download_404_and_file_url(homes: dict[str, Path], http_root: tuple[Path, str], tmp_path: Path) -> None:
    _, base = http_root
    with pytest.raises(ModelUnavailable, match="HTTP 404"):
        dw.download(f"{base}/missing.tar", io.BytesIO(), progress=False)
    src = tmp_path / "local.bin"
    src.write_bytes(b"abc" * 1000)
    sink = io.BytesIO()
    assert dw.download(src.as_uri(), sink, progress=False) == 3000
    assert sink.getvalue() == b"abc" * 1000


# -- the real loading code on a stand-in -------------------------------------------------------


@pytest.fixture(scope="session")
def standins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paddle = pytest.importorskip("paddle")
    root = tmp_path_factory.mktemp("dain-standins")
    built = {
        "n1": build_standin(root / "n1", 1),
        "n3": build_standin(root / "n3", 3),
        "n3-undeclared": build_standin(root / "n3-undeclared", 3, declare_n=False),
        "correlation": build_standin(root / "correlation", 1, extra_op="correlation"),
    }
    assert paddle.in_dynamic_mode(), "building the stand-in leaked static mode"
    return built


def _create(weights: Path, factor: int, device: str = "cpu") -> DainInterpolator:
    from ds_slowmo.models import load_model

    model = load_model("dain", ModelOptions(factor=factor, weights=str(weights), device=device, threads=1))
    assert isinstance(model, DainInterpolator)
    return model


def _create_default(factor: int, device: str) -> DainInterpolator:
    from ds_slowmo.models import load_model

    model = load_model("dain", ModelOptions(factor=factor, device=device, threads=1))
    assert isinstance(model, DainInterpolator)
    return model


def _pairs(b: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """float32 pairs holding 8-bit values (the model protocol)."""
    return np.random.default_rng(seed).integers(0, 256, (b, 2, h, w, 3), dtype=np.uint8) / np.float32(255)


def _u8(frames: np.ndarray) -> np.ndarray:
    return np.rint(frames * 255).astype(int)


@pytest.mark.paddle
@pytest.mark.parametrize("size", [(37, 150), (128, 256), (1, 1)])
def test_standin_n1_output_is_the_known_mix(standins: dict[str, Path], size: tuple[int, int]) -> None:
    model = _create(standins["n1"], 2)
    assert isinstance(model, Interpolator) and model.name == "dain" and model.n == 1
    pairs = _pairs(2, *size)
    out = model.interpolate(pairs, (Fraction(1, 2),))
    assert out.shape == (2, 1, *size, 3) and out.dtype == np.float32
    for b in range(2):
        diff = np.abs(_u8(out[b]) - expected_mix(pairs[b], 1))
        assert diff.max() <= 1
    # frames reach the model in order: swapping them gives a visibly different mix
    assert standin_weights(1)[0] != 0.5
    swapped = model.interpolate(np.ascontiguousarray(pairs[:, ::-1]), (Fraction(1, 2),))
    assert np.abs(_u8(swapped) - _u8(out)).max() > 10


@pytest.mark.paddle
@pytest.mark.parametrize("name", ["n3", "n3-undeclared"])
def test_standin_n3_times_in_requested_order(standins: dict[str, Path], name: str) -> None:
    model = _create(standins[name], 4)
    assert model.n == 3
    pairs = _pairs(1, 21, 33, seed=3)
    expected = expected_mix(pairs[0], 3)
    times = (Fraction(3, 4), Fraction(1, 4), Fraction(1, 2))
    out = model.interpolate(pairs, times)
    for k, t in enumerate(times):
        assert np.abs(_u8(out[0, k]) - expected[int(t * 4) - 1]).max() <= 1
    subset = model.interpolate(pairs, (Fraction(1, 2),))
    assert (subset[0, 0] == out[0, 2]).all()
    with pytest.raises(ModelError, match="t = 1/3"):
        model.interpolate(pairs, (Fraction(1, 3),))


@pytest.mark.paddle
@pytest.mark.parametrize("name,factor,supported", [("n1", 4, 2), ("n3", 2, 4), ("n3-undeclared", 2, 4), ("n3", 3, 4)])
def test_factor_must_match_the_export(standins: dict[str, Path], name: str, factor: int, supported: int) -> None:
    with pytest.raises(UsageError, match=f"support --factor {supported} only \\(got {factor}\\)") as err:
        _create(standins[name], factor)
    assert err.value.exit_code == 2


@pytest.mark.paddle
def test_runs_in_another_thread_and_leaves_paddle_dynamic(standins: dict[str, Path]) -> None:
    import paddle

    model = _create(standins["n1"], 2)
    pairs = _pairs(1, 16, 16)
    result: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: result.append(model.interpolate(pairs, (Fraction(1, 2),))))
    worker.start()
    worker.join()
    assert np.abs(_u8(result[0][0]) - expected_mix(pairs[0], 1)).max() <= 1
    assert paddle.in_dynamic_mode()


@pytest.mark.paddle
def test_bad_batch_is_refused(standins: dict[str, Path]) -> None:
    model = _create(standins["n1"], 2)
    with pytest.raises(ModelError):
        model.interpolate(np.zeros((1, 2, 8, 8, 3), np.uint8), (Fraction(1, 2),))  # the old protocol


@pytest.mark.paddle
@pytest.mark.parametrize(
    "which,damage",
    [
        ("model", lambda data: bytes(range(256)) * 20),
        ("model", lambda data: data[: len(data) // 3]),
        ("model", lambda data: b""),
        ("params", lambda data: data[:10]),
        ("params", lambda data: b""),
    ],
)
def test_corrupt_files_give_a_clear_error(standins: dict[str, Path], tmp_path: Path, which: str, damage) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "w"
    folder.mkdir()
    for name in ("model", "params"):
        data = (standins["n1"] / name).read_bytes()
        (folder / name).write_bytes(damage(data) if name == which else data)
    with pytest.raises(ModelError) as err:
        _create(folder, 2)
    message = str(err.value)
    assert str(folder) in message and "\n" not in message
    assert "corrupt" in message


@pytest.mark.paddle
def test_missing_params_is_a_usage_error(standins: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "model").write_bytes((standins["n1"] / "model").read_bytes())
    with pytest.raises(UsageError, match="params"):
        _create(folder, 2)


@pytest.mark.paddle
def test_correlation_graph_refused_on_cpu(standins: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as err:
        _create(standins["correlation"], 2, device="cpu")
    message = str(err.value)
    for part in ("CUDA GPU", "paddlepaddle-gpu", "correlation", "--model rife"):
        assert part in message
    import paddle

    if not (paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0):
        with pytest.raises(ModelUnavailable, match="CUDA GPU"):  # auto fell back to CPU
            _create(standins["correlation"], 2, device="auto")


@pytest.mark.paddle
def test_gpu_only_detection_uses_the_kernel_registry(standins: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import paddle

    from ds_slowmo.models import dain

    info = dain.read_program(standins["n1"] / "model", paddle)
    assert gpu_only_ops(info.op_types, dain.kernel_registry(paddle)) == []  # no false alarm
    gpu_key = "{data_type[float]; data_layout[Undefined(AnyLayout)]; place[Place(gpu:0)]; library_type[PLAIN]}"
    registry = {"elementwise_add": [gpu_key]}
    assert gpu_only_ops(info.op_types, registry) == ["elementwise_add"]
    assert gpu_only_ops({"correlation", "feed"}, {}) == ["correlation"]
    monkeypatch.setattr(dain, "kernel_registry", lambda paddle: registry)
    with pytest.raises(UsageError, match="elementwise_add"):
        _create(standins["n1"], 2, device="cpu")


@pytest.mark.paddle
def test_download_then_run_end_to_end(
    standins: dict[str, Path], homes: dict[str, Path], http_root: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = http_root
    weights_tar(root / "DAIN_weight.tar", standins["n1"])
    monkeypatch.setenv(dw.URL_ENV, f"{base}/DAIN_weight.tar")
    model = _create_default(2, "cpu")
    assert model.files.folder == homes["ds"] / "dain" / "DAIN_weight"
    pairs = _pairs(1, 30, 40)
    out = model.interpolate(pairs, (Fraction(1, 2),))
    assert np.abs(_u8(out[0]) - expected_mix(pairs[0], 1)).max() <= 1


@pytest.mark.paddle
def test_offline_through_load_model(standins: dict[str, Path], homes: dict[str, Path]) -> None:
    with pytest.raises(ModelUnavailable, match="--weights"):
        _create_default(2, "cpu")


@pytest.mark.paddle
def test_declared_n_must_match_what_the_model_makes(standins: dict[str, Path], tmp_path: Path) -> None:
    """An export whose program says N=3 but whose graph makes 1 frame is refused up front."""
    import paddle

    from ds_slowmo.models import dain

    pb2 = dain._framework_pb2(paddle)
    desc = pb2.ProgramDesc()
    desc.ParseFromString((standins["n1"] / "model").read_bytes())
    info = dain.read_program(standins["n1"] / "model", paddle)
    for var in desc.blocks[0].vars:
        if var.name == info.fetch_name:
            for field in ("dense_tensor", "lod_tensor"):
                if field in var.type.DESCRIPTOR.fields_by_name and var.type.HasField(field):
                    getattr(var.type, field).tensor.dims[0] = 3
    folder = tmp_path / "lying"
    folder.mkdir()
    (folder / "model").write_bytes(desc.SerializeToString())
    (folder / "params").write_bytes((standins["n1"] / "params").read_bytes())
    assert dain.read_program(folder / "model", paddle).n == 3
    with pytest.raises(UsageError, match="--factor 4 only"):  # the declared N fails fast
        _create(folder, 2)
    with pytest.raises(ModelError, match="declare 3 output frames but made 1"):
        _create(folder, 4)


def test_paddle_errors_become_one_line() -> None:
    from ds_slowmo.models.dain import _one_line

    paddle_text = (
        "\n\n--------------------------------------\nC++ Traceback (most recent call last):\n"
        "--------------------------------------\n0   paddle::AnalysisPredictor::Run()\n\n"
        "----------------------\nError Message Summary:\n----------------------\n"
        "InvalidArgumentError: Cannot parse tensor desc\n  [Hint: Expected ...]\n"
    )
    assert _one_line(RuntimeError(paddle_text)) == "InvalidArgumentError: Cannot parse tensor desc"
    assert _one_line(ValueError("(InvalidArgument) bad\n  [Hint: x]")) == "(InvalidArgument) bad"
    assert _one_line(RuntimeError("")) == "RuntimeError"


@pytest.mark.paddle
def test_nothing_reaches_stdout(standins: dict[str, Path], tmp_path: Path) -> None:
    """Stdout carries video: loading and running DAIN (Paddle's C++ included) must not print."""
    code = (
        "import sys, numpy as np\n"
        "from fractions import Fraction\n"
        "from ds_slowmo.models import load_model\n"
        "from ds_slowmo.models.base import ModelOptions\n"
        f"m = load_model('dain', ModelOptions(factor=4, weights={str(standins['n3'])!r}, device='cpu'))\n"
        "out = m.interpolate(np.zeros((1, 2, 24, 40, 3), np.float32), [Fraction(1, 4), Fraction(1, 2)])\n"
        "assert out.shape == (1, 2, 24, 40, 3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    assert proc.stdout == b""


@pytest.mark.paddle
def test_cpu_does_not_download_paddlegans_gpu_only_graph(
    standins: dict[str, Path], homes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(dw.URL_ENV)  # the real PaddleGAN URL: known to hold `correlation`

    def no_download(*args: object, **kwargs: object) -> int:
        raise AssertionError("downloaded on CPU")

    monkeypatch.setattr(dw, "download", no_download)
    with pytest.raises(UsageError, match="CUDA GPU.*correlation.*--model rife"):
        _create_default(2, "cpu")


def test_download_cut_short_is_an_error(homes: dict[str, Path]) -> None:
    class Short(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/DAIN_weight.tar"
        with pytest.raises(ModelError, match="stopped after 100 of 5000 bytes"):
            dw.download(url, io.BytesIO(), progress=False)
    finally:
        server.shutdown()
        server.server_close()
