import numpy as np
import pytest
from matplotlib.image import imread

from pinnkan.output.atomic import atomic_path
from pinnkan.output.vtu import read_vtu, write_vtu
from pinnkan.geometry import Box, Disk, Interval, Rectangle
from pinnkan.output.plots import plot_error_vs_time, plot_fields_2d, plot_history, plot_profile_1d

SHAPES = [Interval(0, 1), Rectangle((-1, -1), (1, 1)), Box((0, 0, 0), (1, 2, 1)), Disk((0, 0), 1)]


def _fields(points):
    u = np.sin(np.pi * points[:, 0]) * np.cos(points[:, -1]) + 1e-3 * np.arange(len(points))
    grad = np.stack([np.cos(points[:, 0]), np.exp(points[:, -1])], axis=1)
    return {"u": u, "u exact": 2.0 * u, "|u - u exact|": np.abs(u), "grad u": grad}


def _read_with_vtk(path):
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    grid = reader.GetOutput()
    pd = grid.GetPointData()
    arrays = {pd.GetArrayName(i): vtk_to_numpy(pd.GetArray(i)) for i in range(pd.GetNumberOfArrays())}
    return vtk_to_numpy(grid.GetPoints().GetData()), grid.GetNumberOfCells(), arrays


@pytest.mark.parametrize("domain", SHAPES, ids=repr)
def test_vtu_round_trip_meshio_and_vtk(tmp_path, domain):
    points, cells = domain.mesh(6)
    data = _fields(points)
    path = write_vtu(tmp_path / "solution.vtu", points, cells, data)
    assert path == tmp_path / "solution.vtu"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["solution.vtu"]
    ncells = sum(len(c) for _, c in cells)

    pts, rcells, pdata = read_vtu(path)
    assert pts.shape == (len(points), 3)
    np.testing.assert_array_equal(pts[:, : domain.dim], points)
    assert np.all(pts[:, domain.dim:] == 0)
    assert [t for t, _ in rcells] == [t for t, _ in cells]
    for (_, a), (_, b) in zip(rcells, cells):
        np.testing.assert_array_equal(a, b)

    vpts, vcells, varrays = _read_with_vtk(path)
    assert vcells == ncells
    np.testing.assert_allclose(vpts, pts, atol=1e-12, rtol=0)
    for name in ("u", "u exact", "|u - u exact|"):
        np.testing.assert_allclose(pdata[name], data[name], atol=1e-12, rtol=0)
        np.testing.assert_allclose(varrays[name], data[name], atol=1e-12, rtol=0)
    for arrays in (pdata, varrays):
        assert arrays["grad u"].shape == (len(points), 3)
        np.testing.assert_allclose(arrays["grad u"][:, :2], data["grad u"], atol=1e-12, rtol=0)
        assert np.all(arrays["grad u"][:, 2] == 0)


def test_vtu_rejects_non_finite_and_bad_length(tmp_path):
    points, cells = Rectangle((0, 0), (1, 1)).mesh(2)
    bad = {"u": np.ones(len(points)), "v": np.full(len(points), np.nan), "w": np.ones(len(points))}
    bad["w"][0] = np.inf
    with pytest.raises(ValueError) as info:
        write_vtu(tmp_path / "out.vtu", points, cells, bad)
    assert "'v'" in str(info.value) and "'w'" in str(info.value) and "'u'" not in str(info.value)
    with pytest.raises(ValueError, match="u"):
        write_vtu(tmp_path / "out.vtu", points, cells, {"u": np.ones(len(points) + 1)})
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_success_replaces(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".txt" and tmp != target
        tmp.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_failure_leaves_nothing(tmp_path):
    target = tmp_path / "result.vtu"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_failure_keeps_old_target(tmp_path):
    target = tmp_path / "result.png"
    target.write_bytes(b"old image")
    with pytest.raises(KeyError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise KeyError("boom")
    assert target.read_bytes() == b"old image"
    assert list(tmp_path.iterdir()) == [target]


def _check_png(path, tmp_path):
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert np.ptp(image[..., :3]) > 0.1  # not a blank canvas
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_plot_history(tmp_path):
    steps = list(range(0, 300, 10))
    history = {
        "step": steps,
        "loss": [np.exp(-s / 50) + 1e-8 for s in steps],
        "error": {"u": [np.exp(-s / 100) for s in steps]},
        "level_starts": [100, 200],
    }
    _check_png(plot_history(history, tmp_path / "history.png"), tmp_path)
    only_loss = {"step": steps, "loss": history["loss"]}
    (tmp_path / "history.png").unlink()
    _check_png(plot_history(only_loss, tmp_path / "history.png"), tmp_path)


@pytest.mark.parametrize("use_triangles", [True, False])
def test_plot_fields_2d(tmp_path, use_triangles):
    d = Disk((0, 0), 1)
    points, cells = d.mesh(12)
    u = points[:, 0] ** 2 - points[:, 1]
    fields = {"u": u, "u exact": u + 0.01, "|u - u exact|": np.full(len(u), 0.01)}
    tri = cells[0][1] if use_triangles else None
    path = plot_fields_2d(points, tri, fields, tmp_path / "fields.png", title="Poisson")
    _check_png(path, tmp_path)


def test_plot_profile_1d(tmp_path):
    x = Interval(-1, 1).evaluation_points(200)[::-1, 0]
    path = plot_profile_1d(x, {"u": np.sin(3 * x), "u exact": np.sin(3 * x) + 0.01},
                           tmp_path / "profile.png")
    _check_png(path, tmp_path)


def test_plot_error_vs_time(tmp_path):
    t = np.linspace(0, 10, 20)
    series = {
        "KAN": [(t, np.exp(-t) + 1e-6), (t * 1.1, np.exp(-0.9 * t) + 1e-6)],
        "MLP": [(t, np.exp(-0.3 * t)), (t, np.exp(-0.35 * t))],
    }
    _check_png(plot_error_vs_time(series, tmp_path / "race.png"), tmp_path)


def test_vector_fields_are_exported_as_one_array(tmp_path):
    import meshio
    import pinnkan as pk

    problem = pk.load_problem("problems/kovasznay.py")
    result = pk.solve(problem, widths=[2, 4, 3], grid=5, adam_steps=3, lm_steps=0, optimizer="lm",
                      n_interior=64, n_boundary=16, n_eval=200)
    path = result.export(tmp_path / "k.vtu", resolution=6)
    m = meshio.read(path)
    vel = m.point_data["velocity"]
    assert vel.shape == (len(m.points), 3)
    assert np.array_equal(vel[:, 0], m.point_data["u"]) and np.array_equal(vel[:, 1], m.point_data["v"])
    assert np.all(vel[:, 2] == 0)


def test_vectors_must_name_two_or_three_fields():
    import sympy as sp
    import pinnkan as pk

    x, y = sp.symbols("x y")
    u, v = sp.Function("u")(x, y), sp.Function("v")(x, y)
    w = sp.Function("w")(x, y)
    kw = dict(name="p", domain=pk.Rectangle((0, 0), (1, 1)), fields=[u, v], equations=[u.diff(x), v.diff(y)])
    with pytest.raises(pk.ProblemError, match="2 or 3 of the problem's fields"):
        pk.Problem(**kw, vectors={"velocity": (u, w)})
    with pytest.raises(pk.ProblemError, match="2 or 3"):
        pk.Problem(**kw, vectors={"velocity": (u,)})
