"""Matrix-free Levenberg-Marquardt (CG on J v, J^T u) against the dense step and against L-BFGS.

    python benchmarks/gauss_newton.py crossover [--iterations 5] [--adam 100] [--points 2048]
                                                [--nets 2,10,1:10 2,10,1:20 2,10,1:40 2,16,16,1:5 2,16,16,1:10]
    python benchmarks/gauss_newton.py compare [--seconds 120] [--seeds 0] [--models kan,mlp] [--json out.json]

``crossover``: on poisson2d, per network (widths:grid, KANs), the same Adam-trained start, then
--iterations Levenberg-Marquardt iterations with the dense step (Cholesky of J^T J) and with the
matrix-free step (pinnkan.training.gauss_newton); prints ms per iteration, the loss reached and
the CG products per iteration. This is the measurement behind choices.LM_DENSE_MAX_PARAMS.

``compare``: equal wall-clock time, Adam -> L-BFGS against Adam -> matrix-free LM
(``optimizer="lm", lm_solver="cg"``), through ``pk.solve`` on poisson2d, for the KAN
[2, 16, 16, 1] (default levels) and the default MLP [2, 50, 50, 50, 1]; prints the relative L2
error, the steps and the time of each.

One torch thread (set OMP_NUM_THREADS=1 as well), float64, CPU.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import runpy
import time
from pathlib import Path

import torch

import pinnkan as pk
from pinnkan.derivatives.engines import get_engine
from pinnkan.evaluation.residuals import sample_points, total_loss
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.problem.compile import compile_problem
from pinnkan.training.gauss_newton import MatrixFreeLevenbergMarquardt
from pinnkan.training.levenberg import LevenbergMarquardt

ROOT = Path(__file__).resolve().parents[1]


def poisson2d():
    return runpy.run_path(str(ROOT / "problems" / "poisson2d.py"))["problem"]


def adam_start(problem, compiled, data, widths, grid, steps, seed=0):
    """A KAN after ``steps`` Adam steps (lr 1e-2) on ``data``."""
    torch.manual_seed(seed)
    net = pk.KAN(widths, grid=grid, bounds=problem.domain.bounds)
    engine = get_engine("auto")
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss, _ = total_loss(compiled, net, engine, data)
        loss.backward()
        opt.step()
    return net


def run_iterations(opt, net, compiled, data, iterations):
    """(seconds per iteration, loss after, CG products per iteration or None)."""
    products = 0
    t = time.perf_counter()
    loss = None
    for _ in range(iterations):
        loss, _ = opt.step(net, compiled, data, {})
        products += getattr(opt, "last", {}).get("cg_products", 0)
    seconds = (time.perf_counter() - t) / iterations
    return seconds, loss, (products / iterations if isinstance(opt, MatrixFreeLevenbergMarquardt) else None)


def crossover(args) -> list[dict]:
    problem = poisson2d()
    compiled = compile_problem(problem)
    data = sample_points(compiled, CollocationSampler(problem.domain, seed=0), args.points, args.points // 8,
                         torch.float64, torch.device("cpu"))
    rows = []
    print(f"{'network':>22} {'params':>7} {'dense ms':>9} {'dense loss':>11} {'cg ms':>9} {'cg loss':>11} {'cg prod':>8}")
    for spec in args.nets:
        w, g = spec.split(":")
        widths, grid = [int(a) for a in w.split(",")], int(g)
        start = adam_start(problem, compiled, data, widths, grid, args.adam)
        n_params = sum(p.numel() for p in start.parameters())
        row = {"widths": widths, "grid": grid, "params": n_params}
        cg = lambda: MatrixFreeLevenbergMarquardt(cg_rtol=args.cg_rtol, cg_max_iter=args.cg_max_iter)
        for name, make in (("dense", LevenbergMarquardt), ("cg", cg)):
            if name == "dense" and args.no_dense:
                row.update({"dense_ms": float("nan"), "dense_loss": float("nan"), "dense_products": None})
                continue
            net = copy.deepcopy(start)
            sec, loss, prod = run_iterations(make(), net, compiled, data, args.iterations)
            row.update({f"{name}_ms": 1000 * sec, f"{name}_loss": loss, f"{name}_products": prod})
        print(f"{str(widths) + ' g' + str(grid):>22} {n_params:>7} {row['dense_ms']:>9.1f} {row['dense_loss']:>11.3e} "
              f"{row['cg_ms']:>9.1f} {row['cg_loss']:>11.3e} {row['cg_products']:>8.1f}", flush=True)
        rows.append(row)
    return rows


def compare(args) -> list[dict]:
    problem = poisson2d()
    nets = {"kan": {"model": "kan", "widths": [2, 16, 16, 1]}, "mlp": {"model": "mlp"}}
    second = {"lbfgs": {"optimizer": "lbfgs", "lbfgs_steps": 10**6},
              "lm-cg": {"optimizer": "lm", "lm_solver": "cg", "lm_steps": 10**6}}
    rows = []
    print(f"{'model':>5} {'second':>6} {'seed':>4} {'rel L2':>10} {'steps':>7} {'wall s':>7}")
    for m in args.models:
        for seed in args.seeds:
            for name, opts in second.items():
                r = pk.solve(problem, seed=seed, budget_seconds=args.seconds, **nets[m], **opts,
                             **({"adam_steps": args.adam} if args.adam is not None else {}))
                row = {"model": m, "second": name, "seed": seed, "rel_l2": r.metrics["rel_l2"]["u"],
                       "steps": r.metrics["steps"], "wall_s": r.metrics["wall_time_s"],
                       "architecture": r.metrics["architecture"]}
                print(f"{m:>5} {name:>6} {seed:>4} {row['rel_l2']:>10.3e} {row['steps']:>7} {row['wall_s']:>7.1f}",
                      flush=True)
                rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("crossover")
    c.add_argument("--iterations", type=int, default=5)
    c.add_argument("--adam", type=int, default=100)
    c.add_argument("--points", type=int, default=2048)
    c.add_argument("--cg-rtol", type=float, default=1e-2, help="CG's relative residual tolerance")
    c.add_argument("--cg-max-iter", type=int, default=50, help="CG's iteration cap")
    c.add_argument("--no-dense", action="store_true", help="time the matrix-free step only")
    c.add_argument("--nets", nargs="+", default=["2,10,1:10", "2,10,1:20", "2,10,1:40", "2,16,16,1:5",
                                                 "2,16,16,1:10"])
    q = sub.add_parser("compare")
    q.add_argument("--seconds", type=float, default=120.0)
    q.add_argument("--seeds", type=lambda s: [int(a) for a in s.split(",")], default=[0])
    q.add_argument("--models", type=lambda s: s.split(","), default=["kan", "mlp"])
    q.add_argument("--adam", type=int, default=None, help="Adam steps (default: the model's)")
    for p in (c, q):
        p.add_argument("--json", type=Path, help="write the rows and the machine here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = crossover(args) if args.mode == "crossover" else compare(args)
    if args.json:
        args.json.write_text(json.dumps({"machine": platform.platform(), "processor": platform.processor(),
                                         "torch": torch.__version__, "mode": args.mode, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
