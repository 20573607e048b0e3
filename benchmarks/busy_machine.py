"""Benchmark: a default run on an idle machine and beside a CPU hog, for thread settings.

    python benchmarks/busy_machine.py [--problem problems/poisson2d.py] [--threads default,1,2]
                                      [--hogs 1] [--extra "--steps 200,400"] [--out results.json]
    python benchmarks/busy_machine.py --suite   # the quick test tier instead of a solve

Each setting runs ``pinnkan solve PROBLEM`` (``--threads N``, or no flag for ``default``) as a
subprocess, first on the otherwise idle machine, then with ``--hogs`` busy-looping processes
beside it (a browser tab or another user's job on a shared node), and prints the wall times and
their ratio busy / idle. ``--suite`` times ``python -m pytest -q -m "not slow"`` the same way.
Results go to docs/performance.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _hog() -> None:
    while True:
        pass


def timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    lines = [line for line in p.stdout.splitlines() if line.strip()]
    return wall, (lines[-2] if len(lines) >= 2 else (lines[-1] if lines else ""))


def run(cmd: list[str], hogs: int) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["MPLBACKEND"] = "Agg"
    procs = [mp.Process(target=_hog, daemon=True) for _ in range(hogs)]
    for p in procs:
        p.start()
    try:
        time.sleep(0.5 if hogs else 0.0)
        return timed(cmd, env)
    finally:
        for p in procs:
            p.terminate()
            p.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problem", default="problems/poisson2d.py")
    ap.add_argument("--threads", default="default,1,2", help="comma-separated: default (no flag) or N")
    ap.add_argument("--hogs", type=int, default=1, help="busy-looping processes beside the run (default 1)")
    ap.add_argument("--extra", default="", help="more flags for pinnkan solve, e.g. '--steps 200,400'")
    ap.add_argument("--suite", action="store_true", help="time the quick test tier instead of a solve")
    ap.add_argument("--out", help="write the results as JSON")
    a = ap.parse_args()
    rows = []
    for setting in a.threads.split(","):
        if a.suite:
            cmd = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"]
        else:
            out = tempfile.mkdtemp(prefix="pinnkan-busy-")
            cmd = [sys.executable, "-m", "pinnkan", "solve", a.problem, "--quiet", "--no-plots", "--overwrite", "--out", out,
                   *shlex.split(a.extra)] + ([] if setting == "default" else ["--threads", setting])
        idle, said_idle = run(cmd, 0)
        busy, said_busy = run(cmd, a.hogs)
        rows.append({"threads": setting, "idle_s": idle, "busy_s": busy, "ratio": busy / idle,
                     "idle_summary": said_idle, "busy_summary": said_busy})
        print(f"threads {setting:>7}: idle {idle:7.1f} s   beside {a.hogs} hog(s) {busy:7.1f} s   "
              f"ratio {busy / idle:4.2f}", flush=True)
        if not a.suite:
            print(f"    idle: {said_idle}\n    busy: {said_busy}", flush=True)
    info = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.platform()}",
            "command": shlex.join(sys.argv), "hogs": a.hogs, "rows": rows}
    if a.out:
        Path(a.out).write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
