"""Matrix-free Gauss-Newton / Levenberg-Marquardt: J v, J^T u, diag(J^T J), the CG step, training."""

import warnings

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
import pinnkan.solver as solver_module
from pinnkan.choices import LM_DENSE_MAX_PARAMS
from pinnkan.evaluation.residuals import sample_points
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.factory import attach_parameters
from pinnkan.problem.compile import compile_problem
from pinnkan.training.gauss_newton import (FunctionalLinearization, KANLinearization, MatrixFreeLevenbergMarquardt,
                                           choose_solver, conjugate_gradients, damped_step, linearize)
from pinnkan.training.levenberg import LevenbergMarquardt, gram, residual_and_jacobian, solve_damped

from helpers import poisson1d

x, y, t, k = sp.symbols("x y t k")
u = sp.Function("u")(x, y)
EXACT = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)
POISSON = pk.Problem(  # nonlinear, with a Neumann part: normals in the residual
    name="poisson-gn", domain=pk.Rectangle((-1, -1), (1, 1)), fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2) + u**3, 2 * sp.pi**2 * EXACT + EXACT**3)],
    conditions=[pk.Dirichlet(u, 0, on=x < 1), pk.Neumann(u, EXACT.diff(x), on=sp.Eq(x, 1))],
    exact={u: EXACT},
)
PERIODIC = pk.Problem(  # paired rows: each periodic residual is the difference of two points' values
    name="periodic-gn", domain=pk.Rectangle((-1, 0), (1, 2)), fields=[u],
    equations=[sp.Eq(u.diff(x, 2) + u.diff(y, 2) - u, 0)],
    conditions=[pk.Periodic(u, x), pk.Dirichlet(u, sp.cos(sp.pi * x), on=sp.Eq(y, 0))],
)
w = sp.Function("w")(x, t)
OBS = np.random.default_rng(5).random((12, 2))
INVERSE = pk.Problem(  # an unknown constant k: a dense column of J besides the network's
    name="inverse-gn", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[w],
    equations=[sp.Eq(w.diff(t), k * w.diff(x, 2))],
    conditions=[pk.Dirichlet(w, 0), pk.Initial(w, sp.sin(sp.pi * x)),
                pk.Data(w, OBS, np.exp(-0.1 * np.pi**2 * OBS[:, 1]) * np.sin(np.pi * OBS[:, 0]))],
    parameters={k: 0.5},
)
WEIGHTS = {"equation 1": 2.0}

NETWORKS = {
    "kan": lambda b: pk.KAN([2, 4, 3, 1], grid=5, bounds=b),
    "kan-relu-basis": lambda b: pk.KAN([2, 3, 2, 1], grid=4, bounds=b, spline_basis="relu"),  # dense basis jets
    "kan-free-knots": lambda b: pk.KAN([2, 3, 1], grid=4, bounds=b, free_knots=True),  # not plain: torch.func
    "mlp": lambda b: pk.MLP([2, 8, 8, 1], bounds=b),
}
CASES = [("poisson", n) for n in NETWORKS] + [("periodic", "kan"), ("periodic", "mlp"), ("inverse", "kan")]


def _setup(problem_name, network, n=64, nb=16):
    problem = {"poisson": POISSON, "periodic": PERIODIC, "inverse": INVERSE}[problem_name]
    torch.manual_seed(3)
    compiled = compile_problem(problem)
    model = NETWORKS[network](problem.domain.bounds)
    attach_parameters(model, compiled.parameters, torch.float64, torch.device("cpu"))
    data = sample_points(compiled, CollocationSampler(problem.domain, seed=2), n, nb, torch.float64,
                         torch.device("cpu"))
    R, J = residual_and_jacobian(model, compiled, data, WEIGHTS)
    return model, compiled, data, R, J


@pytest.fixture(scope="module", params=CASES, ids=[f"{p}-{n}" for p, n in CASES])
def case(request):
    problem_name, network = request.param
    model, compiled, data, R, J = _setup(problem_name, network)
    lin = linearize(model, compiled, data, WEIGHTS)
    return network, lin, R, J


def test_linearization_kind_follows_the_network(case):
    network, lin, R, J = case
    plain = network in ("kan", "kan-relu-basis")
    assert isinstance(lin, KANLinearization if plain else FunctionalLinearization)
    assert lin.n_params == J.shape[1]
    assert torch.allclose(lin.residual, R, rtol=0, atol=1e-14 * float(R.abs().max()))


def test_jacobian_products_equal_the_dense_jacobians(case):
    _, lin, R, J = case
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(J.shape[1], generator=gen, dtype=torch.float64)
    r = torch.randn(J.shape[0], generator=gen, dtype=torch.float64)
    Jv, JTu = J @ v, J.T @ r
    assert float((lin.jvp(v) - Jv).abs().max()) <= 1e-12 * float(Jv.abs().max())
    assert float((lin.vjp(r) - JTu).abs().max()) <= 1e-12 * float(JTu.abs().max())


def test_gram_diagonal_is_exactly_the_diagonal_of_jt_j(case, monkeypatch):
    _, lin, _, J = case
    exact = (J * J).sum(0)
    assert float((lin.gram_diagonal() - exact).abs().max()) <= 1e-12 * float(exact.max())
    monkeypatch.setattr("pinnkan.training.gauss_newton.CHUNK_ENTRIES", 16 * lin.n_params)  # chunks of 16 rows
    assert float((lin.gram_diagonal() - exact).abs().max()) <= 1e-12 * float(exact.max())


@pytest.mark.parametrize("lam", [1e-3, 1e-1])
def test_cg_step_to_tolerance_equals_the_dense_levenberg_marquardt_step(case, lam):
    network, lin, R, J = case
    if network == "kan-free-knots" or (lam < 1e-1 and not isinstance(lin, KANLinearization)):
        pytest.skip("the slower torch.func products: the MLP at the better conditioned lam is enough")
    H = gram(J)
    d = LevenbergMarquardt().damping_scale(torch.diagonal(H))  # Marquardt's D, as the dense step has it
    g = J.T @ R
    dense = solve_damped(H, lam * d, -g)
    cg, taken, rel = damped_step(lin, lam * d, lin.vjp(lin.residual), lin.gram_diagonal(), 1e-13, 20 * J.shape[1])
    assert rel <= 1e-13 and taken < 20 * J.shape[1]
    assert float(torch.linalg.vector_norm(cg - dense)) <= 1e-10 * float(torch.linalg.vector_norm(dense))


def test_conjugate_gradients_solves_an_spd_system_and_respects_its_cap():
    gen = torch.Generator().manual_seed(1)
    B = torch.randn(40, 30, generator=gen, dtype=torch.float64)
    A = B.T @ B + 0.1 * torch.eye(30, dtype=torch.float64)
    b = torch.randn(30, generator=gen, dtype=torch.float64)
    x, taken, rel = conjugate_gradients(lambda v: A @ v, b, torch.diagonal(A), 1e-14, 200)
    exact = torch.linalg.solve(A, b)
    assert rel <= 1e-14 and float((x - exact).norm()) <= 1e-11 * float(exact.norm())
    x3, taken3, rel3 = conjugate_gradients(lambda v: A @ v, b, torch.diagonal(A), 1e-14, 3)
    assert taken3 == 3 and rel3 > 1e-3
    # three steps of CG lower the quadratic model 0.5 x^T A x - b^T x below its value at 0
    assert float(0.5 * x3 @ (A @ x3) - b @ x3) < 0.0
    zero, n0, r0 = conjugate_gradients(lambda v: A @ v, torch.zeros(30, dtype=torch.float64), torch.ones(30), 1e-3, 9)
    assert n0 == 0 and r0 == 0.0 and float(zero.abs().max()) == 0.0


def test_matrix_free_iterations_follow_marquardts_rule_and_lower_the_loss():
    model, compiled, data, R, _ = _setup("poisson", "kan")
    opt = MatrixFreeLevenbergMarquardt(cg_rtol=1e-2, cg_max_iter=30)
    losses = [float(R @ R)]
    accepted_steps = 0
    for _ in range(8):
        lam = opt.lam
        loss, accepted = opt.step(model, compiled, data, WEIGHTS)
        tries = opt.last["tries"]
        # Marquardt's rule: lam * 4 after each rejected try, / 3 after the accepted one; an
        # iteration whose max_tries all fail keeps the parameters and their loss
        expected = lam * 4 ** (tries - 1) / 3 if accepted else lam * 4 ** tries
        assert opt.lam == pytest.approx(expected, rel=1e-12)
        assert (accepted or tries == opt.max_tries) and 1 <= opt.last["cg_products"] <= 30 * tries
        assert loss < losses[-1] if accepted else loss == losses[-1]
        accepted_steps += accepted
        losses.append(loss)
    assert accepted_steps >= 6 and losses[-1] < 0.05 * losses[0]  # measured 7 and 0.0049
    R_now, _ = residual_and_jacobian(model, compiled, data, WEIGHTS, with_jacobian=False)
    assert float(R_now @ R_now) == pytest.approx(losses[-1], rel=1e-12)


def test_solver_choice_is_dense_up_to_the_crossover_and_cg_above():
    assert choose_solver("auto", LM_DENSE_MAX_PARAMS) == "dense"
    assert choose_solver("auto", LM_DENSE_MAX_PARAMS + 1) == "cg"
    assert choose_solver("dense", 10**6) == "dense" and choose_solver("cg", 10) == "cg"
    with pytest.raises(pk.OptionError, match="Unknown Levenberg-Marquardt solver 'qr'; choose one of auto, dense, cg"):
        choose_solver("qr", 10)
    with pytest.raises(pk.OptionError, match="Unknown Levenberg-Marquardt solver 'qr'"):
        pk.check_options(poisson1d(), lm_solver="qr")


def test_matrix_free_training_of_a_deeper_kan_lowers_the_loss():
    # [1, 8, 8, 1] on grid 10: 1040 parameters, solved matrix-free although dense would apply
    r = pk.solve(poisson1d(), widths=[1, 8, 8, 1], grid=10, optimizer="lm", lm_solver="cg", adam_steps=100,
                 lm_steps=25, n_interior=128, seed=0, balance="none")
    # measured: loss 0.34 after the 100 Adam steps, 7.1e-3 after 25 matrix-free iterations
    # (rel L2 0.79 -> 0.099; the dense step reaches 9.0e-5 and 1.7e-3 in those 25)
    assert r.metrics["steps"] == 125 and r.options.lm_solver == "cg"
    assert r.metrics["final_loss"] < 2e-2 and r.metrics["rel_l2"]["u"] < 0.2


def test_matrix_free_training_of_an_mlp_lowers_its_error():
    r = pk.solve(poisson1d(), model="mlp", widths=[1, 16, 16, 1], optimizer="lm", lm_solver="cg", adam_steps=100,
                 lm_steps=8, n_interior=64, seed=0)
    # measured: loss 7.9 and rel L2 1.3 after the 100 Adam steps; 1.5e-3 and 6.8e-4 after 8 iterations
    assert r.metrics["final_loss"] < 1e-2 and r.metrics["rel_l2"]["u"] < 5e-3


def test_the_memory_check_never_refuses_the_matrix_free_step(monkeypatch):
    monkeypatch.setattr(solver_module, "_available_bytes", lambda device: 1024)  # 1 KiB free
    base = dict(widths=[1, 4, 1], grid=5, optimizer="lm", adam_steps=2, lm_steps=2, n_interior=32, seed=0)
    with pytest.raises(pk.OptionError, match=r"use --lm-solver cg \(matrix-free\)"):
        pk.solve(poisson1d(), lm_solver="dense", **base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cg: nothing to warn about
        r = pk.solve(poisson1d(), lm_solver="cg", **base)
    assert r.metrics["steps"] == 4
    with pytest.warns(UserWarning, match=r"matrix-free \(--lm-solver cg\) instead"):
        r = pk.solve(poisson1d(), **base)
    assert r.options.lm_solver == "cg"
