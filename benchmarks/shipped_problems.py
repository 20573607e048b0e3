"""Benchmark: every shipped problem with the package defaults, KAN-PINN and MLP-PINN.

    python benchmarks/shipped_problems.py [--budget-seconds 60] [--models kan,mlp] [--problems a.py,b.py]
                                          [--jobs N] [--out results.json]

Each run uses the defaults of ``pinnkan solve`` (seed 0), capped at the given wall-clock budget.
Prints a Markdown table: problem, model, parameters, worst relative L2 error over the fields,
max abs error, wall time, steps (and learned parameters for inverse problems). The table in
problems/README.md comes from this script.

``--jobs N`` runs N (problem, model) pairs at a time, each in its own process with one torch
thread, pinned to its own CPU core where ``os.sched_setaffinity`` exists: on a machine with at
least N free cores every run sees what a one-thread run on an idle machine sees.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


VARIANTS = {
    "default": {},
    "rad": {"adaptive_sampling": "rad"},
    "balance": {"balance": "grad"},
    "rad+balance": {"adaptive_sampling": "rad", "balance": "grad"},
    "boundary-eq": {"equations_on_boundary": True},
}


def run_one(path: str, model: str, budget: float, variant: str = "default") -> dict:
    import pinnkan as pk

    problem = pk.load_problem(path)
    r = pk.solve(problem, model=model, budget_seconds=budget, **VARIANTS[variant])
    m = r.metrics
    return {
        "problem": problem.name, "model": model, "variant": variant,
        "architecture": m["architecture"], "params": m["n_params"],
        "rel_l2": max(m["rel_l2"].values()) if m.get("rel_l2") else float("nan"),
        "max_abs": max(m["max_abs_error"].values()) if m.get("max_abs_error") else float("nan"),
        "wall_s": m["wall_time_s"], "steps": m["steps"], "parameters": m.get("parameters", {}),
    }


def row(r: dict) -> str:
    extra = "".join(f", {k}={v:.4g}" for k, v in r.get("parameters", {}).items())
    tag = "" if r.get("variant", "default") == "default" else f" [{r['variant']}]"
    return (f"| {r['problem']} | {r['architecture']}{tag} | {r['params']} | {r['rel_l2']:.2e}{extra} | "
            f"{r['max_abs']:.2e} | {r['wall_s']:.1f} | {r['steps']} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-seconds", type=float, default=60.0)
    ap.add_argument("--models", default="kan,mlp")
    ap.add_argument("--problems", default=None, help="comma-separated problem files (default: all shipped)")
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time, one process and one core each")
    ap.add_argument("--out", default=None, help="also write the rows as JSON here")
    ap.add_argument("--variants", default="default",
                    help=f"comma-separated option sets to run for each model: {', '.join(VARIANTS)}")
    ap.add_argument("--one", nargs=3, metavar=("FILE", "MODEL", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.budget_seconds, args.one[2])))
        return 0
    files = args.problems.split(",") if args.problems else sorted(str(p) for p in (ROOT / "problems").glob("*.py"))
    pairs = [(f, m, v) for f in files for m in args.models.split(",") for v in args.variants.split(",")]
    threads = 1 if args.jobs > 1 else torch.get_num_threads()
    print(f"machine: {platform.machine()} ({os.cpu_count()} cores), torch {torch.__version__}; budget "
          f"{args.budget_seconds:g} s per run, {args.jobs} run(s) at a time, {threads} torch thread(s) each\n")
    header = ("| problem | model | params | rel L2 (worst field) | max abs error | time (s) | steps |\n"
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    if args.jobs <= 1:
        print(header)
        for f, m, v in pairs:
            rows.append(run_one(f, m, args.budget_seconds, v))
            print(row(rows[-1]), flush=True)
    else:
        rows = _parallel(pairs, args.budget_seconds, args.jobs)
        print(header)
        for r in rows:
            print(row(r) if "error" not in r else f"| {r['problem']} | {r['model']} | error: {r['error']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


def _parallel(pairs, budget: float, jobs: int) -> list[dict]:
    """Run each (file, model, variant) in its own process with :func:`parallel.run_all`
    (one core and one thread each); a run that prints no JSON row becomes an error row."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from parallel import run_all

    commands = [shlex.join([sys.executable, __file__, "--budget-seconds", str(budget), "--one", f, m, v])
                for f, m, v in pairs]
    rows = []
    for (f, m, _), (_, _, last) in zip(pairs, run_all(commands, jobs)):
        try:
            rows.append(json.loads(last))
        except json.JSONDecodeError:
            rows.append({"problem": Path(f).stem, "model": m, "error": last})
    return rows


if __name__ == "__main__":
    sys.exit(main())
