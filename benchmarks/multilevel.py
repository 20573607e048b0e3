"""Benchmark: multilevel spline KAN against single-level KANs, the ReLU basis and MLPs.

    python benchmarks/multilevel.py [--problem benchmarks/problems/regression2d.py]
        [--levels 5,10,20,40] [--steps 1200] [--adam 0] [--seeds 3] [--widths 2,5,1]
        [--optimizer lbfgs|lm|auto] [--budget-seconds T]

Equal work: every run takes the same number of optimizer steps (or, with --budget-seconds,
the same wall time) on the same collocation points; multilevel runs share the steps out over
the levels. Columns: spline multilevel, spline
coarse-only (first level), spline fine-only (last level), ReLU-basis multilevel, and an MLP.
Prints a Markdown table of relative L2 error and final loss, mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import torch

import pinnkan as pk


def ints(text):
    return [int(v) for v in text.split(",")]


def runs(args):
    L = args.levels
    kan = dict(model="kan", widths=args.widths)
    return {
        f"spline multilevel {','.join(map(str, L))}": dict(kan, levels=L),
        f"spline coarse-only G={L[0]}": dict(kan, grid=L[0]),
        f"spline fine-only G={L[-1]}": dict(kan, grid=L[-1]),
        f"ReLU-basis multilevel {','.join(map(str, L))}": dict(kan, levels=L, spline_basis="relu"),
        f"MLP {args.mlp}": dict(model="mlp", widths=args.mlp),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problem", default="benchmarks/problems/regression2d.py")
    ap.add_argument("--levels", type=ints, default=[5, 10, 20, 40])
    ap.add_argument("--widths", type=ints, default=[2, 5, 1])
    ap.add_argument("--mlp", type=ints, default=[2, 20, 20, 1])
    ap.add_argument("--steps", type=int, default=1200, help="L-BFGS steps per run")
    ap.add_argument("--adam", type=int, default=0, help="Adam steps per run (before L-BFGS)")
    ap.add_argument("--points", type=int, default=4096)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "lm", "auto"])
    ap.add_argument("--budget-seconds", type=float, default=None, help="equal wall time per run")
    args = ap.parse_args(argv)
    problem = pk.load_problem(args.problem)
    work = f"{args.budget_seconds:g} s per run" if args.budget_seconds else f"{args.adam} Adam + {args.steps} steps"
    print(f"# {problem.name}: equal work = {work} ({args.optimizer}) on {args.points} points, {args.seeds} seeds")
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}\n")
    print("| method | params | rel L2 (mean ± std) | final loss (mean) | time (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, opts in runs(args).items():
        errs, losses, times, params = [], [], [], 0
        for seed in range(args.seeds):
            t = time.perf_counter()
            steps = 10**7 if args.budget_seconds else args.steps
            r = pk.solve(problem, seed=seed, adam_steps=args.adam, lbfgs_steps=steps, lm_steps=steps,
                         optimizer=args.optimizer if opts["model"] == "kan" else "lbfgs",
                         budget_seconds=args.budget_seconds, n_interior=args.points,
                         **{k: v for k, v in opts.items() if k != "model"}, model=opts["model"])
            times.append(time.perf_counter() - t)
            errs.append(max(r.metrics["rel_l2"].values()))
            losses.append(r.metrics["final_loss"])
            params = r.metrics["n_params"]
        sd = statistics.pstdev(errs) if len(errs) > 1 else 0.0
        print(f"| {label} | {params} | {statistics.mean(errs):.2e} ± {sd:.1e} | "
              f"{statistics.mean(losses):.2e} | {statistics.mean(times):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
