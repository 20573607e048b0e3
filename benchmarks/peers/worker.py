"""One (tool, problem) run of the peer suite, in its own process; run_suite.py starts it.

    python benchmarks/peers/worker.py --tool pykan --problem poisson2d --budget-seconds 60 \
        --seed 0 --device cpu --n-interior 2048 --n-boundary 256 --threads 1 --json out.json

Writes the runner's dict, plus the machine description and the run's settings, to ``--json``;
a failing runner gives ``{"error": ...}`` there instead (exit status 0 either way, 2 for bad
arguments).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNERS = {
    "pykan": "runner_pykan",
    "deepxde": "runner_deepxde",
    "pinnkan-kan": "runner_pinnkan_kan",
    "pinnkan-mlp": "runner_pinnkan_mlp",
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", required=True, choices=sorted(RUNNERS))
    ap.add_argument("--problem", required=True)
    ap.add_argument("--budget-seconds", type=float, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--n-interior", type=int, default=2048)
    ap.add_argument("--n-boundary", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", required=True)
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.path.insert(0, HERE)
    settings = {"tool": args.tool, "problem": args.problem, "budget_seconds": args.budget_seconds,
                "seed": args.seed, "device": args.device, "threads": args.threads,
                "n_interior_requested": args.n_interior, "n_boundary_requested": args.n_boundary}
    t0 = time.perf_counter()
    try:
        import torch

        torch.set_num_threads(args.threads)
        import common

        runner = importlib.import_module(RUNNERS[args.tool])
        out = runner.run(args.problem, args.budget_seconds, args.seed, args.device, args.n_interior, args.n_boundary)
        out["machine"] = common.machine(args.device)
    except Exception as exc:  # reported as a row of the table, not a crash of the suite
        out = {"tool": args.tool, "error": f"{type(exc).__name__}: {exc}",
               "traceback": traceback.format_exc()[-4000:]}
        traceback.print_exc()
    out.update(settings)
    out["process_s"] = time.perf_counter() - t0
    tmp = args.json + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(out, fh, indent=2, default=str)
    os.replace(tmp, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
