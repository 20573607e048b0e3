"""Benchmark: the hard problems of docs/benchmarks.md section 11, next to the published numbers.

    python benchmarks/hard_problems.py [--budget-seconds 600] [--jobs 2] [--only NAME,...] [--out rows.json]

Each row is one ``pinnkan solve`` run (seed 0) with the options listed in ``RUNS`` (``{}`` is the
package defaults), capped at the budget, one torch thread per run, ``--jobs`` runs at a time, each
pinned to its own core (benchmarks/parallel.py). The error is the worst field's relative L2 error;
for the cavity problems it is measured on the centre-line points of Ghia, Ghia & Shin (1982).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (problem file, options of pk.solve, the published number it is judged against)
RUNS = {
    "burgers1d": ("burgers1d.py", {}, "2.4e-2 (KAN, jaxKAN); 1e-5 and below (small MLP, quasi-Newton)"),
    "burgers1d-continuation": ("burgers1d_continuation.py", {}, "as burgers1d"),
    "burgers1d-windows4": ("burgers1d.py", {"time_windows": 4}, "as burgers1d"),
    "burgers1d-exact": ("burgers1d.py", {"hard_dirichlet": "on", "exact_initial": "on"}, "as burgers1d"),
    "burgers1d-mlp-lm": ("burgers1d.py", {"model": "mlp", "widths": [2, 20, 20, 20, 1], "optimizer": "lm",
                                          "n_interior": 4096, "adaptive_sampling": "rad"}, "as burgers1d"),
    "allen_cahn1d": ("allen_cahn1d.py", {}, "2.2e-5 (PirateNet); 5.4e-5 (jaxpi MLP)"),
    "allen_cahn1d-windows4": ("allen_cahn1d.py", {"time_windows": 4}, "as allen_cahn1d"),
    "wave1d": ("wave1d.py", {}, "target 1e-4"),
    "wave1d-windows2": ("wave1d.py", {"time_windows": 2}, "target 1e-4"),
    "kuramoto_sivashinsky1d": ("kuramoto_sivashinsky1d.py", {}, "1.6e-1 over t in [0, 1] (jaxpi, 10 windows)"),
    "gray_scott1d": ("gray_scott1d.py", {}, "none (pinnkan's own setup)"),
    "cavity_re100": ("cavity_re100.py", {}, "target: centre lines within 1 % of Ghia et al."),
    "cavity_re1000": ("cavity_re1000.py", {}, "4.2e-2 at Re 3200 (PirateNet)"),
    "poisson_holes": ("poisson_holes.py", {}, "none (manufactured)"),
}


def run_one(name: str, budget: float) -> dict:
    import pinnkan as pk

    path, options, published = RUNS[name]
    problem = pk.load_problem(str(ROOT / "problems" / path))
    r = pk.solve(problem, budget_seconds=budget, **options)
    m = r.metrics
    return {"name": name, "problem": problem.name, "options": options, "published": published,
            "architecture": m["architecture"], "params": m["n_params"],
            "rel_l2": max(m["rel_l2"].values()) if m.get("rel_l2") else float("nan"),
            "rel_l2_fields": m.get("rel_l2", {}), "wall_s": m["wall_time_s"], "steps": m["steps"],
            "stopped": m.get("stopped")}


def row(r: dict) -> str:
    opts = ", ".join(f"{k}={v}" for k, v in r["options"].items()) or "defaults"
    return f"| {r['name']} | {opts} | {r['rel_l2']:.2e} | {r['wall_s']:.0f} | {r['steps']} | {r['published']} |"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-seconds", type=float, default=600.0)
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, one process and one core each")
    ap.add_argument("--only", default=None, help=f"comma-separated names of {', '.join(RUNS)}")
    ap.add_argument("--out", default=None, help="also write the rows as JSON here")
    ap.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(run_one(args.one, args.budget_seconds)))
        return 0
    names = args.only.split(",") if args.only else list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        ap.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from parallel import run_all

    print(f"machine: {platform.machine()} ({os.cpu_count()} cores); budget {args.budget_seconds:g} s per run, "
          f"{args.jobs} run(s) at a time, one torch thread each\n")
    commands = [shlex.join([sys.executable, __file__, "--budget-seconds", str(args.budget_seconds), "--one", n])
                for n in names]
    rows = []
    for n, (_, _, last) in zip(names, run_all(commands, max(1, args.jobs))):
        try:
            rows.append(json.loads(last))
        except json.JSONDecodeError:
            rows.append({"name": n, "error": last})
    print("| run | options | rel L2 | time (s) | steps | published |\n| --- | --- | ---: | ---: | ---: | --- |")
    for r in rows:
        print(row(r) if "error" not in r else f"| {r['name']} | error: {r['error']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
