"""Run many benchmark commands side by side, one CPU core and one torch thread each.

    python benchmarks/parallel.py COMMANDS.txt [--jobs N] [--out results.txt]

COMMANDS.txt holds one shell command per line (blank lines and lines starting with # are
skipped), e.g. ``pinnkan solve problems/poisson2d.py --budget-seconds 60 --quiet --out runs/a``.
Up to N commands run at a time (default: the number of cores this process may use), each pinned
to its own core with OMP_NUM_THREADS=1, so on an otherwise idle machine each sees what a
one-thread run alone would see. Prints, in input order, each command and the last line of its
standard output (the summary line of ``pinnkan solve``), and writes the same to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def run_all(commands: list[str], jobs: int) -> list[tuple[str, int, str]]:
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(jobs))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    pending, running, done = list(enumerate(commands)), {}, {}
    while pending or running:
        while pending and len(running) < jobs:
            i, cmd = pending.pop(0)
            busy = {core for core, _ in running.values()}
            core = next((c for c in cores if c not in busy), None)
            pin = core is not None and hasattr(os, "sched_setaffinity")
            p = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env=env, preexec_fn=(lambda c=core: os.sched_setaffinity(0, {c})) if pin else None)
            running[i] = (core, p)
        for i, (core, p) in list(running.items()):
            if p.poll() is not None:
                out = p.communicate()[0].strip().splitlines()
                summary = next((line for line in reversed(out) if line and not line.startswith("outputs:")), "")
                done[i] = (commands[i], p.returncode, summary)
                del running[i]
        time.sleep(0.2)
    return [done[i] for i in range(len(commands))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("commands")
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    lines = [ln.strip() for ln in Path(args.commands).read_text().splitlines()]
    commands = [ln for ln in lines if ln and not ln.startswith("#")]
    text = []
    for cmd, rc, summary in run_all(commands, args.jobs):
        text.append(f"$ {cmd}\n  [{rc}] {summary}")
        print(text[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
