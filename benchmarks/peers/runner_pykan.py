"""pykan with its own PDE training code, as in its PDE examples (Examples 6 and 7 of the pykan
tutorials, "Solving Partial Differential Equation (PDE)").

What is taken from the example, unchanged:

- ``KAN(width=[2, 10, 1], grid=5, k=3, seed=seed)`` in speed mode (``model.speed()``: symbolic
  branch and activation statistics off, as in Example 7), on ``device``;
- derivatives by ``torch.autograd.functional.jacobian`` of the batch sum (the example's
  ``batch_jacobian``): first derivatives, then the full Hessian as the Jacobian of those;
- loss ``alpha * mean(residual^2) + mean((u - u*)^2 on the boundary)`` with ``alpha = 0.01``;
- pykan's own optimizer ``kan.LBFGS(lr=1, history_size=10, line_search_fn="strong_wolfe",
  tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32)``;
- the loop: ``optimizer.step(closure)`` per outer step, ``model.update_grid_from_samples(x_i)``
  before outer steps 0, 5, 10, 15.

Changed for the benchmark: float64 (``torch.set_default_dtype``), the point counts (``n_interior``
uniformly random interior points, ``n_boundary`` evenly spaced points per condition instead of
the example's 21 x 21 / 51 x 51 mesh), no progress bar or per-step monitoring, and the number of
outer steps: the loop runs until ``budget_seconds`` is spent. The budget is checked between outer
steps, and one outer step is up to 20 L-BFGS iterations (kan.LBFGS's ``max_iter``), so the run can
overshoot the budget by up to one outer step; the measured wall time is reported as it is.

A "step" is one L-BFGS iteration (``n_iter`` of the optimizer state); it includes the loss and
gradient evaluations of its strong-Wolfe line search (``evals`` counts all of them) and, spread
over the run, the four grid updates.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TOOL = "pykan"
ALPHA = 0.01  # weight of the PDE loss in pykan's example


def run(problem_name, budget_seconds, seed, device, n_interior, n_boundary) -> dict:
    import torch
    from torch import autograd

    import kan
    from kan import KAN, LBFGS

    s = common.spec(problem_name)
    torch.set_default_dtype(torch.float64)
    dev = torch.device(device)
    ckpt = tempfile.mkdtemp(prefix="pykan-ckpt-")  # auto_save is off; nothing should be written
    model = KAN(width=[2, 10, 1], grid=5, k=3, seed=seed, device=dev, auto_save=False, ckpt_path=ckpt)
    model = model.speed()

    def batch_jacobian(func, x, create_graph=False):
        # x in shape (Batch, Length)
        def _func_sum(x):
            return func(x).sum(dim=0)
        return autograd.functional.jacobian(_func_sum, x, create_graph=create_graph).permute(1, 0, 2)

    as_t = lambda a: torch.as_tensor(a, dtype=torch.float64, device=dev)
    x_i = as_t(common.interior_points(s, n_interior, seed))
    x_b = as_t(np.concatenate(common.boundary_points(s, n_boundary)))
    bc_true = s.exact(torch, x_b)[:, None]

    optimizer = LBFGS(model.parameters(), lr=1, history_size=10, line_search_fn="strong_wolfe",
                      tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32)
    last = {}

    def closure():
        optimizer.zero_grad()
        sol_D1_fun = lambda x: batch_jacobian(model, x, create_graph=True)[:, 0, :]
        sol_D1 = sol_D1_fun(x_i)
        sol_D2 = batch_jacobian(sol_D1_fun, x_i, create_graph=True)[:, :, :]
        u = model(x_i)[:, 0] if s.uses_value else None  # only the Helmholtz residual needs u
        r = s.residual(x_i, u, sol_D1[:, 0], sol_D1[:, 1], sol_D2[:, 0, 0], sol_D2[:, 1, 1])
        pde_loss = torch.mean(r**2)
        bc_pred = model(x_b)
        bc_loss = torch.mean((bc_pred - bc_true) ** 2)
        loss = ALPHA * pde_loss + bc_loss
        loss.backward()
        last["pde"], last["bc"] = float(pde_loss.detach()), float(bc_loss.detach())
        return loss

    # one loss + gradient evaluation, on the initial model (outside the timed training)
    loss_grad_s = common.median_seconds(closure, 10, device)
    optimizer.zero_grad()

    clock = common.Clock(device)
    clock.reset()
    outer = 0
    while clock.elapsed() < budget_seconds:
        if outer % 5 == 0 and outer < 20:
            model.update_grid_from_samples(x_i)
        optimizer.step(closure)
        outer += 1
    wall = clock.elapsed()
    state = optimizer.state[optimizer._params[0]]
    steps, evals = int(state.get("n_iter", 0)), int(state.get("func_evals", 0))

    with torch.no_grad():
        pred = model(as_t(common.evaluation_grid(s)))[:, 0].cpu().numpy()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "tool": TOOL,
        "model": "KAN [2, 10, 1], grid 5, k 3 (pykan MultKAN, speed mode)",
        "optimizer": f"kan.LBFGS (history 10, strong Wolfe), {outer} outer steps of up to 20 iterations",
        "wall_s": wall,
        "steps": steps,
        "s_per_step": common.ratio(wall, steps),
        "evals": evals,
        "s_per_eval": common.ratio(wall, evals),
        "loss_grad_s": loss_grad_s,
        "outer_steps": outer,
        "rel_l2": common.rel_l2(s, pred),
        "params": int(params),
        "final_pde_loss": last.get("pde"),
        "final_bc_loss": last.get("bc"),
        "n_interior": int(x_i.shape[0]),
        "n_boundary": int(n_boundary),
        "n_boundary_total": int(x_b.shape[0]),
        "versions": {"pykan": getattr(kan, "__version__", None) or _dist_version("pykan")},
        "step_note": "one L-BFGS iteration, including its line-search evaluations",
    }


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None
