"""compile_expression / compile_relation against sympy's own evaluation."""

import numpy as np
import pytest
import sympy as sp
import torch

from pinnkan.errors import ProblemError
from pinnkan.problem.symbolic import compile_expression, compile_relation

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower

x, y = sp.symbols("x y")
NAMES = {"x", "y"}


def _points(n=64, lo=0.1, hi=0.9, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = rng.uniform(lo, hi, n), rng.uniform(lo, hi, n)
    return X, Y, {"x": torch.tensor(X), "y": torch.tensor(Y)}


def _sympy_values(expr, X, Y):
    ref = sp.lambdify((x, y), expr, modules=["scipy", "numpy"])(X, Y)
    return np.broadcast_to(np.asarray(ref, dtype=float), X.shape)


# Points lie in (0.1, 0.9)^2, where every expression below is defined and smooth enough.
EXPRESSIONS = [
    x + y, x - y, -x, x * y, x / y, 3 * x - y / 7,
    x**2, x**3, x**-1, x**-2, y**5 * x**-3,                  # integer powers
    x**sp.Rational(1, 3), x**sp.Rational(-1, 2), x**sp.Rational(3, 2), x**sp.Rational(5, 4),
    x**y, 2**x, x**sp.pi, (x + y)**(x - y),                  # symbolic / irrational powers
    sp.sqrt(x), 1 / sp.sqrt(x + y), sp.sqrt(2) * x,
    sp.exp(x), sp.exp(-x**2 / 2), sp.log(x), sp.log(x, 2), sp.log(1 + x * y),
    sp.sin(x), sp.cos(y), sp.tan(x), sp.tanh(x - y), sp.atan(x), sp.asin(x), sp.acos(y),
    sp.sinh(x), sp.cosh(y), sp.asinh(x), sp.acosh(1 + x), sp.atanh(x - 0.5),
    sp.sec(x), sp.csc(x), sp.cot(x),
    sp.Abs(x - 0.5), sp.Abs(x - y) * y, sp.sign(x - 0.5), sp.sign(y - x) * x,
    sp.erf(x), sp.erf(x - y) + 1,
    sp.Min(x, y), sp.Max(x, y, sp.Rational(1, 2)), sp.Min(x, 1), sp.Max(x**2, y / 2),
    sp.atan2(y - 0.5, x - 0.5), sp.atan2(x, -y),
    sp.pi * x + sp.E + sp.Rational(2, 3), sp.E**x, sp.pi**2 * sp.sin(sp.pi * x) * sp.sin(sp.pi * y),
    sp.Heaviside(x - 0.5), sp.Heaviside(x - 0.5, 0), sp.floor(3 * x), sp.ceiling(3 * y),
    sp.sin(sp.exp(x) * sp.cos(y)) / (1 + x**2),
]


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=str)
def test_expression_matches_sympy(expr):
    X, Y, env = _points()
    got = compile_expression(expr, NAMES)(env)
    assert isinstance(got, torch.Tensor) and got.shape == (64,) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), _sympy_values(expr, X, Y), rtol=1e-12, atol=1e-12)


PIECEWISE = [
    sp.Piecewise((x, x < 0.5), (y, True)),
    sp.Piecewise((x, x < 0.3), (x**2, x < 0.6), (sp.sin(y), True)),
    sp.Piecewise((1, sp.And(x > 0.5, y > 0.5)), (0, True)),
    sp.Piecewise((x * y, sp.Or(x < 0.2, y >= 0.7)), (-x, True)) + x,
]


@pytest.mark.parametrize("expr", PIECEWISE, ids=str)
def test_piecewise_matches_sympy(expr):
    X, Y, env = _points()
    got = compile_expression(expr, NAMES)(env)
    np.testing.assert_allclose(got.numpy(), _sympy_values(expr, X, Y), rtol=1e-12, atol=1e-12)


def test_piecewise_conditions_are_exact_and_first_match_wins():
    env = {"x": torch.tensor([0.5 - 1e-12, 0.5, 0.2, 0.9], dtype=torch.float64)}
    f = compile_expression(sp.Piecewise((1, x < 0.5), (2, x < 0.8), (3, True)), {"x"})
    assert f(env).tolist() == [1.0, 2.0, 1.0, 3.0]
    g = compile_expression(sp.Piecewise((x, sp.Eq(x, 0.5)), (-x, True)), {"x"})
    assert g(env).tolist() == [-(0.5 - 1e-12), 0.5, -0.2, -0.9]


def test_piecewise_without_default_piece_is_nan_where_no_piece_holds():
    """No (value, True) piece: nan where no condition holds (as in sympy), never the last piece."""
    env = {"x": torch.tensor([0.1, 0.5, 0.6, 0.75, 0.9], dtype=torch.float64)}
    expr = sp.Piecewise((1, x < 0.5), (x**2, x > 0.7))
    got = compile_expression(expr, {"x"})(env).numpy()
    ref = np.array([float(expr.subs(x, v)) for v in env["x"].tolist()])
    np.testing.assert_array_equal(np.isnan(got), [False, True, True, False, False])
    np.testing.assert_array_equal(np.isnan(ref), np.isnan(got))
    np.testing.assert_allclose(got[~np.isnan(got)], [1.0, 0.75**2, 0.9**2], rtol=0, atol=1e-15)


@pytest.mark.parametrize("const, value", [
    (sp.pi, np.pi), (sp.E, np.e), (sp.Rational(3, 4), 0.75), (sp.Integer(-2), -2.0),
    (sp.Float(1.5), 1.5), (sp.sqrt(2), np.sqrt(2)), (sp.exp(2), np.exp(2)),
    (sp.atan2(1, 2), np.arctan2(1, 2)), (2 * sp.pi**2, 2 * np.pi**2), (sp.Integer(0), 0.0),
])
def test_constant_expression_is_broadcast_to_the_input_shape(const, value):
    for shape, dtype in [((7,), torch.float64), ((3, 5), torch.float64), ((4,), torch.float32)]:
        env = {"x": torch.rand(shape, dtype=torch.float64).to(dtype)}
        got = compile_expression(const, {"x"})(env)
        assert got.shape == shape and got.dtype == dtype
        tol = 1e-12 if dtype == torch.float64 else 1e-6
        np.testing.assert_allclose(got.double().numpy(), np.full(shape, value), rtol=tol, atol=tol)


def test_expression_of_one_symbol_gets_the_common_shape():
    # y alone in an env that also holds x: result has the common shape, values of y
    _, Y, env = _points(16)
    got = compile_expression(y + 1, NAMES)(env)
    np.testing.assert_allclose(got.numpy(), Y + 1, rtol=1e-15)


# ---------------------------------------------------------------------------- relations
XS = torch.tensor([-1.0, -1 + 1e-9, -1 + 1e-3, -1e-9, 0.0, 1e-9, 0.5, 1.0], dtype=torch.float64)
YS = torch.tensor([0.0, 1.0, -1.0, 0.2, -0.3, 0.0, 0.7, 1.0], dtype=torch.float64)
REL_ENV = {"x": XS, "y": YS}
TOL = 1e-6


@pytest.mark.parametrize("rel, expected", [
    (sp.Eq(x, -1), np.abs(XS.numpy() + 1) <= TOL),
    (sp.Ne(x, 0), np.abs(XS.numpy()) > TOL),
    (sp.Eq(x + y, 0), np.abs(XS.numpy() + YS.numpy()) <= TOL),
    (x > 0, XS.numpy() > TOL),
    (x >= 0, XS.numpy() >= -TOL),
    (x < 0, XS.numpy() < -TOL),
    (x <= 0, XS.numpy() <= TOL),
    (sp.And(x > 0, y > 0), (XS.numpy() > TOL) & (YS.numpy() > TOL)),
    (sp.Or(sp.Eq(x, -1), y > 0.5), (np.abs(XS.numpy() + 1) <= TOL) | (YS.numpy() > 0.5 + TOL)),
    (sp.Not(sp.And(x > 0, y > 0)), ~((XS.numpy() > TOL) & (YS.numpy() > TOL))),
    (sp.And(sp.Or(x < 0, sp.Eq(y, 1)), sp.Not(sp.Eq(x, -1))),
     ((XS.numpy() < -TOL) | (np.abs(YS.numpy() - 1) <= TOL)) & ~(np.abs(XS.numpy() + 1) <= TOL)),
])
def test_relation_with_tolerance(rel, expected):
    got = compile_relation(rel, NAMES, TOL, "selection")(REL_ENV)
    assert got.dtype == torch.bool and got.shape == XS.shape
    np.testing.assert_array_equal(got.numpy(), expected)


def test_relation_tolerance_hand_values():
    # |x + 1| <= 1e-6 holds at -1 and -1 + 1e-9, not at -1 + 1e-3; x > 0 excludes 1e-9 (within tol)
    assert compile_relation(sp.Eq(x, -1), NAMES, TOL, "s")(REL_ENV).tolist() == \
        [True, True, False, False, False, False, False, False]
    assert compile_relation(x > 0, NAMES, TOL, "s")(REL_ENV).tolist() == \
        [False, False, False, False, False, False, True, True]
    assert compile_relation(x >= 0, NAMES, TOL, "s")(REL_ENV).tolist() == \
        [False, False, False, True, True, True, True, True]
    # with zero tolerance, 1e-9 is strictly positive
    assert compile_relation(x > 0, NAMES, 0.0, "s")(REL_ENV).tolist() == \
        [False, False, False, False, False, True, True, True]


@pytest.mark.parametrize("rel, value", [(sp.true, True), (sp.false, False), (sp.Eq(x, x), True)])
def test_constant_relation_broadcasts(rel, value):
    got = compile_relation(rel, NAMES, TOL, "s")(REL_ENV)
    assert got.dtype == torch.bool and got.shape == XS.shape and bool(got.all()) is value and bool(got.any()) is value


def test_relation_rejects_non_boolean_and_unknown_symbols():
    with pytest.raises(ProblemError, match=r"boundary selection of C.*x \+ 1.*not a relation"):
        compile_relation(x + 1, NAMES, TOL, "boundary selection of C")
    z = sp.Symbol("z")
    with pytest.raises(ProblemError, match=r"symbol\(s\) z, which are not coordinates"):
        compile_relation(sp.Eq(z, 0), NAMES, TOL, "sel")
    with pytest.raises(ProblemError, match="uses Xor"):
        compile_relation(sp.Xor(x > 0, y > 0), NAMES, TOL, "sel")


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("expr, name", [
    (sp.besselj(0, x), "besselj"),
    (sp.gamma(x) + 1, "gamma"),
    (sp.Function("g")(2) * x, "g"),
    (sp.Function("kernel")(x, y), "kernel"),
    (sp.zeta(x), "zeta"),
])
def test_unsupported_function_raises_problem_error_naming_it(expr, name):
    with pytest.raises(ProblemError) as info:
        compile_expression(expr, NAMES, what="equation 7 of problem 'demo'")
    msg = str(info.value)
    assert f"uses {name}," in msg and "equation 7 of problem 'demo'" in msg and "Supported" in msg


def test_unknown_symbol_raises_problem_error_naming_it():
    k, kappa = sp.symbols("k kappa")
    with pytest.raises(ProblemError) as info:
        compile_expression(k * x + kappa * y, NAMES, what="equation 1")
    msg = str(info.value)
    assert "symbol(s) k, kappa" in msg and "equation 1" in msg


@pytest.mark.parametrize("const", [
    sp.oo, -sp.oo, sp.nan,
    sp.zoo,
], ids=str)
def test_non_finite_constant_raises(const):
    expr = const if const is sp.nan else x + const
    with pytest.raises(ProblemError, match="non-finite constant"):
        compile_expression(expr, NAMES)


# ---------------------------------------------------------------------------- autograd
def test_compiled_expression_is_differentiable():
    X, _, _ = _points(32, -2.0, 2.0, seed=3)
    xt = torch.tensor(X, requires_grad=True)
    expr = sp.sin(x) * x**2
    f = compile_expression(expr, {"x"})
    out = f({"x": xt})
    (g,) = torch.autograd.grad(out.sum(), xt, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), xt)
    d1 = sp.lambdify(x, expr.diff(x), "numpy")(X)
    d2 = sp.lambdify(x, expr.diff(x, 2), "numpy")(X)
    np.testing.assert_allclose(g.detach().numpy(), d1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g2.numpy(), d2, rtol=1e-12, atol=1e-12)


def test_gradient_with_respect_to_two_inputs_through_powers_and_constants():
    X, Y, _ = _points(32, seed=5)
    xt, yt = torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)
    expr = x**y + sp.sqrt(x) * sp.exp(-y) + sp.pi * sp.atan2(y, x)
    out = compile_expression(expr, NAMES)({"x": xt, "y": yt})
    gx, gy = torch.autograd.grad(out.sum(), (xt, yt))
    np.testing.assert_allclose(gx.numpy(), sp.lambdify((x, y), expr.diff(x))(X, Y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gy.numpy(), sp.lambdify((x, y), expr.diff(y))(X, Y), rtol=1e-12, atol=1e-12)
