"""Polygon and set operations (union, difference, intersection) of domains."""

import math

import numpy as np
import pytest

from pinnkan.errors import ProblemError
from pinnkan.geometry import (
    Box,
    Difference,
    Disk,
    Domain,
    Intersection,
    Interval,
    Polygon,
    Rectangle,
    Union,
)
from pinnkan.geometry.csg import simplex_mesh
from pinnkan.geometry.polygon import simplex_volumes

METHODS = ["uniform", "sobol", "halton"]


def rng(seed=0):
    return np.random.default_rng(seed)


def star(k, r_out, r_in):
    th = np.arange(2 * k) * np.pi / k
    r = np.where(np.arange(2 * k) % 2 == 0, r_out, r_in)
    return np.stack([r * np.cos(th), r * np.sin(th)], axis=1)


COMB = [(0, 0), (10, 0), (10, 3), (9, 3), (9, 0.5), (8, 0.5), (8, 3), (7, 3), (7, 0.5), (1, 0.5),
        (1, 3), (0, 3)]
POLYGONS = {
    "lshape": Polygon.l_shape(),
    "star": Polygon(star(5, 1.0, 0.3)),
    "comb": Polygon(COMB),
    "clockwise_triangle": Polygon([(0, 0), (0, 2), (3, 0)]),
}


def shoelace(v):
    v = np.asarray(v, dtype=float)
    return 0.5 * abs(np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]))


def check_boundary_sample(domain, p, n, eps_rel=1e-6):
    """Points on the boundary with unit normals pointing out of the domain."""
    assert domain.on_boundary(p).all()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, rtol=0, atol=1e-12)
    eps = eps_rel * domain.diameter
    assert not domain.contains(p + eps * n).any()
    assert domain.contains(p - eps * n).all()


def triangle_areas(points, tri):
    a, b, c = (points[tri[:, i]] for i in range(3))
    return 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])


def boundary_edge_length(points, tri):
    """Total length of the mesh edges used by one triangle only."""
    e = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    edges, counts = np.unique(e, axis=0, return_counts=True)
    single = edges[counts == 1]
    return float(np.linalg.norm(points[single[:, 0]] - points[single[:, 1]], axis=1).sum())


# ---------------------------------------------------------------------------- Polygon
def test_polygon_orientation_measures_and_bounds():
    cw = Polygon([(0, 0), (0, 2), (3, 0)])  # clockwise input
    v = cw.vertices
    assert np.sum(v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]) > 0  # stored ccw
    assert cw.measure == 3.0 and math.isclose(cw.boundary_measure, 5 + math.sqrt(13))
    L = Polygon.l_shape()
    assert isinstance(L, Domain) and L.dim == 2
    assert L.measure == 3.0 and L.boundary_measure == 8.0
    np.testing.assert_array_equal(L.vertices, [(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)])
    np.testing.assert_array_equal(L.bounds[0], [-1, -1])
    np.testing.assert_array_equal(L.bounds[1], [1, 1])
    assert repr(L) == "Polygon([(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)])"
    for name, poly in POLYGONS.items():
        assert math.isclose(poly.measure, shoelace(poly.vertices), rel_tol=1e-14), name
        assert math.isclose(simplex_volumes(poly.vertices[poly.triangles]).sum(), poly.measure,
                            rel_tol=1e-13), name


def test_polygon_contains_and_on_boundary_by_hand():
    L = Polygon.l_shape()
    pts = np.array([[-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5], [0.5, -0.5], [0, 0], [0.5, 0], [0, -0.5],
                    [1, 1], [-1, 0.3], [1.1, 0.5], [0.5, -1e-12], [0.5, -0.01], [2, 2]])
    np.testing.assert_array_equal(L.contains(pts), [1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(L.on_boundary(pts), [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(L.on_boundary(pts, tol=0.02), [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 0])
    np.testing.assert_allclose(L.distance_to_boundary(np.array([[0.5, -0.5], [-0.5, 0.5]])), [0.5, 0.5])
    with pytest.raises(ProblemError):
        L.contains(np.zeros((3, 3)))


@pytest.mark.parametrize("name", POLYGONS)
@pytest.mark.parametrize("method", METHODS)
def test_polygon_interior_samples_inside_and_area_uniform(name, method):
    poly = POLYGONS[name]
    p = poly.sample_interior(4000, method, rng(1))
    assert p.shape == (4000, 2) and p.dtype == np.float64
    assert poly.contains(p, tol=0.0).all()
    # share of the points in each triangle of the ear-clipping triangulation ~ its share of area
    tri = poly.vertices[poly.triangles]
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    share = poly.triangles.shape[0] * [0]
    for k in range(len(tri)):
        inside = Polygon([a[k], b[k], c[k]]).contains(p, tol=1e-12)
        share[k] = inside.mean()
    expected = simplex_volumes(tri) / poly.measure
    tol = 0.05 if method == "uniform" else 0.01
    assert np.all(np.abs(np.array(share) - expected) < tol + 1e-3)


@pytest.mark.parametrize("name", POLYGONS)
def test_polygon_area_from_sampling_matches_shoelace(name):
    poly = POLYGONS[name]
    lo, hi = poly.bounds
    u = Rectangle(lo, hi).sample_interior(2**16, "sobol", rng(2))
    estimate = np.prod(hi - lo) * poly.contains(u).mean()
    assert abs(estimate - shoelace(poly.vertices)) < 5e-3 * np.prod(hi - lo)


@pytest.mark.parametrize("name", POLYGONS)
@pytest.mark.parametrize("method", METHODS)
def test_polygon_boundary_samples_outward_normals_and_length_shares(name, method):
    poly = POLYGONS[name]
    p, n = poly.sample_boundary(3001, method, rng(3))
    assert p.shape == n.shape == (3001, 2)
    check_boundary_sample(poly, p, n)
    a, b = poly.edges
    d = b - a
    # each point lies on an edge whose outward normal it carries; counts follow edge lengths
    lengths = np.linalg.norm(d, axis=1)
    normals = np.stack([d[:, 1], -d[:, 0]], axis=1) / lengths[:, None]
    counts = np.zeros(len(a))
    for k in range(len(a)):
        mine = np.all(np.abs(n - normals[k]) < 1e-12, axis=1)
        w = p[mine] - a[k]
        t = np.einsum("ij,j->i", w, d[k]) / lengths[k] ** 2
        off = np.abs(w[:, 0] * d[k, 1] - w[:, 1] * d[k, 0]) / lengths[k]
        mine[mine] = (t >= -1e-12) & (t <= 1 + 1e-12) & (off < 1e-12)
        counts[k] = mine.sum()
    expected = 3001 * lengths / lengths.sum()
    tol = 4 * np.sqrt(expected) + 2 if method == "uniform" else 0.02 * 3001
    assert counts.sum() == 3001 and np.all(np.abs(counts - expected) <= tol)


def test_polygon_seeding():
    poly = POLYGONS["star"]
    for method in METHODS:
        np.testing.assert_array_equal(poly.sample_interior(50, method, rng(7)),
                                      poly.sample_interior(50, method, rng(7)))
        assert not np.array_equal(poly.sample_interior(50, method, rng(7)),
                                  poly.sample_interior(50, method, rng(8)))
        pa, na = poly.sample_boundary(33, method, rng(7))
        pb, nb = poly.sample_boundary(33, method, rng(7))
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(na, nb)
    assert poly.sample_interior(0, "sobol", rng()).shape == (0, 2)
    assert poly.sample_boundary(0, "sobol", rng())[0].shape == (0, 2)


@pytest.mark.parametrize("name", POLYGONS)
@pytest.mark.parametrize("resolution", [1, 7, 40])
def test_polygon_mesh_tiles_the_polygon_exactly(name, resolution):
    poly = POLYGONS[name]
    points, cells = poly.mesh(resolution)
    assert len(cells) == 1 and cells[0][0] == "triangle"
    tri = cells[0][1]
    assert tri.dtype == np.int64 and tri.shape[1] == 3
    assert np.array_equal(np.unique(tri), np.arange(len(points)))  # every point used
    areas = triangle_areas(points, tri)
    assert np.all(areas > 0)  # counter-clockwise, none flat
    assert abs(areas.sum() - shoelace(poly.vertices)) <= 1e-12 * poly.measure
    assert poly.contains(points).all()
    assert poly.contains(points[tri].mean(axis=1), tol=0.0).all()
    assert not poly.on_boundary(points[tri].mean(axis=1)).any()
    # conforming: the edges used once are exactly the polygon's boundary
    assert math.isclose(boundary_edge_length(points, tri), poly.boundary_measure, rel_tol=1e-12)
    assert all(np.any(np.all(np.abs(points - v) < 1e-14, axis=1)) for v in poly.vertices)


def test_polygon_mesh_resolution_sets_the_size():
    L = Polygon.l_shape()
    tri = L.mesh(20)[1][0][1]
    n20, n40 = len(tri), len(L.mesh(40)[1][0][1])
    assert 3.5 < n40 / n20 < 4.5
    with pytest.raises(ProblemError):
        L.mesh(0)


def test_polygon_fallback_mesh_is_exact_too():
    poly = POLYGONS["comb"]
    points, cells = poly._refined_ear_mesh(0.4)
    tri = cells[0][1]
    assert abs(triangle_areas(points, tri).sum() - poly.measure) <= 1e-12 * poly.measure
    assert np.all(triangle_areas(points, tri) > 0)
    assert math.isclose(boundary_edge_length(points, tri), poly.boundary_measure, rel_tol=1e-12)


@pytest.mark.parametrize("name", POLYGONS)
def test_polygon_evaluation_points_deterministic_and_inside(name):
    poly = POLYGONS[name]
    a, b = poly.evaluation_points(500), poly.evaluation_points(500)
    np.testing.assert_array_equal(a, b)
    assert poly.contains(a).all()
    assert 125 <= len(a) <= 1500


@pytest.mark.parametrize(
    "vertices, fact",
    [
        ([(0, 0), (1, 1), (1, 0), (0, 1)], "intersects itself"),  # figure eight
        ([(0, 0), (2, 0), (2, 2), (1, 0), (0, 2)], "intersects itself"),  # touches an edge
        ([(0, 0), (1, 0)], "at least 3 points"),
        ([(0, 0), (1, 0), (2, 0)], "no area"),
        ([(0, 0), (1, 0), (1, 1), (1, 1), (0, 1)], "same point"),
        ([(0, 0), (2, 0), (1, 0), (1, 1)], "turns back"),
        ([(0, 0), (1, float("nan")), (0, 1)], "finite"),
        ([(0, 0), (1, 0, 0), (0, 1)], "at least 3 points"),
        (5, "at least 3 points"),
    ],
)
def test_polygon_rejects_bad_vertices(vertices, fact):
    with pytest.raises(ProblemError) as info:
        Polygon(vertices)
    assert fact in str(info.value) and str(info.value).startswith("Polygon")


# ---------------------------------------------------------------------------- set operations
SQUARE = Rectangle((-1, -1), (1, 1))
HOLE = Disk((0, 0), 0.5)
PLATE = SQUARE - HOLE  # a square plate with a circular hole


def test_operators_build_set_operations():
    a, b = Rectangle((0, 0), (2, 1)), Rectangle((1, 0.5), (3, 2))
    assert isinstance(a | b, Union) and isinstance(a - b, Difference) and isinstance(a & b, Intersection)
    assert (a | b).operands == (a, b) and (a | b).dim == 2
    assert repr(a - b) == "(Rectangle((0, 0), (2, 1)) - Rectangle((1, 0.5), (3, 2)))"
    np.testing.assert_array_equal((a | b).bounds[0], [0, 0])
    np.testing.assert_array_equal((a | b).bounds[1], [3, 2])
    np.testing.assert_array_equal((a & b).bounds[0], [1, 0.5])
    np.testing.assert_array_equal((a & b).bounds[1], [2, 1])
    np.testing.assert_array_equal((a - b).bounds[1], [2, 1])


def test_plate_with_hole_contains_and_measures():
    pts = np.array([[0, 0], [0.2, 0.1], [0.5, 0], [0, -0.5], [0.6, 0], [0.9, 0.9], [1, 1], [1, 0],
                    [1.01, 0], [0.3, 0.4]])
    np.testing.assert_array_equal(PLATE.contains(pts), [0, 0, 1, 1, 1, 1, 1, 1, 0, 1])
    np.testing.assert_array_equal(PLATE.on_boundary(pts), [0, 0, 1, 1, 0, 0, 1, 1, 0, 1])
    assert abs(PLATE.measure - (4 - math.pi / 4)) < 2e-3
    assert abs(PLATE.boundary_measure - (8 + math.pi)) < 1e-2
    np.testing.assert_array_equal(PLATE.bounds[0], [-1, -1])


@pytest.mark.parametrize("method", METHODS)
def test_plate_with_hole_samples(method):
    p = PLATE.sample_interior(2000, method, rng(4))
    assert p.shape == (2000, 2)
    assert np.all(np.linalg.norm(p, axis=1) >= 0.5) and SQUARE.contains(p, tol=0.0).all()
    b, n = PLATE.sample_boundary(4000, method, rng(5))
    assert b.shape == n.shape == (4000, 2)
    check_boundary_sample(PLATE, b, n)
    r = np.linalg.norm(b, axis=1)
    hole = np.abs(r - 0.5) < 1e-12
    outer = np.abs(np.abs(b).max(axis=1) - 1) < 1e-12
    assert np.all(hole ^ outer)  # every point on exactly one of the two pieces
    np.testing.assert_allclose(n[hole], -b[hole] / 0.5, atol=1e-12)  # flipped: into the hole
    assert np.all(np.abs(n[outer]).max(axis=1) == 1.0) and np.all(np.abs(n[outer]).sum(axis=1) == 1.0)
    expected = math.pi / (8 + math.pi)
    assert abs(hole.mean() - expected) < (0.03 if method == "uniform" else 0.01)


def test_plate_with_hole_mesh_area_within_the_chord_bound():
    for resolution in (10, 40):
        points, cells = PLATE.mesh(resolution)
        assert cells[0][0] == "triangle"
        tri = cells[0][1]
        areas = triangle_areas(points, tri)
        assert np.all(areas > 0)
        assert PLATE.contains(points).all() and PLATE.contains(points[tri].mean(axis=1), tol=0.0).all()
        # the hole is replaced by the inscribed polygon on m nodes: area deficit of the hole
        # pi r^2 (1 - sin(2 pi / m) / (2 pi / m)) <= pi r^2 (2 pi / m)^2 / 6
        m = max(8, math.ceil(2 * math.pi * 0.5 / (2 / resolution)))
        bound = math.pi * 0.25 * (2 * math.pi / m) ** 2 / 6
        excess = areas.sum() - (4 - math.pi / 4)
        assert 0 <= excess <= bound * 1.001 + 1e-12


def test_union_intersection_difference_of_two_rectangles():
    a, b = Rectangle((0, 0), (2, 1)), Rectangle((1, 0.5), (3, 2))
    pts = np.array([[0.5, 0.5], [2.5, 1.5], [1.5, 0.75], [2.5, 0.25], [0.5, 1.5], [2, 0.5], [1, 1]])
    np.testing.assert_array_equal((a | b).contains(pts), [1, 1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal((a & b).contains(pts), [0, 0, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal((a - b).contains(pts), [1, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal((a | b).on_boundary(pts), [0, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal((a & b).on_boundary(pts), [0, 0, 0, 0, 0, 1, 1])
    for shape, area, perimeter in ((a | b, 4.5, 10.0), (a & b, 0.5, 3.0), (a - b, 1.5, 6.0)):
        assert abs(shape.measure - area) < 1e-3 * area
        assert abs(shape.boundary_measure - perimeter) < 1e-3 * perimeter
        points, cells = shape.mesh(20)
        tri = cells[0][1]
        areas = triangle_areas(points, tri)
        assert np.all(areas > 0)
        assert abs(areas.sum() - area) < 1e-12  # corners and crossing points are mesh nodes
        for method in METHODS:
            p = shape.sample_interior(500, method, rng(6))
            assert shape.contains(p, tol=0.0).all()
            bp, bn = shape.sample_boundary(800, method, rng(7))
            check_boundary_sample(shape, bp, bn)


def test_union_boundary_pieces_and_shares():
    a, b = Rectangle((0, 0), (2, 1)), Rectangle((1, 0.5), (3, 2))
    p, n = (a | b).sample_boundary(10000, "sobol", rng(8))
    # outward normal -> total length of the union's boundary facing that way
    lengths = {(0, -1): 3.0, (0, 1): 3.0, (1, 0): 2.0, (-1, 0): 2.0}
    for normal, length in lengths.items():
        mine = np.all(n == normal, axis=1)
        assert abs(mine.sum() - 10000 * length / 10) < 150
    assert not np.any((p[:, 0] > 1 + 1e-9) & (p[:, 0] < 2 - 1e-9) & (p[:, 1] > 0.5 + 1e-9)
                      & (p[:, 1] < 1 - 1e-9))


def test_touching_and_coinciding_boundaries():
    left, right = Rectangle((0, 0), (1, 1)), Rectangle((1, 0), (2, 1))
    u = left | right  # the common edge x = 1 is inside
    assert abs(u.boundary_measure - 6.0) < 1e-3
    p, n = u.sample_boundary(2000, "sobol", rng(9))
    assert not np.any((np.abs(p[:, 0] - 1) < 1e-12) & (np.abs(p[:, 1] - 0.5) < 0.49))
    check_boundary_sample(u, p, n)
    L = SQUARE - Rectangle((0, -1), (1, 0))  # the notch shares two edges with the square
    poly = Polygon.l_shape()
    assert abs(L.measure - 3.0) < 1e-3 and abs(L.boundary_measure - 8.0) < 1e-2
    p, n = L.sample_boundary(3000, "halton", rng(10))
    check_boundary_sample(L, p, n)
    assert poly.on_boundary(p).all()
    q = SQUARE.sample_interior(3000, "uniform", rng(11))
    np.testing.assert_array_equal(L.contains(q), poly.contains(q))
    inter = Rectangle((0, 0), (2, 2)) & Rectangle((0, 0), (1, 3))  # shares the edges x = 0, y = 0
    assert abs(inter.boundary_measure - 6.0) < 1e-2
    p, n = inter.sample_boundary(1000, "sobol", rng(12))
    check_boundary_sample(inter, p, n)


def test_nested_set_operations():
    shape = (SQUARE - HOLE) | Disk((1, 1), 0.5) & Rectangle((0, 0), (2, 2))
    assert isinstance(shape, Union) and isinstance(shape.b, Intersection)
    p = shape.sample_interior(1000, "sobol", rng(13))
    assert shape.contains(p, tol=0.0).all()
    assert not np.any(np.linalg.norm(p, axis=1) < 0.5 - 1e-12)
    b, n = shape.sample_boundary(2000, "sobol", rng(14))
    check_boundary_sample(shape, b, n)
    exact = 4 - math.pi / 4 + math.pi / 4 * 0.25 * 3  # the disk's three outer quarters
    assert abs(shape.measure - exact) < 3e-3
    points, cells = shape.mesh(30)
    assert abs(triangle_areas(points, cells[0][1]).sum() - exact) < 0.01


def test_set_operations_in_1d_and_3d():
    iv = Interval(0, 1) | Interval(2, 3)
    assert abs(iv.measure - 2.0) < 1e-3 and abs(iv.boundary_measure - 4.0) < 1e-12
    p, n = iv.sample_boundary(400, "sobol", rng(15))
    np.testing.assert_array_equal(np.unique(p), [0, 1, 2, 3])
    np.testing.assert_array_equal(n[:, 0], np.where(np.isin(p[:, 0], [0, 2]), -1.0, 1.0))
    assert all(abs(np.sum(p == v) - 100) <= 25 for v in (0, 1, 2, 3))
    points, cells = iv.mesh(10)
    assert cells[0][0] == "line" and np.all(iv.contains(points))
    assert math.isclose(np.sum(np.diff(points[cells[0][1]][..., 0], axis=1)), 2.0)

    cube = Box((0, 0, 0), (1, 1, 1)) - Box((0.5, 0.5, 0.5), (1, 1, 1))
    assert abs(cube.measure - 0.875) < 1e-3 and abs(cube.boundary_measure - 6.0) < 1e-2
    p = cube.sample_interior(500, "sobol", rng(16))
    assert cube.contains(p, tol=0.0).all() and not np.all(p > 0.5 + 1e-12, axis=1).any()
    b, n = cube.sample_boundary(1000, "sobol", rng(17))
    check_boundary_sample(cube, b, n)
    points, cells = cube.mesh(8)
    assert cells[0][0] == "tetra"
    tets = points[cells[0][1]]
    vol = np.linalg.det(tets[:, 1:] - tets[:, :1]) / 6
    assert np.all(vol >= 0) and abs(vol.sum() - 0.875) < 1e-12


def test_simplex_mesh_of_a_box_is_conforming():
    points, cells = simplex_mesh(Box((0, 0, 0), (1, 2, 3)), 6)
    tet = cells[0][1]
    faces = np.sort(np.concatenate([tet[:, [1, 2, 3]], tet[:, [0, 2, 3]], tet[:, [0, 1, 3]],
                                    tet[:, [0, 1, 2]]]), axis=1)
    faces, counts = np.unique(faces, axis=0, return_counts=True)
    assert counts.max() == 2
    outer = faces[counts == 1]
    area = simplex_volumes(points[outer]).sum()
    assert abs(area - 22.0) < 1e-12


def test_set_operation_errors():
    with pytest.raises(ProblemError) as info:
        SQUARE | Box((0, 0, 0), (1, 1, 1))
    assert "same dimension" in str(info.value) and "2-dimensional" in str(info.value)
    with pytest.raises(ProblemError) as info:
        SQUARE - 3
    assert "needs two domains" in str(info.value)
    with pytest.raises(ProblemError) as info:
        Rectangle((0, 0), (1, 1)) & Rectangle((2, 2), (3, 3))
    assert "empty" in str(info.value)
    gone = HOLE - SQUARE  # nothing left
    with pytest.raises(ProblemError) as info:
        gone.sample_interior(10, "sobol", rng())
    assert "empty or too thin" in str(info.value)
    with pytest.raises(ProblemError):
        gone.sample_boundary(10, "sobol", rng())
