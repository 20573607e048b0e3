"""Multilevel training: exact refinement of PDE residuals, the schedule, Levenberg-Marquardt."""

import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.problem.compile import compile_problem
from pinnkan.derivatives.engines import AutogradEngine, JetEngine
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.training.levenberg import gram, residual_and_jacobian, solve_damped
from pinnkan.evaluation.residuals import residual, sample_points, total_loss

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
EXACT = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)
POISSON = pk.Problem(
    name="poisson-test", domain=pk.Rectangle((-1, -1), (1, 1)), fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2) + u**3, 2 * sp.pi**2 * EXACT + EXACT**3)],
    conditions=[pk.Dirichlet(u, 0, on=x < 1), pk.Neumann(u, EXACT.diff(x), on=sp.Eq(x, 1))],
    exact={u: EXACT},
)


def _data(problem, n=200, nb=40):
    compiled = compile_problem(problem)
    data = sample_points(compiled, CollocationSampler(problem.domain, seed=1), n, nb,
                         torch.float64, torch.device("cpu"))
    return compiled, data


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
@pytest.mark.parametrize("widths", [[2, 5, 1], [2, 4, 3, 1]])
def test_refined_kan_has_the_same_pde_residuals(degree, widths):
    torch.manual_seed(degree)
    compiled, data = _data(POISSON)
    coarse = pk.KAN(widths, grid=4, degree=degree, bounds=POISSON.domain.bounds)
    for fine in (coarse.refine(8), coarse.refine(12)):
        for tp in data:
            for engine in (AutogradEngine(), JetEngine()):
                a = residual(compiled, coarse, engine, tp).detach()
                b = residual(compiled, fine, engine, tp).detach()
                assert torch.allclose(a, b, rtol=0, atol=1e-12 * max(1.0, float(a.abs().max()))), tp.term.label


def test_levenberg_marquardt_jacobian_matches_autograd_gradient():
    torch.manual_seed(0)
    compiled, data = _data(POISSON, 64, 16)
    model = pk.KAN([2, 3, 1], grid=4, bounds=POISSON.domain.bounds)
    R, J = residual_and_jacobian(model, compiled, data, {})
    loss, _ = total_loss(compiled, model, JetEngine(), data)
    assert abs(float(R @ R) - float(loss.detach())) <= 1e-12 * float(loss.detach())
    grads = torch.autograd.grad(loss, list(model.parameters()))
    g = torch.cat([q.reshape(-1) for q in grads])
    assert torch.allclose(2 * J.T @ R, g, rtol=0, atol=1e-10 * float(g.abs().max()))


@pytest.fixture(params=[1, 2], ids=["scipy-lapack", "torch"])
def threads(request):
    """One torch thread takes SciPy's BLAS/LAPACK in the Levenberg-Marquardt solve, two torch's."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_gram_is_the_lower_triangle_of_jt_j(dtype, tol, threads):
    J = torch.randn(300, 40, generator=torch.Generator().manual_seed(0), dtype=dtype)
    H, full = gram(J), J.T @ J
    assert H.dtype == dtype and H.shape == (40, 40)
    assert torch.allclose(torch.tril(H), torch.tril(full), rtol=0, atol=tol * float(full.abs().max()))
    assert torch.allclose(torch.linalg.cholesky(H), torch.linalg.cholesky(full), rtol=0, atol=10 * tol * 300)


def test_solve_damped_solves_the_damped_normal_equations_and_refuses_an_indefinite_matrix(threads):
    gen = torch.Generator().manual_seed(1)
    J = torch.randn(200, 30, generator=gen, dtype=torch.float64)
    damping = torch.rand(30, generator=gen, dtype=torch.float64)
    rhs = torch.randn(30, generator=gen, dtype=torch.float64)
    x = solve_damped(gram(J), damping, rhs)
    ref = torch.linalg.solve(J.T @ J + torch.diag(damping), rhs)
    assert torch.allclose(x, ref, rtol=0, atol=1e-12 * float(ref.abs().max()))
    assert solve_damped(torch.diag(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)),
                        torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)) is None


def _solve(**options):
    base = dict(n_interior=256, n_boundary=64, adam_steps=50, seed=0, n_eval=2000)
    return pk.solve(POISSON, model="kan", **{**base, **options})


def test_multilevel_levels_are_nested_and_monotone_in_loss():
    # fixed loss weights, so that one loss is comparable across levels
    r = _solve(levels=[3, 6, 12], optimizer="lm", lm_steps=45, balance="none")
    h = r.history
    assert len(h.level_starts) == 2 and r.model.grid == 12
    assert [lv["grid"] for lv in r.metrics["levels"]] == [3, 6, 12]
    for start in h.level_starts:
        i = h.phase.index("refine", h.step.index(start))
        # the refined model computes the same function: same loss at the level change
        assert h.loss[i] == pytest.approx(h.loss[i - 1], rel=1e-9)
    lm_losses = [loss for loss, phase in zip(h.loss, h.phase) if phase in ("lm", "refine")]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(lm_losses, lm_losses[1:]))
    assert r.metrics["rel_l2"]["u"] < 1e-2


def test_balanced_weights_change_only_at_level_starts_and_the_loss_falls_within_each_level():
    r = _solve(levels=[3, 6, 12], optimizer="lm", lm_steps=45)  # balance="grad": the KAN default
    h = r.history
    assert [w["step"] for w in h.weights] == [50, *h.level_starts]  # after Adam, then at each refinement
    for w in h.weights:
        assert 1e-3 <= w["Dirichlet 1"] <= 1e4
    for level in range(3):
        losses = [loss for loss, phase, lv in zip(h.loss, h.phase, h.level) if phase == "lm" and lv == level]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(losses, losses[1:])), level


@pytest.mark.slow
def test_multilevel_beats_single_level_at_equal_steps():
    # measured: multilevel 4.0e-3, coarse-only 1.4e-2, fine-only 1.9e-2
    multi = _solve(levels=[3, 6, 12], optimizer="lm", lm_steps=45)
    for grid in (3, 12):
        single = _solve(grid=grid, optimizer="lm", lm_steps=45)
        assert multi.metrics["rel_l2"]["u"] < 0.5 * single.metrics["rel_l2"]["u"], grid


@pytest.mark.parametrize("levels, fact", [([8, 4], "strictly increasing"), ([4, 6], "not a refinement"),
                                          ([0, 4], "positive")])
def test_bad_levels_are_option_errors(levels, fact):
    with pytest.raises(pk.OptionError, match=fact):
        _solve(levels=levels)


def test_levels_for_an_mlp_are_rejected():
    with pytest.raises(pk.OptionError, match="KANs only"):
        pk.solve(POISSON, model="mlp", levels=[4, 8])


def test_explicit_lm_on_third_derivatives_is_rejected_before_training():
    t = sp.Symbol("t")
    v = sp.Function("v")(t)
    problem = pk.Problem(name="third", domain=pk.Interval(0, 1), fields=[v],
                         equations=[v.diff(t, 3) - sp.cos(t)], conditions=[pk.Dirichlet(v, 0)])
    with pytest.raises(pk.OptionError, match="Levenberg-Marquardt"):
        pk.solve(problem, optimizer="lm", adam_steps=1, lm_steps=1, n_interior=16)
    auto = pk.solve(problem, adam_steps=1, lbfgs_steps=1, n_interior=16)
    assert auto.options.optimizer == "lbfgs"


def test_saved_multilevel_model_loads_back_with_identical_predictions(tmp_path):
    r = _solve(levels=[3, 6], optimizer="lm", lm_steps=6, free_knots=True)
    r.save(tmp_path, plots=False)
    net = pk.load_model(tmp_path / "model.pt")
    pts = POISSON.domain.evaluation_points(300)
    with torch.no_grad():
        again = net(torch.as_tensor(pts)).numpy()
    assert "free knots" in r.metrics["architecture"] and net.grid == 6
    assert abs(again - r.predict(pts)).max() == 0.0


def test_free_knots_option_is_for_kans_only():
    with pytest.raises(pk.OptionError, match="KANs only"):
        pk.solve(POISSON, model="mlp", free_knots=True)


@pytest.mark.parametrize("widths, basis", [([2, 4, 3, 1], "bspline"), ([2, 5, 1], "relu")])
def test_structured_kan_jacobian_equals_per_point_autograd(widths, basis, monkeypatch):
    import pinnkan.training.levenberg as lev

    torch.manual_seed(5)
    compiled, data = _data(POISSON, 96, 24)
    model = pk.KAN(widths, grid=5, bounds=POISSON.domain.bounds, spline_basis=basis)
    R1, J1 = lev.residual_and_jacobian(model, compiled, data, {"equation 1": 2.0})
    monkeypatch.setattr(lev, "_plain_kan", lambda m: False)  # force the per-point vmap(jacrev) path
    R2, J2 = lev.residual_and_jacobian(model, compiled, data, {"equation 1": 2.0})
    assert torch.allclose(R1, R2, rtol=0, atol=1e-13)
    assert torch.allclose(J1, J2, rtol=0, atol=1e-11 * float(J2.abs().max()))


@pytest.fixture(scope="module")
def three_starts():
    return _solve(levels=[4, 8], starts=3, start_steps=5, lm_steps=30, adam_steps=20)


def test_several_starts_go_on_with_the_one_of_lowest_loss(three_starts):
    r = three_starts
    trials, chosen = r.metrics["starts"][:-1], r.metrics["starts"][-1]
    assert [t["start"] for t in trials] == [0, 1, 2]
    losses = [t["loss"] for t in trials]
    assert len(set(losses)) == 3                       # three different initialisations
    assert chosen == {"chosen": losses.index(min(losses)), "loss": min(losses)}
    phases = r.history.phase
    assert "start 1" in phases and "start 2" in phases and f"best start {chosen['chosen']}" in phases
    # each trial: 20 Adam steps and 5 iterations; then the kept start's 10 - 5 more on grid 4
    assert r.history.step[phases.index("start 1")] == 25 and r.history.step[phases.index("start 2")] == 50


def test_the_kept_start_is_the_network_trained_on(three_starts):
    """The loss logged when training resumes is that start's loss at the end of its trial."""
    r = three_starts
    h, k = r.history, r.metrics["starts"][-1]["chosen"]
    resumed = h.phase.index(f"best start {k}")
    ends = [h.loss[j] for j, p in enumerate(h.phase) if p == "lm" and h.step[j] == r.metrics["starts"][k]["step"]]
    assert ends and abs(h.loss[resumed] - ends[-1]) <= 1e-12 * ends[-1]


@pytest.mark.slow
def test_starts_are_repeatable_and_one_start_is_the_plain_run(three_starts):
    again = _solve(levels=[4, 8], starts=3, start_steps=5, lm_steps=30, adam_steps=20)
    assert again.metrics["starts"] == three_starts.metrics["starts"]
    assert again.metrics["rel_l2"] == three_starts.metrics["rel_l2"]
    one = _solve(levels=[4, 8], starts=1, lm_steps=30, adam_steps=20)
    plain = _solve(levels=[4, 8], lm_steps=30, adam_steps=20)
    assert "starts" not in one.metrics and one.metrics["rel_l2"] == plain.metrics["rel_l2"]


@pytest.mark.parametrize("options", [{"starts": 0}, {"start_steps": 0}])
def test_starts_and_their_steps_must_be_positive(options):
    with pytest.raises(pk.OptionError, match=">= 1"):
        _solve(levels=[4, 8], **options)
