"""Outputs of problems beyond three dimensions: a plane slice instead of a volume mesh."""

import meshio
import numpy as np
import sympy as sp

import pinnkan as pk
from pinnkan.output.run_folder import slice_points

TINY = dict(widths=None, grid=3, adam_steps=2, lm_steps=1, n_interior=32, n_boundary=16, n_eval=50)


def _poisson(dim, domain):
    xs = sp.symbols(f"x1:{dim + 1}")
    u = sp.Function("u")(*xs)
    exact = sum(sp.sin(sp.pi * xi / 2) for xi in xs)
    eq = sp.Eq(-sum(u.diff(xi, 2) for xi in xs), -sum(exact.diff(xi, 2) for xi in xs))
    return pk.Problem(name=f"p{dim}", domain=domain, fields=[u], equations=[eq],
                      conditions=[pk.Dirichlet(u, exact)], exact={u: exact})


def test_slice_of_a_box_is_the_full_grid_and_of_a_ball_the_disk_inside():
    pts, plane, tri = slice_points(pk.Box([0] * 4, [1] * 4), 11)
    assert pts.shape == (121, 4) and np.all(pts[:, 2:] == 0.5) and tri.shape == (2 * 10 * 10, 3)
    np.testing.assert_array_equal(plane, pts[:, :2])
    pts, _, tri = slice_points(pk.Ball([0] * 5, 1.0), 41)
    assert np.all(np.linalg.norm(pts, axis=1) <= 1.0 + 1e-12) and np.all(pts[:, 2:] == 0.0)
    assert tri.max() < len(pts) and tri.min() >= 0
    a, b = pts[tri[:, 1], :2] - pts[tri[:, 0], :2], pts[tri[:, 2], :2] - pts[tri[:, 0], :2]
    area = 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]).sum()
    h = 2.0 / 40
    assert np.pi - 2 * np.pi * h < area <= np.pi  # the disk, short of a rim at most one cell wide


def test_a_4d_run_writes_its_slice_with_the_exact_solution(tmp_path):
    problem = _poisson(4, pk.Box([0] * 4, [1] * 4))
    result = pk.solve(problem, **{k: v for k, v in TINY.items() if v is not None})
    paths = result.save(tmp_path, plots=False)
    assert "vtu" not in paths and paths["slice_vtu"].name == "solution_slice.vtu"
    mesh = meshio.read(paths["slice_vtu"])
    xy = np.asarray(mesh.points)[:, :2]
    expected = np.sin(np.pi * xy[:, 0] / 2) + np.sin(np.pi * xy[:, 1] / 2) + 2 * np.sin(np.pi * 0.25)
    np.testing.assert_allclose(mesh.point_data["u_exact"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mesh.point_data["u"], result.predict(np.column_stack([xy, np.full((len(xy), 2), 0.5)]))[:, 0],
                               rtol=0, atol=1e-12)
