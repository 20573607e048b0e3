"""Conditions imposed exactly: periodic embedding, hard Dirichlet values through approximate
distance functions, exact initial values (pinnkan.networks.constraints, pinnkan.geometry.distance)."""

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from helpers import finite_difference_jacobian, poisson1d
from pinnkan.derivatives.engines import get_engine
from pinnkan.errors import OptionError
from pinnkan.evaluation.residuals import sample_points
from pinnkan.geometry import distance as D
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.constraints import (ConstrainedNetwork, expression_from_data, expression_to_data,
                                          plan_constraints)
from pinnkan.networks.factory import build_network
from pinnkan.output.model_file import load_model, save_model
from pinnkan.problem.compile import compile_problem
from pinnkan.training import levenberg
from pinnkan.training.levenberg import residual_and_jacobian

CPU = torch.device("cpu")
x, y, t = sp.symbols("x y t")
KAN = {"model": "kan", "widths": None, "grid": 5, "degree": 3}
MLP = {"model": "mlp", "widths": None, "activation": "tanh"}


def constrained(problem, spec=KAN, hidden=4, seed=0, **modes):
    """(compiled problem, kept terms, wrapped network) of ``problem`` with the modes asked for."""
    c = compile_problem(problem)
    desc, terms = plan_constraints(c, **modes)
    torch.manual_seed(seed)
    widths = [problem.domain.dim, hidden, len(problem.fields)]
    net = build_network({**spec, "widths": widths}, problem.domain.bounds, torch.float64, CPU, desc)
    return c, terms, net


def derivatives(net, pts, keys, engine="autograd"):
    return get_engine(engine)(net, pts, keys, create_graph=False)


# ---------------------------------------------------------------- distance functions

def test_piece_adfs_vanish_on_their_piece_and_are_normalised():
    s = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    p, q = np.array([0.0, 0.0]), np.array([2.0, 1.0])
    on = torch.as_tensor(p) + s[:, None] * torch.as_tensor(q - p)
    assert float(D.segment_adf(on, p, q).abs().max()) <= 1e-12
    n = torch.tensor([1.0, -2.0], dtype=torch.float64) / 5 ** 0.5  # unit normal of the segment
    h = 1e-7
    near = (on + h * n).requires_grad_(True)
    phi = D.segment_adf(near, p, q)
    (g,) = torch.autograd.grad(phi.sum(), near)
    assert float((phi.detach() / h - 1).abs().max()) <= 1e-6  # ~ the distance: phi = h (1 + O(h))
    assert float(((g * n).sum(1) - 1).abs().max()) <= 1e-5
    # ball: phi = (r^2 - |x - c|^2) / (2 r), grad phi . n = -1 exactly on the sphere
    ang = torch.linspace(0, 6, 13, dtype=torch.float64)
    sphere = torch.stack([1 + 2 * torch.cos(ang), -1 + 2 * torch.sin(ang)], 1).requires_grad_(True)
    phi = D.ball_adf(sphere, [1.0, -1.0], 2.0)
    (g,) = torch.autograd.grad(phi.sum(), sphere)
    normal = torch.stack([torch.cos(ang), torch.sin(ang)], 1)
    assert float(phi.abs().max()) <= 1e-12 and float(((g * normal).sum(1) + 1).abs().max()) <= 1e-12
    # interval: (x - a)(b - x)/(b - a) with slopes +1 at a and -1 at b
    ends = torch.tensor([[-1.0], [3.0]], dtype=torch.float64, requires_grad=True)
    phi = D.interval_adf(ends, 0, -1.0, 3.0)
    (g,) = torch.autograd.grad(phi.sum(), ends)
    assert float(phi.abs().max()) == 0.0 and g[:, 0].tolist() == [1.0, -1.0]


def test_r_functions_follow_their_formulas():
    a = torch.tensor([0.0, 0.3, 2.0, -1.0], dtype=torch.float64)
    b = torch.tensor([0.5, 0.0, 1.0, 0.5], dtype=torch.float64)
    eq = D.r_equivalence([a.abs(), b.abs()])
    expect = torch.tensor([0.0, 0.0, 2.0 / 3.0, 1.0 / 3.0], dtype=torch.float64)
    assert float((eq - expect).abs().max()) <= 1e-15
    assert float((D.r_conjunction(a, b) - (a + b - torch.sqrt(a * a + b * b))).abs().max()) == 0.0
    assert float((D.r_disjunction(a, b) - (a + b + torch.sqrt(a * a + b * b))).abs().max()) == 0.0
    w = D.transfinite_weights([a.abs(), b.abs(), torch.full_like(a, 2.0)])
    assert float((sum(w) - 1).abs().max()) <= 1e-15
    assert float(w[0][0]) == 1.0 and float(w[1][1]) == 1.0  # w_i = 1 where phi_i = 0


def test_polygon_adf_is_positive_inside_and_signed():
    L = pk.Polygon.l_shape()
    pts = torch.as_tensor(L.sample_interior(200, rng=np.random.default_rng(1)))
    assert bool((D.polygon_adf(pts, L.vertices) > 0).all())
    assert float(D.polygon_adf(torch.tensor([[5.0, 5.0]], dtype=torch.float64), L.vertices)) < 0


# ---------------------------------------------------------------- periodic embedding

def _periodic_problem(fields=1):
    u = sp.Function("u")(x, t)
    v = sp.Function("v")(x, t)
    fs = [u, v][:fields]
    return pk.Problem(name="per", domain=pk.Interval(-1, 1), time=(t, 0, 1), fields=fs,
                      equations=[sp.Eq(f.diff(t) - 0.01 * f.diff(x, 2), 0) for f in fs],
                      conditions=[pk.Periodic(u, x), pk.Initial(u, sp.cos(sp.pi * x))]
                      + ([pk.Initial(v, 0)] if fields > 1 else []))


@pytest.mark.parametrize("spec", [KAN, MLP])
def test_embedded_network_and_its_derivatives_are_periodic(spec):
    c, terms, net = constrained(_periodic_problem(), spec)
    assert isinstance(net, ConstrainedNetwork) and net.inner.widths[0] == 3
    assert [tm.label for tm in terms] == ["equation 1", "Initial 2"]  # the periodic terms left the loss
    ts = torch.linspace(0, 1, 7, dtype=torch.float64)
    lo = torch.stack([-torch.ones_like(ts), ts], 1)
    hi = torch.stack([torch.ones_like(ts), ts], 1)
    keys = {(0, (0, 0)), (0, (1, 0)), (0, (2, 0)), (0, (1, 1)), (0, (0, 1))}
    a, b = derivatives(net, lo, keys), derivatives(net, hi, keys)
    assert float(a[(0, (2, 0))].abs().max()) > 1e-3
    for k in keys:
        assert float((a[k] - b[k]).abs().max()) <= 1e-12, k


def test_periodic_modes():
    c = compile_problem(_periodic_problem())
    desc, terms = plan_constraints(c, periodic="penalty")
    assert desc is None and len(terms) == len(c.terms)
    c2 = compile_problem(_periodic_problem(fields=2))
    desc, terms = plan_constraints(c2)  # auto: v is not periodic, so no embedding
    assert desc is None and len(terms) == len(c2.terms)
    with pytest.raises(OptionError, match="only u of u, v is"):
        plan_constraints(c2, periodic="embed")


# ---------------------------------------------------------------- hard Dirichlet

def _poisson(domain, g, on=None):
    u = sp.Function("u")(x, y)
    return pk.Problem(name="hd", domain=domain, fields=[u], equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 1)],
                      conditions=[pk.Dirichlet(u, g, on=on)])


G = sp.sin(x) + x * y


@pytest.mark.parametrize("domain", [pk.Rectangle((-1, 0), (2, 1)), pk.Disk((0.5, 0.5), 0.7), pk.Polygon.l_shape(),
                                    pk.Rectangle((0, 0), (1, 1)) - pk.Disk((0.5, 0.5), 0.2),
                                    pk.Rectangle((0, 0), (1, 1)) | pk.Disk((1, 1), 0.3)],
                         ids=["box", "disk", "polygon", "difference", "union"])
def test_hard_dirichlet_output_equals_the_data_on_the_boundary(domain):
    c, terms, net = constrained(_poisson(domain, G), hard_dirichlet="on")
    assert [tm.label for tm in terms] == ["equation 1"]
    pts, _ = domain.sample_boundary(300, rng=np.random.default_rng(0))
    pts = torch.as_tensor(pts)
    with torch.no_grad():
        u = net(pts)[:, 0]
    g = torch.sin(pts[:, 0]) + pts[:, 0] * pts[:, 1]
    assert float((u - g).abs().max()) <= 1e-12
    inside = torch.as_tensor(domain.sample_interior(200, rng=np.random.default_rng(2)))
    with torch.no_grad():
        assert float((net(inside)[:, 0] - (torch.sin(inside[:, 0]) + inside.prod(1))).abs().min()) > 0
        G_, P_ = net.fixed(inside, 1)
    assert bool((P_ > 0).all())  # the ADF is positive inside


def test_several_dirichlet_parts_use_transfinite_interpolation():
    u = sp.Function("u")(x, y)
    box = pk.Rectangle((0, 0), (2, 1))
    p = pk.Problem(name="tf", domain=box, fields=[u], equations=[sp.Eq(u.diff(x, 2) + u.diff(y, 2), 0)],
                   conditions=[pk.Dirichlet(u, 1 + y, on=sp.Eq(x, 0)), pk.Dirichlet(u, sp.cos(y), on=sp.Eq(x, 2)),
                               pk.Neumann(u, 0, on=sp.Eq(y, 0)), pk.Neumann(u, 0, on=sp.Eq(y, 1))])
    c, terms, net = constrained(p, hard_dirichlet="on")
    assert [tm.label for tm in terms] == ["equation 1", "Neumann 3", "Neumann 4"]
    ys = torch.linspace(0.01, 0.99, 11, dtype=torch.float64)
    with torch.no_grad():
        left = net(torch.stack([torch.zeros_like(ys), ys], 1))[:, 0]
        right = net(torch.stack([2 * torch.ones_like(ys), ys], 1))[:, 0]
    assert float((left - (1 + ys)).abs().max()) <= 1e-12
    assert float((right - torch.cos(ys)).abs().max()) <= 1e-12


def test_a_part_of_a_face_cannot_be_imposed():
    with pytest.raises(OptionError, match="part of a face"):
        constrained(_poisson(pk.Rectangle((0, 0), (1, 1)), 0, on=x < 0.5), hard_dirichlet="on")
    with pytest.raises(OptionError, match="whole boundary"):
        constrained(_poisson(pk.Rectangle((0, 0), (1, 1)) - pk.Disk((0.5, 0.5), 0.2), 0, on=x < 0.5),
                    hard_dirichlet="on")


# ---------------------------------------------------------------- exact initial values

def test_exact_initial_value_and_velocity():
    u = sp.Function("u")(x, t)
    u0, v0 = sp.sin(sp.pi * x), x * (1 - x)
    p = pk.Problem(name="w", domain=pk.Interval(0, 1), time=(t, 0.5, 1), fields=[u],
                   equations=[sp.Eq(u.diff(t, 2), u.diff(x, 2))],
                   conditions=[pk.Dirichlet(u, 0), pk.Initial(u, u0), pk.Initial(u.diff(t), v0)])
    c, terms, net = constrained(p, exact_initial="on")
    assert [tm.label for tm in terms] == ["equation 1", "Dirichlet 1"]
    xs = torch.linspace(0, 1, 9, dtype=torch.float64)
    at0 = torch.stack([xs, torch.full_like(xs, 0.5)], 1)
    d = derivatives(net, at0, {(0, (0, 0)), (0, (0, 1))})
    assert float((d[(0, (0, 0))] - torch.sin(torch.pi * xs)).abs().max()) <= 1e-12
    assert float((d[(0, (0, 1))] - xs * (1 - xs)).abs().max()) <= 1e-12
    # with hard Dirichlet too: both hold at once (compatible data)
    c, terms, net = constrained(p, exact_initial="on", hard_dirichlet="on")
    assert [tm.label for tm in terms] == ["equation 1"]
    side = torch.stack([torch.ones_like(xs), 0.5 + xs / 2], 1)
    with torch.no_grad():
        assert float(net(side).abs().max()) <= 1e-12 and float((net(at0)[:, 0] - torch.sin(torch.pi * xs)).abs().max()) <= 1e-12


# ---------------------------------------------------------------- jets, refinement, saving, Jacobian

def _everything():
    """Periodic in x, Dirichlet on y = 0 and y = 1, initial value: all three constraints."""
    u = sp.Function("u")(x, y, t)
    return pk.Problem(name="all", domain=pk.Rectangle((-1, 0), (1, 1)), time=(t, 0, 1), fields=[u],
                      equations=[sp.Eq(u.diff(t) - u.diff(x, 2) - u.diff(y, 2) + u * u.diff(x), 0)],
                      conditions=[pk.Periodic(u, x), pk.Dirichlet(u, y * sp.cos(sp.pi * x), on=sp.Eq(y, 0)),
                                  pk.Dirichlet(u, y * sp.cos(sp.pi * x), on=sp.Eq(y, 1)),
                                  pk.Initial(u, y * sp.cos(sp.pi * x) + sp.sin(sp.pi * y))])


KEYS2 = {(0, a) for a in [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (2, 0, 0), (0, 2, 0), (1, 1, 0), (0, 1, 1)]}


@pytest.mark.parametrize("spec", [KAN, MLP])
def test_jets_of_the_wrapped_network_equal_autograd(spec):
    c, terms, net = constrained(_everything(), spec, hidden=5, periodic="embed", hard_dirichlet="on",
                                exact_initial="on")
    assert [tm.label for tm in terms] == ["equation 1"]
    pts = torch.as_tensor(_everything().domain.sample_interior(40, rng=np.random.default_rng(3)))
    a, j = derivatives(net, pts, KEYS2), derivatives(net, pts, KEYS2, "jet")
    for k in KEYS2:
        assert float((a[k] - j[k]).abs().max()) <= 1e-10 * max(1.0, float(a[k].abs().max())), k


def test_refinement_and_model_file_keep_the_function(tmp_path):
    prob = _everything()
    c, terms, net = constrained(prob, hidden=3, hard_dirichlet="on", exact_initial="on")
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    pts = torch.as_tensor(prob.domain.sample_interior(200, rng=np.random.default_rng(4)))
    fine = net.refine(10)
    assert isinstance(fine, ConstrainedNetwork) and fine.inner.grid == 10
    with torch.no_grad():
        assert float((fine(pts) - net(pts)).abs().max()) < 1e-12
    opts = {**KAN, "widths": [3, 3, 1], "grid": 10, "dtype": "float64"}
    path = save_model(tmp_path / "model.pt", fine, opts, prob.domain.bounds, fine.describe())
    back = load_model(path)
    with torch.no_grad():
        assert float((back(pts) - fine(pts)).abs().max()) <= 1e-12
    assert "periodic in x" in back.describe() and "initial u" in back.describe()


def test_expressions_are_stored_as_plain_data():
    e = sp.Rational(1, 3) * sp.sin(sp.pi * x) * sp.exp(-y) + sp.Float(0.1) * x ** 2 - sp.sqrt(2)
    assert sp.simplify(expression_from_data(expression_to_data(e)) - e) == 0


@pytest.mark.parametrize("structured", [True, False])
def test_levenberg_jacobian_of_the_wrapped_network_equals_finite_differences(monkeypatch, structured):
    prob = _everything()
    c, terms, net = constrained(prob, hidden=2, periodic="embed", hard_dirichlet="on", exact_initial="on")
    c.terms = terms
    levenberg.check_supported(net, c)
    assert levenberg._plain_kan(net)
    if not structured:
        monkeypatch.setattr(levenberg, "_plain_kan", lambda m: False)
    data = sample_points(c, CollocationSampler(prob.domain, seed=0), 12, 4, torch.float64, CPU)
    R, J = residual_and_jacobian(net, c, data, {})
    fd = finite_difference_jacobian(net, c, data, {})
    assert J.shape == (12, net.n_params) and float(J.abs().max()) > 1e-2
    assert float((J - fd).abs().max()) <= 1e-6 * max(1.0, float(J.abs().max()))


# ---------------------------------------------------------------- short solves

def test_short_solve_with_hard_dirichlet():
    r = pk.solve(poisson1d(), hard_dirichlet="on", levels=[5], adam_steps=50, lm_steps=40, n_interior=64)
    assert r.metrics["rel_l2"]["u"] <= 1e-4  # measured 5.1e-6 (the penalty: 3.9e-4)


def test_short_solve_with_exact_initial_values():
    u = sp.Function("u")(x, t)
    heat = pk.Problem(name="heat", domain=pk.Interval(0, 1), time=(t, 0, 0.5), fields=[u],
                      equations=[sp.Eq(u.diff(t), u.diff(x, 2) / 10)],
                      conditions=[pk.Dirichlet(u, 0), pk.Initial(u, sp.sin(sp.pi * x))],
                      exact={u: sp.exp(-sp.pi**2 * t / 10) * sp.sin(sp.pi * x)})
    r = pk.solve(heat, exact_initial="on", hard_dirichlet="on", levels=[5], adam_steps=50, lm_steps=40,
                 n_interior=256, n_boundary=32)
    assert r.metrics["rel_l2"]["u"] <= 1e-4  # measured 1.4e-6 (the penalty terms: 1.5e-5)


def test_short_solve_with_the_periodic_embedding():
    per = pk.Problem(name="per1d", domain=pk.Interval(0, 2), fields=[sp.Function("w")(x)],
                     equations=[sp.Eq(-sp.Function("w")(x).diff(x, 2) + sp.Function("w")(x),
                                      (1 + sp.pi**2) * sp.sin(sp.pi * x))],
                     conditions=[pk.Periodic(sp.Function("w")(x), x)], exact={sp.Function("w")(x): sp.sin(sp.pi * x)})
    r = pk.solve(per, levels=[5], adam_steps=50, lm_steps=40, n_interior=256)
    assert "periodic in x" in r.metrics["architecture"]
    assert r.metrics["rel_l2"]["w"] <= 1e-4  # measured 1.2e-5 (the penalty: 1.4e-5)
