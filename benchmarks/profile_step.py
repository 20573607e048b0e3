"""Where the time of one training step goes, on poisson2d.

    python benchmarks/profile_step.py [--points 2048] [--repeat 10] [--widths 2,10,1]
                                      [--grids 5,10,15,20,25,30,40]

Times, per network: one loss evaluation plus backward pass with each derivative engine (nested
autograd, the reference, and forward-mode jets; the engines and networks alternate over
--rounds rounds of 4 runs, medians) and the one the "auto" engine picks; the parts
of one Levenberg-Marquardt iteration (Jacobian, J^T J as the solver forms it, damped Cholesky
solve, one trial residual) and whole iterations. Median of --repeat runs. Runs on older
checkouts too (PYTHONPATH=<worktree>), for before/after tables.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

import pinnkan as pk
from pinnkan.problem.compile import compile_problem
from pinnkan.derivatives.engines import AutogradEngine, JetEngine

try:
    from pinnkan.derivatives.engines import prefers_jets
except ImportError:
    prefers_jets = None
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.training.levenberg import LevenbergMarquardt, residual_and_jacobian

try:  # the current solver's linear algebra; older checkouts (before/after runs) used these fallbacks
    from pinnkan.training.levenberg import gram, solve_damped
except ImportError:
    def gram(J):
        return J.T @ J

    def solve_damped(H, damping, rhs):
        return torch.cholesky_solve(rhs[:, None], torch.linalg.cholesky(H + torch.diag(damping)))[:, 0]
from pinnkan.evaluation.residuals import sample_points, total_loss

ROOT = Path(__file__).resolve().parents[1]


def median_ms(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=10, help="runs per Levenberg-Marquardt figure")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of 4 runs per engine and network")
    ap.add_argument("--widths", default="2,10,1", help="KAN widths (input 2, output 1)")
    ap.add_argument("--grids", default="5,10,15,20,25,30,40", help="KAN grids")
    args = ap.parse_args(argv)
    problem = pk.load_problem(ROOT / "problems" / "poisson2d.py")
    compiled = compile_problem(problem)
    data = sample_points(compiled, CollocationSampler(problem.domain), args.points, 256,
                         torch.float64, torch.device("cpu"))
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
          f"{args.points} interior + 256 boundary points, float64\n")
    print("| network | params | loss+backward, autograd (ms) | loss+backward, jets (ms) | auto picks |")
    print("| --- | ---: | ---: | ---: | --- |")
    torch.manual_seed(0)
    widths = [int(w) for w in args.widths.split(",")]
    nets = [pk.KAN(widths, grid=int(g), bounds=problem.domain.bounds) for g in args.grids.split(",")]
    nets.append(pk.MLP([2, 50, 50, 50, 1], bounds=problem.domain.bounds))
    engines = {"autograd": AutogradEngine(), "jets": JetEngine()}
    times = {(i, e): [] for i in range(len(nets)) for e in engines}
    for _ in range(args.rounds):  # engines and networks alternate, so that drifts of the machine hit all alike
        for i, net in enumerate(nets):
            for e, engine in engines.items():
                def step():
                    net.zero_grad()
                    loss, _ = total_loss(compiled, net, engine, data)
                    loss.backward()
                step()
                for _ in range(4):
                    t = time.perf_counter()
                    step()
                    times[(i, e)].append(time.perf_counter() - t)
    for i, net in enumerate(nets):
        a, j = (1000 * statistics.median(times[(i, e)]) for e in engines)
        pick = ("jets" if prefers_jets(net) else "autograd") if prefers_jets else "-"
        print(f"| {net.describe()} | {net.n_params} | {a:.1f} | {j:.1f} | {pick} |", flush=True)
    print(f"\n| KAN {widths} | Jacobian (ms) | J^T J (ms) | Cholesky solve (ms) | trial residual (ms) "
          "| whole iteration (ms) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for net in nets[:-1]:
        R, J = residual_and_jacobian(net, compiled, data, {})
        H = gram(J)
        damping = 1e-3 * torch.diagonal(H).clamp_min(1e-6 * float(torch.diagonal(H).mean()))
        jac = median_ms(lambda: residual_and_jacobian(net, compiled, data, {}), args.repeat)
        jtj = median_ms(lambda: gram(J), args.repeat)
        chol = median_ms(lambda: solve_damped(H, damping, -J.T @ R), args.repeat)
        res = median_ms(lambda: residual_and_jacobian(net, compiled, data, {}, with_jacobian=False), args.repeat)
        lm = LevenbergMarquardt()   # consecutive iterations from this network, rejected tries included
        it = median_ms(lambda: lm.step(net, compiled, data, {}), args.repeat)
        print(f"| grid {net.grid} ({net.n_params} params, J {tuple(J.shape)}) | {jac:.1f} | {jtj:.1f} | "
              f"{chol:.1f} | {res:.1f} | {it:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
