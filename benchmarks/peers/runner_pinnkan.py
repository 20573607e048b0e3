"""pinnkan, through its public API: ``pk.solve(pk.load_problem("problems/<name>.py"), ...)``.

Options: the package defaults for the model (KAN: [2, 10, 1], levels 5, 10, 20, 40, 200 Adam
steps, then Levenberg-Marquardt; MLP: [2, 50, 50, 50, 1] tanh, 500 Adam steps, then L-BFGS),
with ``budget_seconds``, ``seed``, ``device``, ``n_interior`` and ``n_boundary`` (per condition)
set, and, as ``pinnkan compare`` does with a budget, ``lbfgs_steps = lm_steps = 10**7`` so that
the budget (or the KAN's final loss plateau) ends the run rather than a step count.

A "step" is one optimizer iteration as counted by the trainer (``metrics["steps"]``): one Adam
step, one L-BFGS iteration (with its line-search evaluations), or one Levenberg-Marquardt
iteration (Jacobian, normal equations, trial steps). ``loss_grad_s`` is one loss + gradient
evaluation (autograd engine, the default), timed separately on the initial network of the same
size as the peer's (KAN [2, 10, 1] on grid 5, as pykan's; the MLP as DeepXDE's) with the same
point counts.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

if str(common.ROOT) not in sys.path:
    sys.path.insert(0, str(common.ROOT))


def problem_file(problem_name):
    return common.ROOT / "problems" / f"{problem_name}.py"


def _columns(problem, s):
    """Indices of the problem's coordinates that hold the suite's columns (x, y) or (x, t)."""
    names = [str(c) for c in problem.coordinates]
    want = ["x", "t"] if s.time_dependent else ["x", "y"]
    if sorted(names) != sorted(want):
        raise ValueError(f"problem coordinates {names} are not {want}")
    return [want.index(n) for n in names]


def _check_exact(problem, s, X):
    """The problem file's exact solution must be the suite's, on the evaluation grid."""
    import sympy as sp

    field = problem.fields[0]
    fn = sp.lambdify(problem.coordinates, problem.exact[field], "numpy")
    ours = s.exact(np, X)
    cols = _columns(problem, s)
    theirs = np.broadcast_to(np.asarray(fn(*[X[:, c] for c in cols]), dtype=float), ours.shape)
    gap = float(np.abs(theirs - ours).max())
    if gap > 1e-9:
        raise ValueError(f"{problem.source}: its exact solution differs from the suite's {s.name} "
                         f"(max difference {gap:.2e} on the evaluation grid)")
    return cols


def _loss_grad_seconds(problem, kind, seed, device, n_interior, n_boundary) -> float:
    """Median time of one loss + backward on the initial network of the peer's size."""
    import torch

    import pinnkan as pk
    from pinnkan.problem.compile import compile_problem
    from pinnkan.derivatives.engines import get_engine
    from pinnkan.geometry.sampling import CollocationSampler
    from pinnkan.evaluation.residuals import sample_points, total_loss

    dev = torch.device(device)
    compiled = compile_problem(problem)
    data = sample_points(compiled, CollocationSampler(problem.domain, seed=seed), n_interior, n_boundary,
                         torch.float64, dev)
    torch.manual_seed(seed)
    bounds = problem.domain.bounds
    if kind == "kan":
        net = pk.KAN([2, 10, 1], grid=5, degree=3, bounds=bounds)
    else:
        net = pk.MLP([2, 50, 50, 50, 1], bounds=bounds)
    net = net.to(dev)
    engine = get_engine("autograd")

    def step():
        net.zero_grad()
        loss, _ = total_loss(compiled, net, engine, data)
        loss.backward()

    return common.median_seconds(step, 10, device)


def run_model(kind, problem_name, budget_seconds, seed, device, n_interior, n_boundary) -> dict:
    tool = f"pinnkan-{kind}"
    path = problem_file(problem_name)
    if not path.exists():
        return {"tool": tool, "skipped": f"{path.relative_to(common.ROOT)} does not exist (yet)"}
    import pinnkan as pk

    s = common.spec(problem_name)
    problem = pk.load_problem(path)
    X = common.evaluation_grid(s)
    cols = _check_exact(problem, s, X)

    loss_grad_s = _loss_grad_seconds(problem, kind, seed, device, n_interior, n_boundary)
    result = pk.solve(problem, model=kind, budget_seconds=budget_seconds, seed=seed, device=device,
                      n_interior=n_interior, n_boundary=n_boundary, lbfgs_steps=10**7, lm_steps=10**7)
    m = result.metrics
    wall, steps = float(m["wall_time_s"]), int(m["steps"])
    h = result.history
    adam = [i for i, p in enumerate(h.phase) if p == "adam"]
    adam_steps = h.step[adam[-1]] if adam else 0
    adam_time = h.time[adam[-1]] if adam else 0.0
    second = result.options.optimizer
    pred = result.predict(X[:, cols])[:, 0]
    out = {
        "tool": tool,
        "model": m["architecture"],
        "optimizer": f"Adam ({adam_steps} steps), then {second} ({steps - adam_steps} iterations)",
        "wall_s": wall,
        "steps": steps,
        "s_per_step": common.ratio(wall, steps),
        "loss_grad_s": loss_grad_s,
        "adam_steps": adam_steps,
        "adam_s_per_step": common.ratio(adam_time, adam_steps),
        "second_optimizer": second,
        "second_steps": steps - adam_steps,
        "second_s_per_step": common.ratio(wall - adam_time, steps - adam_steps),
        "rel_l2": common.rel_l2(s, pred),
        "rel_l2_pinnkan_metrics": m.get("rel_l2"),
        "params": int(m["n_params"]),
        "stopped": m.get("stopped"),
        "n_interior": int(n_interior),
        "n_boundary": int(n_boundary),
        "versions": {"pinnkan": pk.__version__},
        "step_note": "one Adam step, L-BFGS iteration or Levenberg-Marquardt iteration",
    }
    if m.get("levels"):
        out["levels"] = [{"grid": lv["grid"], "time_s": lv["time_s"], "rel_l2": lv["rel_l2"]} for lv in m["levels"]]
    return out
