"""Strong and weak scaling of data-parallel training (pinnkan.training.distributed).

    python benchmarks/scaling.py [--problem problems/poisson2d.py] [--ranks 1,2] [--strong 65536]
                                 [--weak 16384,32768] [--phases adam,lm] [--steps 10] [--device cpu]
                                 [--out results/scaling.json]

For each number of ranks W (``--ranks``; on ``--device cuda`` at most the GPUs present, one per
rank, NCCL; on the CPU gloo, one torch thread per rank) W processes train the default network
of the problem (on its last grid) on

- strong scaling: N = ``--strong`` interior points in all (each rank N / W),
- weak scaling: n = each of ``--weak`` interior points per rank (N = n W),

with N / 8 points per boundary condition, and time ``--steps`` steps of each phase (``adam``:
one loss, gradient and gradient all-reduce per step; ``lm``: one Levenberg-Marquardt iteration,
its Gram matrix J^T J (P x P) all-reduced; ``lbfgs``: one L-BFGS iteration) after one warm-up
step. Reported: seconds per step (rank 0, between barriers), the efficiency

    strong: E(W) = T(1) / (W T(W)),        weak: E(W) = T(1, n) / T(W, n),

and the time of the all-reduces alone (P numbers for Adam, P^2 + P for Levenberg-Marquardt),
which is what a rank waits for instead of computing. Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trainer(problem_path: str, n_interior: int, device: torch.device):
    """A trainer of the problem's default network on n_interior interior points in all (this
    rank's share of them once a process group is set up)."""
    from pinnkan.derivatives.engines import get_engine
    from pinnkan.geometry.sampling import CollocationSampler
    from pinnkan.networks.factory import attach_parameters
    from pinnkan.problem.compile import compile_problem
    from pinnkan.problem.loading import load_problem
    from pinnkan.solver import SolveOptions, build_model
    from pinnkan.training.trainer import Trainer

    problem = load_problem(problem_path)
    o = SolveOptions(n_interior=n_interior, n_boundary=max(1, n_interior // 8), log_every=10**9, balance="none",
                     device=str(device)).complete(problem.domain.dim, len(problem.fields))
    o.levels = None  # the network of the last level (the largest P of a default run)
    compiled = compile_problem(problem)
    torch.manual_seed(0)
    net = build_model(o, problem.domain.bounds, torch.float64, device)
    attach_parameters(net, compiled.parameters, torch.float64, device)
    sampling, schedule = o.specs()
    return Trainer(compiled, net, get_engine(o.engine), CollocationSampler(problem.domain, seed=0), schedule,
                   sampling)


def _timed(fn, repeat: int) -> float:
    """Seconds per call of fn() over ``repeat`` calls, between barriers (the slowest rank sets it)."""
    from pinnkan.training.distributed import barrier

    barrier()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    barrier()
    return (time.perf_counter() - t0) / repeat


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(problem_path: str, n_interior: int, phases: list[str], steps: int, device: torch.device) -> dict:
    """Seconds per step of each phase and of the all-reduces alone, on this rank."""
    from pinnkan.training import distributed
    from pinnkan.training.levenberg import LevenbergMarquardt

    trainer = _trainer(problem_path, n_interior, device)
    n_params = sum(p.numel() for p in trainer.model.parameters())
    out = {"n_params": n_params, "points_per_rank": sum(tp.n_residuals for tp in trainer.data)}
    for phase in phases:
        if phase == "adam":
            opt = torch.optim.Adam(trainer.model.parameters(), lr=1e-3)

            def step():
                opt.zero_grad(set_to_none=True)
                loss, parts = trainer.loss()
                trainer.values(loss, parts)
                loss.backward()
                distributed.all_reduce_gradients(trainer.model.parameters())
                opt.step()
                _sync(device)
        elif phase == "lm":
            lm = LevenbergMarquardt(max_tries=1)

            def step():
                lm.step(trainer.model, trainer.compiled, trainer.data, trainer.weights)
                _sync(device)
        elif phase == "lbfgs":
            def step():
                trainer.lbfgs(1)
                _sync(device)
        else:
            raise SystemExit(f"unknown phase {phase!r}; use adam, lm or lbfgs")
        step()  # warm-up
        out[phase] = _timed(step, steps)
    vec = torch.zeros(n_params, dtype=torch.float64, device=device)
    gram = torch.zeros(n_params * n_params + n_params, dtype=torch.float64, device=device)
    out["allreduce_P"] = _timed(lambda: (distributed.all_reduce_sum(vec), _sync(device)), 20)
    out["allreduce_P2"] = _timed(lambda: (distributed.all_reduce_sum(gram), _sync(device)), 5)
    return out


def _worker(rank: int, world: int, port: int, args: dict, result: str) -> None:
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    from pinnkan.training import distributed

    device = distributed.rank_device(torch.device(args["device"]))
    distributed.setup(device)
    try:
        out = measure(args["problem"], args["n_total"], args["phases"], args["steps"], device)
        if rank == 0:
            Path(result).write_text(json.dumps(out))
    finally:
        distributed.teardown()


def run(world: int, n_total: int, args, tmp: Path) -> dict:
    """One measurement with ``world`` ranks on n_total interior points in all."""
    result = tmp / f"w{world}-n{n_total}.json"
    spec = {"problem": args.problem, "n_total": n_total, "phases": args.phases, "steps": args.steps,
            "device": args.device}
    mp.start_processes(_worker, args=(world, _free_port(), spec, str(result)), nprocs=world, join=True,
                       start_method="spawn")
    return json.loads(result.read_text())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problem", default=str(ROOT / "problems" / "poisson2d.py"))
    ap.add_argument("--ranks", default=None, help="comma-separated rank counts (default 1,2 on the CPU, "
                                                  "1..all GPUs on cuda)")
    ap.add_argument("--strong", type=int, default=2**16, help="interior points in all, strong scaling (0: skip)")
    ap.add_argument("--weak", default=f"{2**14},{2**15}", help="interior points per rank, weak scaling ('': skip)")
    ap.add_argument("--phases", default="adam,lm", help="adam, lm, lbfgs (comma-separated)")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per phase (after one warm-up step)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--out", default=None, help="JSON file for the results")
    args = ap.parse_args(argv)
    args.phases = [p for p in args.phases.split(",") if p]
    gpus = torch.cuda.device_count() if args.device == "cuda" else 0
    if args.device == "cuda" and gpus == 0:
        raise SystemExit("--device cuda: torch finds no GPU here")
    if args.ranks:
        ranks = [int(r) for r in args.ranks.split(",")]
    else:
        ranks = list(range(1, min(gpus, 8) + 1)) if gpus else [1, 2]
    weak = [int(n) for n in args.weak.split(",") if n]
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"pinnkan-scaling-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    rows = []
    settings = ([("strong", args.strong)] if args.strong else []) + [("weak", n) for n in weak]
    for kind, n in settings:
        base = None
        for w in ranks:
            total = n if kind == "strong" else n * w
            m = run(w, total, args, tmp)
            base = base or (m, w)
            row = {"scaling": kind, "points": n, "ranks": w, "n_total": total, **m}
            for phase in args.phases:
                t1 = base[0][phase] * (base[1] if kind == "strong" else 1)  # one rank's time, from the first row
                row[f"{phase}_efficiency"] = t1 / (w * m[phase]) if kind == "strong" else t1 / m[phase]
            rows.append(row)
            print(json.dumps(row), flush=True)
    head = ["scaling", "points", "ranks", "n_params"] + [c for p in args.phases for c in (p, f"{p}_efficiency")] \
        + ["allreduce_P", "allreduce_P2"]
    print("\n| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for r in rows:
        cells = [f"{r[h]:.4g}" if isinstance(r[h], float) else str(r[h]) for h in head]
        print("| " + " | ".join(cells) + " |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                              "torch": torch.__version__, "device": args.device,
                                              "problem": args.problem, "steps": args.steps, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
