"""One benchmark case in its own process, so that the harness measures its process tree alone.

    python -m bench.child slowmo IN OUT --model blend --factor 2 [--weights W] [--jobs N] [--mode fps]
                                 [--runtime R] [--threads N] [--encoder-args ARGS] [--batch-size N]
                                 [--openvino-requests N]
    python -m bench.child disk   IN OUT --model blend --factor 2 [--weights W]

``slowmo`` runs the engine exactly as the CLI does (``Config.from_strings`` -> ``pipeline.run``)
and prints ``RunStats.as_dict()`` as one JSON line on stdout; ``disk`` runs
:func:`bench.disk.run_disk` and prints its figures the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.child")
    p.add_argument("kind", choices=("slowmo", "disk"))
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--model", default="blend")
    p.add_argument("--factor", type=int, default=2)
    p.add_argument("--weights")
    p.add_argument("--jobs", type=int, default=1, help="> 1: a chunked run (ds-slowmo --jobs N)")
    p.add_argument("--mode", default="slowmo", help="slowmo: ds-slowmo --mode (slowmo or fps)")
    p.add_argument("--runtime", default="auto", help="slowmo: ds-slowmo --runtime")
    p.add_argument("--threads", type=int, default=None, help="slowmo: ds-slowmo --threads")
    p.add_argument("--encoder-args", default=None, help="slowmo: ds-slowmo --encoder-args")
    p.add_argument("--batch-size", type=int, default=None, help="slowmo: ds-slowmo --batch-size (default: its own)")
    p.add_argument("--openvino-requests", type=int, default=None,
                   help="slowmo: OpenVINO infer requests in flight for a call of several rows (a setting "
                        "under test, not an option: ds_slowmo.models.runtime.openvino_cpu.REQUESTS)")  # fmt: skip
    args = p.parse_args(argv)
    if args.kind == "slowmo":
        if args.openvino_requests is not None:
            from ds_slowmo.models.runtime import openvino_cpu

            openvino_cpu.REQUESTS = args.openvino_requests
        from ds_slowmo.config import Config
        from ds_slowmo.pipeline import run

        cfg = Config.from_strings(input=args.input, output=args.output, model=args.model, factor=args.factor,
                                  weights=args.weights, overwrite=True, progress=False, jobs=args.jobs,
                                  mode=args.mode, runtime=args.runtime, threads=args.threads,
                                  encoder_args=args.encoder_args,
                                  **({} if args.batch_size is None else {"batch_size": args.batch_size}))  # fmt: skip
        if cfg.chunked:
            from ds_slowmo.parallel import run_chunked

            result = run_chunked(cfg).as_dict()
        else:
            result = run(cfg).as_dict()
    else:
        from .disk import run_disk

        result = run_disk(args.input, args.output, model=args.model, factor=args.factor, weights=args.weights)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
