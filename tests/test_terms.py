"""Loss-term classes: each kind draws its own points (how many, and where), the interface plane,
and the public names Levenberg-Marquardt asks the network for."""

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
import pinnkan.training.levenberg as levenberg
from pinnkan.derivatives.jets import ACTIVATION_JETS, KAN_ACTIVATION_JET, sin_jet, silu_jet, tanh_jet
from pinnkan.evaluation.residuals import sample_points
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.factory import attach_parameters
from pinnkan.problem.compile import compile_problem, parameter_names
from pinnkan.problem.terms import (BoundaryTerm, DataTerm, EquationTerm, InitialTerm, InterfaceTerm, PeriodicTerm,
                                   TermPoints)

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower

CPU = torch.device("cpu")
x, y, t, k = sp.symbols("x y t k")
N_INTERIOR, N_BOUNDARY = 40, 7

# u_t = k u_xx on [-1, 1] x [0, 1]: every kind but the interface
u = sp.Function("u")(x, t)
OBS = np.array([[-0.5, 0.25], [0.0, 0.5], [0.5, 0.75]])
HEAT = pk.Problem(
    name="heat", domain=pk.Interval(-1, 1), time=(t, 0, 1), fields=[u],
    equations=[sp.Eq(u.diff(t), k * u.diff(x, 2))],
    conditions=[pk.Periodic(u, x), pk.Dirichlet(u, 0, on=sp.Eq(x, 1)), pk.Initial(u, sp.sin(sp.pi * x)),
                pk.Data(u, OBS, np.zeros(3), label="obs")],
    parameters={k: 0.5})

# two subdomain fields joined on the plane x = 1/4
u1, u2 = sp.Function("u1")(x, y), sp.Function("u2")(x, y)
SPLIT = pk.Problem(
    name="split", domain=pk.Rectangle((-1, -1), (1, 1)), fields=[u1, u2],
    equations=[pk.Equation(u1.diff(x, 2) + u1.diff(y, 2), on=x <= 0.25, label="left"),
               pk.Equation(u2.diff(x, 2) + u2.diff(y, 2), on=x >= 0.25, label="right")],
    conditions=[pk.Neumann(u1, 0, on=x <= 0.25), pk.Dirichlet(u2, 0, on=x >= 0.25),
                pk.Interface(u1 - u2, on=sp.Eq(x, sp.Rational(1, 4)), label="continuity"),
                pk.Interface(u1.diff(x) - u2.diff(x), on=sp.Eq(y, -0.5), label="flux")])


def _draw(problem, seed=0, c=None, **kw):
    c = compile_problem(problem) if c is None else c
    return c, sample_points(c, CollocationSampler(problem.domain, seed=seed), N_INTERIOR, N_BOUNDARY,
                            torch.float64, CPU, **kw)


def test_each_kind_of_the_heat_problem_draws_its_own_number_of_points():
    c, data = _draw(HEAT)
    assert [type(tp.term) for tp in data] == [EquationTerm, PeriodicTerm, PeriodicTerm, BoundaryTerm, InitialTerm,
                                              DataTerm]
    assert [tp.term.is_equation for tp in data] == [True] + [False] * 5
    shapes = [tuple(tp.points.shape) for tp in data]
    assert shapes == [(N_INTERIOR, 2), (2 * N_BOUNDARY, 2), (2 * N_BOUNDARY, 2), (N_BOUNDARY, 2), (N_BOUNDARY, 2),
                      (3, 2)]
    assert [tp.n_residuals for tp in data] == [N_INTERIOR, N_BOUNDARY, N_BOUNDARY, N_BOUNDARY, N_BOUNDARY, 3]
    eq, per, _, bc, ic, obs = data
    assert torch.all(per.points[:N_BOUNDARY, 0] == -1) and torch.all(per.points[N_BOUNDARY:, 0] == 1)
    assert torch.equal(per.points[:N_BOUNDARY, 1], per.points[N_BOUNDARY:, 1])
    assert torch.all(bc.points[:, 0] == 1) and bc.normals.shape == (N_BOUNDARY, 2)
    torch.testing.assert_close(bc.normals, torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(N_BOUNDARY, 2), rtol=0, atol=0)
    assert torch.all(ic.points[:, 1] == 0) and ic.normals is None
    assert torch.equal(obs.points, torch.as_tensor(OBS)) and torch.equal(obs.observed, torch.zeros(3, dtype=torch.float64))
    assert eq.normals is None and eq.observed is None and per.normals is None


def test_equations_on_boundary_extend_the_equations_only():
    c, plain = _draw(HEAT, seed=3)
    _, more = _draw(HEAT, seed=3, c=c, equations_on_boundary=True)
    assert more[0].points.shape == (N_INTERIOR + N_BOUNDARY, 2)
    assert torch.equal(more[0].points[:N_INTERIOR], plain[0].points)
    for a, b in zip(plain[1:], more[1:]):
        assert b.term is a.term and torch.equal(a.points, b.points)


def test_subdomain_equations_and_interfaces_draw_where_they_hold():
    c, data = _draw(SPLIT, seed=1)
    assert [type(tp.term) for tp in data] == [EquationTerm, EquationTerm, BoundaryTerm, BoundaryTerm, InterfaceTerm,
                                              InterfaceTerm]
    left, right, neumann, dirichlet, cont, flux = data
    interior = CollocationSampler(SPLIT.domain, seed=1).interior(N_INTERIOR)
    tol = 1e-7 * float(SPLIT.domain.diameter)
    n_left, n_right = int((interior[:, 0] <= 0.25 + tol).sum()), int((interior[:, 0] >= 0.25 - tol).sum())
    assert left.points.shape == (n_left, 2) and right.points.shape == (n_right, 2)
    assert 0 < n_left < N_INTERIOR and 0 < n_right < N_INTERIOR
    assert bool((left.points[:, 0] <= 0.25 + tol).all()) and bool((right.points[:, 0] >= 0.25 - tol).all())
    assert neumann.points.shape == dirichlet.points.shape == (N_BOUNDARY, 2) and neumann.term.needs_normals
    assert bool((neumann.points[:, 0] <= 0.25 + tol).all()) and bool((dirichlet.points[:, 0] >= 0.25 - tol).all())
    assert (cont.term.plane, flux.term.plane) == ((0, 0.25), (1, -0.5))
    for tp in (cont, flux):
        axis, value = tp.term.plane
        assert tp.points.shape == (N_BOUNDARY, 2) and tp.normals is None and tp.n_residuals == N_BOUNDARY
        assert torch.all(tp.points[:, axis] == value)                # exactly on the plane
        assert SPLIT.domain.contains(tp.points.numpy()).all()
        assert np.unique(tp.points[:, 1 - axis].numpy()).size == N_BOUNDARY
    assert [t.kind for t in c.terms] == ["interior", "interior", "boundary", "boundary", "interface", "interface"]


def test_a_new_kind_needs_only_its_own_draw():
    """A term class of its own draws through sample_points with no other change."""

    class Corners(EquationTerm):
        kind = "corners"

        def draw(self, compiled, sampler, interior, n_boundary, as_tensor):
            return TermPoints(self, as_tensor(np.array([[-1.0, -1.0], [1.0, 1.0]])))

    c = compile_problem(SPLIT)
    c.terms[0] = Corners(**{f: getattr(c.terms[0], f) for f in ("label", "weight", "derivatives", "value",
                                                                  "expression", "select")})
    data = sample_points(c, CollocationSampler(SPLIT.domain, seed=1), N_INTERIOR, N_BOUNDARY, torch.float64, CPU)
    assert torch.equal(data[0].points, torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64))
    assert data[0].term.is_equation and c.equations[0] is data[0].term


def test_compile_problem_takes_the_problem_alone():
    with pytest.raises(TypeError):
        compile_problem(SPLIT, sample_points=None)


# ---------------------------------------------------------------------------- network names
def test_activation_jets_are_the_function_and_its_two_derivatives():
    v = torch.linspace(-3, 3, 25, dtype=torch.float64, requires_grad=True)
    assert KAN_ACTIVATION_JET is tanh_jet and ACTIVATION_JETS == {"tanh": tanh_jet, "sin": sin_jet, "silu": silu_jet}
    for jet, f in ((tanh_jet, torch.tanh), (sin_jet, torch.sin), (silu_jet, torch.nn.functional.silu)):
        f0, f1, f2 = jet(v)
        d1, = torch.autograd.grad(f(v).sum(), v, create_graph=True)
        d2, = torch.autograd.grad(d1.sum(), v)
        torch.testing.assert_close(f0, f(v), rtol=0, atol=1e-15)
        torch.testing.assert_close(f1, d1, rtol=0, atol=1e-14)
        torch.testing.assert_close(f2, d2, rtol=0, atol=1e-14)


def test_kan_names_its_coefficients_and_lm_tells_plain_kans():
    c = compile_problem(HEAT)
    plain = pk.KAN([2, 3, 4, 1], grid=3)
    assert plain.coefficient_names() == ["layers.0.coef", "layers.1.coef", "layers.2.coef"]
    assert parameter_names(plain) == {} and levenberg._plain_kan(plain)
    attach_parameters(plain, c.parameters, torch.float64, CPU)
    assert parameter_names(plain) == {"k": "problem_parameters.k"} and levenberg._plain_kan(plain)
    named = dict(plain.named_parameters())
    assert named["problem_parameters.k"] is plain.problem_parameters["k"]
    for model in (pk.KAN([2, 3, 1], grid=3, base="silu"), pk.KAN([2, 3, 1], grid=3, free_knots=True)):
        assert model.coefficient_names() == ["layers.0.coef", "layers.1.coef"] and not levenberg._plain_kan(model)
    assert not levenberg._plain_kan(pk.MLP([2, 4, 1]))
