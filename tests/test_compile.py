"""compile_problem: derivative keys, residuals against sympy, normals, and every error case."""

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.problem.compile import compile_problem, placeholder_name
from pinnkan.errors import ProblemError

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower

ROOT = Path(__file__).resolve().parents[1]
x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
v = sp.Function("v")(x, y)
SQUARE = pk.Rectangle((-1, -1), (1, 1))
TINY = dict(adam_steps=1, lbfgs_steps=0, grid=4, optimizer="lbfgs", n_interior=16, n_boundary=8)


def _derivative_env(compiled, keys, exact, points):
    """Env for residual evaluation: derivatives of the sympy ``exact`` fields, by sympy.

    exact: {field index: sympy expression}; keys: derivative keys (field, alpha).
    """
    coords = [sp.Symbol(c) for c in compiled.coordinates]
    cols = [points[:, i] for i in range(points.shape[1])]
    values = {}
    for f, alpha in keys:
        expr = exact[f]
        for c, a in zip(coords, alpha):
            if a:
                expr = expr.diff(c, a)
        val = sp.lambdify(coords, expr, "numpy")(*cols)
        values[(f, alpha)] = torch.as_tensor(np.broadcast_to(np.asarray(val, dtype=float), cols[0].shape).copy())
    return values


# ---------------------------------------------------------------------------- poisson2d
def test_poisson2d_keys_and_exact_residual_vanishes():
    problem = pk.load_problem(ROOT / "problems" / "poisson2d.py")
    c = compile_problem(problem)
    assert c.coordinates == ("x", "y") and c.field_names == ["u"]
    (eq,) = c.equations
    (bc,) = c.conditions
    assert eq.derivatives == {(0, (2, 0)), (0, (0, 2))}
    assert bc.derivatives == {(0, (0, 0))}
    assert bc.select is None and not bc.needs_normals

    ue = problem.exact[problem.fields[0]]
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1, 1, (200, 2))
    env = c.env(torch.as_tensor(pts), _derivative_env(c, eq.derivatives, {0: ue}, pts))
    r = eq.residual(env)
    assert r.shape == (200,)
    assert float(r.abs().max()) < 1e-10
    # a wrong solution gives a clearly non-zero residual (the check is not vacuous)
    wrong = _derivative_env(c, eq.derivatives, {0: 2 * ue}, pts)
    assert float(eq.residual(c.env(torch.as_tensor(pts), wrong)).abs().max()) > 1.0

    bpts, normals = SQUARE.sample_boundary(64, rng=0)
    benv = c.env(torch.as_tensor(bpts), _derivative_env(c, bc.derivatives, {0: ue}, bpts), torch.as_tensor(normals))
    assert float(bc.residual(benv).abs().max()) < 1e-10

    # the exact solution compiled from the problem equals sympy's
    ex = c.exact_values(torch.as_tensor(pts))
    np.testing.assert_allclose(ex[:, 0].numpy(), np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1]), atol=1e-14)


def test_dirichlet_residual_is_field_minus_value():
    p = pk.Problem(name="d", domain=SQUARE, fields=[u], equations=[u.diff(x, 2)],
                   conditions=[pk.Dirichlet(u, x**2 + sp.sin(y), on=sp.Eq(y, 1))])
    c = compile_problem(p)
    (bc,) = c.conditions
    pts = torch.tensor([[0.3, 1.0], [-0.5, 1.0], [1.0, 1.0]], dtype=torch.float64)
    uval = torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64)
    r = bc.residual(c.env(pts, {(0, (0, 0)): uval}))
    expected = uval - (pts[:, 0] ** 2 + torch.sin(pts[:, 1]))
    torch.testing.assert_close(r, expected, rtol=0, atol=1e-15)
    # the selection keeps y = 1 only (within the relative tolerance)
    sel = bc.select(np.array([[0.0, 1.0], [0.0, 1.0 - 1e-9], [0.0, 0.999], [1.0, -1.0]]))
    assert sel.tolist() == [True, True, False, False]
    # data is the prescribed value
    torch.testing.assert_close(bc.data({"x": pts[:, 0], "y": pts[:, 1]}), pts[:, 0] ** 2 + torch.sin(pts[:, 1]))


# ---------------------------------------------------------------------------- Neumann
def test_neumann_1d_uses_the_outward_normal():
    s = sp.Symbol("s")
    w = sp.Function("w")(s)
    p = pk.Problem(name="n1", domain=pk.Interval(0, 1), fields=[w], equations=[w.diff(s, 2)],
                   conditions=[pk.Neumann(w, 2 * s + 1)])
    c = compile_problem(p)
    (bc,) = c.conditions
    assert bc.needs_normals and bc.derivatives == {(0, (1,))}
    pts = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    normals = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    dw = torch.tensor([3.0, 3.0], dtype=torch.float64)  # w'(0) = w'(1) = 3
    r = bc.residual(c.env(pts, {(0, (1,)): dw}, normals))
    # x = 0: n w' - g = -3 - 1 = -4;  x = 1: 3 - 3 = 0
    assert r.tolist() == [-4.0, 0.0]
    # with the domain's own normals: w = s^2 + s has w' . n = 2s + 1 only at s = 1
    bpts, bn = pk.Interval(0, 1).sample_boundary(2, rng=0)
    order = np.argsort(bpts[:, 0])
    assert bpts[order, 0].tolist() == [0.0, 1.0] and bn[order, 0].tolist() == [-1.0, 1.0]
    vals = {(0, (1,)): torch.as_tensor(2 * bpts[:, 0] + 1)}
    r = bc.residual(c.env(torch.as_tensor(bpts), vals, torch.as_tensor(bn))).numpy()[order]
    np.testing.assert_allclose(r, [-2.0, 0.0], atol=1e-15)


def test_neumann_2d_uses_both_normal_components():
    p = pk.Problem(name="n2", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) + u.diff(y, 2)],
                   conditions=[pk.Neumann(u, x * y, on=x > 0)])
    c = compile_problem(p)
    (bc,) = c.conditions
    assert bc.needs_normals and bc.derivatives == {(0, (1, 0)), (0, (0, 1))}
    pts = torch.tensor([[1.0, 0.5], [0.5, 1.0], [0.5, -1.0], [1.0, 1.0]], dtype=torch.float64)
    normals = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [2**-0.5, 2**-0.5]], dtype=torch.float64)
    ux = torch.tensor([2.0, 2.0, 2.0, 2.0], dtype=torch.float64)
    uy = torch.tensor([-5.0, -5.0, -5.0, -5.0], dtype=torch.float64)
    r = bc.residual(c.env(pts, {(0, (1, 0)): ux, (0, (0, 1)): uy}, normals))
    # n . grad u - x y:  2 - 0.5,  -5 - 0.5,  5 + 0.5,  (2 - 5)/sqrt 2 - 1
    torch.testing.assert_close(r, torch.tensor([1.5, -5.5, 5.5, -3 / 2**0.5 - 1], dtype=torch.float64),
                               rtol=0, atol=1e-14)
    # exact u = x^2 y / 2 + ... : on the side x = 1 (n = (1, 0)) u_x = x y -> residual 0
    ue = x**2 * y / 2 + sp.cos(y) - sp.cos(1) * 0
    bpts, bn = SQUARE.sample_boundary(200, rng=3)
    keep = bc.select(bpts)
    assert keep.any() and np.all(bpts[keep, 0] > 0)
    side = keep & (bpts[:, 0] == 1.0)
    vals = _derivative_env(c, bc.derivatives, {0: ue}, bpts[side])
    r = bc.residual(c.env(torch.as_tensor(bpts[side]), vals, torch.as_tensor(bn[side])))
    assert float(r.abs().max()) < 1e-14


# ---------------------------------------------------------------------------- systems
def test_nonlinear_system_of_two_fields_matches_sympy():
    eqs = [
        sp.Eq(-u.diff(x, 2) - u.diff(y, 2) + u**3 + u * u.diff(x), sp.sin(v) + x * y),
        v.diff(x, y) + sp.exp(-u) * v.diff(y) - v**2 * sp.cos(x) + u.diff(x) * v.diff(x, 2),
    ]
    p = pk.Problem(name="sys", domain=SQUARE, fields=[u, v], equations=eqs,
                   conditions=[pk.Dirichlet(u, 0), pk.Neumann(v, x * y, on=sp.Eq(x, 1))])
    c = compile_problem(p)
    assert c.field_names == ["u", "v"]
    e1, e2 = c.equations
    assert e1.derivatives == {(0, (2, 0)), (0, (0, 2)), (0, (0, 0)), (0, (1, 0)), (1, (0, 0))}
    assert e2.derivatives == {(1, (1, 1)), (0, (0, 0)), (1, (0, 1)), (1, (0, 0)), (0, (1, 0)), (1, (2, 0))}
    _, nb = c.conditions
    assert nb.derivatives == {(1, (1, 0)), (1, (0, 1))} and nb.needs_normals

    ue = sp.sin(x) * sp.exp(y) + x**3
    ve = sp.cos(x * y) + y**2 - x
    rng = np.random.default_rng(2)
    pts = rng.uniform(-1, 1, (100, 2))
    for term, eq in zip((e1, e2), eqs):
        expr = (eq.lhs - eq.rhs) if isinstance(eq, sp.Eq) else eq
        ref = sp.lambdify((x, y), expr.subs({u: ue, v: ve}).doit(), "numpy")(pts[:, 0], pts[:, 1])
        vals = _derivative_env(c, term.derivatives, {0: ue, 1: ve}, pts)
        got = term.residual(c.env(torch.as_tensor(pts), vals)).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_placeholder_names_and_env():
    assert placeholder_name(["u", "v"], (1, (2, 0, 1))) == "_d_v_2_0_1"
    p = pk.Problem(name="e", domain=SQUARE, fields=[u, v], equations=[u - v])
    c = compile_problem(p)
    pts = torch.tensor([[0.1, 0.2]], dtype=torch.float64)
    env = c.env(pts, {(0, (0, 0)): torch.tensor([5.0]), (1, (0, 0)): torch.tensor([3.0])},
                torch.tensor([[0.0, 1.0]]))
    assert set(env) == {"x", "y", "_d_u_0_0", "_d_v_0_0", "_n0", "_n1"}
    assert c.equations[0].residual(env).tolist() == [2.0]


# ---------------------------------------------------------------------------- errors
def _problem(**kw):
    base = dict(name="bad", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) + u.diff(y, 2)])
    base.update(kw)
    return pk.Problem(**base)


def test_field_arity_must_match_domain_dimension():
    u1 = sp.Function("u")(x)
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(fields=[u1], equations=[u1.diff(x, 2)]))
    msg = str(info.value)
    assert "1 coordinate(s)" in msg and "2-dimensional" in msg and "Rectangle((-1, -1), (1, 1))" in msg
    u3 = sp.Function("u")(x, y, sp.Symbol("z"))
    with pytest.raises(ProblemError, match=r"3 coordinate\(s\).*2-dimensional"):
        compile_problem(_problem(fields=[u3], equations=[u3.diff(x, 2)]))


@pytest.mark.parametrize("eq", [u.diff(x, 2) + v, u.diff(x, 2) + v.diff(y), sp.Eq(u.diff(x, 2), v**2)], ids=str)
def test_undeclared_function_in_equation(eq):
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(equations=[eq]))
    msg = str(info.value)
    assert "v(x, y)" in msg and "equation 1 of problem 'bad'" in msg and "fields=[...]" in msg


def test_undeclared_function_in_condition():
    with pytest.raises(ProblemError, match=r"condition 1 .*uses the function v\(x, y\)"):
        compile_problem(_problem(conditions=[pk.Dirichlet(u, v)]))


def test_unknown_symbol_in_equation():
    k = sp.Symbol("k")
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(equations=[u.diff(x, 2) + k * u]))
    msg = str(info.value)
    assert "symbol(s) k," in msg and "equation 1 of problem 'bad'" in msg


def test_unknown_symbol_in_boundary_value_and_selection():
    a = sp.Symbol("alpha")
    with pytest.raises(ProblemError, match=r"condition 1 \(Dirichlet on u\(x, y\)\) of problem 'bad' uses the symbol\(s\) alpha"):
        compile_problem(_problem(conditions=[pk.Dirichlet(u, a * x)]))
    with pytest.raises(ProblemError, match=r"boundary selection of condition 1.*symbol\(s\) alpha"):
        compile_problem(_problem(conditions=[pk.Dirichlet(u, 0, on=sp.Eq(x, a))]))


def test_fields_with_different_arguments():
    v_yx = sp.Function("v")(y, x)
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(fields=[u, v_yx], equations=[u.diff(x, 2) + v_yx]))
    msg = str(info.value)
    assert "v(y, x)" in msg and "(y, x)" in msg and "same coordinates in the same order" in msg


def test_field_in_boundary_data_is_rejected_as_documented():
    # docs/problem-files.md: value and flux depend on the coordinates only
    with pytest.raises(ProblemError, match=r"prescribed value of condition 1 \(Neumann on u\(x, y\)\).*uses v,"):
        compile_problem(_problem(fields=[u, v], equations=[u - v], conditions=[pk.Neumann(u, v)]))


def test_field_evaluated_off_its_coordinates():
    with pytest.raises(ProblemError, match=r"evaluates the field u at \(0, y\)"):
        compile_problem(_problem(equations=[u.diff(x, 2) + u.subs(x, 0)]))


@pytest.mark.parametrize("eq", [u.diff(x, 2) == 0, sp.Eq(x, x)], ids=["python ==", "sympy true"])
def test_equation_written_with_double_equals(eq):
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(equations=[eq]))
    msg = str(info.value)
    assert "equation 1 of problem 'bad'" in msg and "'=='" in msg and "sp.Eq(lhs, rhs)" in msg


def test_single_equation_written_with_double_equals_not_in_a_list():
    with pytest.raises(ProblemError, match="'=='"):
        pk.Problem(name="bad", domain=SQUARE, fields=[u], equations=u.diff(x, 2) == 0)


def test_single_condition_not_in_a_list():
    p = pk.Problem(name="c", domain=SQUARE, fields=[u], equations=[u.diff(x, 2)], conditions=pk.Dirichlet(u, 0))
    assert len(p.conditions) == 1


def test_selection_written_with_double_equals():
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(conditions=[pk.Dirichlet(u, 0, on=(x == -1))]))
    msg = str(info.value)
    assert "Python value False" in msg and "'=='" in msg and "on=sp.Eq(x, -1)" in msg
    assert "condition 1 (Dirichlet on u(x, y)) of problem 'bad'" in msg


def test_selection_matching_no_boundary_point_is_raised_by_solve():
    p = _problem(conditions=[pk.Dirichlet(u, 0), pk.Dirichlet(u, 0, on=sp.Eq(x, 5), label="far side")])
    compile_problem(p)  # compiles: whether it matches is only known from the boundary points
    with pytest.raises(ProblemError) as info:
        pk.solve(p, **TINY)
    msg = str(info.value)
    assert "'far side' matched no boundary point" in msg and "Rectangle((-1, -1), (1, 1))" in msg


def test_non_finite_exact_solution_names_the_field():
    s = sp.Symbol("s")
    w = sp.Function("w")(s)
    p = pk.Problem(name="ex", domain=pk.Interval(0, 1), fields=[w], equations=[w.diff(s, 2)], exact={w: 1 / s})
    with pytest.raises(ProblemError) as info:
        compile_problem(p)
    msg = str(info.value)
    assert "exact solution of w is not finite" in msg and "{'s': 0.0}" in msg and "problem 'ex'" in msg
    # in a system, the message names the offending field, not the first one
    with pytest.raises(ProblemError, match=r"exact solution of v is not finite at \{'x': -1\.0, 'y': -1\.0\}"):
        compile_problem(_problem(fields=[u, v], equations=[u - v], exact={u: x, v: sp.log(1 - x * y)}))


@pytest.mark.parametrize("domain, fields", [(pk.Interval(-1, 1), "1d"), (SQUARE, "2d")])
def test_non_finite_exact_solution_inside_the_domain(domain, fields):
    if fields == "1d":
        w = sp.Function("w")(x)
        p = pk.Problem(name="ex", domain=domain, fields=[w], equations=[w.diff(x, 2)], exact={w: 1 / x})
    else:
        p = _problem(exact={u: 1 / x})
    with pytest.raises(ProblemError, match="is not finite"):
        compile_problem(p)


def test_non_finite_dirichlet_value_is_raised_by_solve():
    w = sp.Function("w")(x)
    p = pk.Problem(name="dv", domain=pk.Interval(-1, 1), fields=[w], equations=[w.diff(x, 2)],
                   conditions=[pk.Dirichlet(w, 1 / (x + 1))])
    compile_problem(p)
    with pytest.raises(ProblemError) as info:
        pk.solve(p, **TINY)
    msg = str(info.value)
    assert "prescribed value of Dirichlet 1 is not finite at {'x': -1.0}" in msg and "problem 'dv'" in msg
    # restricting the condition to the other end avoids the singular point: no error, and
    # the loss term gets only points at x = 1
    ok = pk.Problem(name="dv", domain=pk.Interval(-1, 1), fields=[w], equations=[w.diff(x, 2)],
                    conditions=[pk.Dirichlet(w, 1 / (x + 1), on=sp.Eq(x, 1))])
    r = pk.solve(ok, **TINY)
    assert r.metrics["steps"] == 1


@pytest.mark.parametrize("key", [sp.Function("w")(x, y), x, "w"], ids=["other field", "symbol", "string"])
def test_exact_keyed_by_a_non_field(key):
    with pytest.raises(ProblemError) as info:
        compile_problem(_problem(exact={key: x * y}))
    msg = str(info.value)
    assert "exact={...} names" in msg and "not one of the fields u(x, y)" in msg


@pytest.mark.parametrize("key", [u, sp.Function("u"), "u"], ids=["field", "function", "name"])
def test_exact_keyed_by_the_field_in_any_spelling(key):
    c = compile_problem(_problem(exact={key: x * y}))
    pts = torch.tensor([[0.5, -2.0]], dtype=torch.float64)
    assert c.exact_values(pts).tolist() == [[-1.0]]


def test_problem_file_errors_name_the_file(tmp_path):
    f = tmp_path / "undeclared.py"
    f.write_text(
        "import sympy as sp\nimport pinnkan as pk\n"
        "x, y = sp.symbols('x y')\nu = sp.Function('u')(x, y)\nv = sp.Function('v')(x, y)\n"
        "problem = pk.Problem(name='undeclared', domain=pk.Rectangle((0, 0), (1, 1)), fields=[u],\n"
        "                     equations=[u.diff(x, 2) + v])\n")
    p = pk.load_problem(f)
    with pytest.raises(ProblemError) as info:
        compile_problem(p)
    assert str(f) in str(info.value) and "v(x, y)" in str(info.value)
