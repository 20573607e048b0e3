"""pinnkan against pykan and DeepXDE, side by side on the same machine.

    python benchmarks/peers/run_suite.py [--problems poisson2d,helmholtz2d,heat1d]
        [--tools pykan,deepxde,pinnkan-kan,pinnkan-mlp] [--budget-seconds 60] [--seed 0]
        [--device cpu|cuda] [--threads N] [--n-interior 2048] [--n-boundary 256]
        [--out benchmarks/peers/results]

Every (tool, problem) pair runs in a fresh Python process (benchmarks/peers/worker.py, with the
same interpreter as this script) with the same thread count (torch threads and
OMP_NUM_THREADS / MKL_NUM_THREADS = --threads), the same wall-clock budget, the same numbers of
collocation points (--n-interior inside, --n-boundary per boundary or initial condition) and the
same seed, and is scored on the same 100 x 100 grid (relative L2 error). A tool that fails or
is missing gives a row with its error; the suite goes on.

Writes results.json (every number, the machine, the versions), results.md (the tables) and
logs/<tool>-<problem>.log (each process's output) under --out, and prints the tables.

Install the peers with ``pip install -e ".[bench]"`` (see docs/performance.md); nothing is
installed at run time, so pykan and deepxde may also come from PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

TOOLS = ("pykan", "deepxde", "pinnkan-kan", "pinnkan-mlp")
PEER_OF = {"pinnkan-kan": ("pykan", "deepxde"), "pinnkan-mlp": ("deepxde",)}
# pairs whose loss+gradient timings are of the same network size on the same point counts
SAME_SIZE = {("pinnkan-kan", "pykan"), ("pinnkan-mlp", "deepxde")}
STEP_TARGET = 50.0   # pinnkan KAN's time per step at least 50x below pykan's
ERROR_TARGET = 100.0  # pinnkan's relative L2 error at least 100x below DeepXDE's


def default_threads() -> int:
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def run_one(tool, problem, args, out_dir: Path) -> dict:
    """Start the worker for (tool, problem) and return its row."""
    json_path = out_dir / "runs" / f"{tool}-{problem}.json"
    log_path = out_dir / "logs" / f"{tool}-{problem}.log"
    json_path.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE / "worker.py"), "--tool", tool, "--problem", problem,
           "--budget-seconds", str(args.budget_seconds), "--seed", str(args.seed), "--device", args.device,
           "--n-interior", str(args.n_interior), "--n-boundary", str(args.n_boundary),
           "--threads", str(args.threads), "--json", str(json_path)]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)
    env.setdefault("MPLBACKEND", "Agg")
    env["DDE_BACKEND"] = "pytorch"
    timeout = args.timeout if args.timeout else 4 * args.budget_seconds + 600
    t0 = time.perf_counter()
    try:
        with open(log_path, "w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(common.ROOT),
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        return {"tool": tool, "problem": problem, "error": f"timed out after {timeout:.0f} s (see {log_path})"}
    if json_path.exists():
        row = json.loads(json_path.read_text())
    else:
        tail = log_path.read_text()[-1500:] if log_path.exists() else ""
        row = {"tool": tool, "error": f"worker exited with status {code} and wrote no result: {tail.strip()[-300:]}"}
    row["problem"] = problem
    row["process_wall_s"] = time.perf_counter() - t0
    return row


# --------------------------------------------------------------------------- tables
def _g(v, fmt):
    return "—" if v is None else format(v, fmt)


def _ms(v):
    return "—" if v is None else f"{1000 * v:.3g}"


def results_table(rows) -> str:
    lines = ["| problem | tool | model | params | wall (s) | steps | time/step (ms) | loss+grad (ms) | rel L2 |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if r.get("error") or r.get("skipped"):
            what = "error: " + r["error"] if r.get("error") else "skipped: " + r["skipped"]
            lines.append(f"| {r['problem']} | {r['tool']} | {what.replace('|', '/')[:160]} | | | | | | |")
            continue
        lines.append(f"| {r['problem']} | {r['tool']} | {r.get('model', '')} | {r.get('params', '')} | "
                     f"{_g(r.get('wall_s'), '.1f')} | {r.get('steps', '')} | {_ms(r.get('s_per_step'))} | "
                     f"{_ms(r.get('loss_grad_s'))} | {_g(r.get('rel_l2'), '.2e')} |")
    return "\n".join(lines)


def _ok(r):
    return r is not None and not r.get("error") and not r.get("skipped")


def ratios(rows) -> list[dict]:
    """pinnkan / peer for every problem where both ran."""
    by = {(r["problem"], r["tool"]): r for r in rows}
    out = []
    for problem in dict.fromkeys(r["problem"] for r in rows):
        for mine, peers in PEER_OF.items():
            for peer in peers:
                a, b = by.get((problem, mine)), by.get((problem, peer))
                if not (_ok(a) and _ok(b)):
                    continue
                out.append({
                    "problem": problem, "pinnkan": mine, "peer": peer,
                    "time_per_step": common.ratio(a.get("s_per_step"), b.get("s_per_step")),
                    "loss_grad": (common.ratio(a.get("loss_grad_s"), b.get("loss_grad_s"))
                                  if (mine, peer) in SAME_SIZE else None),
                    "rel_l2": common.ratio(a.get("rel_l2"), b.get("rel_l2")),
                    "wall": common.ratio(a.get("wall_s"), b.get("wall_s")),
                })
    return out


def ratios_table(rs) -> str:
    lines = ["| problem | pinnkan | peer | time/step | loss+grad (same size) | rel L2 | wall time |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for q in rs:
        lines.append(f"| {q['problem']} | {q['pinnkan']} | {q['peer']} | {_g(q['time_per_step'], '.3g')} | "
                     f"{_g(q['loss_grad'], '.3g')} | {_g(q['rel_l2'], '.3g')} | {_g(q['wall'], '.3g')} |")
    return "\n".join(lines)


def targets(rs) -> list[str]:
    """The two targets, met or missed, with the numbers."""
    out = []
    for q in rs:
        if q["pinnkan"] != "pinnkan-kan":
            continue
        if q["peer"] == "pykan":
            for key, what in (("loss_grad", "loss+gradient evaluation, same KAN [2,10,1] grid 5 and points"),
                              ("time_per_step", "time per optimizer step over the whole run")):
                v = q[key]
                if v is None:
                    continue
                verdict = "met" if 1 / v >= STEP_TARGET else "MISSED"
                out.append(f"{q['problem']}: pinnkan KAN vs pykan, {what}: {1 / v:.3g}x faster "
                           f"(target {STEP_TARGET:g}x): {verdict}")
        if q["peer"] == "deepxde" and q["rel_l2"] is not None and q["problem"] != "heat1d":
            v = q["rel_l2"]
            verdict = "met" if 1 / v >= ERROR_TARGET else "MISSED"
            out.append(f"{q['problem']}: pinnkan KAN vs DeepXDE MLP, relative L2 error at the same budget: "
                       f"{1 / v:.3g}x lower (wall {q['wall']:.2f} of DeepXDE's; target {ERROR_TARGET:g}x): {verdict}")
    return out


def versions(rows) -> dict:
    v = {}
    for r in rows:
        m = r.get("machine") or {}
        for key in ("python", "torch", "numpy"):
            if m.get(key):
                v[key] = m[key]
        v.update({k: x for k, x in (r.get("versions") or {}).items() if x})
    return v


def markdown(report) -> str:
    s = report["suite"]
    m = report["machine"]
    head = (f"machine: {m['cpu']} ({m['cpu_count']} CPUs){', GPU ' + m['gpu'] if m.get('gpu') else ''}; "
            f"device {s['device']}, {s['threads']} thread(s) per run; budget {s['budget_seconds']:g} s per run; "
            f"{s['n_interior']} interior + {s['n_boundary']} points per boundary/initial condition; seed {s['seed']}; "
            f"float64\n\nversions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    parts = [head, "", results_table(report["runs"]), "",
             "pinnkan / peer (below 1: pinnkan faster or more accurate):", "", ratios_table(report["ratios"])]
    if report["targets"]:
        parts += ["", "Targets:", ""] + [f"- {t}" for t in report["targets"]]
    notes = sorted({f"{r['tool']}: a step is {r['step_note']}" for r in report["runs"] if r.get("step_note")})
    if notes:
        parts += ["", "Steps:", ""] + [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", default=",".join(common.PROBLEM_NAMES))
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--budget-seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (cuda:N)")
    ap.add_argument("--threads", type=int, default=default_threads(),
                    help="torch threads and OMP_NUM_THREADS of every run (default: $OMP_NUM_THREADS, else 1)")
    ap.add_argument("--n-interior", type=int, default=2048)
    ap.add_argument("--n-boundary", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds before a run is killed (default 4 x budget + 600)")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)

    problems = [p.strip() for p in args.problems.split(",") if p.strip()]
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = [p for p in problems if p not in common.SPECS] + [t for t in tools if t not in TOOLS]
    if bad:
        ap.error(f"unknown problem(s) or tool(s): {', '.join(bad)}; problems: {', '.join(common.SPECS)}; "
                 f"tools: {', '.join(TOOLS)}")
    out_dir = Path(args.out)
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)

    report = {
        "suite": {"problems": problems, "tools": tools, "budget_seconds": args.budget_seconds, "seed": args.seed,
                  "device": args.device, "threads": args.threads, "n_interior": args.n_interior,
                  "n_boundary": args.n_boundary, "evaluation": f"{common.EVAL_N} x {common.EVAL_N} uniform grid",
                  "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "command": " ".join([Path(sys.executable).name, *sys.argv])},
        "machine": {"cpu": common.cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "executable": sys.executable},
        "runs": [], "ratios": [], "targets": [], "versions": {},
    }

    def write():
        report["ratios"] = ratios(report["runs"])
        report["targets"] = targets(report["ratios"])
        report["versions"] = versions(report["runs"])
        gpus = {r["machine"].get("gpu") for r in report["runs"] if r.get("machine", {}).get("gpu")}
        if gpus:
            report["machine"]["gpu"] = ", ".join(sorted(gpus))
        threads = sorted({r["machine"]["torch_threads"] for r in report["runs"] if r.get("machine")})
        report["machine"]["torch_threads_seen"] = threads
        texts = (("results.json", json.dumps(report, indent=2, default=str)), ("results.md", markdown(report)))
        for name, text in texts:
            tmp = out_dir / (name + ".tmp")
            tmp.write_text(text)
            os.replace(tmp, out_dir / name)

    print(f"peer suite: {len(problems)} problem(s) x {len(tools)} tool(s), {args.budget_seconds:g} s each, "
          f"{args.threads} thread(s), device {args.device}; results in {out_dir}", flush=True)
    for problem in problems:
        for tool in tools:
            print(f"  {tool:12s} {problem:12s} ...", end=" ", flush=True)
            row = run_one(tool, problem, args, out_dir)
            report["runs"].append(row)
            if row.get("error"):
                print(f"error: {row['error'][:200]}", flush=True)
            elif row.get("skipped"):
                print(f"skipped: {row['skipped']}", flush=True)
            else:
                print(f"rel L2 {row['rel_l2']:.2e}, {row['wall_s']:.1f} s, {row['steps']} steps", flush=True)
            write()
    write()
    print()
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
