"""``dain``: PaddleGAN's DAIN static inference model (``DAIN_weight.tar``), run in memory.

The export takes one pair at a time: feed ``image`` float32 ``[2, 1, 3, H, W]`` (left frame,
then right, RGB in [0, 1], channels first) and returns, as its first fetch, ``[N, 1, 3, H, W]``:
the N in-between frames at t = 1/(N+1) ... N/(N+1). N is fixed by the export, so ``--factor``
must be N+1. Frames are padded exactly as PaddleGAN's ``DAINPredictor`` pads them (see
:func:`dain_padding`) and cropped back exactly.

Loading goes through Paddle Inference (``paddle.inference``), not a static ``Executor``: it
reads these old-format files as they are on Paddle 2.6 and on Paddle 3.x (3.x keeps its old-IR
analysis path for them, ``new_ir_enabled()`` is False), and it needs neither
``paddle.enable_static()`` nor ``pir_utils.OldIrGuard()``, both process-wide switches that would
leak into other models and clash with the engine running the model in its own thread. The program itself is inspected by
parsing its protobuf first: that validates the file before Paddle's C++ loader sees it (a
garbage ``model`` file crashes that loader instead of raising), finds the feed/fetch names and
N, and lists the op types so a graph that needs CUDA (``correlation``) fails up front on CPU.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..errors import ModelError, ModelUnavailable, SlowmoError, UsageError
from ._paddle import import_paddle, inference_config, resolve_device
from .base import ModelOptions, Padding, check_batch, check_output, crop_frames, pad_frames
from .dain_weights import DAIN_URL, WeightFiles, download_url, has_local_default, resolve_weights

__all__ = [
    "DainInterpolator",
    "ProgramInfo",
    "create",
    "dain_padding",
    "pair_to_input",
    "output_to_frames",
    "read_program",
    "gpu_only_ops",
    "KNOWN_GPU_ONLY_OPS",
]

FEED_NAME = "image"
#: ops whose CPU kernel is missing, or registered but raising "only supports GPU" (Paddle's
#: ``correlation`` CPU kernel does exactly that)
KNOWN_GPU_ONLY_OPS = frozenset({"correlation"})
#: frame side of the probe forward in create() (padded by PaddleGAN's rule to 128x128)
_PROBE_SIZE = 64


# -- padding (pure) ----------------------------------------------------------------------------


def _pad_side(n: int) -> tuple[int, int]:
    """PaddleGAN's rule for one axis: up to the next multiple of 128, split with the extra
    pixel after; 32 on both sides when ``n`` already is a multiple of 128."""
    if n < 1:
        raise ValueError(f"frame size must be positive (got {n})")
    if n % 128 == 0:
        return 32, 32
    total = (n // 128 + 1) * 128 - n
    return total // 2, total - total // 2


def dain_padding(height: int, width: int) -> Padding:
    """Padding ``DAINPredictor`` applies to a ``width`` x ``height`` frame (1920x1080 -> 1984x1152)."""
    top, bottom = _pad_side(height)
    left, right = _pad_side(width)
    return Padding(top, bottom, left, right)


def pair_to_input(pair: np.ndarray, pad: Padding) -> np.ndarray:
    """float32 ``(2, H, W, 3)`` in [0, 1] -> float32 ``(2, 1, 3, H', W')``, edge-padded
    (edge padding copies values, so 8-bit frames / 255 give PaddleGAN's very input)."""
    padded = pad_frames(np.asarray(pair, np.float32), pad, mode="edge")
    return np.ascontiguousarray(padded.transpose(0, 3, 1, 2)[:, None])


def output_to_frames(y: np.ndarray, pad: Padding) -> np.ndarray:
    """float ``(N, 1, 3, H', W')`` -> float32 ``(N, H, W, 3)``: crop, clip to [0, 1]."""
    if y.ndim != 5 or y.shape[1] != 1 or y.shape[2] != 3:
        raise ModelError(f"DAIN returned shape {tuple(y.shape)}, expected (N, 1, 3, H, W)")
    frames = crop_frames(y[:, 0].transpose(0, 2, 3, 1), pad)
    out: np.ndarray = np.clip(frames, 0.0, 1.0).astype(np.float32)
    return out


# -- the program, read as protobuf --------------------------------------------------------------


@dataclass(frozen=True)
class ProgramInfo:
    """What the saved program says about itself."""

    op_types: frozenset[str]
    feed_shape: tuple[int, ...]
    fetch_name: str
    fetch_shape: tuple[int, ...]

    @property
    def n(self) -> Optional[int]:
        """N as the export declares it (first dim of the first fetch), else None."""
        if len(self.fetch_shape) == 5 and self.fetch_shape[0] > 0:
            return self.fetch_shape[0]
        return None


def _framework_pb2(paddle: ModuleType) -> Any:
    try:
        from paddle.base.proto import framework_pb2  # Paddle >= 2.6
    except ImportError:  # pragma: no cover - Paddle < 2.6
        from paddle.fluid.proto import framework_pb2  # type: ignore[no-redef,unused-ignore]
    return framework_pb2


def _tensor_dims(var: Any) -> Optional[tuple[int, ...]]:
    """Dims of a tensor var; the proto field is ``lod_tensor`` (2.x) or ``dense_tensor`` (3.x)."""
    for field in ("dense_tensor", "lod_tensor"):
        if field in var.type.DESCRIPTOR.fields_by_name and var.type.HasField(field):
            return tuple(int(d) for d in getattr(var.type, field).tensor.dims)
    return None


def read_program(model_file: Path, paddle: ModuleType) -> ProgramInfo:
    """Parse and sanity-check the ``model`` file; raise :class:`ModelError` naming it."""
    pb2 = _framework_pb2(paddle)
    what = f"DAIN model file {model_file}"
    try:
        data = model_file.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {what}: {exc}") from exc
    desc = pb2.ProgramDesc()
    try:
        desc.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError, or a RuntimeWarning-ish upb error
        raise ModelError(f"{what} is corrupt (not a Paddle program: {exc}); delete it and run again") from exc
    if not data or not desc.blocks or not desc.blocks[0].ops:
        raise ModelError(f"{what} is corrupt or empty (no operators); delete it and run again")

    variables: dict[str, Any] = {}
    op_types: set[str] = set()
    referenced: set[str] = set()
    for block in desc.blocks:
        for var in block.vars:
            variables[var.name] = var
        for op in block.ops:
            if not op.type:
                raise ModelError(f"{what} is corrupt (an operator without a type)")
            op_types.add(op.type)
            for slot in list(op.inputs) + list(op.outputs):
                referenced.update(slot.arguments)
    unknown = sorted(n for n in referenced if n and n != "@EMPTY@" and n not in variables)
    if unknown:
        raise ModelError(f"{what} is corrupt: operators use undeclared variables {unknown[:3]}")

    ops = list(desc.blocks[0].ops)
    feeds = [a for op in ops if op.type == "feed" for s in op.outputs for a in s.arguments]
    fetches = []
    for op in ops:
        if op.type == "fetch":
            col = next((a.i for a in op.attrs if a.name == "col"), 0)
            fetches.append((col, [a for s in op.inputs for a in s.arguments][0]))
    if feeds != [FEED_NAME]:
        raise ModelError(f"{what} is not a DAIN export: it feeds {feeds}, expected [{FEED_NAME!r}]")
    if not fetches:
        raise ModelError(f"{what} is not a DAIN export: it fetches nothing")
    fetch_name = min(fetches)[1]
    feed_shape = _tensor_dims(variables[FEED_NAME]) or ()
    fetch_shape = _tensor_dims(variables[fetch_name]) or ()
    # the declared feed must accept a pair; the output's declared shape is only a hint (the probe
    # forward in create() checks the real one)
    ok = len(feed_shape) == 5 and feed_shape[0] in (2, -1) and feed_shape[1] in (1, -1) and feed_shape[2] in (3, -1)
    if feed_shape and not ok:
        raise ModelError(f"{what}: input {FEED_NAME!r} has shape {list(feed_shape)}, expected [2, 1, 3, H, W]")
    return ProgramInfo(frozenset(op_types), feed_shape, fetch_name, fetch_shape)


# -- GPU-only ops ------------------------------------------------------------------------------


def kernel_registry(paddle: ModuleType) -> Mapping[str, Sequence[str]]:
    """Paddle's op -> registered kernel keys (each names its place), or {} if not exposed."""
    try:
        from paddle.base import core
    except ImportError:  # pragma: no cover - Paddle < 2.5 named it paddle.fluid
        return {}
    helper = getattr(core, "_get_all_register_op_kernels", None)  # private: may go away
    if helper is None:  # pragma: no cover
        return {}
    registry: Mapping[str, Sequence[str]] = helper("all")
    return registry


def gpu_only_ops(op_types: Iterable[str], registry: Mapping[str, Sequence[str]]) -> list[str]:
    """Ops that can't run on CPU: known GPU-only ones, and ops whose kernels are all non-CPU.

    Ops absent from the registry (feed, fetch, control flow: no kernels) are not counted.
    """
    found = set()
    for op in op_types:
        if op in KNOWN_GPU_ONLY_OPS:
            found.add(op)
            continue
        keys = registry.get(op)
        if keys and not any("cpu" in str(k).lower() for k in keys):
            found.add(op)
    return sorted(found)


# -- the model ---------------------------------------------------------------------------------


class DainInterpolator:
    """One Paddle Inference predictor; one pair per forward (the export's batch is a pair)."""

    name = "dain"

    def __init__(self, predictor: Any, fetch_name: str, n: int, files: WeightFiles, device: str) -> None:
        self._predictor = predictor
        self._fetch = fetch_name
        self.n = n
        self.files = files
        self.device = device
        self.times: tuple[Fraction, ...] = tuple(Fraction(k, n + 1) for k in range(1, n + 1))
        self._lock = threading.Lock()

    def forward(self, pair: np.ndarray) -> np.ndarray:
        """float32 ``(2, H, W, 3)`` -> float32 ``(N, H, W, 3)`` in [0, 1], all N times in order."""
        pad = dain_padding(pair.shape[1], pair.shape[2])
        x = pair_to_input(pair, pad)
        with self._lock:
            y = _run(self._predictor, self._fetch, x, self.device)
        if y.shape != (self.n, 1, 3) + x.shape[3:]:
            raise ModelError(
                f"DAIN returned {tuple(y.shape)} for input {tuple(x.shape)}, "
                f"expected {(self.n, 1, 3) + x.shape[3:]}"
            )
        return output_to_frames(y, pad)

    def _indices(self, times: Sequence[Fraction]) -> list[int]:
        indices = []
        for t in times:
            t = Fraction(t)
            k = t * (self.n + 1)
            if k.denominator != 1 or not 1 <= k <= self.n:
                listed = ", ".join(str(s) for s in self.times)
                raise ModelError(f"DAIN (N={self.n}) makes only t = {listed}; asked for t = {t}")
            indices.append(int(k) - 1)
        return indices

    def interpolate(self, pairs: np.ndarray, times: Sequence[Fraction]) -> np.ndarray:
        check_batch(pairs, times)
        indices = self._indices(times)
        b, _, h, w, c = pairs.shape
        out = np.empty((b, len(indices), h, w, c), dtype=np.float32)
        for i in range(b):
            frames = self.forward(pairs[i])
            out[i] = frames[indices]
        return check_output(out, pairs, len(indices), self.name)


def _one_line(exc: BaseException) -> str:
    """The telling line of a Paddle error (they span many lines: C++ traceback, hints)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith("-")]
    for line in lines:
        if line.startswith("(") or "Error:" in line:
            return line[:300]
    return lines[0][:300] if lines else type(exc).__name__


def _make_predictor(paddle: ModuleType, files: WeightFiles, device: str, threads: Optional[int]) -> Any:
    from paddle import inference

    try:
        config = inference_config(paddle, str(files.model), str(files.params), device, threads)
        predictor = inference.create_predictor(config)
    except Exception as exc:
        raise ModelError(
            f"cannot load DAIN weights from {files.folder} ({_one_line(exc)}); the files may be corrupt or "
            f"truncated: delete them and run again, or pass --weights"
        ) from exc
    if FEED_NAME not in predictor.get_input_names():
        raise ModelError(f"DAIN weights in {files.folder} have no input {FEED_NAME!r}")
    return predictor


def _check_factor(factor: int, n: int, files: WeightFiles) -> None:
    if factor != n + 1:
        raise UsageError(
            f"--model dain: the weights in {files.folder} make {n} in-between frame"
            f"{'s' if n > 1 else ''} per pair, so they support --factor {n + 1} only (got {factor}); "
            f"use weights exported for N={factor - 1}, or --model rife"
        )


def _needs_gpu(ops: Sequence[str], requested: str) -> SlowmoError:
    """Usage error when the user asked for ``--device cpu``; unavailable when auto found no GPU."""
    message = (
        f"DAIN needs a CUDA GPU with paddlepaddle-gpu (its graph uses {', '.join(ops)}, "
        f"which Paddle runs only on GPU); install 'ds-slowmo[gpu]' on an NVIDIA machine, "
        f"or use --model rife, which runs on CPU"
    )
    return UsageError(message) if requested == "cpu" else ModelUnavailable(message)


def create(options: ModelOptions) -> DainInterpolator:
    """Resolve (maybe download) the weights, check them, load them, find N, check the factor.

    Everything that can fail does so here, before the engine starts decoding.
    """
    paddle = import_paddle("dain")
    device = resolve_device(paddle, options.device, "dain")
    if device == "cpu" and not options.weights and not has_local_default() and download_url() == DAIN_URL:
        # PaddleGAN's published graph uses `correlation`: don't download it only to refuse it
        raise _needs_gpu(["correlation"], options.device)
    files = resolve_weights(options.weights)
    info = read_program(files.model, paddle)
    if info.n is not None:
        _check_factor(options.factor, info.n, files)
    if device == "cpu":
        needs_gpu = gpu_only_ops(info.op_types, kernel_registry(paddle))
        if needs_gpu:
            raise _needs_gpu(needs_gpu, options.device)
    predictor = _make_predictor(paddle, files, device, options.threads)
    fetch = _fetch_name(predictor, info)
    # one tiny forward, before any decoding: proves the weights run here, and tells N
    n = _probe_n(predictor, fetch, device)
    if info.n is not None and n != info.n:
        raise ModelError(f"DAIN weights in {files.folder} declare {info.n} output frames but made {n}")
    _check_factor(options.factor, n, files)
    return DainInterpolator(predictor, fetch, n, files, device)


def _run(predictor: Any, fetch: str, x: np.ndarray, device: str) -> np.ndarray:
    """One forward of the predictor on a ready ``(2, 1, 3, H, W)`` input."""
    try:
        handle = predictor.get_input_handle(FEED_NAME)
        handle.reshape(list(x.shape))
        handle.copy_from_cpu(x)
        predictor.run()
        y: np.ndarray = predictor.get_output_handle(fetch).copy_to_cpu()
    except Exception as exc:
        raise ModelError(
            f"DAIN failed on a {x.shape[4]}x{x.shape[3]} (padded) pair on {device}: {_one_line(exc)}"
        ) from exc
    return y


def _fetch_name(predictor: Any, info: ProgramInfo) -> str:
    names = list(predictor.get_output_names())
    if info.fetch_name in names:
        return info.fetch_name
    if not names:
        raise ModelError("DAIN weights have no output")
    return str(names[0])


def _probe_n(predictor: Any, fetch: str, device: str) -> int:
    probe = np.zeros((2, _PROBE_SIZE, _PROBE_SIZE, 3), dtype=np.float32)
    x = pair_to_input(probe, dain_padding(_PROBE_SIZE, _PROBE_SIZE))
    y = _run(predictor, fetch, x, device)
    if y.ndim != 5 or y.shape[0] < 1 or y.shape[1:3] != (1, 3):
        raise ModelError(f"DAIN returned {tuple(y.shape)} for a probe pair, expected (N, 1, 3, H, W)")
    return int(y.shape[0])
