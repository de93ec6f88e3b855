"""The runtime seam (ds_slowmo.models.runtime): which runtime --runtime/--precision choose and
why, the OpenVINO conversion (the LeakyRelu patch, the check against Paddle, the fallback on a
conversion that fails or disagrees, the cache and its rebuild), and the CLI's lines about it."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ds_slowmo.errors import ModelUnavailable, UsageError
from ds_slowmo.models import ops, runtime
from ds_slowmo.models.runtime import Network, convert, probe_input

sys.path.insert(0, str(Path(__file__).parent))

HAVE_OPENVINO = runtime.openvino_missing() is None
needs_openvino = pytest.mark.skipif(not HAVE_OPENVINO, reason="OpenVINO and paddle2onnx are not installed")


@pytest.fixture
def no_openvino(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if OpenVINO were not installed (its import blocked)."""
    monkeypatch.setitem(sys.modules, "openvino", None)


# ---------------------------------------------------------------------------------------------
# choosing (no network is loaded: Paddle is not needed)


def test_auto_without_openvino_is_paddle_inference_and_says_why(no_openvino: None, caplog: pytest.LogCaptureFixture) -> None:
    assert runtime.openvino_missing() == "openvino is not installed"
    with caplog.at_level(logging.INFO, logger="ds_slowmo.models"):
        chosen = runtime.choose(None, "auto", "float32", "cpu", None, "rife4")  # type: ignore[arg-type]
    assert chosen.name == "paddle"
    assert "runtime Paddle Inference on the CPU (auto: openvino is not installed" in caplog.text
    assert "pip install 'ds-slowmo[cpu]'" in caplog.text


def test_openvino_asked_for_without_it_is_one_line_with_the_install_command(no_openvino: None) -> None:
    with pytest.raises(ModelUnavailable) as info:
        runtime.choose(None, "openvino", "float32", "cpu", None, "rife")  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and "pip install 'ds-slowmo[cpu]'" in message and "--runtime openvino" in message


@pytest.mark.parametrize(
    "args, match",
    [
        (("openvino", "float32", "gpu"), "run on the CPU"),
        (("auto", "bf16", "gpu"), "run on the CPU"),
        (("paddle", "bf16", "cpu"), "bf16 runs through OpenVINO"),
        (("onnx", "float32", "cpu"), "--runtime must be one of auto, paddle, openvino"),
        (("auto", "fp8", "cpu"), "--precision must be one of float32, half, bf16"),
    ],
)
def test_impossible_requests_are_usage_errors(args: tuple[str, str, str], match: str) -> None:
    with pytest.raises(UsageError, match=match):
        runtime.choose(None, *args, None, "rife4")  # type: ignore[arg-type]


def test_the_gpu_path_is_paddle_inference(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ds_slowmo.models"):
        chosen = runtime.choose(None, "auto", "half", "gpu", None, "rife4")  # type: ignore[arg-type]
    assert chosen.name == "paddle" and chosen.half is True  # type: ignore[attr-defined]
    assert "runtime Paddle Inference (auto: the GPU path), half" in caplog.text


@needs_openvino
def test_auto_on_a_cpu_is_openvino_in_float32_on_every_core(caplog: pytest.LogCaptureFixture) -> None:
    from ds_slowmo.models._paddle import cpu_threads

    with caplog.at_level(logging.INFO, logger="ds_slowmo.models"):
        chosen = runtime.choose(None, "auto", "float32", "cpu", None, "rife4")  # type: ignore[arg-type]
    assert chosen.name == "openvino" and chosen.threads == cpu_threads(None)  # type: ignore[attr-defined]
    assert chosen.requests == min(2, chosen.threads)  # type: ignore[attr-defined]
    one = runtime.choose(None, "auto", "float32", "cpu", 1, "rife4")  # type: ignore[arg-type]
    assert one.threads == one.requests == 1  # type: ignore[attr-defined]  # no stream without a thread
    assert chosen.config()["INFERENCE_PRECISION_HINT"] == "f32"  # type: ignore[attr-defined]
    assert "rife4: runtime OpenVINO" in caplog.text and "(auto), float32" in caplog.text


@needs_openvino
def test_bf16_is_asked_for_explicitly_and_only_where_the_cpu_has_it() -> None:
    """float32 is explicit (OpenVINO would pick bf16 by itself on an AMX CPU); bf16 is the
    hint only when asked for, and refused in one line on a CPU that has no bf16."""
    import openvino as ov

    chosen = runtime.choose(None, "openvino", "bf16", "cpu", 1, "rife4")  # type: ignore[arg-type]
    assert chosen.config()["INFERENCE_PRECISION_HINT"] == "bf16"  # type: ignore[attr-defined]
    assert chosen.config("float32")["INFERENCE_PRECISION_HINT"] == "f32"  # type: ignore[attr-defined]
    if "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        assert chosen.core() is not None  # type: ignore[attr-defined]
    else:
        with pytest.raises(UsageError, match="this CPU does not compute in bf16"):
            chosen.core()  # type: ignore[attr-defined]


def test_the_fixed_input_is_fixed_and_structured() -> None:
    a, b = probe_input((2, 15, 128, 256)), probe_input((2, 15, 128, 256))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and 0.09 < a.min() and a.max() < 0.91
    assert np.abs(a[0] - a[1]).max() > 0.1 and np.abs(a[:, 0] - a[:, 1]).max() > 0.1  # rows and channels differ


# ---------------------------------------------------------------------------------------------
# the converter's output and its patch (pure, and on a tiny exported network)


def test_converter_reason_is_its_own_error_line() -> None:
    said = (
        "[Paddle2ONNX] Start parsing the Paddle model file...\n"
        "[ERROR] Cannot convert split op, due to target dimension is dynamic.\n"
        "FatalError: `Process abort signal` is detected by the operating system.\n"
    )
    assert openvino_cpu().converter_reason(said, -6) == "[ERROR] Cannot convert split op, due to target dimension is dynamic."
    assert openvino_cpu().converter_reason("a\nlast words\n", -6) == "aborted; last line: last words"
    assert openvino_cpu().converter_reason("", 3) == "exit code 3"


def openvino_cpu() -> Any:
    from ds_slowmo.models.runtime import openvino_cpu

    return openvino_cpu


@pytest.fixture(scope="module")
def paddle() -> Any:
    pd = pytest.importorskip("paddle")
    ops.bind_paddle(pd)
    return pd


def tiny_leaky(paddle: Any) -> Any:
    """Two convolutions, each followed by a LeakyReLU of its own slope (0.2, then 0.05)."""
    paddle.seed(7)

    class TinyLeaky(paddle.nn.Layer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.conv0 = paddle.nn.Conv2D(3, 8, 3, padding=1)
            self.conv1 = paddle.nn.Conv2D(8, 3, 3, padding=1)

        def forward(self, x: Any) -> Any:
            return ops.F.leaky_relu(self.conv1(ops.F.leaky_relu(self.conv0(x), 0.2)), 0.05)

    net = TinyLeaky()
    net.eval()
    return net


def tiny_chunked(paddle: Any) -> Any:
    """A network paddle2onnx cannot convert: ``chunk`` along the dynamic batch axis (what
    HDv3 did before export version 5)."""
    paddle.seed(8)

    class TinyChunked(paddle.nn.Layer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 3, 3, padding=1)

        def forward(self, x: Any) -> Any:
            a, b = ops.paddle.chunk(self.conv(ops.cat([x, 1 - x], 0)), 2, axis=0)
            return a - b

    net = TinyChunked()
    net.eval()
    return net


def tiny(paddle: Any, folder: Path, make: Any, name: str = "tiny") -> Network:
    """A tiny network as a model hands it over; Paddle 3.3's conv + leaky_relu oneDNN fusion
    is left out as for v4.25 (it crashes on the slope, a float64 attribute read as float)."""
    from ds_slowmo.models.rife4 import SKIP_PASSES

    return Network(name=name, build=lambda: make(paddle), channels=3, input_name="x", folder=folder, tag=name,
                   version=1, multiple=16, skip_passes=SKIP_PASSES)  # fmt: skip


def test_leaky_slopes_are_read_from_the_export_in_program_order(paddle: Any, tmp_path: Path) -> None:
    from ds_slowmo.models.runtime.export import export

    model, _ = export(paddle, tiny(paddle, tmp_path, tiny_leaky))
    if model.suffix != ".json":
        pytest.skip("a legacy .pdmodel export (Paddle 2.6): its slopes are not read")
    assert convert.leaky_slopes(model) == pytest.approx([0.2, 0.05])


def test_patch_sets_every_alpha_and_refuses_a_count_that_differs() -> None:
    onnx = pytest.importorskip("onnx")
    helper = onnx.helper
    nodes = [helper.make_node("LeakyRelu", ["x"], ["y"], alpha=float("nan")),
             helper.make_node("Relu", ["y"], ["z"]), helper.make_node("LeakyRelu", ["z"], ["w"], alpha=1e31)]  # fmt: skip
    model = helper.make_model(helper.make_graph(nodes, "g", [], []))
    assert convert.patch_leaky_relu(model, [0.2, 0.05]) == 2
    alphas = [a.f for n in model.graph.node if n.op_type == "LeakyRelu" for a in n.attribute if a.name == "alpha"]
    assert alphas == pytest.approx([0.2, 0.05])
    with pytest.raises(ValueError, match="2 LeakyRelu nodes, the export 3"):
        convert.patch_leaky_relu(model, [0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match="legacy"):
        convert.patch_leaky_relu(model, None)


# ---------------------------------------------------------------------------------------------
# converting, checking, caching, falling back (paddle2onnx and OpenVINO for real)


def openvino_runtime(paddle: Any) -> Any:
    from ds_slowmo.models.runtime.openvino_cpu import OpenVINO
    from ds_slowmo.models.runtime.paddle_inference import PaddleInference

    return OpenVINO(paddle, 2, "float32", fallback=PaddleInference(paddle, "cpu", 2))


def paddle_answer(paddle: Any, net: Network, x: np.ndarray) -> np.ndarray:
    from ds_slowmo.models.runtime.paddle_inference import PaddleInference

    return PaddleInference(paddle, "cpu", 2).load(net)(x)


@needs_openvino
def test_a_patched_conversion_agrees_with_paddle(paddle: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The LeakyRelu slopes survive the conversion (paddle2onnx 2.1.0 alone writes garbage)."""
    from ds_slowmo.models.runtime.openvino_cpu import Compiled

    net = tiny(paddle, tmp_path, tiny_leaky)
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
        run = openvino_runtime(paddle).load(net)
    assert isinstance(run, Compiled) and caplog.text == ""
    x = probe_input((3, 3, 48, 80)) * 4 - 2  # negative values: the slopes matter
    np.testing.assert_allclose(run(x), paddle_answer(paddle, net, x), atol=1e-5)


@needs_openvino
def test_a_conversion_that_fails_falls_back_in_one_line_and_is_not_retried(
    paddle: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ds_slowmo.models.runtime import openvino_cpu as ovc
    from ds_slowmo.models.runtime.paddle_inference import Inference

    net = tiny(paddle, tmp_path, tiny_chunked)
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
        run = openvino_runtime(paddle).load(net)
    assert isinstance(run, Inference)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "tiny: the OpenVINO conversion is refused (paddle2onnx could not convert it" in line
    assert "Paddle Inference runs it instead" in line and "\n" not in line
    x = probe_input((2, 3, 32, 48))
    np.testing.assert_allclose(run(x), paddle_answer(paddle, net, x), atol=1e-6)

    def refuse(*args: Any) -> None:
        raise AssertionError("converted again")

    monkeypatch.setattr(ovc, "run_converter", refuse)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
        assert isinstance(openvino_runtime(paddle).load(net), Inference)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "remembered" in line


@needs_openvino
def test_a_converter_that_cannot_start_is_said_and_tried_again_next_time(
    paddle: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh venv without ``packaging`` (paddle2onnx 2.1.0 imports it undeclared) made the
    converter die at import: the line names the module and its install, and the refusal is not
    remembered, so the next run (after the install) converts."""
    import subprocess

    from ds_slowmo.models.runtime import openvino_cpu as ovc
    from ds_slowmo.models.runtime.openvino_cpu import Compiled
    from ds_slowmo.models.runtime.paddle_inference import Inference

    said = 'Traceback (most recent call last):\n  File "x.py", line 16\nModuleNotFoundError: No module named \'packaging\'\n'
    broken = lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "", said)  # noqa: E731
    net = tiny(paddle, tmp_path, tiny_leaky)
    with monkeypatch.context() as patched:
        patched.setattr(ovc.subprocess, "run", broken)
        with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
            assert isinstance(openvino_runtime(paddle).load(net), Inference)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "the converter cannot start: it needs the Python module 'packaging' (pip install packaging)" in line
    assert not list(tmp_path.rglob("*.refused"))
    assert isinstance(openvino_runtime(paddle).load(net), Compiled)  # installed now: converted


@needs_openvino
def test_a_conversion_that_disagrees_is_refused(
    paddle: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A converter that gets the numbers wrong (here: its weights scaled after the fact) is
    caught by the check on the fixed input, and nothing of it is cached."""
    from ds_slowmo.models.runtime import openvino_cpu as ovc
    from ds_slowmo.models.runtime.paddle_inference import Inference

    real = ovc.run_converter

    def wrong(files: tuple[Path, Path], out_xml: Path) -> None:
        real(files, out_xml)
        weights = np.fromfile(out_xml.with_suffix(".bin"), np.float32)
        (weights * 1.01).tofile(out_xml.with_suffix(".bin"))

    monkeypatch.setattr(ovc, "run_converter", wrong)
    net = tiny(paddle, tmp_path, tiny_leaky)
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
        assert isinstance(openvino_runtime(paddle).load(net), Inference)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "it differs from Paddle by" in line and "more than 0.001" in line
    assert not list(tmp_path.rglob("openvino-*.xml"))


@needs_openvino
def test_a_corrupt_cached_conversion_is_rebuilt(paddle: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ds_slowmo.models.runtime.openvino_cpu import Compiled

    net = tiny(paddle, tmp_path, tiny_leaky)
    openvino_runtime(paddle).load(net)
    (cached,) = tmp_path.rglob("openvino-*.bin")
    raw = bytearray(cached.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    cached.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
        run = openvino_runtime(paddle).load(net)
    assert "the cached OpenVINO conversion" in caplog.text and "fails its checksum; converting again" in caplog.text
    assert isinstance(run, Compiled) and cached.read_bytes() != bytes(raw)
    x = probe_input((1, 3, 32, 32))
    np.testing.assert_allclose(run(x), paddle_answer(paddle, net, x), atol=1e-5)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ds_slowmo"):
        openvino_runtime(paddle).load(net)
    assert caplog.text == ""  # the rebuilt one is good again


@needs_openvino
def test_compiled_once_per_shape_and_two_requests_give_the_same_rows(paddle: Any, tmp_path: Path) -> None:
    from ds_slowmo.models.runtime.openvino_cpu import Compiled

    net = tiny(paddle, tmp_path, tiny_leaky)
    one = openvino_runtime(paddle).load(net)
    assert isinstance(one, Compiled)
    x = probe_input((3, 3, 32, 48))
    first = one(x)
    one(x), one(x[:1])
    assert len(one._compiled) == 2  # (3, ...) and (1, ...), each compiled once
    two = Compiled(one.core, one.model, one.config, requests=2)
    np.testing.assert_allclose(two(x), first, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# the command line


def test_cli_without_openvino_one_line_and_v_says_why(tmp_path: Path) -> None:
    """In a Python where OpenVINO cannot be imported: ``--runtime openvino`` is one line with
    the install command (exit 1, before any frame); ``-v`` with auto says why it chose
    Paddle Inference."""
    pytest.importorskip("paddle")
    from helpers import make_clip, run_cli

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['openvino'] = None\n")
    clip = make_clip(tmp_path / "in.mkv", seconds=0.12, size="64x64", audio=False)
    env = {"DS_SLOWMO_HOME": str(tmp_path / "home"), "PYTHONPATH": str(site)}
    proc = run_cli(str(clip), "-o", str(tmp_path / "o.mkv"), "--model", "rife", "--runtime", "openvino", env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "--runtime openvino needs OpenVINO" in lines[0] and "pip install 'ds-slowmo[cpu]'" in lines[0]
    assert not (tmp_path / "o.mkv").exists()
    proc = run_cli(str(clip), "-o", str(tmp_path / "o.mkv"), "--model", "rife", "-v", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "rife: runtime Paddle Inference on the CPU (auto: openvino is not installed" in proc.stderr


@needs_openvino
def test_cli_v_shows_openvino_chosen(tmp_path: Path) -> None:
    pytest.importorskip("paddle")
    from helpers import make_clip, run_cli

    clip = make_clip(tmp_path / "in.mkv", seconds=0.12, size="64x64", audio=False)
    proc = run_cli(str(clip), "-o", str(tmp_path / "o.mkv"), "--model", "rife", "-v", env={"DS_SLOWMO_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0, proc.stderr
    assert "rife: runtime OpenVINO" in proc.stderr and "on the CPU (auto), float32" in proc.stderr
    assert "OpenVINO conversion checked" in proc.stderr
