"""Inverse problems: observations (pk.Data), unknown parameters, their Levenberg-Marquardt
Jacobian column, and learning the diffusivity of the heat equation end to end."""

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

from helpers import finite_difference_jacobian

import pinnkan as pk
import pinnkan.training.levenberg as levenberg
from pinnkan.problem.compile import compile_problem
from pinnkan.derivatives.engines import AutogradEngine
from pinnkan.errors import ProblemError
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.solver import attach_parameters
from pinnkan.training.levenberg import residual_and_jacobian
from pinnkan.evaluation.residuals import sample_points

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower

ROOT = Path(__file__).resolve().parents[1]
INVERSE = ROOT / "problems" / "inverse_heat1d.py"
CPU = torch.device("cpu")
x, t, k, m = sp.symbols("x t k m")
u = sp.Function("u")(x, t)
SINE = sp.sin(sp.pi * x)
OBS = np.random.default_rng(5).random((12, 2))
OBS_VALUES = np.exp(-0.1 * np.pi**2 * OBS[:, 1]) * np.sin(np.pi * OBS[:, 0])


def inverse(**changes):
    """u_t = k u_xx on [0, 1] x [0, 1], k unknown, with 12 observations of u."""
    spec = dict(name="inv", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[u],
                equations=[sp.Eq(u.diff(t), k * u.diff(x, 2))],
                conditions=[pk.Dirichlet(u, 0), pk.Initial(u, SINE), pk.Data(u, OBS, OBS_VALUES, label="obs")],
                parameters={k: 0.5}, exact={k: 0.1})
    spec.update(changes)
    return pk.Problem(**spec)


# ---------------------------------------------------------------------------- Data
def test_data_term_holds_the_observations_and_its_residual_is_u_minus_value():
    c = compile_problem(inverse())
    assert c.parameters == {"k": 0.5} and c.exact_parameters == {"k": 0.1}
    (obs,) = [term for term in c.terms if term.kind == "data"]
    assert obs.label == "obs" and obs.derivatives == {(0, (0, 0))} and not obs.needs_normals
    pts, values = obs.observed
    assert np.array_equal(pts, OBS) and np.array_equal(values, OBS_VALUES)
    uval = torch.linspace(-1, 1, 12, dtype=torch.float64)
    env = c.env(torch.as_tensor(pts), {(0, (0, 0)): uval})
    env["_obs"] = torch.as_tensor(values)
    torch.testing.assert_close(obs.residual(env), uval - torch.as_tensor(values), rtol=0, atol=0)
    data = sample_points(c, CollocationSampler(c.problem.domain, seed=0), 16, 4, torch.float64, CPU)
    (tp,) = [tp for tp in data if tp.term.kind == "data"]
    assert torch.equal(tp.points, torch.as_tensor(OBS)) and torch.equal(tp.observed, torch.as_tensor(OBS_VALUES))
    assert tp.n_residuals == 12


@pytest.mark.parametrize("points, values, fact", [
    (np.zeros((5, 2)), np.zeros(4), "points must have shape (n, d) and values shape (n,) with n >= 1, got (5, 2) and (4,)"),
    (np.zeros((0, 2)), np.zeros(0), "with n >= 1, got (0, 2) and (0,)"),
    (np.zeros((5, 2, 1)), np.zeros(5), "got (5, 2, 1) and (5,)"),
    (np.zeros((3, 2)), [0.0, np.nan, 1.0], "holds non-finite numbers"),
    ([[0.1, 0.2], [np.inf, 0.5]], [0.0, 1.0], "holds non-finite numbers"),
    ("abc", [1.0], "points and values must be numeric arrays"),
])
def test_data_shape_and_value_errors(points, values, fact):
    with pytest.raises(ProblemError) as e:
        pk.Data(u, points, values)
    assert fact in str(e.value) and "Data(u(x, t), points, values)" in str(e.value)


def test_data_needs_a_field():
    with pytest.raises(ProblemError, match="must be a field"):
        pk.Data(x, np.zeros((2, 2)), np.zeros(2))


def test_data_points_outside_the_domain_are_counted():
    pts = np.array([[0.5, 0.5], [1.5, 0.5], [0.5, 1.2], [0.2, 0.9], [-0.1, -0.1]])
    p = inverse(conditions=[pk.Dirichlet(u, 0), pk.Initial(u, SINE), pk.Data(u, pts, np.zeros(5))])
    with pytest.raises(ProblemError) as e:
        compile_problem(p)
    msg = str(e.value)
    assert "has 3 observation point(s) outside the domain SpaceTime(Interval(0, 1), 0, 1)" in msg
    assert "e.g. {'x': 1.5, 't': 0.5}" in msg and "condition 3 (Data on u(x, t))" in msg
    # points on the boundary of the cylinder are inside
    edge = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 1.0]])
    compile_problem(inverse(conditions=[pk.Dirichlet(u, 0), pk.Initial(u, SINE), pk.Data(u, edge, np.zeros(3))]))


@pytest.mark.parametrize("points, d", [(np.full((4, 3), 0.5), 3), (np.full(4, 0.5), 1)])
def test_data_points_with_the_wrong_number_of_columns(points, d):
    p = inverse(conditions=[pk.Dirichlet(u, 0), pk.Initial(u, SINE), pk.Data(u, points, np.zeros(4))])
    with pytest.raises(ProblemError) as e:
        compile_problem(p)
    assert f"observation points with {d} coordinate(s)" in str(e.value)
    assert "give points of shape (n, 2)" in str(e.value)


def test_one_dimensional_points_are_a_column():
    s = sp.Symbol("s")
    w = sp.Function("w")(s)
    p = pk.Problem(name="d1", domain=pk.Interval(0, 1), fields=[w], equations=[w.diff(s, 2) - m],
                   conditions=[pk.Dirichlet(w, 0), pk.Data(w, [0.25, 0.5], [1.0, 2.0])], parameters={m: 1})
    c = compile_problem(p)
    pts, values = c.terms[-1].observed
    assert pts.shape == (2, 1) and pts[:, 0].tolist() == [0.25, 0.5] and values.tolist() == [1.0, 2.0]
    assert c.parameters == {"m": 1.0} and isinstance(c.parameters["m"], float)


# ---------------------------------------------------------------------------- parameters
def test_unused_parameter_is_named():
    with pytest.raises(ProblemError) as e:
        compile_problem(inverse(parameters={k: 0.5, m: 2.0}))
    msg = str(e.value)
    assert "the parameter(s) m appear in no equation or condition" in msg and "problem 'inv'" in msg


@pytest.mark.parametrize("name", ["x", "t", "u"])
def test_parameter_named_like_a_coordinate_or_field(name):
    s = sp.Symbol(name)
    p = inverse(equations=[sp.Eq(u.diff(t), k * u.diff(x, 2))], parameters={k: 0.5, s: 1.0})
    with pytest.raises(ProblemError) as e:
        compile_problem(p)
    assert f"the parameter(s) {name} have the name of a coordinate or a field" in str(e.value)


@pytest.mark.parametrize("parameters, fact", [
    ([k], "must be a dict {sympy symbol: initial guess}"),
    ({"k": 0.5}, "must be a dict {sympy symbol: initial guess}"),
    ({k: "half"}, "each initial guess must be a number"),
])
def test_parameters_must_be_a_dict_of_symbols_to_numbers(parameters, fact):
    with pytest.raises(ProblemError) as e:
        inverse(parameters=parameters)
    assert fact in str(e.value)


# ---------------------------------------------------------------------------- LM Jacobian
def _inverse_setup(problem, k_value=0.3):
    c = compile_problem(problem)
    data = sample_points(c, CollocationSampler(problem.domain, seed=3), 20, 5, torch.float64, CPU)
    torch.manual_seed(2)
    model = pk.KAN([2, 3, 1], grid=3, bounds=problem.domain.bounds)
    attach_parameters(model, c.parameters, torch.float64, CPU)
    with torch.no_grad():
        for p in model.problem_parameters.values():
            p.fill_(k_value)
    return c, data, model


def test_parameter_jacobian_structured_equals_generic_andfinite_difference_jacobian(monkeypatch):
    c, data, model = _inverse_setup(inverse())
    names = [n for n, _ in model.named_parameters()]
    assert names[-1] == "problem_parameters.k" and levenberg._plain_kan(model)
    weights = {"obs": 10.0}
    R1, J1 = residual_and_jacobian(model, c, data, weights)
    assert J1.shape == (20 + 5 + 5 + 12, model.n_params) and model.n_params == 2 * 3 * 6 + 3 * 6 + 1

    # d r / d k = -u_xx on the equation rows, scaled by sqrt(w / N); zero on every other row
    uxx = AutogradEngine()(model, data[0].points, {(0, (2, 0))}, create_graph=False)[(0, (2, 0))].detach()
    torch.testing.assert_close(J1[:20, -1], -uxx * (1 / 20) ** 0.5, rtol=0, atol=1e-12)
    assert torch.all(J1[20:, -1] == 0)
    assert float(uxx.abs().max()) > 1e-2

    fd = finite_difference_jacobian(model, c, data, weights)
    scale = max(1.0, float(J1.abs().max()))
    # measured max difference 1.6e-10 against max |J| 0.85
    assert float((J1 - fd).abs().max()) <= 1e-6 * scale

    monkeypatch.setattr(levenberg, "_plain_kan", lambda model: False)
    monkeypatch.setattr(levenberg, "_kan_residual_and_jacobian", None)  # the vmap path only
    R2, J2 = residual_and_jacobian(model, c, data, weights)
    # measured: identical to the last bit
    assert float((R1 - R2).abs().max()) <= 1e-12 * float(R2.abs().max())
    assert float((J1 - J2).abs().max()) <= 1e-10 * scale


@pytest.mark.parametrize("coefficient", [k**2, sp.exp(k), 1 / k, sp.Piecewise((k, x > 0.5), (2 * k, True))])
def test_parameter_column_for_nonlinear_dependence(coefficient):
    c, data, model = _inverse_setup(inverse(equations=[sp.Eq(u.diff(t), coefficient * u.diff(x, 2))]))
    R, J = residual_and_jacobian(model, c, data, {})
    fd = finite_difference_jacobian(model, c, data, {})
    # measured at most 6.7e-11 on the parameter column, 5.2e-10 overall (1/k: max |J| 2.7)
    assert float(fd[:20, -1].abs().max()) > 0.1
    assert float((J - fd).abs().max()) <= 1e-6 * max(1.0, float(J.abs().max()))


def test_parameter_in_an_initial_value_gets_its_jacobian_column():
    # k appears only in a condition, which the compiler accepts ("no equation or condition");
    # sampling must then check the prescribed value with the parameter's current value.
    p = inverse(equations=[sp.Eq(u.diff(t), sp.Rational(1, 10) * u.diff(x, 2))],
                conditions=[pk.Dirichlet(u, 0), pk.Initial(u, k * SINE), pk.Data(u, OBS, OBS_VALUES)],
                parameters={k: 0.5}, exact={k: 1.0})
    c, data, model = _inverse_setup(p)
    R, J = residual_and_jacobian(model, c, data, {})
    xs = data[2].points[:, 0]
    torch.testing.assert_close(J[25:30, -1], -torch.sin(torch.pi * xs) * (1 / 5) ** 0.5, rtol=0, atol=1e-12)
    assert torch.all(J[:25, -1] == 0) and torch.all(J[30:, -1] == 0)


# ---------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def inverse_run(tmp_path_factory):
    problem = pk.load_problem(INVERSE)
    result = pk.solve(problem, levels=[5, 10], adam_steps=0, lm_steps=40, n_interior=256, n_boundary=64, seed=0)
    out = tmp_path_factory.mktemp("inverse")
    result.save(out, plots=False)
    return result, out


def test_inverse_heat1d_learns_the_diffusivity(inverse_run):
    result, _ = inverse_run
    m = result.metrics
    k_learned = m["parameters"]["k"]
    # measured k = 0.100040 (rel error 4.0e-4; seeds 1, 2: 3.1e-4, 4.5e-3) and rel L2 of u 9.3e-5
    assert abs(k_learned - 0.1) < 4e-3 * 0.1
    assert m["parameter_rel_error"]["k"] == pytest.approx(abs(k_learned - 0.1) / 0.1, rel=1e-12)
    assert m["rel_l2"]["u"] < 1e-3
    assert float(result.model.problem_parameters["k"].detach()) == k_learned
    line = result.summary()
    assert f"k={k_learned:.6g} (rel error {m['parameter_rel_error']['k']:.1e})" in line


def test_inverse_heat1d_saves_and_reloads_the_parameter(inverse_run):
    result, out = inverse_run
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["parameters"] == result.metrics["parameters"]
    assert saved["parameter_rel_error"] == result.metrics["parameter_rel_error"]
    net = pk.load_model(out / "model.pt")
    assert float(net.problem_parameters["k"].detach()) == result.metrics["parameters"]["k"]
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in result.model.named_parameters()]
    pts = torch.as_tensor(result.problem.domain.evaluation_points(500))
    with torch.no_grad():
        torch.testing.assert_close(net(pts), result.model(pts), rtol=0, atol=1e-12)
