"""A Paddle export converted to OpenVINO IR, in a child process of its own:

    python -m ds_slowmo.models.runtime.convert MODEL PARAMS OUT.xml

paddle2onnx writes ONNX (opset 17, no graph optimizer: OpenVINO folds constants itself), the
LeakyRelu slopes are set back to the export's own (paddle2onnx 2.1.0 writes garbage there, see
:func:`patch_leaky_relu`), and OpenVINO saves the model as ``OUT.xml`` + ``OUT.bin`` with its
weights kept in float32. The conversion runs in a child because paddle2onnx aborts the whole
process on a network it cannot convert, and prints to stdout. The parent
(:mod:`.openvino_cpu`) checks the result against Paddle before it caches or uses it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

__all__ = ["OPSET", "convert", "leaky_slopes", "main", "patch_leaky_relu"]

OPSET = 17


def _ops(node: Any) -> Iterator[dict[str, Any]]:
    """Every op of a Paddle 3 (PIR) ``.json`` program, in program order."""
    if isinstance(node, dict):
        if isinstance(node.get("#"), str) and "O" in node and "I" in node:
            yield node
        for value in node.values():
            yield from _ops(value)
    elif isinstance(node, list):
        for value in node:
            yield from _ops(value)


def leaky_slopes(program: Path) -> Optional[list[float]]:
    """The ``negative_slope`` of every ``leaky_relu`` of a ``.json`` export, in program order;
    None for a legacy ``.pdmodel`` (a protobuf program this does not read)."""
    if program.suffix != ".json":
        return None
    slopes = []
    for op in _ops(json.loads(program.read_text())):
        if op["#"].split(".")[-1] in ("leaky_relu", "leaky_relu_"):
            attrs = {a.get("N"): a.get("AT", {}).get("D") for a in op.get("A", [])}
            slopes.append(float(attrs["negative_slope"]))
    return slopes


def patch_leaky_relu(model: Any, slopes: Optional[Sequence[float]]) -> int:
    """Set each ONNX ``LeakyRelu``'s ``alpha`` to the export's slope; how many were set.

    paddle2onnx 2.1.0's LeakyRelu mapper reads a Paddle attribute named ``alpha``, which is
    what legacy programs call it; a PIR program (Paddle 3's ``.json``) calls it
    ``negative_slope`` (float64). The lookup finds nothing, and the mapper writes its float
    member uninitialized: values like NaN, 1e-45 or 1e31 that change from run to run whatever
    the slope. The ONNX nodes come in program order (no optimizer ran), so the n-th LeakyRelu
    is the n-th ``leaky_relu``; a count that differs is refused."""
    nodes = [n for n in model.graph.node if n.op_type == "LeakyRelu"]
    if not nodes:
        return 0
    if slopes is None:
        raise ValueError(f"the ONNX model has {len(nodes)} LeakyRelu nodes, and a legacy export's slopes are not read")
    if len(slopes) != len(nodes):
        raise ValueError(f"the ONNX model has {len(nodes)} LeakyRelu nodes, the export {len(slopes)} leaky_relu ops")
    import onnx

    for node, slope in zip(nodes, slopes):
        del node.attribute[:]
        node.attribute.append(onnx.helper.make_attribute("alpha", float(slope)))
    return len(nodes)


def convert(model_file: Path, params_file: Path, out_xml: Path) -> dict[str, Any]:
    """The conversion (see the module docstring); facts about it for the parent."""
    import onnx
    import openvino as ov
    import paddle2onnx

    with tempfile.TemporaryDirectory(prefix="ds-slowmo-onnx-") as tmp:
        onnx_file = Path(tmp) / "model.onnx"
        paddle2onnx.export(str(model_file), str(params_file), save_file=str(onnx_file), opset_version=OPSET,
                           optimize_tool="None", enable_onnx_checker=True, verbose=False)  # fmt: skip
        if not onnx_file.is_file():
            raise RuntimeError("paddle2onnx wrote no model")
        model = onnx.load(str(onnx_file))
        patched = patch_leaky_relu(model, leaky_slopes(model_file))
        onnx.save(model, str(onnx_file))
        ov.save_model(ov.convert_model(str(onnx_file)), str(out_xml), compress_to_fp16=False)
    return {"onnx_nodes": len(model.graph.node), "leaky_relu_patched": patched}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print("usage: python -m ds_slowmo.models.runtime.convert MODEL PARAMS OUT.xml", file=sys.stderr)
        return 2
    facts = convert(Path(args[0]), Path(args[1]), Path(args[2]))
    print("ds-slowmo-convert " + json.dumps(facts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
