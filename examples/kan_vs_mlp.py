"""KAN-PINN against MLP-PINN on a shipped problem, same points and wall-clock budget.

    python examples/kan_vs_mlp.py [problems/poisson_disk.py] [--budget-seconds 30] [--seeds 2]

The same as `pinnkan compare`, from Python: the report holds every run's metrics and history.
"""

import argparse

import pinnkan as pk
from pinnkan.compare import compare, markdown, write_report

ap = argparse.ArgumentParser()
ap.add_argument("problem", nargs="?", default="problems/poisson_disk.py")
ap.add_argument("--budget-seconds", type=float, default=30.0)
ap.add_argument("--seeds", type=int, default=2)
ap.add_argument("--out", default="runs/kan-vs-mlp")
args = ap.parse_args()

report = compare(pk.load_problem(args.problem), seeds=args.seeds, budget_seconds=args.budget_seconds)
print(markdown(report))
write_report(report, args.out)
