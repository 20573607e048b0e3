"""Causal training: the slice weights w_i = exp(-eps sum_{k<i} L_k), the eps ladder, point
weights in the loss and in the Levenberg-Marquardt residual vector, the options, and a small
time-dependent solve."""

import math
from pathlib import Path
from dataclasses import replace

import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan import cli
from pinnkan.derivatives.engines import get_engine
from pinnkan.errors import OptionError
from pinnkan.evaluation.residuals import residual, sample_points, total_loss
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.problem.compile import compile_problem
from pinnkan.solver import SolveOptions, check_options
from pinnkan.training import levenberg
from pinnkan.training.causal import (CausalWeights, causal_mode, causal_weights, nonlinear, slice_index,
                                     slice_losses, time_order)
from pinnkan.training.levenberg import residual_and_jacobian
from pinnkan.training.spec import CausalSpec

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower

CPU = torch.device("cpu")
x, y, t = sp.symbols("x y t")
u = sp.Function("u")(x, t)


def heat(**changes):
    """u_t = u_xx / 10 on [0, 1] x [0, 1], Dirichlet ends, u(x, 0) = sin(pi x)."""
    spec = dict(name="heat", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[u],
                equations=[sp.Eq(u.diff(t), u.diff(x, 2) / 10)],
                conditions=[pk.Dirichlet(u, 0), pk.Initial(u, sp.sin(sp.pi * x))],
                exact={u: sp.exp(-sp.pi**2 * t / 10) * sp.sin(sp.pi * x)})
    spec.update(changes)
    return pk.Problem(**spec)


def wave():
    return pk.Problem(name="wave", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[u],
                      equations=[sp.Eq(u.diff(t, 2), u.diff(x, 2))],
                      conditions=[pk.Dirichlet(u, 0), pk.Initial(u, sp.sin(sp.pi * x)), pk.Initial(u.diff(t), 0)])


def poisson():
    v = sp.Function("u")(x, y)
    return pk.Problem(name="poisson", domain=pk.Rectangle((0, 0), (1, 1)), fields=[v],
                      equations=[sp.Eq(-v.diff(x, 2) - v.diff(y, 2), 1)], conditions=[pk.Dirichlet(v, 0)])


class Linear(torch.nn.Module):
    """u(x, t) = c t: the heat residual u_t - u_xx / 10 is the constant c at every point."""

    def __init__(self, c: float):
        super().__init__()
        self.c = torch.nn.Parameter(torch.tensor(float(c), dtype=torch.float64))

    def forward(self, p):
        return (self.c * p[:, 1])[:, None]


# ---------------------------------------------------------------------------- the weights
def test_weights_formula_on_a_hand_made_residual():
    """M = 4 slices of [0, 2]; slice 2 empty; L = (mean r^2 per slice)."""
    times = torch.tensor([0.1, 0.3, 0.6, 0.9, 1.5, 1.99, 2.0], dtype=torch.float64)
    r = torch.tensor([0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 3.0], dtype=torch.float64)
    index = slice_index(times, 0.0, 2.0, 4)
    assert index.tolist() == [0, 0, 1, 1, 3, 3, 3]  # t = t1 in the last slice
    L = slice_losses(r * r, index, 4)
    expected_L = [(0.25 + 1.0) / 2, (4.0 + 0.0625) / 2, 0.0, (0.5625 + 2.25 + 9.0) / 3]
    assert float((L - torch.tensor(expected_L, dtype=torch.float64)).abs().max()) <= 1e-15
    for eps in (1e-2, 1.0, 100.0):
        w = causal_weights(L, eps)
        hand = [1.0, math.exp(-eps * expected_L[0]), math.exp(-eps * (expected_L[0] + expected_L[1])),
                math.exp(-eps * (expected_L[0] + expected_L[1] + expected_L[2]))]
        assert float((w - torch.tensor(hand, dtype=torch.float64)).abs().max()) <= 1e-15, eps
    # an empty slice adds nothing: slices 2 and 3 carry the same weight
    assert float(causal_weights(L, 1.0)[3]) == float(causal_weights(L, 1.0)[2])


def test_weights_are_non_increasing_over_slices():
    gen = torch.Generator().manual_seed(3)
    for _ in range(5):
        L = torch.rand(32, generator=gen, dtype=torch.float64) * 10
        for eps in CausalSpec().epsilons:
            w = causal_weights(L, eps)
            assert float(w[0]) == 1.0
            assert bool((w[1:] <= w[:-1]).all())
            assert bool((w > 0).all() | (w == 0).any())  # exp underflows to 0 at worst, never negative


def test_eps_climbs_one_rung_when_the_smallest_weight_exceeds_the_threshold():
    """With u = c t the residual is c everywhere, L_k = c^2 and min w = exp(-eps c^2 (M - 1))."""
    c = compile_problem(heat())
    data = sample_points(c, CollocationSampler(c.problem.domain, seed=0), 256, 4, torch.float64, CPU)
    spec = CausalSpec(slices=8)
    engine = get_engine("autograd")
    small = CausalWeights(spec, c)
    model = Linear(1e-3)  # 1e2 * 1e-6 * 7 = 7e-4: every rung passes the threshold
    for k in range(1, 6):
        small.update(model, engine, data)
        assert small.rung == min(k, 4) and small.eps == spec.epsilons[min(k, 4)]
    assert small.settled and small.min_weight == pytest.approx(math.exp(-100 * 1e-6 * 7), rel=1e-12)
    big = CausalWeights(spec, c)
    out = big.update(Linear(1.0), engine, data)  # min w = exp(-0.01 * 7) = 0.932 < 0.99: stays
    assert big.rung == 0 and not big.settled
    assert big.min_weight == pytest.approx(math.exp(-0.01 * 7), rel=1e-12)
    # the equation points carry their slice's weight, the conditions none
    (eq,) = [tp for tp in out if tp.term.is_equation]
    i = slice_index(eq.points[:, 1], 0.0, 1.0, 8)
    assert float((eq.point_weights - torch.exp(-0.01 * i.to(torch.float64))).abs().max()) <= 1e-15
    assert all(tp.point_weights is None for tp in out if not tp.term.is_equation)
    # mid-ladder: eps = 1 and c = 0.03 gives min w = exp(-1 * 9e-4 * 7) = 0.9937 > 0.99: one rung up
    mid = CausalWeights(spec, c)
    mid.rung = 2
    mid.update(Linear(0.03), engine, data)
    assert mid.rung == 3 and mid.min_weight == pytest.approx(math.exp(-10 * 9e-4 * 7), rel=1e-12)


# ---------------------------------------------------------------------------- the loss
def _heat_setup(seed=0):
    c = compile_problem(heat())
    data = sample_points(c, CollocationSampler(c.problem.domain, seed=seed), 40, 6, torch.float64, CPU)
    torch.manual_seed(seed)
    model = pk.KAN([2, 3, 1], grid=4, bounds=c.problem.domain.bounds)
    return c, data, model


def _with_weights(data, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return [replace(tp, point_weights=torch.rand(tp.n_residuals, generator=gen, dtype=torch.float64) + 0.05)
            if tp.term.is_equation else tp for tp in data]


def test_causal_off_is_the_plain_loss_exactly():
    c, data, model = _heat_setup()
    engine = get_engine("autograd")
    weights = {"Dirichlet 1": 3.0}
    loss, parts = total_loss(c, model, engine, data, weights)
    by_hand = 0.0
    for tp in data:
        r = residual(c, model, engine, tp)
        by_hand = by_hand + weights.get(tp.term.label, tp.term.weight) * (r * r).mean()
        assert torch.equal(parts[tp.term.label], (r * r).mean())
    assert torch.equal(loss, by_hand)
    # off in the options means no causal spec in the schedule
    o = SolveOptions(causal="off").complete(2, 1)
    assert o.specs()[1].causal is None and SolveOptions().complete(2, 1).specs()[1].causal is None


def test_point_weights_in_the_loss():
    c, data, model = _heat_setup()
    engine = get_engine("autograd")
    weighted = _with_weights(data)
    loss, parts = total_loss(c, model, engine, weighted)
    by_hand = 0.0
    for tp in weighted:
        r = residual(c, model, engine, tp)
        ms = (r * r).mean() if tp.point_weights is None else (tp.point_weights * r * r).mean()
        by_hand = by_hand + tp.term.weight * ms
        assert torch.equal(parts[tp.term.label], (r * r).mean())  # the parts stay the plain mean squares
    assert float(abs(loss - by_hand).detach()) <= 1e-15 * float(by_hand.detach())


@pytest.mark.parametrize("path", ["kan", "vmap"])
def test_lm_rows_are_scaled_by_the_square_root_of_the_weights(path, monkeypatch):
    c, data, model = _heat_setup()
    if path == "vmap":
        monkeypatch.setattr(levenberg, "_plain_kan", lambda m: False)
    weights = {"Initial 2": 4.0}
    R0, J0 = residual_and_jacobian(model, c, data, weights)
    weighted = _with_weights(data)
    R1, J1 = residual_and_jacobian(model, c, weighted, weights)
    scale = torch.cat([tp.point_weights.sqrt() if tp.point_weights is not None else torch.ones(tp.n_residuals,
                                                                                                 dtype=torch.float64)
                       for tp in weighted])
    assert R0.shape == R1.shape == (40 + 6 + 6,)
    assert float((R1 - scale * R0).abs().max()) <= 1e-12 * float(R0.abs().max())
    assert float((J1 - scale[:, None] * J0).abs().max()) <= 1e-12 * float(J0.abs().max())
    # R without the Jacobian (the generic path) agrees, and R @ R is the weighted loss
    Rn, _ = residual_and_jacobian(model, c, weighted, weights, with_jacobian=False)
    assert float((Rn - R1).abs().max()) <= 1e-12 * float(R1.abs().max())
    loss, _ = total_loss(c, model, get_engine("autograd"), weighted, weights)
    assert float(R1 @ R1) == pytest.approx(float(loss.detach()), rel=1e-12)
    # weights of one are the plain rows, to the last bit
    ones = [replace(tp, point_weights=torch.ones(tp.n_residuals, dtype=torch.float64)) if tp.term.is_equation else tp
            for tp in data]
    R2, J2 = residual_and_jacobian(model, c, ones, weights)
    assert torch.equal(R2, R0) and torch.equal(J2, J0)


# ---------------------------------------------------------------------------- options
def test_auto_turns_causal_on_for_nonlinear_first_order_evolution_only():
    """On for Allen-Cahn- and Burgers-like equations; off for heat (linear), wave (second order
    in time) and steady problems; on and off as given."""
    allen_cahn = heat(equations=[sp.Eq(u.diff(t), u.diff(x, 2) / 10 - 5 * u**3 + 5 * u)])
    burgers = heat(equations=[sp.Eq(u.diff(t) + u * u.diff(x), u.diff(x, 2) / 100)])
    linear_variable = heat(equations=[sp.Eq(u.diff(t), sp.exp(x * t) * u.diff(x, 2) + sp.sin(x) * u + x**3)])
    assert time_order(compile_problem(heat())) == 1 and time_order(compile_problem(wave())) == 2
    assert [nonlinear(compile_problem(p)) for p in (allen_cahn, burgers, heat(), linear_variable, wave())] == \
        [True, True, False, False, False]
    assert causal_mode("auto", compile_problem(allen_cahn)) == "on"
    assert causal_mode("auto", compile_problem(burgers)) == "on"
    assert causal_mode("auto", compile_problem(heat())) == "off"
    assert causal_mode("auto", compile_problem(wave())) == "off"
    assert causal_mode("auto", compile_problem(poisson())) == "off"
    assert causal_mode("on", compile_problem(wave())) == "on"
    assert causal_mode("off", compile_problem(allen_cahn)) == "off"
    assert check_options(burgers, adam_steps=1).causal == "on"
    assert check_options(heat()).causal == "off" and check_options(poisson()).causal == "off"


def test_bad_causal_options_are_rejected():
    with pytest.raises(OptionError, match="has no time; add time=\\(t, t0, t1\\)"):
        check_options(poisson(), causal="on")
    with pytest.raises(OptionError, match="Unknown causal training mode 'yes'; choose one of auto, on, off"):
        SolveOptions(causal="yes").complete(2, 1)
    with pytest.raises(OptionError, match="causal_epsilons must be increasing positive"):
        SolveOptions(causal_epsilons=(1.0, 0.1)).complete(2, 1)
    with pytest.raises(OptionError, match="causal_slices must be an integer >= 1"):
        SolveOptions(causal_slices=0).complete(2, 1)
    with pytest.raises(OptionError, match="threshold must be a number in \\(0, 1\\)"):
        CausalSpec(threshold=1.0)


def test_cli_flags_reach_the_options():
    args = cli.parser().parse_args(["solve", "p.py", "--causal", "on", "--causal-slices", "16",
                                    "--causal-eps", "0.1,1,10"])
    o = cli._options(args)
    assert (o["causal"], o["causal_slices"], o["causal_epsilons"]) == ("on", 16, (0.1, 1.0, 10.0))
    default = cli._options(cli.parser().parse_args(["compare", "p.py"]))
    assert (default["causal"], default["causal_slices"], default["causal_epsilons"]) == \
        ("auto", 32, (1e-2, 1e-1, 1.0, 10.0, 100.0))


# ---------------------------------------------------------------------------- a solve
def test_small_heat_solve_with_causal_weights():
    """Two levels, few steps; measured rel L2 8.1e-4 (7.3e-4 with causal off), eps reaching 100
    with every weight > 0.99; one weight update per Adam step and Levenberg-Marquardt iteration."""
    r = pk.solve(heat(), causal="on", causal_slices=16, levels=[4, 8], adam_steps=60, lm_steps=40,
                 n_interior=128, n_boundary=16, n_eval=500, seed=0)
    assert r.options.causal == "on"
    h = r.history.causal
    assert len(h) == r.metrics["steps"] and all(set(e) == {"step", "eps", "min_weight"} for e in h)
    eps = [e["eps"] for e in h]
    assert eps == sorted(eps) and set(eps) <= set(CausalSpec().epsilons)
    assert eps[-1] == 100.0 and h[-1]["min_weight"] > 0.99
    assert r.metrics["rel_l2"]["u"] < 2.5e-3


def test_a_causal_run_resumed_from_its_checkpoint_ends_as_the_whole_run(tmp_path, monkeypatch):
    """Interrupted on the second grid, resumed: same steps, loss, error and eps history."""
    import contextlib
    import io
    import json
    import signal

    from pinnkan.output.checkpoint import read_checkpoint
    from pinnkan.training.callbacks import Callback

    burgers = str(Path(__file__).resolve().parents[1] / "problems" / "burgers1d.py")
    run = ["--levels", "3,6,12", "--steps", "10,24", "--points", "96", "--boundary-points", "8", "--no-plots",
           "--quiet", "--seed", "1", "--causal", "on", "--causal-slices", "8"]

    def main(argv):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return cli.main([str(a) for a in argv])

    class Interrupt(Callback):
        sent = False

        def on_log(self, trainer, record):
            if record["grid"] == 6 and not self.sent:
                self.sent = True
                signal.raise_signal(signal.SIGINT)

    assert main(["solve", burgers, *run, "--out", tmp_path / "whole"]) == 0
    real = cli._callbacks
    monkeypatch.setattr(cli, "_callbacks", lambda args, out: [*real(args, out), Interrupt()])
    assert main(["solve", burgers, *run, "--out", tmp_path / "cut"]) == 130
    state = read_checkpoint(tmp_path / "cut")["state"]
    assert "causal_rung" in state and state["data"][0]["point_weights"].shape == (96,)
    monkeypatch.undo()
    assert main(["solve", burgers, "--resume", tmp_path / "cut", "--quiet", "--no-plots"]) == 0
    whole, resumed = (json.loads((tmp_path / f / "metrics.json").read_text()) for f in ("whole", "cut"))
    assert resumed["options"]["causal"] == "on" and resumed["steps"] == whole["steps"]
    assert resumed["final_loss"] == pytest.approx(whole["final_loss"], rel=1e-10, abs=0)
    assert resumed["rel_l2"]["u"] == pytest.approx(whole["rel_l2"]["u"], rel=1e-10, abs=0)
    h_whole, h_resumed = (json.loads((tmp_path / f / "history.json").read_text())["causal"] for f in ("whole", "cut"))
    assert [e["eps"] for e in h_resumed] == [e["eps"] for e in h_whole]
    assert [e["min_weight"] for e in h_resumed] == pytest.approx([e["min_weight"] for e in h_whole], rel=1e-10)
