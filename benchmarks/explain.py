"""pinnkan explain on shipped problems: what formula is recovered, how close, how fast.

For each target problem: train a KAN (optionally with --sparsity), run explain with the problem
(prune, fine-tune, fit, refine the constants), and report the pruned widths, the formula, its
rel L2 error against the network and against the exact solution, and the wall time of explain.

    python benchmarks/explain.py                                   # the full run (minutes per problem)
    python benchmarks/explain.py --tiny --problems poisson2d       # a check that it works (seconds)

Writes one JSON line per problem to stdout and, with --out, the explain folders there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import pinnkan as pk

TARGETS = ["poisson2d", "heat1d", "poisson_disk", "poisson2d_kan_paper"]
ROOT = Path(__file__).resolve().parent.parent


def run(name: str, tiny: bool, sparsity: float, threshold: float, widths, out: Path | None) -> dict:
    problem = pk.load_problem(ROOT / "problems" / f"{name}.py")
    d = problem.domain.dim
    if tiny:
        train = dict(widths=[d, 3, 1], grid=5, adam_steps=20, lbfgs_steps=20, optimizer="lbfgs", n_interior=256,
                     n_boundary=64, n_eval=500)
        steps = dict(fine_tune_steps=5, refine_steps=5)
    else:
        train = dict(widths=[d, *widths, 1], budget_seconds=120.0)
        steps = dict(fine_tune_steps=200, refine_steps=200)
    t0 = time.perf_counter()
    result = pk.solve(problem, sparsity=sparsity, **train)
    trained = time.perf_counter() - t0
    t0 = time.perf_counter()
    e = result.explain(out_dir=None if out is None else out / name, threshold=threshold, **steps)
    explained = time.perf_counter() - t0
    fields = e.report["fields"]
    return {"problem": name, "train_s": round(trained, 1), "explain_s": round(explained, 1),
            "network_rel_l2": result.metrics.get("rel_l2"), "widths": e.report["widths"],
            "pruned_widths": e.report["pruned_widths"],
            "formula": {k: v["formula"] for k, v in fields.items()},
            "rel_l2_vs_network": {k: v["rel_l2_vs_network"] for k, v in fields.items()},
            "rel_l2_vs_exact": {k: v.get("rel_l2_vs_exact") for k, v in fields.items()}}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default=",".join(TARGETS), help="comma-separated problem names")
    ap.add_argument("--tiny", action="store_true", help="a few steps on a [d, 3, 1] KAN: a check that it works")
    ap.add_argument("--sparsity", type=float, default=0.0, help="--sparsity of the training")
    ap.add_argument("--threshold", type=float, default=1e-2, help="pruning threshold")
    ap.add_argument("--width", default="10", help="hidden widths, e.g. 10 or 5,5")
    ap.add_argument("--out", type=Path, help="folder for the explain outputs")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    widths = [int(w) for w in args.width.split(",")]
    for name in args.problems.split(","):
        print(json.dumps(run(name, args.tiny, args.sparsity, args.threshold, widths, args.out)), flush=True)


if __name__ == "__main__":
    main()
