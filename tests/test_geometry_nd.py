"""Domains in any dimension: N-D boxes, balls, set operations of them, evaluation points that
cannot alias with the solution, and the whole stack on 5-D and 10-D Poisson problems."""

import math

import meshio
import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.errors import ProblemError
from pinnkan.geometry import (
    METHODS,
    Ball,
    Box,
    Disk,
    Ellipse,
    Interval,
    MeshDomain,
    Polygon,
    Rectangle,
)
from pinnkan.geometry.ball import sphere_points, unit_ball_volume
from pinnkan.geometry.domain import EVALUATION_SEED
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.geometry.spacetime import SpaceTime
from pinnkan.problem.compile import compile_problem

torch.set_num_threads(1)

BOX5 = Box((0, -1, 0, 0.5, 0), (1, 1, 3, 1, 2))  # sides 1, 2, 3, 0.5, 2
BOXES = [Box((0,), (2,)), Box((0, 0, 0, 0), (1, 2, 1, 1)), BOX5, Box([0] * 10, [1] * 10)]
BALLS = [Ball((0.5,), 2), Ball((0.5, -0.25), 2), Ball((0, 0, 1), 0.5), Ball((0.1,) * 5, 1.5),
         Ball([0] * 10, 1)]


def rng(seed=0):
    return np.random.default_rng(seed)


def _outward(domain, p, n):
    """Normals are unit, and a small step along them leaves the domain (against them: stays)."""
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, rtol=0, atol=1e-12)
    eps = 1e-6 * domain.diameter
    assert not domain.contains(p + eps * n, tol=0.0).any()
    assert domain.contains(p - eps * n, tol=0.0).all()


# ---------------------------------------------------------------------------- N-D boxes
@pytest.mark.parametrize("box", BOXES, ids=repr)
@pytest.mark.parametrize("method", METHODS)
def test_box_interior_samples_inside_with_the_asked_count(box, method):
    p = box.sample_interior(1001, method, rng(3))
    lo, hi = box.bounds
    assert p.shape == (1001, box.dim) and p.dtype == np.float64
    assert np.all(p >= lo) and np.all(p <= hi) and box.contains(p, tol=0.0).all()
    assert not box.on_boundary(p).any()


def test_box_bounds_measure_and_contains_in_5d():
    lo, hi = BOX5.bounds
    np.testing.assert_array_equal(lo, [0, -1, 0, 0.5, 0])
    np.testing.assert_array_equal(hi, [1, 1, 3, 1, 2])
    assert BOX5.dim == 5 and BOX5.measure == 6.0
    # faces: the product of the other four sides, twice each
    faces = np.array([6.0, 3.0, 2.0, 12.0, 3.0])
    assert BOX5.boundary_measure == 2 * faces.sum()
    inside = np.array([[0.5, 0, 1, 0.75, 1], [1, 1, 3, 1, 2], [0, -1, 0, 0.5, 0]])
    outside = np.array([[0.5, 0, 1, 0.75, 2.01], [-1e-3, 0, 1, 0.75, 1], [0.5, 0, 1, 0.4, 1]])
    np.testing.assert_array_equal(BOX5.contains(inside), [True, True, True])
    np.testing.assert_array_equal(BOX5.contains(outside), [False, False, False])
    np.testing.assert_array_equal(BOX5.on_boundary(inside), [False, True, True])
    assert repr(BOX5) == "Box((0, -1, 0, 0.5, 0), (1, 1, 3, 1, 2))"
    assert repr(Box((0,), (2,))) == "Box((0,), (2,))"


@pytest.mark.parametrize("method", METHODS)
def test_box_boundary_on_the_faces_with_outward_normals_and_face_proportional_counts(method):
    total = 6007
    p, n = BOX5.sample_boundary(total, method, rng(4))
    assert p.shape == n.shape == (total, 5)
    lo, hi = BOX5.bounds
    sizes = np.repeat([6.0, 3.0, 2.0, 12.0, 3.0], 2)  # (axis 0, lo), (axis 0, hi), (axis 1, lo), ...
    counts = []
    for k in range(5):
        for value, sign in ((lo[k], -1.0), (hi[k], 1.0)):
            face = n[:, k] == sign
            assert np.all(p[face, k] == value)  # exactly on the face
            e = np.zeros(5)
            e[k] = sign
            np.testing.assert_array_equal(n[face], np.broadcast_to(e, (int(face.sum()), 5)))
            counts.append(int(face.sum()))
    assert sum(counts) == total
    assert np.all(np.abs(np.array(counts) - total * sizes / sizes.sum()) <= 1)
    assert BOX5.on_boundary(p, tol=1e-12).all() and BOX5.contains(p, tol=0.0).all()
    _outward(BOX5, p, n)


def test_box_in_two_dimensions_is_a_rectangle():
    b, r = Box((0, -1), (3, 1)), Rectangle((0, -1), (3, 1))
    for method in METHODS:
        np.testing.assert_array_equal(b.sample_interior(100, method, rng(1)), r.sample_interior(100, method, rng(1)))
        for x, y in zip(b.sample_boundary(100, method, rng(2)), r.sample_boundary(100, method, rng(2))):
            np.testing.assert_array_equal(x, y)
    (pb, cb), (pr, cr) = b.mesh(6), r.mesh(6)
    np.testing.assert_array_equal(pb, pr)
    assert cb[0][0] == cr[0][0] == "quad" and np.array_equal(cb[0][1], cr[0][1])


def test_box_monte_carlo_integral_in_5d():
    """int over [0, 1]^5 of prod_i sin(pi x_i) = (2 / pi)^5 from 2^14 Sobol points, to 0.5%."""
    box = Box([0] * 5, [1] * 5)
    p = box.sample_interior(2**14, "sobol", rng(5))
    estimate = box.measure * np.mean(np.prod(np.sin(np.pi * p), axis=1))
    assert abs(estimate / (2 / np.pi) ** 5 - 1) < 5e-3


@pytest.mark.parametrize("method", METHODS)
def test_samples_repeat_for_a_seed_and_differ_across_seeds(method):
    for d in (BOX5, Ball((0.1,) * 5, 1.5)):
        np.testing.assert_array_equal(d.sample_interior(64, method, 7), d.sample_interior(64, method, 7))
        a, b = d.sample_boundary(64, method, 7), d.sample_boundary(64, method, 7)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert not np.array_equal(d.sample_interior(64, method, 7), d.sample_interior(64, method, 8))


def test_boundary_selection_by_a_predicate_in_5d():
    s = CollocationSampler(BOX5, seed=3)
    p, n = s.boundary(200, select=lambda q: np.abs(q[:, 3] - 1.0) < 1e-12, label="x3 = 1")
    assert p.shape == (200, 5) and np.all(p[:, 3] == 1.0)
    np.testing.assert_array_equal(n, np.broadcast_to([0, 0, 0, 1.0, 0], (200, 5)))
    with pytest.raises(ProblemError, match="x3 = 3"):
        s.boundary(10, select=lambda q: q[:, 3] == 3.0, label="x3 = 3")


def test_boundary_selection_from_a_sympy_relation_in_5d():
    xs = sp.symbols("x0:5")
    u = sp.Function("u")(*xs)
    problem = pk.Problem(
        name="sel5", domain=BOX5, fields=[u], equations=[sum(u.diff(x, 2) for x in xs)],
        conditions=[pk.Dirichlet(u, 0, on=sp.Eq(xs[2], 3)), pk.Neumann(u, 0, on=sp.Eq(xs[4], 0))])
    terms = [t for t in compile_problem(problem).terms if t.select is not None]
    s = CollocationSampler(problem.domain, seed=0)
    (p2, n2), (p4, n4) = (s.boundary(100, t.select) for t in terms)
    assert np.all(p2[:, 2] == 3.0) and np.all(n2[:, 2] == 1.0)
    assert np.all(p4[:, 4] == 0.0) and np.all(n4[:, 4] == -1.0)


@pytest.mark.parametrize("d", [4, 5, 10])
def test_no_mesh_beyond_three_dimensions(d):
    for domain in (Box([0] * d, [1] * d), Ball([0] * d, 1), Box([0] * d, [1] * d) - Ball([1] * d, 0.5)):
        with pytest.raises(ProblemError, match="no mesh exists beyond 3 dimensions") as e:
            domain.mesh(4)
        assert f"{d}-dimensional" in str(e.value)


def test_meshes_up_to_three_dimensions_are_unchanged():
    points, cells = Box((0, 0, 0), (1, 2, 3)).mesh(6)
    assert cells[0][0] == "hexahedron" and len(points) == 3 * 5 * 7 and len(cells[0][1]) == 2 * 4 * 6
    points, cells = Box((0,), (2,)).mesh(4)
    assert cells[0][0] == "line" and np.array_equal(points[:, 0], np.linspace(0, 2, 5))


@pytest.mark.parametrize("make, words", [
    (lambda: Box((), ()), ["Box", "lo"]),
    (lambda: Box(1, 2), ["Box", "lo"]),
    (lambda: Box([0] * 5, [1] * 4), ["Box", "hi", "5 numbers"]),
    (lambda: Box([0] * 5, [1, 1, 1, 0, 1]), ["Box", "coordinate 3"]),
    (lambda: Ball((), 1), ["Ball", "center"]),
    (lambda: Ball(0, 1), ["Ball", "center"]),
    (lambda: Ball((0, 0, 0), 0), ["Ball", "radius", "r > 0"]),
    (lambda: Ball((0,) * 5, -1), ["Ball", "-1"]),
    (lambda: Ball((0, "a"), 1), ["Ball", "'a'"]),
    (lambda: Ball((0, 0), float("inf")), ["Ball", "inf"]),
])
def test_invalid_arguments_are_named(make, words):
    with pytest.raises(ProblemError) as info:
        make()
    assert all(w in str(info.value) for w in words), str(info.value)


# ---------------------------------------------------------------------------- space-time
def test_space_time_over_a_5d_box():
    d = SpaceTime(BOX5, 0.0, 2.0)
    assert d.dim == 6 and d.is_box() and d.measure == 12.0
    p = d.sample_interior(500, "sobol", rng(1))
    assert p.shape == (500, 6) and d.contains(p, tol=0.0).all()
    b, n = d.sample_boundary(500, "halton", rng(2))
    assert np.all(n[:, 5] == 0.0) and BOX5.on_boundary(b[:, :5], tol=1e-12).all()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, rtol=0, atol=1e-12)
    init = d.sample_initial(50, "sobol", rng(3))
    assert np.all(init[:, 5] == 0.0) and BOX5.contains(init[:, :5], tol=0.0).all()
    e = d.evaluation_points(300)
    assert e.shape == (300, 6) and d.contains(e, tol=0.0).all()
    with pytest.raises(ProblemError, match="time series"):
        d.mesh(4)
    xs, t = sp.symbols("x0:5"), sp.Symbol("t")
    u = sp.Function("u")(*xs, t)
    problem = pk.Problem(name="heat5", domain=BOX5, fields=[u], time=(t, 0, 2),
                         equations=[u.diff(t) - sum(u.diff(x, 2) for x in xs)])
    assert isinstance(problem.domain, SpaceTime) and problem.domain.dim == 6


# ---------------------------------------------------------------------------- balls
@pytest.mark.parametrize("ball", BALLS, ids=repr)
@pytest.mark.parametrize("method", METHODS)
def test_ball_samples_inside_and_on_the_sphere_with_outward_normals(ball, method):
    p = ball.sample_interior(1000, method, rng(1))
    assert p.shape == (1000, ball.dim) and ball.contains(p, tol=0.0).all()
    lo, hi = ball.bounds
    assert np.all(p >= lo) and np.all(p <= hi)
    b, n = ball.sample_boundary(999, method, rng(2))
    assert b.shape == n.shape == (999, ball.dim)
    np.testing.assert_allclose(np.linalg.norm(b - ball.center, axis=1), ball.radius, rtol=0, atol=1e-12)
    np.testing.assert_allclose(n, (b - ball.center) / ball.radius, rtol=0, atol=1e-12)
    assert ball.on_boundary(b, tol=1e-12).all()
    _outward(ball, b, n)


@pytest.mark.parametrize("d", [1, 2, 3, 5, 10])
def test_ball_measure_bounds_and_boundary_measure(d):
    ball = Ball([0.25] * d, 1.5)
    assert ball.dim == d
    expected = math.pi ** (d / 2) / math.gamma(d / 2 + 1) * 1.5**d
    assert math.isclose(ball.measure, expected, rel_tol=1e-14)
    assert math.isclose(ball.boundary_measure, d * expected / 1.5, rel_tol=1e-14)
    np.testing.assert_array_equal(ball.bounds[0], [-1.25] * d)
    np.testing.assert_array_equal(ball.bounds[1], [1.75] * d)
    assert ball.diameter == 3.0


def test_volume_of_the_5d_ball():
    assert math.isclose(Ball((0,) * 5, 2).measure, math.pi**2.5 / math.gamma(3.5) * 2**5, rel_tol=1e-14)
    assert math.isclose(unit_ball_volume(5), 8 * math.pi**2 / 15, rel_tol=1e-14)
    assert math.isclose(Ball((0, 0), 1).measure, math.pi, rel_tol=1e-15)
    assert math.isclose(Ball((3,), 0.5).measure, 1.0, rel_tol=1e-15)
    assert math.isclose(Ball((3,), 0.5).boundary_measure, 2.0, rel_tol=1e-15)


@pytest.mark.parametrize("d", [3, 5, 10])
def test_ball_monte_carlo_integrals(d):
    """Uniform in volume: int_B |x - c|^2 = |B| d / (d + 2) R^2, to 1% from 2^13 Sobol points;
    the fraction inside radius R / 2 is 2^-d; the mean of x_k^2 on the sphere is R^2 / d."""
    ball = Ball([0.3] * d, 2.0)
    p = ball.sample_interior(2**13, "sobol", rng(6))
    r2 = np.sum((p - ball.center) ** 2, axis=1)
    integral = ball.measure * np.mean(r2)
    assert abs(integral / (ball.measure * d / (d + 2) * 4.0) - 1) < 0.01
    inner = np.mean(r2 <= 1.0)
    assert abs(inner - 2.0**-d) < 4 * math.sqrt(2.0**-d / 2**13) + 1e-3
    b, n = ball.sample_boundary(2**13, "sobol", rng(7))
    np.testing.assert_allclose(np.mean(n**2, axis=0), 1.0 / d, rtol=0.03)
    np.testing.assert_allclose(np.mean(n, axis=0), 0.0, atol=0.02)


def test_sphere_map_is_measure_preserving_in_3d():
    """On S^2 the first coordinate is uniform on [-1, 1] (Archimedes): t = 2 u_0 - 1 exactly."""
    u = rng(0).random((1000, 2))
    s = sphere_points(u, 3)
    np.testing.assert_allclose(s[:, 0], 2 * u[:, 0] - 1, rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), 1.0, rtol=0, atol=1e-15)


def test_ball_in_two_dimensions_draws_the_points_of_the_disk():
    ball, disk = Ball((0.5, -0.25), 2.0), Disk((0.5, -0.25), 2.0)
    assert ball.measure == disk.measure and ball.boundary_measure == disk.boundary_measure
    for method in METHODS:
        np.testing.assert_array_equal(ball.sample_interior(300, method, rng(1)),
                                      disk.sample_interior(300, method, rng(1)))
        for x, y in zip(ball.sample_boundary(300, method, rng(2)), disk.sample_boundary(300, method, rng(2))):
            np.testing.assert_array_equal(x, y)
    (pb, cb), (pd, cd) = ball.mesh(8), disk.mesh(8)
    np.testing.assert_array_equal(pb, pd)
    np.testing.assert_array_equal(cb[0][1], cd[0][1])
    np.testing.assert_array_equal(ball.evaluation_points(100), disk.evaluation_points(100))
    assert isinstance(disk, Ball) and repr(disk) == "Disk((0.5, -0.25), 2)"
    assert repr(ball) == "Ball((0.5, -0.25), 2)"


def test_ball_in_one_dimension_is_an_interval():
    ball = Ball((1.0,), 0.5)
    p, n = ball.sample_boundary(9, "sobol", rng(0))
    assert set(p[:, 0]) == {0.5, 1.5} and np.all(n[:, 0] == np.where(p[:, 0] == 1.5, 1.0, -1.0))
    assert abs(int(np.sum(n > 0)) - int(np.sum(n < 0))) == 1
    points, cells = ball.mesh(4)
    np.testing.assert_allclose(points[:, 0], [0.5, 0.75, 1.0, 1.25, 1.5], rtol=0, atol=1e-15)
    assert cells[0][0] == "line" and len(cells[0][1]) == 4
    assert repr(ball) == "Ball((1,), 0.5)"


def test_ball_mesh_in_three_dimensions():
    ball = Ball((0, 0, 1), 0.5)
    points, cells = ball.mesh(8)
    kind, tets = cells[0]
    v = points[tets]
    vol = np.linalg.det(v[:, 1:] - v[:, :1]) / 6
    # positively oriented; the flat cells of co-spherical grid points stay for conformity, as in
    # every simplex mesh of a set operation
    assert kind == "tetra" and np.all(vol >= 0) and np.mean(vol > 0) > 0.8
    assert ball.contains(points).all()
    # a polyhedron inscribed in the sphere: a little less than the ball's volume
    assert 0.93 * ball.measure < vol.sum() <= ball.measure
    assert ball.on_boundary(points).sum() >= 100


# ---------------------------------------------------------------------------- ellipse
ELLIPSE = Ellipse((1, -0.5), (2, 0.5), angle=0.3)


def _local(e, p):
    """Coordinates along the semi-axes: Q^T (p - c)."""
    c, s = math.cos(e.angle), math.sin(e.angle)
    return (p - e.center) @ np.array([[c, -s], [s, c]])


def test_ellipse_measure_perimeter_and_bounds():
    from scipy.special import ellipe

    assert math.isclose(ELLIPSE.measure, math.pi, rel_tol=1e-15)
    # perimeter 4 a E(e^2), e^2 = 1 - b^2 / a^2
    assert math.isclose(ELLIPSE.boundary_measure, 8 * ellipe(1 - 0.25**2), rel_tol=1e-12)
    lo, hi = ELLIPSE.bounds
    th = np.linspace(0, 2 * np.pi, 200001)
    edge = ELLIPSE.center + np.stack([2 * np.cos(th), 0.5 * np.sin(th)], axis=1) @ np.array(
        [[math.cos(0.3), math.sin(0.3)], [-math.sin(0.3), math.cos(0.3)]])
    np.testing.assert_allclose(lo, edge.min(axis=0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(hi, edge.max(axis=0), rtol=0, atol=1e-9)
    circle = Ellipse((0, 0), (1.5, 1.5))
    assert math.isclose(circle.boundary_measure, Disk((0, 0), 1.5).boundary_measure, rel_tol=1e-14)
    assert repr(ELLIPSE) == "Ellipse((1, -0.5), (2, 0.5), angle=0.3)"


@pytest.mark.parametrize("method", METHODS)
def test_ellipse_samples_and_outward_normals(method):
    p = ELLIPSE.sample_interior(2000, method, rng(1))
    assert p.shape == (2000, 2) and ELLIPSE.contains(p, tol=0.0).all()
    y = _local(ELLIPSE, p)
    assert np.all((y[:, 0] / 2) ** 2 + (y[:, 1] / 0.5) ** 2 <= 1 + 1e-14)
    b, n = ELLIPSE.sample_boundary(1000, method, rng(2))
    yb = _local(ELLIPSE, b)
    np.testing.assert_allclose((yb[:, 0] / 2) ** 2 + (yb[:, 1] / 0.5) ** 2, 1.0, rtol=0, atol=1e-12)
    assert ELLIPSE.on_boundary(b, tol=1e-12).all()
    _outward(ELLIPSE, b, n)
    # the normal is the gradient of (y0 / a)^2 + (y1 / b)^2, normalised
    g = _local(ELLIPSE, ELLIPSE.center + n)
    grad = np.stack([yb[:, 0] / 4, yb[:, 1] / 0.25], axis=1)
    np.testing.assert_allclose(g, grad / np.linalg.norm(grad, axis=1, keepdims=True), rtol=0, atol=1e-12)


def test_ellipse_monte_carlo_integrals():
    """int y0^2 over the ellipse = pi a^3 b / 4 (interior, to 1%); boundary points uniform in
    arc length: the share with |y0| > a / 2 is that arc's length over the perimeter (to 1%)."""
    from scipy.integrate import quad

    p = ELLIPSE.sample_interior(2**14, "sobol", rng(3))
    y = _local(ELLIPSE, p)
    assert abs(ELLIPSE.measure * np.mean(y[:, 0] ** 2) / (math.pi * 8 * 0.5 / 4) - 1) < 0.01
    b, _ = ELLIPSE.sample_boundary(2**14, "sobol", rng(4))
    yb = _local(ELLIPSE, b)
    speed = lambda t: math.hypot(2 * math.sin(t), 0.5 * math.cos(t))  # noqa: E731
    arc = 4 * quad(speed, 0, math.pi / 3)[0]  # |cos t| > 1/2 on four arcs of t in (0, pi/3)
    assert abs(np.mean(np.abs(yb[:, 0]) > 1.0) / (arc / ELLIPSE.boundary_measure) - 1) < 0.01


def test_ellipse_mesh_and_set_operations():
    points, cells = ELLIPSE.mesh(24)
    v = points[cells[0][1]]
    area = 0.5 * ((v[:, 1] - v[:, 0])[:, 0] * (v[:, 2] - v[:, 0])[:, 1]
                  - (v[:, 1] - v[:, 0])[:, 1] * (v[:, 2] - v[:, 0])[:, 0])
    assert cells[0][0] == "triangle" and np.all(area > 0)
    assert 0.98 * ELLIPSE.measure < area.sum() <= ELLIPSE.measure
    d = Rectangle((-2, -2), (4, 1)) - ELLIPSE
    assert abs(d.measure - (18 - math.pi)) < 0.02
    b, n = d.sample_boundary(500, "sobol", rng(5))
    assert d.on_boundary(b, tol=1e-12).all()
    _outward(d, b, n)


@pytest.mark.parametrize("make, words", [
    (lambda: Ellipse((0, 0), (1, 0)), ["Ellipse", "semi-axes", "positive"]),
    (lambda: Ellipse((0, 0), (1,)), ["Ellipse", "semi_axes"]),
    (lambda: Ellipse((0, 0, 0), (1, 1)), ["Ellipse", "center"]),
    (lambda: Ellipse((0, 0), (1, 2), angle="x"), ["Ellipse", "angle"]),
])
def test_invalid_ellipse_arguments(make, words):
    with pytest.raises(ProblemError) as info:
        make()
    assert all(w in str(info.value) for w in words), str(info.value)


# ---------------------------------------------------------------------------- set operations
def test_box_minus_ball_in_5d():
    d = Box([0] * 5, [1] * 5) - Ball([0.5] * 5, 0.4)
    hole = unit_ball_volume(5) * 0.4**5
    assert abs(d.measure - (1 - hole)) < 5e-3
    assert abs(d.boundary_measure / (10 + 5 * hole / 0.4) - 1) < 0.01
    p = d.sample_interior(2000, "sobol", rng(1))
    assert p.shape == (2000, 5) and d.contains(p, tol=0.0).all()
    assert np.all(np.linalg.norm(p - 0.5, axis=1) >= 0.4)
    b, n = d.sample_boundary(2000, "sobol", rng(2))
    assert b.shape == (2000, 5) and d.on_boundary(b, tol=1e-12).all()
    _outward(d, b, n)
    on_sphere = np.abs(np.linalg.norm(b - 0.5, axis=1) - 0.4) <= 1e-12
    np.testing.assert_allclose(n[on_sphere], -(b[on_sphere] - 0.5) / 0.4, rtol=0, atol=1e-12)
    share = (5 * hole / 0.4) / (10 + 5 * hole / 0.4)  # the hole's share of the boundary
    assert abs(on_sphere.mean() - share) < 0.01


def test_union_and_intersection_of_balls_in_3d():
    """Two unit balls with centres 1 apart: the lens has volume pi (4 + 1) (2 - 1)^2 / 12."""
    a, b = Ball((0, 0, 0), 1), Ball((1, 0, 0), 1)
    lens = 5 * math.pi / 12
    assert abs((a & b).measure / lens - 1) < 0.01
    assert abs((a | b).measure / (2 * a.measure - lens) - 1) < 0.01
    for d in (a & b, a | b, a - b):
        p, n = d.sample_boundary(1000, "halton", rng(3))
        assert d.on_boundary(p, tol=1e-12).all()
        _outward(d, p, n)
        assert d.contains(d.sample_interior(500, "sobol", rng(4)), tol=0.0).all()


def test_ball_and_box_in_10d():
    d = Ball([0] * 10, 1) & Box([0] * 10, [2] * 10)  # one orthant of the ball
    p = d.sample_interior(200, "sobol", rng(5))
    assert p.shape == (200, 10) and np.all(p >= 0) and np.all(np.linalg.norm(p, axis=1) <= 1)
    e = Box([0] * 10, [1] * 10) - Ball([0.5] * 10, 0.5)  # the inscribed ball removed
    # the measure is estimated from 2^16 points of the bounding box: absolute error ~1e-3
    hole = unit_ball_volume(10) / 1024
    assert abs(e.measure - (1 - hole)) < 2e-3
    assert abs(e.boundary_measure / (20 + 10 * hole / 0.5) - 1) < 1e-3
    b, n = e.sample_boundary(400, "sobol", rng(6))
    assert e.on_boundary(b, tol=1e-12).all()
    _outward(e, b, n)


def test_set_operations_need_equal_dimensions():
    with pytest.raises(ProblemError, match="5-dimensional"):
        Ball([0] * 5, 1) | Box([0] * 4, [1] * 4)


# ---------------------------------------------------------------------------- evaluation points
def _mesh_square(tmp_path):
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    path = tmp_path / "square.vtu"
    meshio.write(path, meshio.Mesh(points, [("triangle", np.array([[0, 1, 2], [0, 2, 3]]))]))
    return MeshDomain(path)


def _every_kind(tmp_path):
    return [
        Interval(-1, 2), Rectangle((0, 0), (3, 1)), Box((0, 0, 0), (1, 2, 3)), BOX5,
        Disk((0, 0), 1), Ball((0, 0, 0), 1), Ball([0] * 5, 1), ELLIPSE, Polygon.l_shape(),
        Rectangle((0, 0), (2, 1)) - Disk((1, 0.5), 0.25), Box([0] * 5, [1] * 5) - Ball([0.5] * 5, 0.4),
        _mesh_square(tmp_path), SpaceTime(Interval(0, 1), 0, 1), SpaceTime(Disk((0, 0), 1), 0, 2),
        SpaceTime(Polygon.l_shape(), 0, 1),
    ]


def test_evaluation_points_of_every_domain_kind(tmp_path):
    """Exactly n points, inside, repeatable, distinct, and evenly spread: the mean of each
    coordinate is that over the domain (by symmetry, or over a box of the same bounds) to 2%
    of the extent."""
    centroids = {"Polygon": np.array([-1 / 6, 1 / 6])}
    for domain in _every_kind(tmp_path):
        for n in (1, 7, 500):
            p = domain.evaluation_points(n)
            assert p.shape == (n, domain.dim) and p.dtype == np.float64, (domain, p.shape)
            assert domain.contains(p, tol=0.0).all(), domain
            np.testing.assert_array_equal(p, domain.evaluation_points(n))
        assert len(np.unique(p, axis=0)) == len(p)
        lo, hi = domain.bounds
        space = getattr(domain, "space", domain)
        centre = 0.5 * (lo + hi)
        if type(space).__name__ in centroids:
            centre[: space.dim] = centroids[type(space).__name__]
        p = domain.evaluation_points(2000)
        assert np.all(np.abs(p.mean(axis=0) - centre) <= 0.02 * (hi - lo)), domain


def test_evaluation_points_are_sobol_points_with_the_fixed_seed():
    box = Box((0, 0), (2, 1))
    expected = box.sample_interior(256, "sobol", np.random.default_rng(EVALUATION_SEED))
    np.testing.assert_array_equal(box.evaluation_points(256), expected)
    x = Interval(0, 1).evaluation_points(100)[:, 0]
    assert np.all(np.diff(x) > 0)  # sorted in 1D


def _l2_norm(domain, values):
    return math.sqrt(domain.measure * np.mean(values**2))


def test_l2_norm_of_an_oscillating_field_on_evaluation_points():
    """||sin(20 pi x) sin(pi y)||_L2 on the unit square is 1/2; a grid of 21 x-values sits on the
    zeros of sin(20 pi x) and measured ~1e-14, the Sobol evaluation points give it to 5%."""
    sq = Rectangle((0, 0), (1, 1))
    p = sq.evaluation_points(2000)
    assert abs(_l2_norm(sq, np.sin(20 * np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])) / 0.5 - 1) < 0.05
    st = SpaceTime(Interval(0, 1), 0, 1)
    q = st.evaluation_points(2000)
    assert abs(_l2_norm(st, np.sin(20 * np.pi * q[:, 0]) * np.sin(np.pi * q[:, 1])) / 0.5 - 1) < 0.05
    st2 = SpaceTime(sq, 0, 1)  # sin(20 pi x) sin(pi y) sin(pi t): norm 1 / (2 sqrt 2)
    r = st2.evaluation_points(2000)
    f = np.sin(20 * np.pi * r[:, 0]) * np.sin(np.pi * r[:, 1]) * np.sin(np.pi * r[:, 2])
    assert abs(_l2_norm(st2, f) * 2 * math.sqrt(2) - 1) < 0.05


def test_relative_error_of_a_time_dependent_oscillating_solution_is_finite():
    """The metric that aliased: exact u = sin(20 pi x) exp(-t) on [0, 1] x [0, 1], a network
    that is off by 1% of it gives rel_l2 about 1e-2 (it came out 7.9e+13 on the grid)."""
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    exact = sp.sin(20 * sp.pi * x) * sp.exp(-t)
    problem = pk.Problem(name="alias", domain=Interval(0, 1), time=(t, 0, 1), fields=[u],
                         equations=[u.diff(t) + u], exact={u: exact},
                         conditions=[pk.Initial(u, sp.sin(20 * sp.pi * x))])
    c = compile_problem(problem)
    pts = torch.as_tensor(problem.domain.evaluation_points(2000))
    ex = c.exact_values(pts)[:, 0].numpy()
    rel = np.linalg.norm(1.01 * ex - ex) / np.linalg.norm(ex)
    assert abs(rel - 0.01) < 1e-12
    assert np.linalg.norm(ex) / math.sqrt(2000) > 0.4  # the RMS of the exact solution, ~0.47


# ---------------------------------------------------------------------------- the stack in 5-D and 10-D
def _poisson(d: int) -> pk.Problem:
    """-Laplace u = pi^2 sum_i sin(pi x_i) on [0, 1]^d, u = sum_i sin(pi x_i) on the boundary."""
    xs = sp.symbols(f"x0:{d}")
    u = sp.Function("u")(*xs)
    exact = sum(sp.sin(sp.pi * x) for x in xs)
    f = -sum(exact.diff(x, 2) for x in xs)
    return pk.Problem(name=f"poisson{d}d", domain=Box([0] * d, [1] * d), fields=[u],
                      equations=[sp.Eq(-sum(u.diff(x, 2) for x in xs), f)],
                      conditions=[pk.Dirichlet(u, exact)], exact={u: exact})


# rel_l2 measured with these options for seeds 0, 1, 2, 3 (the test runs seed 0):
#   5-D  KAN 7.0e-3, 1.1e-2, 1.2e-2, 7.1e-3     MLP 0.167, 0.165, 0.160, 0.381
#   10-D KAN 8.6e-3, 2.9e-2, 9.9e-3, 7.6e-3     MLP 0.247, 0.414, 0.311, 0.304
# (the MLP runs L-BFGS, which "auto" picks for it, with its default step count; a [d, 4, 1]
# tanh network has too few units for sum_i sin(pi x_i)). Bounds: above every seed measured.
BOUNDS = {(5, "kan"): 3e-2, (5, "mlp"): 0.5, (10, "kan"): 5e-2, (10, "mlp"): 0.6}


@pytest.mark.slow
@pytest.mark.parametrize("d, model", list(BOUNDS), ids=lambda v: str(v))
def test_poisson_in_high_dimension_solves(d, model):
    problem = _poisson(d)
    r = pk.solve(problem, model=model, widths=[d, 4, 1], grid=3, adam_steps=20, lm_steps=5,
                 n_interior=256, n_boundary=64, n_eval=500)
    assert r.metrics["n_eval_points"] == 500
    assert math.isfinite(r.metrics["rel_l2"]["u"]) and r.metrics["rel_l2"]["u"] < BOUNDS[(d, model)]
