"""Tabulated functions (pinnkan.problem.tables): interpolation order, derivatives through sympy
and torch, scattered data inside and outside the hull, files relative to the problem file, a
short solve with a tabulated source, and references undefined on part of the domain."""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.errors import ProblemError
from pinnkan.evaluation.metrics import field_errors_and_coverage
from pinnkan.problem import Scattered, Table
from pinnkan.problem.compile import compile_problem
from pinnkan.problem.loading import load_problem
from pinnkan.problem.symbolic import compile_expression
from pinnkan.problem.tables import TabulatedFunction

x, y, s = sp.symbols("x y s")
RNG = np.random.default_rng(0)
OFF = RNG.random((20000, 2)) * [1, 2]  # off-grid points of [0, 1] x [0, 2]
X, Y = torch.as_tensor(OFF[:, 0]), torch.as_tensor(OFF[:, 1])


def f(a, b):
    return np.sin(2 * a) * np.cos(b)


def f_x(a, b):
    return 2 * np.cos(2 * a) * np.cos(b)


def _table(n, method):
    xs, ys = np.linspace(0, 1, n), np.linspace(0, 2, 2 * n - 1)
    return Table(f(*np.meshgrid(xs, ys, indexing="ij")), grid=(xs, ys), method=method, name="a")


def _errors(method):
    """Max errors of the value and the x-derivative at OFF for grids of h = 1/10, 1/20, 1/40."""
    value, deriv = [], []
    for n in (11, 21, 41):
        a = _table(n, method)
        value.append(float(np.abs(a.evaluate([X, Y], (0, 0)).numpy() - f(*OFF.T)).max()))
        deriv.append(float(np.abs(a.evaluate([X, Y], (1, 0)).numpy() - f_x(*OFF.T)).max()))
    return np.array(value), np.array(deriv)


def test_linear_table_converges_at_second_order_and_its_derivative_at_first():
    value, deriv = _errors("linear")
    # measured value ratios 3.98, 3.98 (errors 6.2e-3, 1.5e-3, 3.9e-4); derivative 2.00, 2.00
    assert np.all(np.abs(value[:-1] / value[1:] - 4) < 0.3)
    assert np.all(np.abs(deriv[:-1] / deriv[1:] - 2) < 0.2)
    assert value[-1] < 5e-4


def test_cubic_table_converges_at_fourth_order_and_its_derivative_at_third():
    value, deriv = _errors("cubic")
    # measured value ratios 16.7, 16.6 (errors 4.7e-5, 2.8e-6, 1.7e-7); derivative 8.3, 8.2
    assert np.all(np.abs(value[:-1] / value[1:] - 16) < 2)
    assert np.all(np.abs(deriv[:-1] / deriv[1:] - 8) < 1.2)
    assert value[-1] < 3e-7


def test_tables_reproduce_their_own_polynomials_exactly():
    xs, ys = np.array([0, 0.3, 0.5, 1.0]), np.array([-1, 0, 0.5, 1.5, 2])
    G = np.meshgrid(xs, ys, indexing="ij")
    bilinear = Table(1 + 2 * G[0] - 3 * G[1] + 0.5 * G[0] * G[1], grid=(xs, ys))
    cubic = Table(G[0] ** 3 - 2 * G[0] * G[1] ** 2 + G[1] ** 3, grid=(xs, ys), method="cubic")
    P = torch.as_tensor(RNG.random((500, 2)) * [1, 3] - [0, 1])
    a, b = P[:, 0], P[:, 1]
    checks = [
        (bilinear, (0, 0), 1 + 2 * a - 3 * b + 0.5 * a * b), (bilinear, (1, 0), 2 + 0.5 * b),
        (bilinear, (1, 1), 0.5 + 0 * a), (bilinear, (2, 0), 0 * a),
        (cubic, (0, 0), a ** 3 - 2 * a * b ** 2 + b ** 3), (cubic, (1, 0), 3 * a ** 2 - 2 * b ** 2),
        (cubic, (0, 2), -4 * a + 6 * b), (cubic, (3, 0), 6 + 0 * a), (cubic, (1, 2), -4 + 0 * a),
        (cubic, (4, 0), 0 * a),
    ]
    for table, alpha, expected in checks:
        torch.testing.assert_close(table.evaluate([a, b], alpha), expected, rtol=0, atol=1e-12, msg=str(alpha))


def test_sympy_derivative_of_a_table_is_the_derivative_of_the_interpolant():
    a = _table(11, "cubic")
    expr = sp.exp(x) * a(x, y) + a(x ** 2, y)  # the chain rule through a nonlinear argument
    d = expr.diff(x)
    assert not d.atoms(sp.Derivative)
    Xg, Yg = X[:200].clone().requires_grad_(True), Y[:200]
    value = compile_expression(expr, {"x", "y"})({"x": Xg, "y": Yg})
    (auto,) = torch.autograd.grad(value.sum(), Xg)
    symbolic = compile_expression(d, {"x", "y"})({"x": Xg, "y": Yg})
    torch.testing.assert_close(symbolic, auto, rtol=0, atol=1e-12)
    # lambdify and evalf see the same interpolant
    lam = sp.lambdify((x, y), d, "numpy")(OFF[:200, 0], OFF[:200, 1])
    np.testing.assert_allclose(lam, symbolic.detach().numpy(), rtol=0, atol=1e-12)
    assert abs(float(a(x, y).subs({x: 0.3, y: 0.7}).evalf()) - float(a.numpy(0.3, 0.7))) < 1e-15


def test_table_is_nan_outside_its_grid_unless_it_extrapolates():
    xs = np.linspace(0, 1, 5)
    inside, outside = torch.tensor([0.0, 0.37, 1.0], dtype=torch.float64), torch.tensor([-0.1, 1.2], dtype=torch.float64)
    plain, extra = Table(2 * xs + 1, grid=xs), Table(2 * xs + 1, grid=xs, extrapolate=True)
    torch.testing.assert_close(plain.evaluate([inside], (0,)), 2 * inside + 1, rtol=0, atol=1e-14)
    assert torch.isnan(plain.evaluate([outside], (0,))).all() and plain.may_be_undefined
    torch.testing.assert_close(extra.evaluate([outside], (0,)), 2 * outside + 1, rtol=0, atol=1e-14)
    assert not extra.may_be_undefined


def test_table_works_on_float32_and_shared_devices_of_the_input():
    a = _table(11, "linear")
    out = a.evaluate([X[:10].float(), Y[:10].float()], (0, 0))
    assert out.dtype == torch.float32 and out.device == X.device
    np.testing.assert_allclose(out.numpy(), a.evaluate([X[:10], Y[:10]], (0, 0)).numpy(), rtol=1e-5, atol=1e-6)


def test_kept_results_follow_the_values_of_the_coordinates():
    a = _table(11, "linear")
    arr = OFF[:50, 0].copy()
    xa = torch.as_tensor(arr)  # shares memory with arr: changes in place are not versioned
    first = a.evaluate([xa, Y[:50]], (0, 0))
    assert a.evaluate([xa, Y[:50]], (0, 0)) is first  # kept
    arr[:] = OFF[50:100, 0]
    fresh = _table(11, "linear").evaluate([torch.as_tensor(arr.copy()), Y[:50].clone()], (0, 0))
    assert torch.equal(a.evaluate([xa, Y[:50]], (0, 0)), fresh)
    assert not torch.equal(a.evaluate([xa, Y[:50]], (0, 0)), first)


def test_a_table_of_a_field_differentiates_by_the_chain_rule():
    w = sp.Function("w")(s)
    nodes = np.linspace(-2, 2, 9)
    k = Table(1 + 2 * nodes, grid=nodes, name="k")  # linear data: k(v) = 1 + 2 v exactly
    p = pk.Problem(name="kofu", domain=pk.Interval(0, 1), fields=[w], equations=[(k(w) * w.diff(s)).diff(s)],
                   conditions=[pk.Dirichlet(w, 0)])
    c = compile_problem(p)
    (eq,) = c.equations
    assert eq.derivatives == {(0, (0,)), (0, (1,)), (0, (2,))}
    v, v1, v2 = (torch.as_tensor(RNG.random(30) * 2 - 1) for _ in range(3))
    r = eq.residual(c.env(torch.zeros(30, 1, dtype=torch.float64), {(0, (0,)): v, (0, (1,)): v1, (0, (2,)): v2}))
    torch.testing.assert_close(r, 2 * v1 ** 2 + (1 + 2 * v) * v2, rtol=0, atol=1e-12)


def test_scattered_is_linear_inside_the_hull_and_nan_or_nearest_outside():
    pts = np.vstack([[[0, 0], [1, 0], [0, 1], [1, 1]], RNG.random((60, 2))])
    plane = lambda p: 1 + 2 * p[:, 0] - 3 * p[:, 1]  # noqa: E731
    c = Scattered(pts, plane(pts), name="c")
    near = Scattered(pts, plane(pts), name="c", fill="nearest")
    q = np.array([[0.2, 0.7], [0.5, 0.5], [0.999, 0.01], [1.5, 0.5], [-0.2, 2.0]])
    a, b = torch.as_tensor(q[:, 0]), torch.as_tensor(q[:, 1])
    value, grad_y = c.evaluate([a, b], (0, 0)), c.evaluate([a, b], (0, 1))
    torch.testing.assert_close(value[:3], torch.as_tensor(plane(q[:3])), rtol=0, atol=1e-12)
    torch.testing.assert_close(grad_y[:3], torch.full((3,), -3.0, dtype=torch.float64), rtol=0, atol=1e-12)
    assert torch.isnan(value[3:]).all() and torch.isnan(grad_y[3:]).all()
    assert torch.all(c.evaluate([a, b], (1, 1))[:3] == 0)
    nearest = near.evaluate([a, b], (0, 0))
    closest = np.linalg.norm(q[3:, None, :] - pts[None], axis=2).argmin(axis=1)
    assert nearest[3:].tolist() == plane(pts[closest]).tolist() and closest[1] == 2  # (0, 1) for (-0.2, 2)
    torch.testing.assert_close(nearest[:3], value[:3], rtol=0, atol=0)
    assert torch.all(near.evaluate([a, b], (1, 0))[3:] == 0)
    # the sympy derivative reads the constant gradient of each simplex
    d = compile_expression(c(x, y).diff(x), {"x", "y"})({"x": a[:3], "y": b[:3]})
    torch.testing.assert_close(d, torch.full((3,), 2.0, dtype=torch.float64), rtol=0, atol=1e-12)


def test_scattered_in_one_dimension_joins_sorted_points():
    pts = np.array([0.5, 0.0, 1.0, 0.2])
    c = Scattered(pts, pts ** 2, name="c1")
    q = torch.tensor([0.1, 0.35, 0.75, 1.5], dtype=torch.float64)
    out = c.evaluate([q], (0,))
    torch.testing.assert_close(out[:3], torch.tensor([0.02, 0.145, 0.625], dtype=torch.float64), rtol=0, atol=1e-14)
    assert torch.isnan(out[3])
    torch.testing.assert_close(c.evaluate([q[:3]], (1,)), torch.tensor([0.2, 0.7, 1.5], dtype=torch.float64),
                               rtol=0, atol=1e-13)


@pytest.mark.parametrize("make, message", [
    (lambda: Table(np.zeros((3, 4)), grid=(np.arange(3.0), np.arange(3.0))), "axis 2 of the values has 4 entries"),
    (lambda: Table(np.zeros(3), grid=np.arange(3.0), method="cubic"), "needs at least 4"),
    (lambda: Table(np.zeros(3), grid=np.array([0, 2, 1.0])), "strictly increasing"),
    (lambda: Table(np.zeros(3), grid=np.arange(3.0), method="spline"), "'linear' or 'cubic'"),
    (lambda: Table(np.array([0, np.nan, 1]), grid=np.arange(3.0)), "1 non-finite value"),
    (lambda: Table(np.zeros((2, 2)), grid=(np.arange(2.0), np.arange(2.0)))(x), "takes 2 argument"),
    (lambda: Scattered(np.zeros((4, 2)), np.zeros(3)), "shape \\(n, d\\)"),
    (lambda: Scattered(np.c_[np.arange(4.0), np.arange(4.0)], np.zeros(4)), "no triangulation"),
    (lambda: Scattered(np.zeros((4, 2)), np.zeros(4), fill="zero"), "'nan' or 'nearest'"),
])
def test_bad_tables_are_clear_errors(make, message):
    with pytest.raises(ProblemError, match=message):
        make()


# ---------------------------------------------------------------------------- files
def test_from_file_reads_npy_npz_and_csv(tmp_path):
    xs, ys = np.linspace(0, 1, 5), np.linspace(-1, 1, 4)
    A = f(*np.meshgrid(xs, ys, indexing="ij"))
    np.save(tmp_path / "a.npy", A)
    np.savez(tmp_path / "a.npz", x=xs, y=ys, values=A)
    G = np.meshgrid(xs, ys, indexing="ij")
    rows = np.c_[G[0].ravel(), G[1].ravel(), A.ravel()][::-1]  # any node order
    np.savetxt(tmp_path / "a.csv", rows, delimiter=",", header="x,y,a", comments="")
    np.savetxt(tmp_path / "m.csv", A, delimiter=",")
    tables = [Table.from_file(tmp_path / "a.npy", grid=(xs, ys)), Table.from_file(tmp_path / "a.npz"),
              Table.from_file(tmp_path / "a.csv"), Table.from_file(tmp_path / "m.csv", grid=(xs, ys))]
    for t in tables:
        assert np.array_equal(t.values, A) and all(np.array_equal(g, h) for g, h in zip(t.grid, (xs, ys)))
    assert tables[1].name.startswith("a")
    np.savetxt(tmp_path / "s.csv", np.c_[OFF[:50], OFF[:50, 0]], delimiter=",")
    sc = Scattered.from_file(tmp_path / "s.csv")
    assert sc.points.shape == (50, 2) and np.array_equal(sc.values, OFF[:50, 0])
    with pytest.raises(ProblemError, match="pass grid="):
        Table.from_file(tmp_path / "a.npy")
    with pytest.raises(ProblemError, match="does not exist"):
        Table.from_file(tmp_path / "missing.npz")
    np.savetxt(tmp_path / "gap.csv", rows[1:], delimiter=",")
    with pytest.raises(ProblemError, match="give every node once"):
        Table.from_file(tmp_path / "gap.csv")


def test_relative_data_paths_resolve_against_the_problem_file(tmp_path, monkeypatch):
    folder = tmp_path / "case"
    (folder / "data").mkdir(parents=True)
    xs = np.linspace(0, 1, 11)
    np.save(folder / "data" / "source.npy", np.pi ** 2 * np.sin(np.pi * xs))
    (folder / "problem.py").write_text(textwrap.dedent("""
        import numpy as np
        import sympy as sp
        import pinnkan as pk
        from pinnkan.problem import Table

        s = sp.Symbol("s")
        w = sp.Function("w")(s)
        f = Table.from_file("data/source.npy", grid=np.linspace(0, 1, 11), name="f")
        problem = pk.Problem(name="tabulated", domain=pk.Interval(0, 1), fields=[w],
                             equations=[sp.Eq(-w.diff(s, 2), f(s))], conditions=[pk.Dirichlet(w, 0)])
    """))
    monkeypatch.chdir(tmp_path)  # not the problem's folder
    problem = load_problem(folder / "problem.py")
    (app,) = problem.equations[0].atoms(TabulatedFunction)
    np.testing.assert_array_equal(app.table.values, np.pi ** 2 * np.sin(np.pi * xs))
    # outside a loaded problem file, the calling file's folder: this test's own
    np.save(tmp_path / "here.npy", xs)
    with pytest.raises(ProblemError, match="tests.*here.npy does not exist"):
        Table.from_file("here.npy", grid=xs)


# ---------------------------------------------------------------------------- problems
def _tabulated_poisson(table):
    w = sp.Function("w")(s)
    return pk.Problem(name="tabulated", domain=pk.Interval(0, 1), fields=[w], equations=[sp.Eq(-w.diff(s, 2), table(s))],
                      conditions=[pk.Dirichlet(w, 0)], exact={w: sp.sin(sp.pi * s)})


def test_short_solve_with_a_tabulated_source_reaches_the_error_bound():
    xs = np.linspace(0, 1, 41)
    source = Table(np.pi ** 2 * np.sin(np.pi * xs), grid=xs, method="cubic", name="f")
    r = pk.solve(_tabulated_poisson(source), widths=[1, 5, 1], levels=[5, 10], adam_steps=0, lm_steps=40,
                 n_interior=64, n_boundary=8, seed=0, balance="none")
    # measured 1.1e-4 (seeds 1, 2: 8.5e-7, 2.3e-6; a linear table: 6.0e-4, 5.1e-4, 4.0e-4)
    assert r.metrics["rel_l2"]["w"] < 1e-3
    assert "error_coverage" not in r.metrics


def test_an_equation_table_that_misses_part_of_the_domain_is_an_error():
    xs = np.linspace(0, 0.8, 9)
    p = _tabulated_poisson(Table(np.sin(np.pi * xs), grid=xs, name="short"))
    with pytest.raises(ProblemError, match="equation 1 uses the table short, which is undefined") as e:
        compile_problem(p)
    assert "axis 1 in [0, 0.8]" in str(e.value) and "extrapolate=True" in str(e.value)
    compile_problem(_tabulated_poisson(Table(np.sin(np.pi * xs), grid=xs, name="short", extrapolate=True)))


def test_a_tabulated_boundary_value_outside_its_grid_names_the_table():
    u = sp.Function("u")(x, y)
    g = Table(np.zeros(4), grid=np.linspace(0, 0.5, 4), name="g")
    p = pk.Problem(name="edge", domain=pk.Rectangle((0, 0), (1, 1)), fields=[u], equations=[u.diff(x, 2) + u.diff(y, 2)],
                   conditions=[pk.Dirichlet(u, g(x))])
    c = compile_problem(p)
    pts = np.array([[0.2, 0.0], [0.9, 0.0]])
    with pytest.raises(ProblemError, match="g: axis 1 in \\[0, 0.5\\]"):
        c.check_data(c.terms[1], pts)


def test_a_reference_nan_on_half_the_domain_is_accepted_and_its_coverage_reported():
    w = sp.Function("w")(s)
    pts = np.linspace(0, 0.5, 21)
    ref = Scattered(pts, np.sin(np.pi * pts), name="ref")
    p = pk.Problem(name="half", domain=pk.Interval(0, 1), fields=[w],
                   equations=[sp.Eq(-w.diff(s, 2), sp.pi ** 2 * sp.sin(sp.pi * s))],
                   conditions=[pk.Dirichlet(w, 0)], exact={w: ref(s)})
    c = compile_problem(p)
    assert c.partial_exact == {0} and c.tabulated_exact == {0}
    # errors where the reference is defined, and the fraction of points that is
    P = torch.linspace(0, 1, 101, dtype=torch.float64)[:, None]
    ex = c.exact_values(P)
    pred = torch.where(torch.isfinite(ex), ex, torch.full_like(ex, 5.0)) + 0.01  # off the support: not counted
    rel, mx, coverage = field_errors_and_coverage(c, pred, P)
    assert coverage == {"w": 51 / 101}
    assert abs(mx["w"] - 0.01) < 1e-12 and abs(rel["w"] - 0.01 * np.sqrt(51) / float(ex[:51].norm())) < 1e-12
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = pk.solve(p, widths=[1, 3, 1], grid=5, adam_steps=0, lm_steps=3, n_interior=32, n_boundary=4, seed=0)
    assert not [w for w in caught if "of the evaluation points" in str(w.message)]  # half: no warning
    frac = r.metrics["error_coverage"]["w"]
    assert 0.5 <= frac < 0.52 and np.isfinite(r.metrics["rel_l2"]["w"])
    # below half: a warning
    short = Scattered(pts[:9], np.sin(np.pi * pts[:9]), name="ref")
    p2 = pk.Problem(name="short", domain=pk.Interval(0, 1), fields=[w], equations=p.equations,
                    conditions=p.conditions, exact={w: short(s)})
    with pytest.warns(UserWarning, match="defined \\(finite\\) on only 2\\d% of the evaluation points"):
        r2 = pk.solve(p2, widths=[1, 3, 1], grid=5, adam_steps=0, lm_steps=3, n_interior=32, n_boundary=4, seed=0)
    assert r2.metrics["error_coverage"]["w"] < 0.25


def test_a_reference_table_that_misses_the_domain_is_an_error():
    w = sp.Function("w")(s)
    far = Table(np.zeros(3), grid=np.array([2.0, 3.0, 4.0]), name="far")
    p = pk.Problem(name="far", domain=pk.Interval(0, 1), fields=[w], equations=[w.diff(s, 2)],
                   conditions=[pk.Dirichlet(w, 0)], exact={w: far(s)})
    with pytest.raises(ProblemError, match="undefined \\(nan\\) everywhere.*grid or points must overlap"):
        compile_problem(p)


def test_a_subdomain_field_reports_its_coverage_without_a_warning():
    x_, y_ = sp.symbols("x y")
    u1, u2 = sp.Function("u1")(x_, y_), sp.Function("u2")(x_, y_)
    p = pk.Problem(name="halves", domain=pk.Rectangle((-1, -1), (1, 1)), fields=[u1, u2],
                   equations=[pk.Equation(u1.diff(x_, 2) + u1.diff(y_, 2), on=x_ <= -0.5),
                              pk.Equation(u2.diff(x_, 2) + u2.diff(y_, 2), on=x_ >= -0.5)],
                   conditions=[pk.Dirichlet(u1, 0, on=x_ <= -0.5), pk.Dirichlet(u2, 0, on=x_ >= -0.5),
                               pk.Interface(u1 - u2, on=sp.Eq(x_, -0.5))],
                   exact={u1: sp.Piecewise((0, x_ <= -0.5), (sp.nan, True)),
                          u2: sp.Piecewise((0, x_ >= -0.5), (sp.nan, True))})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = pk.solve(p, widths=[2, 3, 2], grid=3, adam_steps=0, lm_steps=2, n_interior=64, n_boundary=16, seed=0)
    assert not [w for w in caught if "of the evaluation points" in str(w.message)]
    cov = r.metrics["error_coverage"]
    assert 0.22 < cov["u1"] < 0.3 and 0.72 < cov["u2"] < 0.8  # a quarter and three quarters of the square
