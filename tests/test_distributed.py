"""Data-parallel training (pinnkan.training.distributed): the shares of the points tile the
one-process set, the shares' losses, gradients and Gauss-Newton systems add up to the
one-process ones, and two gloo processes train exactly as one process does (to 1e-10 in float64)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pinnkan.derivatives.engines import get_engine
from pinnkan.evaluation.residuals import mean_square, total_loss
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.factory import attach_parameters
from pinnkan.problem.compile import compile_problem
from pinnkan.problem.loading import load_problem
from pinnkan.solver import SolveOptions, build_model, solve
from pinnkan.training import distributed
from pinnkan.training.gauss_newton import MatrixFreeLevenbergMarquardt
from pinnkan.training.launch import exit_status, without_nproc
from pinnkan.training.levenberg import LevenbergMarquardt, flat_parameters, gram, residual_and_jacobian
from pinnkan.training.trainer import Trainer
from helpers import poisson1d, run_main

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ROOT / "problems"


def _trainer(name: str, **options) -> Trainer:
    """A trainer of problems/<name>.py with small options (seed 0), its points drawn (and shared
    out when a process group is set up)."""
    problem = load_problem(PROBLEMS / f"{name}.py")
    o = SolveOptions(**{"n_interior": 40, "n_boundary": 9, "grid": 4, "widths": None, **options}).complete(
        problem.domain.dim, len(problem.fields))
    compiled = compile_problem(problem)
    torch.manual_seed(0)
    net = build_model(o, problem.domain.bounds, torch.float64, torch.device("cpu"))
    attach_parameters(net, compiled.parameters, torch.float64, torch.device("cpu"))
    sampling, schedule = o.specs()
    validation = torch.as_tensor(problem.domain.evaluation_points(64), dtype=torch.float64)
    return Trainer(compiled, net, get_engine("autograd"), CollocationSampler(problem.domain, seed=0),
                   schedule, sampling, validation)


# ---------------------------------------------------------------------------------- shares, in one process

def test_blocks_tile_the_rows_in_rank_order():
    for n in (0, 1, 2, 7, 64, 1001):
        for w in (1, 2, 3, 8):
            blocks = [distributed.block(n, r, w) for r in range(w)]
            assert blocks[0][0] == 0 and blocks[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
            assert max(hi - lo for lo, hi in blocks) - min(hi - lo for lo, hi in blocks) <= 1


@pytest.mark.parametrize("name", ["allen_cahn1d", "inverse_heat1d", "poisson2d"])
def test_the_shares_of_every_term_make_up_the_whole_set(name):
    """Periodic pairs, initial, data and boundary points with normals: the shares of 3 ranks put
    back together (each share's rows in order, pairs split into their halves) are the whole set."""
    whole = _trainer(name).data
    w = 3
    shares = [[distributed.shard(tp, r, w) for tp in whole] for r in range(w)]
    for t, tp in enumerate(whole):
        parts = [s[t] for s in shares]
        assert all(p.n_whole == tp.n_residuals for p in parts)
        assert sum(p.n_residuals for p in parts) == tp.n_residuals
        if tp.term.paired:
            lo = torch.cat([p.points[:p.n_residuals] for p in parts])
            hi = torch.cat([p.points[p.n_residuals:] for p in parts])
            assert torch.equal(torch.cat([lo, hi]), tp.points)
        else:
            assert torch.equal(torch.cat([p.points for p in parts]), tp.points)
        for attr in ("normals", "observed"):
            if getattr(tp, attr) is not None:
                assert torch.equal(torch.cat([getattr(p, attr) for p in parts]), getattr(tp, attr))
    with pytest.raises(ValueError, match="whole point set"):
        distributed.shard(shares[0][0], 0, 2)


@pytest.mark.parametrize("name", ["allen_cahn1d", "inverse_heat1d"])
def test_the_shares_losses_and_gauss_newton_systems_add_up_to_the_whole_sets(name):
    """sum_r L_r = L, sum_r R_r^T R_r = R^T R, sum_r J_r^T R_r = J^T R and sum_r J_r^T J_r = J^T J,
    in float64 to 1e-12 (the sums differ only in the order of additions)."""
    tr = _trainer(name)
    model, compiled, engine, whole = tr.model, tr.compiled, tr.engine, tr.data
    weights = {whole[-1].term.label: 3.0}
    w = 3
    shares = [[distributed.shard(tp, r, w) for tp in whole] for r in range(w)]
    loss, parts = total_loss(compiled, model, engine, whole, weights)
    pieces = [total_loss(compiled, model, engine, s, weights) for s in shares]
    assert float(sum(p[0].detach() for p in pieces)) == pytest.approx(float(loss.detach()), rel=1e-12, abs=0)
    for label in parts:
        assert float(sum(p[1][label].detach() for p in pieces)) == pytest.approx(float(parts[label].detach()), rel=1e-12,
                                                                                abs=1e-300)
    R, J = residual_and_jacobian(model, compiled, whole, weights)
    systems = [residual_and_jacobian(model, compiled, s, weights) for s in shares]
    H = gram(J).tril()
    assert float(sum(r @ r for r, _ in systems)) == pytest.approx(float(R @ R), rel=1e-12)
    assert float(R @ R) == pytest.approx(float(loss.detach()), rel=1e-12)
    g = sum(j.T @ r for r, j in systems)
    assert torch.allclose(g, J.T @ R, rtol=1e-12, atol=1e-14 * float(J.abs().max()) ** 2)
    Hs = sum(gram(j).tril() for _, j in systems)
    assert torch.allclose(Hs, H, rtol=1e-12, atol=1e-14 * float(H.abs().max()))


def test_mean_square_of_a_share_divides_by_the_whole_count():
    tp = _trainer("poisson2d").data[0]
    r2 = torch.arange(1.0, tp.n_residuals + 1, dtype=torch.float64)
    assert float(mean_square(tp, r2)) == float(r2.mean())
    share = distributed.shard(tp, 1, 4)
    lo, hi = distributed.block(tp.n_residuals, 1, 4)
    assert float(mean_square(share, r2[lo:hi])) == pytest.approx(float(r2[lo:hi].sum()) / tp.n_residuals, rel=1e-15)
    empty = distributed.shard(tp, 0, tp.n_residuals + 1)  # more ranks than points: an empty share
    assert empty.n_residuals == 0 and float(mean_square(empty, r2[:0])) == 0.0


def test_one_process_primitives_are_the_identity():
    assert not distributed.active() and distributed.world_size() == 1 and distributed.rank() == 0
    t = torch.tensor([1.0, 2.0])
    assert distributed.all_reduce_sum(t) is t
    assert distributed.any_rank(True) and not distributed.any_rank(False)
    assert distributed.sharded_map(lambda x: 2 * x, t).tolist() == [2.0, 4.0]
    data = _trainer("poisson2d").data
    assert distributed.shard_points(data) is data and distributed.unshard_points(data) is data
    assert distributed.global_values(torch.tensor(3.0), {"a": torch.tensor(1.5)}) == (3.0, {"a": 1.5})


def test_the_launcher_passes_on_the_command_without_nproc_and_reports_rank_zeros_status():
    argv = ["solve", "p.py", "--nproc", "4", "--steps", "5", "--nproc=2", "--quiet"]
    assert without_nproc(argv) == ["solve", "p.py", "--steps", "5", "--quiet"]

    class Failure:
        def __init__(self, code):
            self.exitcode = code

    assert exit_status({1: Failure(2), 0: Failure(3)}) == 3
    assert exit_status({2: Failure(1), 1: Failure(-15)}) == 143  # killed by SIGTERM
    assert exit_status({}) == 1


def test_nproc_under_a_launcher_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = run_main(["solve", str(PROBLEMS / "poisson2d.py"), "--nproc", "2"])
    assert code == 2 and "leave --nproc out under torchrun" in err


# ---------------------------------------------------------------------------------- two gloo processes

def _primitives() -> dict:
    """Loss, mean squares and gradient at the start, one dense and one matrix-free
    Levenberg-Marquardt step, and the whole point sets a checkpoint holds, for a periodic +
    initial problem and an inverse one with data."""
    out = {}
    for name in ("allen_cahn1d", "inverse_heat1d"):
        tr = _trainer(name)
        loss, parts = tr.loss()
        value, parts = tr.values(loss, parts)
        loss.backward()
        distributed.all_reduce_gradients(tr.model.parameters())
        grad = torch.cat([p.grad.reshape(-1) for p in tr.model.parameters()])
        lm = LevenbergMarquardt()
        after, accepted = lm.step(tr.model, tr.compiled, tr.data, tr.weights)
        state = tr.state()
        # the same start, a matrix-free step (CG on J^T J v products), CG run to convergence: a
        # truncated CG's iterate changes with the last bits of the products (in one process too)
        free = _trainer(name)
        cg = MatrixFreeLevenbergMarquardt(cg_rtol=1e-12, cg_max_iter=2000)
        cg_after, cg_accepted = cg.step(free.model, free.compiled, free.data, free.weights)
        out[name] = {"loss": value, "parts": parts, "grad": grad, "lm_loss": after, "accepted": accepted,
                     "lm_params": flat_parameters(tr.model), "points": [d["points"] for d in state["data"]],
                     "cg_loss": cg_after, "cg_accepted": cg_accepted, "cg_params": flat_parameters(free.model)}
    return out


def _runs() -> dict:
    """Short solves: multilevel Adam + Levenberg-Marquardt with loss balancing; Adam with
    resampling, then L-BFGS with RAD at the level start, causal weights on a time-dependent problem."""
    lm = solve(poisson1d(), levels=[3, 6], adam_steps=12, lm_steps=8, n_interior=48, log_every=4, seed=3,
               engine="autograd")
    lbfgs = solve(load_problem(PROBLEMS / "heat1d.py"), grid=4, adam_steps=8, optimizer="lbfgs", lbfgs_steps=10,
                  n_interior=64, n_boundary=16, resample_every=3, adaptive_sampling="rad", causal="on",
                  log_every=5, seed=1, engine="autograd")
    out = {}
    for name, r in (("lm", lm), ("lbfgs", lbfgs)):
        out[name] = {"loss": r.history.loss, "terms": r.history.terms, "weights": r.history.weights,
                     "causal": r.history.causal, "params": flat_parameters(r.model),
                     "rel_l2": r.metrics["rel_l2"], "steps": r.metrics["steps"]}
    return out


CASES = {"primitives": _primitives, "runs": _runs}


def _worker(rank: int, world: int, init: str, out: str, cases: list[str]) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        results = {name: CASES[name]() for name in cases}
        results["ranks"] = distributed.world_size()
        if rank == 0:
            torch.save(results, out)
    finally:
        dist.destroy_process_group()


def _in_processes(tmp_path, cases: list[str], world: int = 2) -> dict:
    out = tmp_path / "rank0.pt"
    mp.start_processes(_worker, args=(world, f"file://{tmp_path / 'rendezvous'}", str(out), cases), nprocs=world,
                       join=True, start_method="fork")
    return torch.load(out, weights_only=False)


def _close(a, b, path="") -> None:
    """a == b to 1e-10 (relative; tensors in norm) through dicts, lists, tensors and numbers."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif torch.is_tensor(a):  # vectors: in norm, ||a - b|| <= 1e-10 ||b||
        assert a.shape == b.shape, path
        gap, size = float(torch.linalg.vector_norm(a - b)), float(torch.linalg.vector_norm(b))
        assert gap <= 1e-10 * size, (path, gap / size)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-10, abs=1e-300), path
    else:
        assert a == b, path


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_in_loss_gradient_lm_step_and_training(tmp_path):
    """Two ranks, each owning half of every term's points, against one process on all of them:
    loss, mean squares, gradient, a dense and a matrix-free Levenberg-Marquardt step, the
    checkpoint's whole point sets, and two short training runs (Adam + LM on two levels with
    loss balancing; Adam with resampling + L-BFGS with RAD and causal weights) agree to 1e-10 in
    float64."""
    one = {name: fn() for name, fn in CASES.items()}  # first: the forked ranks inherit its warm imports
    two = _in_processes(tmp_path, list(CASES))
    assert two.pop("ranks") == 2
    for name in ("allen_cahn1d", "inverse_heat1d"):
        for d in (one, two):
            assert d["primitives"][name]["accepted"] and d["primitives"][name]["cg_accepted"]
    assert len(one["runs"]["lm"]["weights"]) >= 2 and len(one["runs"]["lbfgs"]["causal"]) >= 5
    _close(one, two)


@pytest.mark.slow
def test_solve_nproc_2_trains_as_one_process_and_rank_zero_alone_prints_and_writes(tmp_path):
    """``pinnkan solve --nproc 2`` (torchrun's launcher, two gloo workers) ends where the
    one-process run ends, to 1e-10; one summary on stdout, one set of outputs, no checkpoint
    left behind, and every progress entry once."""
    run = [str(PROBLEMS / "poisson2d.py"), "--levels", "3,6", "--steps", "10,8", "--points", "96",
           "--boundary-points", "24", "--no-plots", "--quiet", "--seed", "2"]
    code, _, err = run_main(["solve", *run, "--out", tmp_path / "one"])
    assert code == 0, err
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pinnkan", "solve", *run, "--out", str(tmp_path / "two"),
                           "--nproc", "2"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("outputs:") == 1 and done.stdout.count("poisson2d: KAN") == 1, done.stdout
    one, two = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("one", "two"))
    assert two["ranks"] == 2 and "ranks" not in one and two["steps"] == one["steps"]
    assert two["final_loss"] == pytest.approx(one["final_loss"], rel=1e-10, abs=0)
    assert two["rel_l2"]["u"] == pytest.approx(one["rel_l2"]["u"], rel=1e-10, abs=0)
    entries = (tmp_path / "two" / "progress.jsonl").read_text().splitlines()
    assert len(entries) == len((tmp_path / "one" / "progress.jsonl").read_text().splitlines())
    assert not (tmp_path / "two" / "checkpoint.pt").exists()
