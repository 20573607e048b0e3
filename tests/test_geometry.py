import math

import numpy as np
import pytest

from pinnkan.errors import ProblemError
from pinnkan.geometry import Box, Disk, Domain, Interval, Rectangle

SHAPES = [
    Interval(-1, 2),
    Rectangle((-1, -1), (1, 1)),
    Rectangle((0, 0), (3, 1)),
    Box((0, 0, 0), (1, 2, 3)),
    Disk((0.5, -0.25), 2.0),
]
METHODS = ["uniform", "sobol", "halton"]


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("domain", SHAPES, ids=repr)
@pytest.mark.parametrize("method", METHODS)
def test_interior_points_inside(domain, method):
    p = domain.sample_interior(257, method, rng())
    assert isinstance(domain, Domain)
    assert p.shape == (257, domain.dim) and p.dtype == np.float64
    assert domain.contains(p, tol=0.0).all()
    lo, hi = domain.bounds
    assert np.all(p >= lo) and np.all(p <= hi)


@pytest.mark.parametrize("domain", SHAPES, ids=repr)
@pytest.mark.parametrize("method", METHODS)
def test_boundary_points_and_outward_unit_normals(domain, method):
    p, n = domain.sample_boundary(301, method, rng(1))
    assert p.shape == n.shape == (301, domain.dim)
    assert domain.on_boundary(p).all()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12, rtol=0)
    eps = 1e-6 * domain.diameter
    assert not domain.contains(p + eps * n).any()
    assert domain.contains(p - eps * n).all()
    assert not domain.on_boundary(p - eps * n).any()


def _face_counts(p, n, domain):
    lo, hi = domain.bounds
    counts = []
    for k in range(domain.dim):
        for value, sign in ((lo[k], -1.0), (hi[k], 1.0)):
            on_face = n[:, k] == sign
            assert np.all(p[on_face, k] == value)  # placed exactly on the face
            counts.append(int(on_face.sum()))
    return np.array(counts)


@pytest.mark.parametrize(
    "domain, sizes",
    [
        (Rectangle((0, 0), (3, 1)), [1, 1, 3, 3]),
        (Box((0, 0, 0), (1, 2, 3)), [6, 6, 3, 3, 2, 2]),
        (Interval(0, 1), [1, 1]),
    ],
    ids=repr,
)
@pytest.mark.parametrize("method", METHODS)
def test_boundary_counts_proportional_to_face_size(domain, sizes, method):
    total = 4001
    p, n = domain.sample_boundary(total, method, rng(2))
    counts = _face_counts(p, n, domain)
    assert counts.sum() == total
    expected = total * np.array(sizes) / sum(sizes)
    assert np.all(np.abs(counts - expected) <= 1)


def test_interval_end_points_share_evenly():
    d = Interval(-1, 1)
    for n in (1, 2, 3, 8, 9):
        p, normals = d.sample_boundary(n, "sobol", rng(n))
        left = int(np.sum(p[:, 0] == -1.0))
        assert left + int(np.sum(p[:, 0] == 1.0)) == n
        assert abs(2 * left - n) <= 1
        np.testing.assert_array_equal(normals[:, 0], np.sign(p[:, 0]))


@pytest.mark.parametrize("method", METHODS)
def test_disk_boundary_angle_uniform(method):
    d = Disk((1.0, 2.0), 0.5)
    p, n = d.sample_boundary(4000, method, rng(3))
    np.testing.assert_allclose(p, d.center + d.radius * n, atol=1e-14)
    angles = np.arctan2(n[:, 1], n[:, 0])
    hist, _ = np.histogram(angles, bins=8, range=(-np.pi, np.pi))
    assert np.all(np.abs(hist - 500) < 100)


@pytest.mark.parametrize("domain", SHAPES, ids=repr)
def test_seeding(domain):
    for method in METHODS:
        a = domain.sample_interior(64, method, rng(7))
        b = domain.sample_interior(64, method, rng(7))
        c = domain.sample_interior(64, method, rng(8))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
        pa, na = domain.sample_boundary(33, method, rng(7))
        pb, nb = domain.sample_boundary(33, method, rng(7))
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(na, nb)


def test_unknown_method_lists_valid_methods():
    with pytest.raises(ProblemError) as info:
        Rectangle((0, 0), (1, 1)).sample_interior(10, "lhs", rng())
    assert all(m in str(info.value) for m in METHODS)
    assert isinstance(info.value, ValueError)


def test_measures_and_bounds():
    r = Rectangle((0, -1), (3, 1))
    assert r.measure == 6.0 and r.boundary_measure == 10.0
    assert math.isclose(r.diameter, math.sqrt(13))
    b = Box((0, 0, 0), (1, 2, 3))
    assert b.measure == 6.0 and b.boundary_measure == 22.0
    d = Disk((1, 1), 2)
    assert math.isclose(d.measure, 4 * math.pi) and math.isclose(d.boundary_measure, 4 * math.pi)
    assert d.diameter == 4.0
    np.testing.assert_array_equal(d.bounds[0], [-1, -1])
    np.testing.assert_array_equal(d.bounds[1], [3, 3])
    i = Interval(-1, 2)
    assert i.measure == 3.0 and i.boundary_measure == 2.0 and i.dim == 1


def test_contains_and_on_boundary_by_hand():
    r = Rectangle((-1, -1), (1, 1))
    pts = np.array([[0, 0], [-1, 0.3], [1, 1], [1 + 1e-12, 0], [1.1, 0], [0, 1.01]])
    np.testing.assert_array_equal(r.contains(pts), [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(r.on_boundary(pts), [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(r.on_boundary(pts, tol=0.02), [0, 1, 1, 1, 0, 1])
    d = Disk((0, 0), 1)
    q = np.array([[0, 0], [1, 0], [0.6, 0.8], [0.8, 0.8]])
    np.testing.assert_array_equal(d.contains(q), [1, 1, 1, 0])
    np.testing.assert_array_equal(d.on_boundary(q), [0, 1, 1, 0])
    np.testing.assert_array_equal(Interval(0, 1).contains(np.array([0.0, 0.5, 1.5])), [1, 1, 0])
    with pytest.raises(ProblemError):
        r.contains(np.zeros((3, 3)))


def _quad_areas(points, quads):
    x, y = points[quads, 0], points[quads, 1]
    return 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)


def test_interval_mesh():
    points, cells = Interval(0, 2).mesh(10)
    assert points.shape == (11, 1)
    (kind, lines), = cells
    assert kind == "line" and lines.shape == (10, 2)
    assert np.all(np.diff(points[lines, 0], axis=1) > 0)


@pytest.mark.parametrize("lo, hi, res, npts, ncells", [
    ((-1, -1), (1, 1), 8, 81, 64),
    ((0, 0), (4, 1), 8, 27, 16),
    ((0, 0), (1, 10), 10, 33, 20),
])
def test_rectangle_mesh(lo, hi, res, npts, ncells):
    r = Rectangle(lo, hi)
    points, cells = r.mesh(res)
    (kind, quads), = cells
    assert kind == "quad" and points.shape == (npts, 2) and quads.shape == (ncells, 4)
    areas = _quad_areas(points, quads)
    assert np.all(areas > 0)
    assert math.isclose(areas.sum(), r.measure)
    assert r.contains(points, tol=0).all()


@pytest.mark.parametrize("hi, res, npts, ncells", [((1, 1, 1), 4, 125, 64), ((2, 1, 1), 4, 45, 16)])
def test_box_mesh(hi, res, npts, ncells):
    b = Box((0, 0, 0), hi)
    points, cells = b.mesh(res)
    (kind, hexes), = cells
    assert kind == "hexahedron" and points.shape == (npts, 3) and hexes.shape == (ncells, 8)
    p = points[hexes]
    vol = np.linalg.det(np.stack([p[:, 1] - p[:, 0], p[:, 3] - p[:, 0], p[:, 4] - p[:, 0]], 1))
    assert np.all(vol > 0)
    assert math.isclose(vol.sum(), b.measure)


def test_disk_mesh():
    d = Disk((1.0, -2.0), 3.0)
    points, cells = d.mesh(20)
    (kind, tri), = cells
    rings = 10
    assert kind == "triangle" and points.shape == (1 + 3 * rings * (rings + 1), 2)
    a, b, c = (points[tri[:, i]] for i in range(3))
    area = 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    assert np.all(area > 0)
    assert 0.98 * d.measure < area.sum() <= d.measure
    assert np.array_equal(np.unique(tri), np.arange(len(points)))  # every point used
    assert np.any(np.all(points == d.center, axis=1))
    ring = points[-6 * rings:]
    np.testing.assert_allclose(np.linalg.norm(ring - d.center, axis=1), d.radius, rtol=1e-14)
    assert d.contains(points).all()


@pytest.mark.parametrize("domain", SHAPES, ids=repr)
def test_evaluation_points(domain):
    """Exactly n scrambled Sobol points (fixed seed) inside; their mean of |x - c|^2 is the
    domain's to 2% (c the centre of the bounding box)."""
    p = domain.evaluation_points(2000)
    assert p.shape == (2000, domain.dim) and p.dtype == np.float64
    np.testing.assert_array_equal(p, domain.evaluation_points(2000))
    assert domain.contains(p, tol=0.0).all()
    assert not domain.on_boundary(p).any()  # interior points, not a grid through the faces
    assert len(np.unique(p, axis=0)) == len(p)
    lo, hi = domain.bounds
    c = 0.5 * (lo + hi)
    if isinstance(domain, Disk):
        exact = domain.radius**2 / 2  # mean of r^2 over a disk
    else:
        exact = float(np.sum((hi - lo) ** 2) / 12)  # mean of |x - c|^2 over a box
    assert abs(np.mean(np.sum((p - c) ** 2, axis=1)) / exact - 1) < 0.02
    assert len(domain.evaluation_points(7)) == 7 and len(domain.evaluation_points(0)) == 0


def test_repr():
    assert repr(Rectangle((-1, -1), (1, 1))) == "Rectangle((-1, -1), (1, 1))"
    assert repr(Interval(0, 0.5)) == "Interval(0, 0.5)"
    assert repr(Box((0, 0, 0), (1, 2, 3))) == "Box((0, 0, 0), (1, 2, 3))"
    assert repr(Disk((0, 0), 1.5)) == "Disk((0, 0), 1.5)"


@pytest.mark.parametrize("make, words", [
    (lambda: Interval(1, 1), ["Interval", "1"]),
    (lambda: Interval(2, 1), ["Interval", "2"]),
    (lambda: Interval(0, float("inf")), ["Interval", "inf"]),
    (lambda: Interval("a", 1), ["Interval", "'a'"]),
    (lambda: Rectangle((0, 0), (1,)), ["Rectangle", "hi"]),
    (lambda: Rectangle((0, 2), (1, 1)), ["Rectangle", "coordinate 1"]),
    (lambda: Rectangle((0, float("nan")), (1, 1)), ["Rectangle", "nan"]),
    (lambda: Rectangle(0, 1), ["Rectangle", "lo"]),
    (lambda: Box((), ()), ["Box", "lo"]),
    (lambda: Box(0, 1), ["Box", "lo"]),
    (lambda: Box((0, 0), (1, 1, 1)), ["Box", "hi", "2 numbers"]),
    (lambda: Box((0, 0, 0), (1, 1, 0)), ["Box", "coordinate 2"]),
    (lambda: Disk((0, 0), 0), ["Disk", "radius"]),
    (lambda: Disk((0, 0), -1), ["Disk", "-1"]),
    (lambda: Disk((0, 0, 0), 1), ["Disk", "center"]),
    (lambda: Disk((0, 0), None), ["Disk", "radius"]),
])
def test_invalid_constructor_arguments(make, words):
    with pytest.raises(ProblemError) as info:
        make()
    assert all(w in str(info.value) for w in words)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_invalid_mesh_resolution(bad):
    with pytest.raises(ProblemError):
        Rectangle((0, 0), (1, 1)).mesh(bad)
