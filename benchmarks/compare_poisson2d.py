"""Benchmark: KAN-PINN vs MLP-PINN on poisson2d at equal wall-clock budget.

    python benchmarks/compare_poisson2d.py [--budget-seconds 120] [--seeds 3] [--out runs/bench-compare]

Runs ``pinnkan compare`` (same collocation points and budget for both models) and prints the
Markdown table; the results recorded in docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch

from pinnkan.cli import main as pinnkan_main

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def run(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problem", default=str(ROOT / "problems" / "poisson2d.py"))
    ap.add_argument("--budget-seconds", type=float, default=120.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", default="runs/bench-compare")
    ap.add_argument("extra", nargs="*", help="further flags for pinnkan compare (after --)")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    return pinnkan_main(["compare", args.problem, "--budget-seconds", str(args.budget_seconds),
                         "--seeds", str(args.seeds), "--out", args.out, "--quiet", *args.extra])


if __name__ == "__main__":
    sys.exit(run())
