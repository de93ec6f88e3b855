#!/usr/bin/env bash
# RIFE speed cases on a GPU: s/pair of HDv3 and v4.25, float32 and (v4.25) float16.
# Run from the repository root on a machine with an NVIDIA GPU and paddlepaddle-gpu:
#     bash bench/gpu.sh [PYTHON]
# Prints one line per case, "<case>: <median s/pair>", from pytest-benchmark's JSON.
set -euo pipefail
PY=${1:-${PYTHON:-python}}
"$PY" -c "import paddle; assert paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0, 'no CUDA GPU for Paddle'; from paddle import inference; print('paddle', paddle.__version__, 'TensorRT', inference.get_trt_compile_version())"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for precision in float32 half; do
    DS_SLOWMO_BENCH_DEVICE=gpu DS_SLOWMO_BENCH_PRECISION=$precision \
        "$PY" -m pytest bench/test_rife_speed.py -q -p no:cacheprovider \
        --benchmark-json="$out/$precision.json" >"$out/$precision.log" 2>&1 || { tail -40 "$out/$precision.log"; exit 1; }
    "$PY" - "$out/$precision.json" "$precision" <<'PYEOF'
import json, sys
data = json.load(open(sys.argv[1]))
for b in data["benchmarks"]:
    if sys.argv[2] == "half" and "rife4" not in b["name"] and "rife4" not in b.get("param", ""):
        continue  # HDv3 has no half path; its float32 line is above
    print(f"{sys.argv[2]} {b['name']}: {b['stats']['median']:.4f} s/pair")
PYEOF
done
