"""GPU check and benchmark: exactness identities on CUDA, then CPU vs GPU solves.

    python benchmarks/gpu_check.py [--budget-seconds 60] [--out results/gpu.json]

Part 1 (identities, float64 on the GPU): a KAN refined 5 -> 10 -> 40 computes the same function
(max |difference| of outputs and of Laplacians), the B-spline <-> ReLU^3 change of basis keeps the
outputs, and the jet engine agrees with nested autograd.
Part 2 (solves): ``pinnkan solve`` defaults on shipped problems, the same seed on ``cpu`` and on
``cuda``, each capped at the budget; then a larger collocation set (4x the default points), where
a GPU has room to pay off. Prints a Markdown table and writes the figures to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

import pinnkan as pk
from pinnkan.derivatives.engines import get_engine

ROOT = Path(__file__).resolve().parents[1]


def identities(device: torch.device) -> dict:
    """Max abs differences of the exact identities on ``device`` (each should be ~1e-13)."""
    torch.manual_seed(0)
    x = (torch.rand(2000, 2, dtype=torch.float64, device=device) * 2 - 1).requires_grad_(True)
    net = pk.KAN([2, 6, 3, 1], grid=5, bounds=([-1, -1], [1, 1]), dtype=torch.float64).to(device)
    for p in net.parameters():
        p.data.add_(0.3 * torch.randn_like(p))
    keys = {(0, (0, 0)), (0, (2, 0)), (0, (0, 2)), (0, (1, 1))}
    auto, jet = get_engine("autograd"), get_engine("jet")
    ref = auto(net, x, keys, create_graph=False)
    out = {}
    fine = net
    for g in (10, 40):
        fine = fine.refine(g)
        got = auto(fine, x, keys, create_graph=False)
        out[f"refine_5_to_{g}_max_abs"] = max(float((got[k] - ref[k]).detach().abs().max()) for k in keys)
    relu = net.to_basis("relu")
    out["relu_basis_max_abs"] = float((relu(x) - net(x)).detach().abs().max())
    jv = jet(net, x, keys, create_graph=False)
    out["jet_vs_autograd_max_abs"] = max(float((jv[k] - ref[k]).detach().abs().max()) for k in keys)
    return out


def solve_row(path: Path, device: str, budget: float, scale: int = 1) -> dict:
    problem = pk.load_problem(path)
    opts = pk.SolveOptions().complete(problem.domain.dim, len(problem.fields))
    r = pk.solve(problem, device=device, budget_seconds=budget, seed=0,
                 n_interior=opts.n_interior * scale, n_boundary=opts.n_boundary * scale)
    m = r.metrics
    return {
        "problem": problem.name, "device": device, "points_scale": scale,
        "n_interior": opts.n_interior * scale,
        "rel_l2": max(m["rel_l2"].values()), "wall_s": m["wall_time_s"], "steps": m["steps"],
        "s_per_step": m["wall_time_s"] / max(m["steps"], 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-seconds", type=float, default=60.0)
    ap.add_argument("--problems", default="poisson2d,poisson2d_kan_paper,poisson3d")
    ap.add_argument("--scales", default="1,4", help="collocation point multipliers")
    ap.add_argument("--out", default="results/gpu.json")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 1
    info = {
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(), "machine": platform.machine(),
    }
    print(json.dumps(info))
    ident = identities(torch.device("cuda"))
    print("identities on cuda:", json.dumps(ident))
    rows = []
    print("| problem | points | device | rel L2 | wall (s) | steps | ms/step |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name in args.problems.split(","):
        for scale in [int(s) for s in args.scales.split(",")]:
            for device in ("cpu", "cuda"):
                t0 = time.perf_counter()
                row = solve_row(ROOT / "problems" / f"{name}.py", device, args.budget_seconds, scale)
                row["total_s"] = time.perf_counter() - t0
                rows.append(row)
                print(f"| {row['problem']} | {row['n_interior']} | {device} | {row['rel_l2']:.2e} | "
                      f"{row['wall_s']:.1f} | {row['steps']} | {1e3 * row['s_per_step']:.1f} |", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"info": info, "identities": ident, "solves": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
