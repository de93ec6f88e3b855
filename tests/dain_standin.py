"""A stand-in for PaddleGAN's DAIN export, built with Paddle's static API.

Same interface as the real ``DAIN_weight/model`` + ``params``: feed ``image`` float32
``[2, 1, 3, -1, -1]``, first fetch ``[N, 1, 3, H, W]``, saved in Paddle's old program format
and renamed to ``model`` / ``params`` like the files in the real tar. Its output is a known
per-pixel mix: ``out[k] = (1 - w[k]) * left + w[k] * right`` with ``w`` its one parameter.
``w`` is lopsided (:func:`standin_weights`), so swapped frames or swapped outputs show.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np


def standin_weights(n: int) -> np.ndarray:
    """``w[k]`` for k = 0..N-1: distinct, increasing, never 1/2, so any swap shows."""
    # k/(N+1) * 0.8 + 0.05: N=1 -> 0.45, N=3 -> 0.25, 0.45, 0.65; none is 0.5, all distinct
    return np.array([0.05 + 0.8 * (k + 1) / (n + 1) for k in range(n)], dtype=np.float32)


def expected_mix(pair: np.ndarray, n: int) -> np.ndarray:
    """What the stand-in must return for a float ``(2, H, W, 3)`` pair in [0, 1], as 8-bit
    values ``(N, H, W, 3)`` (int, for comparing with the rounded output)."""
    a = pair[0].astype(np.float64)
    b = pair[1].astype(np.float64)
    w = standin_weights(n).astype(np.float64)[:, None, None, None]
    mix: np.ndarray = np.rint(np.clip((1 - w) * a + w * b, 0, 1) * 255).astype(int)
    return mix


@contextlib.contextmanager
def _old_static(paddle) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Static mode in the old program IR (what the real export uses), restored afterwards."""
    was_dynamic = paddle.in_dynamic_mode()
    pir_utils = getattr(paddle, "pir_utils", None)
    guard = getattr(pir_utils, "OldIrGuard", None) if pir_utils is not None else None
    paddle.enable_static()
    try:
        with guard() if guard is not None else contextlib.nullcontext():
            yield
    finally:
        if was_dynamic:
            paddle.disable_static()


def build_standin(dest: Path, n: int = 1, *, declare_n: bool = True, extra_op: Optional[str] = None) -> Path:
    """Write ``dest/model`` and ``dest/params``; return ``dest``.

    ``declare_n=False`` hides N in the program (first output dim -1) so loading must probe.
    ``extra_op="correlation"`` adds a real ``correlation`` op (GPU-only in Paddle) that feeds
    the output with weight zero, to test that CPU loading refuses it.
    """
    import paddle

    dest.mkdir(parents=True, exist_ok=True)
    with _old_static(paddle):
        main, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(main, startup):
            image = paddle.static.data("image", [2, 1, 3, -1, -1], "float32")
            w = paddle.create_parameter(
                [n, 1, 1, 1, 1],
                "float32",
                name="standin_mix_w",
                default_initializer=paddle.nn.initializer.Assign(standin_weights(n).reshape(n, 1, 1, 1, 1)),
            )
            left, right = image[0:1], image[1:2]
            out = (1 - w) * left + w * right
            if extra_op == "correlation":
                block = main.global_block()
                a4 = paddle.reshape(left, [1, 3, 0, 0])
                b4 = paddle.reshape(right, [1, 3, 0, 0])
                corr = block.create_var(name="standin_corr", dtype="float32", shape=[1, 81, -1, -1])
                block.append_op(
                    type="correlation",
                    inputs={"Input1": [a4], "Input2": [b4]},
                    outputs={"Output": [corr]},
                    attrs={
                        "pad_size": 4,
                        "kernel_size": 1,
                        "max_displacement": 4,
                        "stride1": 1,
                        "stride2": 1,
                        "corr_type_multiply": 1,
                    },
                )
                out = out + 0.0 * paddle.mean(corr)
            elif extra_op is not None:
                raise ValueError(f"unknown extra_op {extra_op!r}")
            if not declare_n:
                out = paddle.reshape(out, [-1, 1, 3, 0, 0])
            exe = paddle.static.Executor(paddle.CPUPlace())
            exe.run(startup)
            prefix = dest / "standin"
            paddle.static.save_inference_model(str(prefix), [image], [out], exe, program=main)
    os.replace(f"{prefix}.pdmodel", dest / "model")
    os.replace(f"{prefix}.pdiparams", dest / "params")
    return dest
