"""Benchmark: every shipped problem with the package defaults, KAN-PINN and MLP-PINN.

    python benchmarks/shipped_problems.py [--budget-seconds 60] [--models kan,mlp] [--problems a.py,b.py]

Each run uses the defaults of ``pinnkan solve`` (seed 0), capped at the given wall-clock budget.
Prints a Markdown table: problem, model, parameters, worst relative L2 error over the fields,
max abs error, wall time, steps. The table in problems/README.md comes from this script.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

import pinnkan as pk

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-seconds", type=float, default=60.0)
    ap.add_argument("--models", default="kan,mlp")
    ap.add_argument("--problems", default=None, help="comma-separated problem files (default: all shipped)")
    args = ap.parse_args(argv)
    files = args.problems.split(",") if args.problems else sorted(str(p) for p in (ROOT / "problems").glob("*.py"))
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
          f"budget {args.budget_seconds:g} s per run\n")
    print("| problem | model | params | rel L2 (worst field) | max abs error | time (s) | steps |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for f in files:
        problem = pk.load_problem(f)
        for model in args.models.split(","):
            r = pk.solve(problem, model=model, budget_seconds=args.budget_seconds)
            m = r.metrics
            rel = max(m["rel_l2"].values()) if m.get("rel_l2") else float("nan")
            mx = max(m["max_abs_error"].values()) if m.get("max_abs_error") else float("nan")
            print(f"| {problem.name} | {m['architecture']} | {m['n_params']} | {rel:.2e} | {mx:.2e} | "
                  f"{m['wall_time_s']:.1f} | {m['steps']} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
