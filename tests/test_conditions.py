"""Robin and periodic conditions: compiled residuals against sympy, matched periodic points, the
errors, short solves, and the Levenberg-Marquardt Jacobian on problems that use them."""

import numpy as np
import pytest
import sympy as sp
import torch

from helpers import finite_difference_jacobian, sympy_values

import pinnkan as pk
import pinnkan.training.levenberg as levenberg
from pinnkan.problem.compile import compile_problem
from pinnkan.errors import ProblemError
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.training.levenberg import residual_and_jacobian
from pinnkan.evaluation.residuals import sample_points

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower

x, y, t = sp.symbols("x y t")
u = sp.Function("u")(x, y)
SQUARE = pk.Rectangle((-1, -1), (1, 1))
CPU = torch.device("cpu")


def laplace(field, *coords):
    return sum(field.diff(c, 2) for c in coords)


# ---------------------------------------------------------------------------- Robin
A, B, G = 2 + x, 1 + y**2, sp.sin(x) * y
U = sp.exp(x) * sp.cos(y) + x * y


def test_robin_residual_is_a_u_plus_b_normal_derivative_minus_g():
    p = pk.Problem(name="robin", domain=SQUARE, fields=[u], equations=[laplace(u, x, y)],
                   conditions=[pk.Robin(u, A, B, G, on=x > 0)])
    c = compile_problem(p)
    (bc,) = c.conditions
    assert bc.kind == "boundary" and bc.needs_normals
    assert bc.derivatives == {(0, (0, 0)), (0, (1, 0)), (0, (0, 1))}
    pts, nrm = SQUARE.sample_boundary(400, rng=0)
    keep = bc.select(pts)
    assert 0 < keep.sum() < len(pts) and np.all(pts[keep, 0] > 0)
    pts, nrm = pts[keep], nrm[keep]
    vals = sympy_values(bc.derivatives, U, (x, y), pts)
    r = bc.residual(c.env(torch.as_tensor(pts), vals, torch.as_tensor(nrm))).numpy()
    # the same quantity in numpy, from the formulas
    X, Y = pts[:, 0], pts[:, 1]
    uval = np.exp(X) * np.cos(Y) + X * Y
    ux, uy = np.exp(X) * np.cos(Y) + Y, -np.exp(X) * np.sin(Y) + X
    expected = (2 + X) * uval + (1 + Y**2) * (ux * nrm[:, 0] + uy * nrm[:, 1]) - np.sin(X) * Y
    np.testing.assert_allclose(r, expected, rtol=0, atol=1e-12)
    assert np.abs(expected).max() > 1  # not a vacuous comparison
    env = {"x": torch.as_tensor(X), "y": torch.as_tensor(Y)}
    np.testing.assert_allclose(bc.data(env).numpy(), np.sin(X) * Y, rtol=0, atol=1e-15)


def test_robin_reduces_to_dirichlet_and_neumann():
    p = pk.Problem(name="robin", domain=SQUARE, fields=[u], equations=[laplace(u, x, y)],
                   conditions=[pk.Robin(u, 1, 0, G), pk.Dirichlet(u, G), pk.Robin(u, 0, 1, G), pk.Neumann(u, G)])
    c = compile_problem(p)
    pts, nrm = SQUARE.sample_boundary(100, rng=1)
    P, N = torch.as_tensor(pts), torch.as_tensor(nrm)
    res = []
    for term in c.conditions:
        vals = sympy_values({(0, (0, 0)), (0, (1, 0)), (0, (0, 1))}, U, (x, y), pts)
        res.append(term.residual(c.env(P, vals, N)))
    torch.testing.assert_close(res[0], res[1], rtol=0, atol=1e-15)
    torch.testing.assert_close(res[2], res[3], rtol=0, atol=1e-15)


def test_robin_in_space_time_ignores_the_time_derivative():
    w = sp.Function("u")(x, t)
    p = pk.Problem(name="robin-heat", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[w],
                   equations=[w.diff(t) - w.diff(x, 2)],
                   conditions=[pk.Robin(w, 3, 2, x + t), pk.Initial(w, 0)])
    c = compile_problem(p)
    bc = c.terms[1]
    pts, nrm = p.domain.sample_boundary(50, rng=2)
    assert np.all(nrm[:, 1] == 0) and set(np.unique(nrm[:, 0])) == {-1.0, 1.0}
    P, N = torch.as_tensor(pts), torch.as_tensor(nrm)
    uu, ux = torch.cos(P[:, 1]), torch.sin(P[:, 1]) + 1
    vals = {(0, (0, 0)): uu, (0, (1, 0)): ux, (0, (0, 1)): torch.full_like(uu, 100.0)}
    vals = {k: v for k, v in vals.items() if k in bc.derivatives}
    r = bc.residual(c.env(P, vals, N))
    expected = 3 * uu + 2 * ux * N[:, 0] - (P[:, 0] + P[:, 1])
    torch.testing.assert_close(r, expected, rtol=0, atol=1e-14)


def test_robin_short_solve_reaches_the_error_bound():
    s = sp.Symbol("s")
    w = sp.Function("w")(s)
    # w'' = w on [0, 1] with w + w' n = 2 e s: w = e^s (at s = 0: 1 - 1 = 0, at s = 1: e + e = 2e)
    p = pk.Problem(name="robin1d", domain=pk.Interval(0, 1), fields=[w], equations=[sp.Eq(w.diff(s, 2), w)],
                   conditions=[pk.Robin(w, 1, 1, 2 * sp.E * s)], exact={w: sp.exp(s)})
    # fixed loss weights: this checks the Robin residual, not the balancing
    r = pk.solve(p, widths=[1, 5, 1], grid=10, adam_steps=0, lm_steps=40, n_interior=64, n_boundary=8, seed=0,
                 balance="none")
    # measured 4.0e-4 (seeds 1, 2: 2.0e-5, 2.3e-4); untrained 1.2
    assert r.metrics["rel_l2"]["w"] < 2e-3


# ---------------------------------------------------------------------------- Periodic
STRIP = pk.Rectangle((-1, 0), (1, 2))
PERIODIC = pk.Problem(name="periodic", domain=STRIP, fields=[u], equations=[laplace(u, x, y) - u],
                      conditions=[pk.Periodic(u, x), pk.Dirichlet(u, 0, on=sp.Eq(y, 0))])


def test_periodic_condition_compiles_to_a_value_and_a_derivative_term():
    c = compile_problem(PERIODIC)
    value, deriv = c.terms[1], c.terms[2]
    assert [tm.kind for tm in c.terms] == ["interior", "periodic", "periodic", "boundary"]
    assert (value.label, deriv.label) == ("Periodic 1 (value)", "Periodic 1 (derivative)")
    assert value.paired and deriv.paired and value.axis == deriv.axis == 0
    assert value.derivatives == {(0, (0, 0))} and deriv.derivatives == {(0, (1, 0))}
    assert not value.needs_normals and value.select is None


@pytest.mark.parametrize("axis, period", [(0, 2.0), (1, 2.0)])
def test_periodic_points_are_matched_pairs_on_opposite_faces(axis, period):
    pts = CollocationSampler(STRIP, seed=0).periodic(16, axis)
    assert pts.shape == (32, 2)
    lo, hi = pts[:16], pts[16:]
    step = np.zeros(2)
    step[axis] = period
    assert np.array_equal(hi - lo, np.broadcast_to(step, lo.shape))
    other = 1 - axis
    assert np.all(lo[:, axis] == STRIP.bounds[0][axis]) and np.all(hi[:, axis] == STRIP.bounds[1][axis])
    assert np.array_equal(lo[:, other], hi[:, other]) and np.unique(lo[:, other]).size == 16
    assert STRIP.contains(pts).all()


def test_periodic_points_in_space_time_share_their_time():
    d = pk.SpaceTime(pk.Interval(-1, 1), 0, 0.5)
    pts = CollocationSampler(d, seed=1).periodic(10, 0)
    lo, hi = pts[:10], pts[10:]
    assert np.all(lo[:, 0] == -1) and np.all(hi[:, 0] == 1) and np.array_equal(lo[:, 1], hi[:, 1])
    assert np.all((lo[:, 1] >= 0) & (lo[:, 1] <= 0.5))
    with pytest.raises(ProblemError, match="box-shaped space"):
        d.periodic_pairs(4, 1)  # the time axis
    with pytest.raises(ProblemError, match="box-shaped space"):
        pk.SpaceTime(pk.Disk((0, 0), 1), 0, 1).periodic_pairs(4, 0)


def test_sample_points_give_periodic_terms_their_pairs():
    c = compile_problem(PERIODIC)
    data = sample_points(c, CollocationSampler(STRIP, seed=2), 40, 12, torch.float64, CPU)
    for tp in data[1:3]:
        assert tp.points.shape == (24, 2) and tp.n_residuals == 12 and tp.normals is None
        assert torch.all(tp.points[12:, 0] - tp.points[:12, 0] == 2.0)
    assert not torch.equal(data[1].points, data[2].points)  # each term draws its own pairs
    assert data[0].n_residuals == 40 and data[3].n_residuals == 12


def test_periodic_residual_vanishes_exactly_for_a_periodic_function():
    c = compile_problem(PERIODIC)
    pts = CollocationSampler(STRIP, seed=3).periodic(20, 0)
    P = torch.as_tensor(pts)
    good = sp.sin(sp.pi * x) * sp.exp(y) + sp.cos(3 * sp.pi * x) * y  # period 2 in x
    bad = x + x**2 * y                                                # not periodic
    for term in c.terms[1:3]:
        r = term.residual(c.env(P, sympy_values(term.derivatives, good, (x, y), pts)))
        assert r.shape == (20,) and float(r.abs().max()) < 1e-12, term.label
    Y = P[:20, 1]
    value, deriv = c.terms[1], c.terms[2]
    r_value = value.residual(c.env(P, sympy_values(value.derivatives, bad, (x, y), pts)))
    r_deriv = deriv.residual(c.env(P, sympy_values(deriv.derivatives, bad, (x, y), pts)))
    torch.testing.assert_close(r_value, torch.full_like(Y, 2.0), rtol=0, atol=1e-12)  # (1 + y) - (-1 + y)
    torch.testing.assert_close(r_deriv, 4 * Y, rtol=0, atol=1e-12)                    # (1 + 2y) - (1 - 2y)


def test_periodic_on_a_disk_is_an_error():
    p = pk.Problem(name="disk", domain=pk.Disk((0, 0), 1), fields=[u], equations=[laplace(u, x, y)],
                   conditions=[pk.Periodic(u, x)])
    with pytest.raises(ProblemError, match="needs a box-shaped domain") as e:
        compile_problem(p)
    assert "Disk((0, 0), 1)" in str(e.value) and "Interval, Rectangle or Box" in str(e.value)


def test_periodic_in_time_or_a_non_coordinate_is_an_error():
    w = sp.Function("u")(x, t)
    base = dict(name="pt", domain=pk.Interval(-1, 1), time=(t, 0, 1), fields=[w],
                equations=[w.diff(t) - w.diff(x, 2)])
    for coord in (t, y):
        p = pk.Problem(**base, conditions=[pk.Periodic(w, coord), pk.Initial(w, 0)])
        with pytest.raises(ProblemError, match=f"periodic in {coord}, which is not a space coordinate"):
            compile_problem(p)
    with pytest.raises(ProblemError, match="needs a coordinate symbol"):
        pk.Periodic(w, 1)


def test_periodic_short_solve_reaches_the_error_bound():
    s = sp.Symbol("s")
    w = sp.Function("w")(s)
    # w'' - w = -(pi^2 + 1) sin(pi s), periodic on [-1, 1]: the unique solution is sin(pi s)
    p = pk.Problem(name="periodic1d", domain=pk.Interval(-1, 1), fields=[w],
                   equations=[sp.Eq(w.diff(s, 2) - w, -(sp.pi**2 + 1) * sp.sin(sp.pi * s))],
                   conditions=[pk.Periodic(w, s)], exact={w: sp.sin(sp.pi * s)})
    r = pk.solve(p, widths=[1, 5, 1], levels=[5, 10], adam_steps=0, lm_steps=40, n_interior=64, n_boundary=8,
                 seed=0, balance="none", periodic="penalty")  # fixed loss weights: this checks the periodic terms
    # measured 8.4e-4 (seeds 1, 2, 4: 7.4e-4, 1.1e-3, 5.3e-3)
    assert r.metrics["rel_l2"]["w"] < 5e-3


# ---------------------------------------------------------------------------- Periodic order
W = sp.Function("w")(x, t)
KS = sp.Eq(W.diff(t), -W * W.diff(x) - W.diff(x, 2) - W.diff(x, 4))  # Kuramoto-Sivashinsky, 4th order in x
HEAT = sp.Eq(W.diff(t), W.diff(x, 2))
ADVECTION = sp.Eq(W.diff(t), -W.diff(x))


def _periodic(eq, **kw):
    p = pk.Problem(name="ks", domain=pk.Interval(-1, 1), time=(t, 0, 1), fields=[W], equations=[eq],
                   conditions=[pk.Periodic(W, x, **kw), pk.Initial(W, sp.cos(sp.pi * x))])
    return [tm for tm in compile_problem(p).terms if tm.kind == "periodic"]


@pytest.mark.parametrize("eq, kw, orders", [
    (HEAT, {}, [0, 1]),            # 2nd order: today's value and first derivative
    (ADVECTION, {}, [0, 1]),       # 1st order: still value and first derivative (at least 1)
    (KS, {}, [0, 1, 2, 3]),        # 4th order: up to the third derivative
    (HEAT, {"order": 3}, [0, 1, 2, 3]),
    (KS, {"order": 0}, [0]),
])
def test_periodic_matches_the_derivatives_up_to_its_order(eq, kw, orders):
    terms = _periodic(eq, **kw)
    assert [tm.order for tm in terms] == orders
    assert [tm.derivatives for tm in terms] == [{(0, (j, 0))} for j in orders]
    names = {0: "value", 1: "derivative", 2: "derivative 2", 3: "derivative 3"}
    assert [tm.label for tm in terms] == [f"Periodic 1 ({names[j]})" for j in orders]
    assert all(tm.paired and tm.axis == 0 for tm in terms)


def test_periodic_default_order_is_today_s_value_and_derivative_on_second_order_problems():
    c = compile_problem(PERIODIC)  # -u_xx - u_yy - u: the shipped Allen-Cahn and heat problems are also 2nd order
    periodic = [tm for tm in c.terms if tm.kind == "periodic"]
    assert [(tm.label, tm.derivatives) for tm in periodic] == [("Periodic 1 (value)", {(0, (0, 0))}),
                                                               ("Periodic 1 (derivative)", {(0, (1, 0))})]


def test_periodic_higher_order_residuals_are_the_jumps_of_the_derivatives():
    terms = _periodic(KS)
    pts = CollocationSampler(pk.SpaceTime(pk.Interval(-1, 1), 0, 1), seed=4).periodic(15, 0)
    P = torch.as_tensor(pts)
    c = compile_problem(pk.Problem(name="ks", domain=pk.Interval(-1, 1), time=(t, 0, 1), fields=[W], equations=[KS],
                                   conditions=[pk.Periodic(W, x), pk.Initial(W, 0)]))
    good = sp.sin(sp.pi * x) * sp.exp(t) + sp.cos(2 * sp.pi * x) * t   # period 2 in x
    bad = x ** 4 * (1 + t)                                              # jumps d^j/dx^j (x^4) at x = +-1
    T = P[:15, 1]
    jumps = [0 * T, 8 * (1 + T), 0 * T, 48 * (1 + T)]  # odd derivatives of x^4 differ across [-1, 1]
    for term, jump in zip(terms, jumps):
        r = term.residual(c.env(P, sympy_values(term.derivatives, good, (x, t), pts)))
        assert r.shape == (15,) and float(r.abs().max()) < 1e-11, term.label
        r_bad = term.residual(c.env(P, sympy_values(term.derivatives, bad, (x, t), pts)))
        torch.testing.assert_close(r_bad, jump, rtol=0, atol=1e-11, msg=term.label)


@pytest.mark.parametrize("order", [-1, 1.5, True, "3"])
def test_periodic_order_must_be_a_whole_number(order):
    with pytest.raises(ProblemError, match="order must be a whole number >= 0"):
        pk.Periodic(W, x, order=order)


# ---------------------------------------------------------------------------- LM Jacobian
V = sp.Function("u")(x, y, t)
MIXED = pk.Problem(
    name="mixed", domain=pk.Rectangle((-1, 0), (1, 1)), time=(t, 0, 0.5), fields=[V],
    equations=[sp.Eq(V.diff(t), sp.Rational(1, 10) * laplace(V, x, y) - V**3 + V)],
    conditions=[pk.Periodic(V, x), pk.Dirichlet(V, 0, on=sp.Eq(y, 0)),
                pk.Robin(V, 1, sp.Rational(1, 2), x, on=sp.Eq(y, 1)),
                pk.Initial(V, sp.cos(sp.pi * x) * sp.sin(sp.pi * y))],
)


def _mixed_setup(seed=0):
    c = compile_problem(MIXED)
    data = sample_points(c, CollocationSampler(MIXED.domain, seed=seed), 24, 6, torch.float64, CPU)
    torch.manual_seed(seed)
    model = pk.KAN([3, 3, 1], grid=3, bounds=MIXED.domain.bounds)
    return c, data, model


def test_structured_jacobian_equals_the_generic_one(monkeypatch):
    c, data, model = _mixed_setup()
    assert [tp.term.kind for tp in data] == ["interior", "periodic", "periodic", "boundary", "boundary", "initial"]
    weights = {"Dirichlet 2": 4.0, "Periodic 1 (derivative)": 0.25}
    assert levenberg._plain_kan(model)
    R1, J1 = residual_and_jacobian(model, c, data, weights)
    monkeypatch.setattr(levenberg, "_plain_kan", lambda m: False)
    monkeypatch.setattr(levenberg, "_kan_residual_and_jacobian", None)  # the vmap path only
    R2, J2 = residual_and_jacobian(model, c, data, weights)
    assert R1.shape == (24 + 6 + 6 + 6 + 6 + 6,) and J1.shape == (len(R1), model.n_params) == J2.shape
    scale = float(J2.abs().max())
    assert scale > 0.1
    # measured: identical to the last bit here (max |J| 1.1)
    assert float((R1 - R2).abs().max()) <= 1e-12 * float(R2.abs().max())
    assert float((J1 - J2).abs().max()) <= 1e-10 * scale
    # the rows of a periodic term see the parameters through both points of a pair
    rows = slice(24, 30)
    assert float(J1[rows].abs().max()) > 1e-3


def test_jacobian_equals_finite_differences():
    c, data, model = _mixed_setup(seed=1)
    weights = {"Initial 4": 9.0}
    R, J = residual_and_jacobian(model, c, data, weights)
    fd = finite_difference_jacobian(model, c, data, weights)
    R0, _ = residual_and_jacobian(model, c, data, weights, with_jacobian=False)
    assert torch.equal(R0, R)
    # measured max difference 2.1e-10 against max |J| 0.82
    assert float((J - fd).abs().max()) <= 1e-6 * max(1.0, float(J.abs().max()))


def test_robin_coefficients_holding_a_field_are_rejected():
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    with pytest.raises(pk.ProblemError, match="coefficient a"):
        pk.Robin(u, u, 1, 0)
    with pytest.raises(pk.ProblemError, match="coefficient b"):
        pk.Robin(u, 1, u.diff(x), 0)
