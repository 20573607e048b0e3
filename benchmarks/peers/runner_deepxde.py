"""DeepXDE (pytorch backend, float64): MLP [2, 50, 50, 50, 1], tanh, Glorot normal, Adam then L-BFGS.

Set up as in DeepXDE's Poisson and heat examples: ``dde.geometry.Rectangle`` (heat1d:
``GeometryXTime(Interval, TimeDomain)``), ``dde.icbc.DirichletBC`` with the exact solution as
boundary value (heat1d: plus ``dde.icbc.IC``), ``dde.data.PDE`` (heat1d: ``dde.data.TimePDE``)
with ``num_domain = n_interior``, ``num_boundary = n_boundary`` (and ``num_initial =
n_boundary``), DeepXDE's default point distribution, loss weights all 1.

The time budget: Adam (learning rate 1e-3) runs until half of ``budget_seconds`` is spent, then
L-BFGS (DeepXDE's defaults: history 100, strong Wolfe, gtol 1e-8) until the whole budget is spent
(or until it converges). Both phases are stopped by a callback that sets ``model.stop_training``
once the time is out; DeepXDE checks it after every Adam iteration and after every chunk of L-BFGS
iterations. Its default chunk is 1000 iterations; here it is set to 50 (``LBFGS_options
["iter_per_step"]``) so that the budget is kept to within 50 iterations. torch's L-BFGS keeps its
state across chunks, so the only effect of chunking is one extra loss evaluation per chunk.

A "step" is one Adam iteration or one L-BFGS iteration (with its line-search evaluations).
``loss_grad_s`` is the median wall time of one Adam iteration (loss, gradient and the Adam
update, which is negligible next to them), measured during the run.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

TOOL = "deepxde"
ADAM_FRACTION = 0.5
LBFGS_CHUNK = 50


def run(problem_name, budget_seconds, seed, device, n_interior, n_boundary) -> dict:
    os.environ["DDE_BACKEND"] = "pytorch"
    if not str(device).startswith("cuda"):
        # DeepXDE's pytorch backend moves everything to the GPU whenever torch sees one
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import deepxde as dde

    if dde.backend.backend_name != "pytorch":
        raise RuntimeError(f"DeepXDE runs with backend {dde.backend.backend_name}, not pytorch")
    dde.config.set_default_float("float64")
    dde.config.set_random_seed(seed)
    s = common.spec(problem_name)
    exact_np = lambda X: s.exact(np, X)[:, None]

    def pde(x, y):
        # jacobian(ys, xs, i=output, j=input); hessian(ys, xs, component=output, i=input, j=input)
        u_a = dde.grad.jacobian(y, x, i=0, j=0)
        u_b = dde.grad.jacobian(y, x, i=0, j=1)
        u_aa = dde.grad.hessian(y, x, component=0, i=0, j=0)
        u_bb = None if s.time_dependent else dde.grad.hessian(y, x, component=0, i=1, j=1)
        r = s.residual(x, y[:, 0], u_a[:, 0], u_b[:, 0], u_aa[:, 0], None if u_bb is None else u_bb[:, 0])
        return r[:, None]

    if s.time_dependent:
        geom = dde.geometry.Interval(s.lo[0], s.hi[0])
        timedomain = dde.geometry.TimeDomain(s.lo[1], s.hi[1])
        geomtime = dde.geometry.GeometryXTime(geom, timedomain)
        bc = dde.icbc.DirichletBC(geomtime, exact_np, lambda _, on_boundary: on_boundary)
        ic = dde.icbc.IC(geomtime, exact_np, lambda _, on_initial: on_initial)
        data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=n_interior, num_boundary=n_boundary,
                                num_initial=n_boundary)
    else:
        geom = dde.geometry.Rectangle(list(s.lo), list(s.hi))
        bc = dde.icbc.DirichletBC(geom, exact_np, lambda _, on_boundary: on_boundary)
        data = dde.data.PDE(geom, pde, bc, num_domain=n_interior, num_boundary=n_boundary)

    net = dde.nn.FNN([2] + [50] * 3 + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)

    class TimeLimit(dde.callbacks.Callback):
        def __init__(self, clock, limit):
            super().__init__()
            self.clock, self.limit = clock, limit

        def on_epoch_end(self):
            if self.clock.elapsed() >= self.limit:
                self.model.stop_training = True

    class IterationTimes(dde.callbacks.Callback):
        """Wall time of each Adam iteration (loss, gradient and update), for ``loss_grad_s``."""

        def __init__(self, clock):
            super().__init__()
            self.clock, self.times, self.t = clock, [], None

        def on_batch_begin(self):
            self.t = self.clock.elapsed()

        def on_batch_end(self):
            self.times.append(self.clock.elapsed() - self.t)

    model.compile("adam", lr=1e-3)  # builds the network's graph functions: setup, not timed
    clock = common.Clock(device)
    clock.reset()
    adam_times = IterationTimes(clock)
    model.train(iterations=10**9, display_every=1000, verbose=0,
                callbacks=[adam_times, TimeLimit(clock, ADAM_FRACTION * budget_seconds)])
    adam_steps = model.train_state.step
    adam_s = clock.elapsed()
    dde.optimizers.config.set_LBFGS_options(maxiter=10**9)
    opts = dde.optimizers.config.LBFGS_options
    opts["iter_per_step"] = LBFGS_CHUNK
    opts["fun_per_step"] = int(LBFGS_CHUNK * 1.25)
    model.compile("L-BFGS")
    model.train(display_every=1000, verbose=0, callbacks=[TimeLimit(clock, budget_seconds)])
    wall = clock.elapsed()
    lbfgs_state = model.opt.state_dict()["state"].get(0, {})
    lbfgs_steps = int(lbfgs_state.get("n_iter", 0))
    lbfgs_evals = int(lbfgs_state.get("func_evals", 0))
    steps = adam_steps + lbfgs_steps

    pred = model.predict(common.evaluation_grid(s))
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return {
        "tool": TOOL,
        "model": "MLP [2, 50, 50, 50, 1], tanh, Glorot normal (DeepXDE FNN)",
        "optimizer": f"Adam lr 1e-3 ({adam_steps} steps), then L-BFGS ({lbfgs_steps} iterations)",
        "wall_s": wall,
        "steps": steps,
        "s_per_step": common.ratio(wall, steps),
        "evals": adam_steps + lbfgs_evals,
        "s_per_eval": common.ratio(wall, adam_steps + lbfgs_evals),
        "loss_grad_s": float(np.median(adam_times.times)) if adam_times.times else None,
        "adam_steps": adam_steps,
        "adam_s_per_step": common.ratio(adam_s, adam_steps),
        "lbfgs_steps": lbfgs_steps,
        "lbfgs_s_per_step": common.ratio(wall - adam_s, lbfgs_steps),
        "rel_l2": common.rel_l2(s, pred),
        "params": int(params),
        "n_interior": int(n_interior),
        "n_boundary": int(n_boundary),
        "versions": {"deepxde": dde.__version__, "deepxde_backend": dde.backend.backend_name},
        "step_note": "one Adam iteration or one L-BFGS iteration (with its line-search evaluations)",
    }
