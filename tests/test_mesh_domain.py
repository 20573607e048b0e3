"""Domains read from mesh files (MeshDomain), reading volume meshes, and export on a user mesh."""

import itertools
import math
import warnings

import meshio
import numpy as np
import pytest
import sympy as sp

import pinnkan as pk
from pinnkan.errors import OptionError, ProblemError
from pinnkan.geometry import Box, Domain, MeshDomain, Polygon, Rectangle
from pinnkan.geometry.polygon import segment_distance, simplex_volumes
from pinnkan.geometry.mesh_file import read_volume_mesh
from pinnkan.output.on_mesh import export_on_mesh

METHODS = ["uniform", "sobol", "halton"]


def rng(seed=0):
    return np.random.default_rng(seed)


def lshape_mesh(n=4):
    """Triangles of an n x n grid on [-1, 1]^2 without the quarter x > 0, y < 0 (3D points, z = 0)."""
    x = np.linspace(-1, 1, n + 1)
    X, Y = np.meshgrid(x, x, indexing="ij")
    points = np.stack([X.ravel(), Y.ravel(), np.zeros(X.size)], axis=1)
    idx = np.arange(X.size).reshape(n + 1, n + 1)
    tri = []
    for i, j in itertools.product(range(n), range(n)):
        if x[i] >= 0 and x[j] < 0:
            continue
        a, b, c, d = idx[i, j], idx[i + 1, j], idx[i + 1, j + 1], idx[i, j + 1]
        tri += [(a, b, c), (a, c, d)] if (i + j) % 2 else [(a, b, d), (b, c, d)]
    return points, np.array(tri)


def cube_mesh(n=2):
    """Unit cube, n^3 sub-cubes each split into 6 tetrahedra (Kuhn), conforming."""
    x = np.linspace(0, 1, n + 1)
    points = np.array(list(itertools.product(x, x, x)))
    idx = np.arange(len(points)).reshape(n + 1, n + 1, n + 1)
    tets = []
    for i, j, k in itertools.product(range(n), repeat=3):
        for perm in itertools.permutations(range(3)):
            corner = np.array([i, j, k])
            path = [tuple(corner)]
            for axis in perm:
                corner = corner.copy()
                corner[axis] += 1
                path.append(tuple(corner))
            tets.append([idx[c] for c in path])
    return points, np.array(tets)


@pytest.fixture(scope="module")
def lshape_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("meshes") / "lshape.vtu"
    points, tri = lshape_mesh()
    meshio.write(path, meshio.Mesh(points, [("triangle", tri), ("line", np.array([[0, 1]]))]))
    return path


@pytest.fixture(scope="module")
def cube_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("meshes") / "cube.msh"
    points, tets = cube_mesh()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        meshio.write(path, meshio.Mesh(points, [("tetra", tets)]), file_format="gmsh22", binary=False)
    return path


def check_boundary_sample(domain, p, n):
    assert domain.on_boundary(p).all()
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, rtol=0, atol=1e-12)
    eps = 1e-6 * domain.diameter
    assert not domain.contains(p + eps * n).any()
    assert domain.contains(p - eps * n).all()


# ---------------------------------------------------------------------------- reading
def test_read_volume_mesh_2d_with_z_zero(lshape_file):
    points, cells = read_volume_mesh(lshape_file)
    assert points.shape[1] == 2 and points.dtype == np.float64
    assert [t for t, _ in cells] == ["triangle"]  # the line cell is left out
    assert cells[0][1].shape == (2 * 12, 3)
    assert len(points) == 25 - 4  # the points of the missing quarter are not used


def test_read_volume_mesh_3d(cube_file):
    points, cells = read_volume_mesh(cube_file)
    assert points.shape == (27, 3) and cells[0][0] == "tetra" and cells[0][1].shape == (48, 4)


# ---------------------------------------------------------------------------- 2D MeshDomain
def test_mesh_domain_2d_measures_and_contains(lshape_file):
    d = MeshDomain(lshape_file)
    assert isinstance(d, Domain) and d.dim == 2
    assert repr(d) == f"MeshDomain({str(lshape_file)!r})"
    assert abs(d.measure - 3.0) < 1e-12 and abs(d.boundary_measure - 8.0) < 1e-12
    np.testing.assert_array_equal(d.bounds[0], [-1, -1])
    np.testing.assert_array_equal(d.bounds[1], [1, 1])
    poly = Polygon.l_shape()
    q = rng(1).uniform(-1.3, 1.3, (5000, 2))
    q = q[poly.distance_to_boundary(q) > 1e-6]
    np.testing.assert_array_equal(d.contains(q), poly.contains(q))
    pts = np.array([[0, 0], [0.5, 0], [0.5, -0.5], [-0.5, -0.5], [1, 1], [0.5, -1e-12], [0.5, -0.01]])
    np.testing.assert_array_equal(d.contains(pts), [1, 1, 0, 1, 1, 1, 0])
    np.testing.assert_array_equal(d.on_boundary(pts), [1, 1, 0, 0, 1, 1, 0])
    np.testing.assert_array_equal(d.on_boundary(pts, tol=0.02), [1, 1, 0, 0, 1, 1, 1])


@pytest.mark.parametrize("method", METHODS)
def test_mesh_domain_2d_samples(lshape_file, method):
    d, poly = MeshDomain(lshape_file), Polygon.l_shape()
    p = d.sample_interior(3000, method, rng(2))
    assert p.shape == (3000, 2)
    assert d.contains(p).all() and poly.contains(p).all()
    for square in ([-1, -1], [-1, 0], [0, 0]):  # a third of the points in each unit square
        share = np.mean(np.all((p >= square) & (p <= np.add(square, 1)), axis=1))
        assert abs(share - 1 / 3) < (0.04 if method == "uniform" else 0.01)
    b, n = d.sample_boundary(2000, method, rng(3))
    assert b.shape == n.shape == (2000, 2)
    check_boundary_sample(d, b, n)
    assert poly.on_boundary(b).all()
    # the normal of the polygon's edge through each point
    a, e = poly.edges
    k = np.argmin(np.stack([segment_distance(b, a[i:i + 1], e[i:i + 1]) for i in range(len(a))], axis=1),
                  axis=1)
    expected = np.stack([e[k, 1] - a[k, 1], a[k, 0] - e[k, 0]], axis=1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    corner = np.linalg.norm(b[:, None] - poly.vertices[None], axis=2).min(axis=1) < 1e-9
    np.testing.assert_allclose(n[~corner], expected[~corner], atol=1e-12)


def test_mesh_domain_mesh_and_evaluation_points(lshape_file):
    d = MeshDomain(lshape_file)
    points, cells = d.mesh(50)
    file_points, file_cells = read_volume_mesh(lshape_file)
    np.testing.assert_array_equal(points, file_points)
    assert cells[0][0] == "triangle"
    np.testing.assert_array_equal(cells[0][1], file_cells[0][1])
    e = d.evaluation_points(1000)
    np.testing.assert_array_equal(e, d.evaluation_points(1000))
    assert len(e) == 1000 and d.contains(e).all()
    assert len(d.evaluation_points(10)) == 10


def test_mesh_domain_seeding(lshape_file):
    d = MeshDomain(lshape_file)
    for method in METHODS:
        np.testing.assert_array_equal(d.sample_interior(40, method, rng(5)), d.sample_interior(40, method, rng(5)))
        assert not np.array_equal(d.sample_interior(40, method, rng(5)), d.sample_interior(40, method, rng(6)))
        np.testing.assert_array_equal(d.sample_boundary(40, method, rng(5))[0],
                                      d.sample_boundary(40, method, rng(5))[0])


# ---------------------------------------------------------------------------- 3D MeshDomain
def test_mesh_domain_3d_cube(cube_file):
    d, box = MeshDomain(cube_file), Box((0, 0, 0), (1, 1, 1))
    assert d.dim == 3
    assert abs(d.measure - 1.0) < 1e-12 and abs(d.boundary_measure - 6.0) < 1e-12
    q = rng(7).uniform(-0.2, 1.2, (4000, 3))
    q = q[np.min(np.abs(np.concatenate([q, q - 1], axis=1)), axis=1) > 1e-6]
    np.testing.assert_array_equal(d.contains(q), box.contains(q))
    for method in METHODS:
        p = d.sample_interior(2000, method, rng(8))
        assert d.contains(p).all() and box.contains(p, tol=0.0).all()
        assert abs(np.mean(p[:, 0] < 0.5) - 0.5) < 0.05
        b, n = d.sample_boundary(3000, method, rng(9))
        check_boundary_sample(d, b, n)
        assert box.on_boundary(b).all()
        axis = np.argmax(np.abs(n), axis=1)
        np.testing.assert_array_equal(np.abs(n).max(axis=1), 1.0)  # axis-aligned normals
        side = b[np.arange(len(b)), axis]
        np.testing.assert_array_equal(n[np.arange(len(b)), axis], np.where(side == 1.0, 1.0, -1.0))
        assert np.all(np.isin(side, [0.0, 1.0]))
        counts = np.bincount(2 * axis + (side == 1.0), minlength=6)
        assert np.all(np.abs(counts - 500) < (90 if method == "uniform" else 30))
    points, cells = d.mesh(3)
    assert cells[0][0] == "tetra" and points.shape == (27, 3)
    assert abs(simplex_volumes(points[cells[0][1]]).sum() - 1.0) < 1e-12


# ---------------------------------------------------------------------------- bad input
def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.msh"
    with pytest.raises(ProblemError) as info:
        MeshDomain(path)
    assert str(path) in str(info.value) and "does not exist" in str(info.value)


def test_unreadable_file_names_it(tmp_path):
    path = tmp_path / "broken.vtu"
    path.write_text("this is not a mesh\n")
    with pytest.raises(ProblemError) as info:
        MeshDomain(path)
    assert str(path) in str(info.value) and "could not be read" in str(info.value)
    unknown = tmp_path / "mesh.unknown"
    unknown.write_text("1 2 3\n")
    with pytest.raises(ProblemError) as info:
        MeshDomain(unknown)
    assert str(unknown) in str(info.value)


def test_mesh_without_volume_cells_is_rejected(tmp_path):
    path = tmp_path / "lines.vtu"
    meshio.write(path, meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0]]),
                                   [("line", np.array([[0, 1], [1, 2]]))]))
    with pytest.raises(ProblemError) as info:
        MeshDomain(path)
    text = str(info.value)
    assert str(path) in text and "volume mesh" in text and "line" in text
    surface = tmp_path / "surface.vtu"  # triangles of the cube's faces: not a 2D mesh
    meshio.write(surface, meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]),
                                      [("triangle", np.array([[0, 1, 2], [0, 1, 3]]))]))
    with pytest.raises(ProblemError) as info:
        MeshDomain(surface)
    assert str(surface) in str(info.value) and "surface mesh" in str(info.value)


def test_non_manifold_mesh_is_rejected(tmp_path):
    path = tmp_path / "fan.vtu"
    points = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0], [1, 1, 0]])
    meshio.write(path, meshio.Mesh(points, [("triangle", np.array([[0, 1, 2], [0, 1, 3], [0, 1, 4]]))]))
    with pytest.raises(ProblemError) as info:
        MeshDomain(path)
    assert str(path) in str(info.value) and "more than two cells" in str(info.value)


# ---------------------------------------------------------------------------- export on a mesh
@pytest.fixture(scope="module")
def square_result():
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    problem = pk.Problem(name="laplace_xy", domain=Rectangle((-1, -1), (1, 1)), fields=[u],
                         equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 0)],
                         conditions=[pk.Dirichlet(u, x * y)], exact={u: x * y})
    return pk.solve(problem, adam_steps=5, lbfgs_steps=0, optimizer="lbfgs", n_interior=64, n_boundary=32,
                    grid=3, seed=0, n_eval=200)


def test_export_on_mesh_writes_the_fields_at_the_mesh_points(square_result, lshape_file, tmp_path):
    out = export_on_mesh(square_result, lshape_file, tmp_path / "sub" / "on_mesh.vtu")
    assert out == tmp_path / "sub" / "on_mesh.vtu" and out.exists()
    back = meshio.read(out)
    points, cells = read_volume_mesh(lshape_file)
    np.testing.assert_allclose(back.points[:, :2], points, rtol=0, atol=0)
    assert back.cells[0].type == "triangle"
    np.testing.assert_array_equal(back.cells[0].data, cells[0][1])
    expected = square_result.predict(points)[:, 0]
    np.testing.assert_allclose(back.point_data["u"], expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(back.point_data["u_exact"], points[:, 0] * points[:, 1], atol=1e-14)
    np.testing.assert_allclose(back.point_data["u_abs_error"], np.abs(expected - points[:, 0] * points[:, 1]),
                               atol=1e-14)
    assert "residual" in back.point_data
    assert not list(tmp_path.joinpath("sub").glob("*.tmp*"))  # written atomically


def test_export_on_mesh_warns_about_points_outside(square_result, tmp_path):
    mesh = tmp_path / "big.vtu"
    points, tri = lshape_mesh()
    points[:, :2] *= 2.0  # [-2, 2]^2: 13 of the 21 used points lie outside [-1, 1]^2
    meshio.write(mesh, meshio.Mesh(points, [("triangle", tri)]))
    with pytest.warns(UserWarning, match=r"61\.9% of the points of .*big\.vtu \(13 of 21\).*extrapolated"):
        out = export_on_mesh(square_result, mesh, tmp_path / "big_out.vtu")
    back = meshio.read(out)
    np.testing.assert_allclose(back.point_data["u"], square_result.predict(back.points[:, :2])[:, 0],
                               rtol=1e-14, atol=1e-14)


def test_export_on_mesh_rejects_other_dimensions_and_bad_files(square_result, cube_file, tmp_path):
    with pytest.raises(OptionError) as info:
        export_on_mesh(square_result, cube_file, tmp_path / "x.vtu")
    assert str(cube_file) in str(info.value) and "3D mesh" in str(info.value)
    missing = tmp_path / "missing.msh"
    with pytest.raises(OptionError) as info:
        export_on_mesh(square_result, missing, tmp_path / "x.vtu")
    assert str(missing) in str(info.value)
    assert not (tmp_path / "x.vtu").exists()


def test_mesh_domain_in_a_problem(lshape_file):
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    problem = pk.Problem(name="mesh_lshape", domain=MeshDomain(lshape_file), fields=[u],
                         equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 0)],
                         conditions=[pk.Dirichlet(u, x + y, on=sp.Eq(x, -1)), pk.Dirichlet(u, x + y)],
                         exact={u: x + y})
    r = pk.solve(problem, adam_steps=3, lbfgs_steps=0, optimizer="lbfgs", n_interior=32, n_boundary=16, grid=3,
                 n_eval=100)
    assert math.isfinite(r.metrics["rel_l2"]["u"])
    points, cells = r.problem.domain.mesh(10)
    assert cells[0][0] == "triangle"


def test_cli_mesh_of_the_wrong_dimension_fails_before_training(cube_file, tmp_path, capsys):
    from pinnkan.cli import main

    out = tmp_path / "out"
    code = main(["solve", "problems/poisson2d.py", "--mesh", str(cube_file), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(cube_file) in err and "3D mesh" in err and "2D" in err
    assert not (out / "metrics.json").exists()  # nothing trained, nothing written


def test_time_dependent_export_on_a_space_mesh_writes_a_time_series(tmp_path):
    from pinnkan.output.timeseries import read_pvd

    problem = pk.load_problem("problems/heat1d.py")
    result = pk.solve(problem, widths=[2, 4, 1], grid=5, adam_steps=5, lm_steps=0, optimizer="lm",
                      n_interior=64, n_boundary=16, n_eval=200)
    x = np.linspace(0, 1, 11)
    mesh = tmp_path / "line.vtu"
    meshio.write(mesh, meshio.Mesh(np.stack([x, np.zeros(11), np.zeros(11)], 1), [("line", np.array([[i, i + 1] for i in range(10)]))]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = export_on_mesh(result, mesh, tmp_path / "on_mesh.vtu")
    assert path.suffix == ".pvd"
    frames = read_pvd(path)
    assert len(frames) == 21 and frames[0][0] == 0.0 and frames[-1][0] == 1.0
    t, vtu = frames[10]
    m = meshio.read(vtu)
    pts = np.hstack([m.points[:, :1], np.full((11, 1), t)])
    assert np.allclose(m.point_data["u"], result.predict(pts)[:, 0], rtol=0, atol=1e-12)
    assert np.allclose(m.point_data["u_exact"], np.exp(-0.1 * np.pi**2 * t) * np.sin(np.pi * x), rtol=0, atol=1e-12)
