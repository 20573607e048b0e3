"""Broken problem files: each gives one clear ProblemError naming the file and the fix, before training."""

import re
import warnings

import pytest
import sympy as sp

import pinnkan as pk
from pinnkan.errors import ProblemError
from pinnkan.problem.checks import check_conflicting_conditions, check_piecewise_coverage
from pinnkan.problem.loading import load_problem
from helpers import run_main

TINY = ["--steps", "20,20", "--points", "128", "--boundary-points", "32"]

HEADER = """import sympy as sp
import pinnkan as pk
x, y = sp.symbols('x y')
u = sp.Function('u')(x, y)
v = sp.Function('v')(x, y)
EQ = -u.diff(x, 2) - u.diff(y, 2) - 1
SQUARE = pk.Rectangle((-1, -1), (1, 1))
"""


def problem_file(tmp_path, body: str, name: str = "bad.py"):
    """A problem file: HEADER, then ``body``: lines of code, or (one line) Problem(...)'s arguments."""
    f = tmp_path / name
    if "\n" not in body:
        body = f"problem = pk.Problem(name='bad', domain=SQUARE, {body})\n"
    f.write_text(HEADER + body)
    return f




# name: (file body, facts the message states)
BAD = {
    "number equation": ("fields=[u], equations=[3.0], conditions=[pk.Dirichlet(u, 0)]",
                        ["equation 1 of problem 'bad' is the number 3.0", "holds no field", "sp.Eq("]),
    "None equation": ("fields=[u], equations=[EQ, None]",
                      ["equation 2 of problem 'bad' is None", "not an equation", "sp.Eq(lhs, rhs)"]),
    "string equation": ("fields=[u], equations=['-u.diff(x, 2) - 1']",
                        ["is the string '-u.diff(x, 2) - 1'", "not an equation", "sp.Eq(lhs, rhs)"]),
    "equation without field": ("fields=[u], equations=[x**2 + y]",
                               ["equation 1 of problem 'bad' is x**2 + y", "holds no field", "u(x, y)"]),
    "inequality equation": ("fields=[u], equations=[u < 0]",
                            ["is the inequality u(x, y) < 0", "pk.Equation(eq, on=...)"]),
    "None Dirichlet value": ("fields=[u], equations=[EQ], conditions=[pk.Dirichlet(u, None)]",
                             ["Dirichlet(u(x, y), value): the value is None", "give a number such as 0"]),
    "string Dirichlet value": ("fields=[u], equations=[EQ], conditions=[pk.Dirichlet(u, 'sin(x)')]",
                               ["the value is the string 'sin(x)'", "not the problem's", "sp.sin(sp.pi * x)"]),
    "list Neumann flux": ("fields=[u], equations=[EQ], conditions=[pk.Neumann(u, [0, 1])]",
                          ["Neumann(u(x, y), flux): the flux is [0, 1] (a list)", "give a number"]),
    "relation Dirichlet value": ("fields=[u], equations=[EQ], conditions=[pk.Dirichlet(u, sp.Eq(u, 1))]",
                                 ["the value is the relation Eq(u(x, y), 1)", "give a number"]),
    "None Robin coefficient": ("fields=[u], equations=[EQ], conditions=[pk.Robin(u, None, 1)]",
                               ["Robin(u(x, y), a, b, g): a is None", "give a number"]),
    "None weight": ("fields=[u], equations=[EQ], conditions=[pk.Dirichlet(u, 0, weight=None)]",
                    ["Dirichlet(u(x, y), ...): the weight is None", "finite number >= 0"]),
    "negative equation weight": ("fields=[u], equations=[EQ], equation_weights=[-1]",
                                 ["equation_weights=...) entry 1: the weight is -1", "finite number >= 0"]),
    "None exact": ("fields=[u], equations=[EQ], exact={u: None}",
                   ["Problem(exact={u(x, y): ...}) is None", "sympy expression of the coordinates"]),
    "field listed twice": ("fields=[u, u], equations=[EQ, EQ]",
                           ["lists the field u more than once", "list each field once"]),
    "same name twice": ("fields=[u, sp.Function('u')(y, x)], equations=[EQ, EQ]",
                        ["lists the field u more than once"]),
    "derivative by a non-coordinate": (
        "fields=[u], equations=[EQ + sp.Derivative(u, sp.Symbol('z'))]",
        ["equation 1 of problem 'bad' differentiates u(x, y) with respect to z", "not a coordinate",
         "silently be 0", "add z to the fields' arguments"]),
    "derivative by a non-coordinate in a flux": (
        "fields=[u], equations=[EQ], conditions=[pk.Neumann(u, sp.Derivative(u, sp.Symbol('s')))]",
        ["Condition 1 (Neumann(u(x, y)) on whole boundary) of problem 'bad' differentiates u(x, y) with respect to s"]),
    "equations not a list": ("fields=[u], equations=None", ["Problem(equations=...) must be a list, got None"]),
    "sys.exit(0)": ("import sys\nsys.exit(0)\n",
                    ["called sys.exit(0) (or raised SystemExit) at line 9", "remove the call"]),
    "raise SystemExit": ("raise SystemExit\n", ["called sys.exit() (or raised SystemExit) at line 8"]),
    "exit in a function": ("def stop():\n    import sys\n    sys.exit('no')\nstop()\n",
                           ["called sys.exit('no')", "at line 10", "must only define `problem"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_problem_file_is_one_clear_error(tmp_path, name):
    body, facts = BAD[name]
    f = problem_file(tmp_path, body)
    with pytest.raises(ProblemError) as info:
        load_problem(f)
    msg = str(info.value)
    assert str(f) in msg and "\n" not in msg, msg
    for fact in facts:
        assert fact.lower() in msg.lower(), (fact, msg)


@pytest.mark.parametrize("name", ["number equation", "None equation", "field listed twice",
                                  "derivative by a non-coordinate", "sys.exit(0)", "None Dirichlet value"])
def test_bad_problem_file_exits_2_without_traceback(tmp_path, name):
    body, facts = BAD[name]
    f = problem_file(tmp_path, body)
    out = tmp_path / "out"
    code, stdout, stderr = run_main(["solve", f, *TINY, "--out", out])
    assert code == 2, stderr
    text = stderr.strip()
    assert text.startswith("pinnkan: error:") and len(text.splitlines()) == 1, text
    assert "Traceback" not in stderr and str(f) in text and facts[0].lower() in text.lower()
    assert stdout == "" and not out.exists()  # nothing trained, nothing written


def test_zero_dimensional_array_and_numpy_numbers_are_values():
    import numpy as np

    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    assert pk.Dirichlet(u, np.array(2.5)).value == sp.Float(2.5)
    flux = pk.Neumann(u, np.float64(-1)).flux
    assert isinstance(flux, sp.Float) and float(flux) == -1.0
    assert pk.Dirichlet(u, 3).value == sp.Integer(3)


# ---------------------------------------------------------------------------- conflicting conditions
x, y, t = sp.symbols("x y t")
u = sp.Function("u")(x, y)
v = sp.Function("v")(x, y)
SQUARE = pk.Rectangle((-1, -1), (1, 1))


def square(conditions, fields=(u,)):
    eqs = [f.diff(x, 2) + f.diff(y, 2) for f in fields]
    return pk.Problem(name="sq", domain=SQUARE, fields=list(fields), equations=eqs, conditions=conditions)


def conflict(problem) -> str:
    with pytest.raises(ProblemError) as info:
        check_conflicting_conditions(problem)
    return str(info.value)


def test_dirichlet_zero_and_one_on_the_whole_boundary_conflict():
    msg = conflict(square([pk.Dirichlet(u, 0), pk.Dirichlet(u, 1)]))
    assert "In problem 'sq', conditions 1 (Dirichlet(u(x, y)) on whole boundary) and 2 (Dirichlet(u(x, y)) on " \
           "whole boundary) prescribe different values of u on the same boundary points" in msg
    assert "u = 0 and u = 1" in msg and "(2048 of 2048 sampled boundary points disagree)" in msg
    assert "restrict one of them with on=..." in msg


def test_overlapping_selections_conflict_at_a_point_of_the_overlap():
    msg = conflict(square([pk.Dirichlet(u, 0, on=x <= 0.5), pk.Dirichlet(u, 1, on=x >= 0.4)]))
    assert "conditions 1 (Dirichlet(u(x, y)) on x <= 0.5) and 2 (Dirichlet(u(x, y)) on x >= 0.4)" in msg
    at = re.search(r"at \{'x': ([-0-9.e]+), 'y': ([-0-9.e]+)\}", msg)
    px, py = float(at.group(1)), float(at.group(2))
    assert 0.4 <= px <= 0.5 and abs(py) == 1.0  # on the top or bottom side, inside the overlap


def test_conflict_in_a_problem_file_names_the_file(tmp_path):
    f = problem_file(tmp_path, "fields=[u], equations=[EQ], conditions=[pk.Dirichlet(u, 0), "
                               "pk.Dirichlet(u, sp.sin(x) + 2, on=sp.Eq(y, 1), label='lid')]")
    msg = conflict(load_problem(f))
    assert f"problem 'bad' ({f})" in msg and "conditions 1 (Dirichlet(u(x, y)) on whole boundary) and 2 (lid)" in msg


def test_one_dimensional_whole_boundary_and_end_point_conflict():
    w = sp.Function("w")(x)
    p = pk.Problem(name="rod", domain=pk.Interval(0, 1), fields=[w], equations=[w.diff(x, 2)],
                   conditions=[pk.Dirichlet(w, 0), pk.Dirichlet(w, 1, on=sp.Eq(x, 1))])
    msg = conflict(p)
    assert "w = 0 and w = 1 at {'x': 1.0}" in msg


def test_initial_conditions_of_the_same_order_conflict():
    h = sp.Function("h")(x, t)
    p = pk.Problem(name="heat", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[h],
                   equations=[h.diff(t) - h.diff(x, 2)],
                   conditions=[pk.Dirichlet(h, 0), pk.Initial(h, sp.sin(sp.pi * x)), pk.Initial(h, 0)])
    msg = conflict(p)
    assert "conditions 2 (Initial(h(x, t))) and 3 (Initial(h(x, t))) prescribe different values of h" in msg
    assert "points of the initial slice" in msg and "keep one of them" in msg and "'t': 0.0" in msg


@pytest.mark.parametrize("conditions, fields", [
    ([pk.Dirichlet(u, 0, on=sp.Eq(x, -1)), pk.Dirichlet(u, 1, on=sp.Eq(y, -1))], (u,)),  # share a corner only
    ([pk.Dirichlet(u, 0, on=x < 0), pk.Dirichlet(u, 1, on=x > 0)], (u,)),  # disjoint halves
    ([pk.Dirichlet(u, x * y), pk.Dirichlet(u, x * y * (1 + 1e-9), on=sp.Eq(x, 1))], (u,)),  # agree
    ([pk.Dirichlet(u, sp.Piecewise((1, x < 0), (0, True))), pk.Dirichlet(u, 0, on=x > 0.5)], (u,)),  # agree on overlap
    ([pk.Dirichlet(u, 0), pk.Neumann(u, 1)], (u,)),  # value vs flux: another kind
    ([pk.Dirichlet(u, 0), pk.Robin(u, 1, 1, 5)], (u,)),
    ([pk.Dirichlet(u, 0), pk.Dirichlet(v, 1)], (u, v)),  # different fields
], ids=["corner", "disjoint", "equal", "agree on overlap", "neumann", "robin", "two fields"])
def test_compatible_conditions_pass(conditions, fields):
    assert check_conflicting_conditions(square(conditions, fields)) is None


def test_value_and_time_derivative_initial_conditions_are_not_compared():
    h = sp.Function("h")(x, t)
    p = pk.Problem(name="wave", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[h],
                   equations=[h.diff(t, 2) - h.diff(x, 2)],
                   conditions=[pk.Dirichlet(h, 0), pk.Initial(h, sp.sin(sp.pi * x)), pk.Initial(h.diff(t), 0)])
    assert check_conflicting_conditions(p) is None


def test_value_with_an_unknown_parameter_is_not_compared():
    k = sp.Symbol("k")
    p = pk.Problem(name="inv", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) - k],
                   conditions=[pk.Dirichlet(u, 0), pk.Dirichlet(u, k, on=sp.Eq(x, 1))], parameters={k: 1.0})
    assert check_conflicting_conditions(p) is None


def test_the_conflict_check_is_deterministic_and_changes_nothing():
    p = square([pk.Dirichlet(u, 0, on=y > 0), pk.Dirichlet(u, x, on=y > 0.5)])
    before = [(c.describe(), c.value) for c in p.conditions]
    first, second = conflict(p), conflict(p)
    assert first == second and "u = 0 and u = " in first
    assert [(c.describe(), c.value) for c in p.conditions] == before


# ---------------------------------------------------------------------------- Piecewise without default
def uncovered(problem) -> str:
    with pytest.raises(ProblemError) as info:
        check_piecewise_coverage(problem)
    return str(info.value)


def test_piecewise_without_default_in_an_equation():
    p = pk.Problem(name="pw", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) - sp.Piecewise((1, x < 0))])
    msg = uncovered(p)
    assert "In problem 'pw', equation 1 holds Piecewise((1, x < 0)), which has no default piece" in msg
    at = re.search(r"holds at \{'x': ([-0-9.e]+), 'y'", msg)
    assert float(at.group(1)) >= 0  # a point where x < 0 fails
    assert "add a last piece (value, True)" in msg


def test_piecewise_without_default_in_a_boundary_value_and_an_exact_solution():
    msg = uncovered(square([pk.Dirichlet(u, sp.Piecewise((1, y > 0)))]))
    assert "condition 1 (Dirichlet(u(x, y)) on whole boundary) holds Piecewise((1, y > 0))" in msg
    p = pk.Problem(name="pw", domain=SQUARE, fields=[u], equations=[u.diff(x, 2)], exact={u: sp.Piecewise((x, x < 0))})
    msg = uncovered(p)
    assert "the exact solution of u(x, y) holds Piecewise((x, x < 0))" in msg and "(sp.nan, True)" in msg


@pytest.mark.parametrize("problem", [
    pk.Problem(name="ok", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) - sp.Piecewise((1, x <= 1))]),
    pk.Problem(name="ok", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) - sp.Piecewise((1, x < 0), (2, True))]),
    pk.Problem(name="ok", domain=SQUARE, fields=[u],
               equations=[pk.Equation(u.diff(x, 2) - sp.Piecewise((1, x < 0)), on=x < 0)]),
    square([pk.Dirichlet(u, sp.Piecewise((1, x < 0)), on=sp.Eq(x, -1)), pk.Dirichlet(u, 0, on=x > -1)]),
], ids=["covers the domain", "default piece", "covers the equation's region", "covers the selection"])
def test_piecewise_that_covers_where_it_is_used_passes(problem):
    assert check_piecewise_coverage(problem) is None


def test_piecewise_on_a_field_cannot_be_checked_and_warns():
    p = pk.Problem(name="pw", domain=SQUARE, fields=[u], equations=[u.diff(x, 2) - sp.Piecewise((1, u < 0))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert check_piecewise_coverage(p) is None
    (w,) = caught
    assert "equation 1 holds Piecewise((1, u(x, y) < 0))" in str(w.message)
    assert "Add a last piece (value, True)." in str(w.message)


def test_contradicting_conditions_in_a_file_exit_2_before_training(tmp_path):
    f = problem_file(tmp_path, "fields=[u], equations=[EQ], conditions=[pk.Dirichlet(u, 0), pk.Dirichlet(u, 1)]")
    out = tmp_path / "out"
    code, stdout, stderr = run_main(["solve", f, *TINY, "--out", out])
    assert code == 2 and stdout == "" and "Traceback" not in stderr
    assert "prescribe different values of u" in stderr and str(f) in stderr
    assert not out.exists()
