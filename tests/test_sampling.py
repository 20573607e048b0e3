from pathlib import Path

import numpy as np
import pytest

from pinnkan.errors import ProblemError
from pinnkan.geometry import Box, Disk, Interval, Rectangle
from pinnkan.geometry.sampling import CollocationSampler

SQUARE = Rectangle((-1, -1), (1, 1))


@pytest.mark.parametrize("method", ["uniform", "sobol", "halton"])
def test_interior_inside_and_seeded(method):
    a = CollocationSampler(SQUARE, method, seed=3)
    b = CollocationSampler(SQUARE, method, seed=3)
    c = CollocationSampler(SQUARE, method, seed=4)
    pa, pb, pc = a.interior(100), b.interior(100), c.interior(100)
    assert pa.shape == (100, 2) and SQUARE.contains(pa).all()
    np.testing.assert_array_equal(pa, pb)
    assert not np.array_equal(pa, pc)
    again = a.interior(100)  # calling again resamples
    assert not np.array_equal(pa, again)
    np.testing.assert_array_equal(again, b.interior(100))


def test_boundary_without_selection():
    s = CollocationSampler(Box((0, 0, 0), (1, 1, 1)), seed=1)
    p, n = s.boundary(60)
    assert p.shape == n.shape == (60, 3)
    assert s.domain.on_boundary(p).all()


def test_selection_left_side():
    s = CollocationSampler(SQUARE, seed=0)
    p, n = s.boundary(200, select=lambda q: q[:, 0] == -1.0, label="left")
    assert p.shape == (200, 2)
    assert np.all(p[:, 0] == -1.0)
    np.testing.assert_array_equal(n, np.tile([-1.0, 0.0], (200, 1)))
    assert len(np.unique(p[:, 1])) == 200
    assert p[:, 1].min() < -0.8 and p[:, 1].max() > 0.8


def test_selection_is_reproducible():
    def sel(q):
        return q[:, 1] > 0

    a = CollocationSampler(Disk((0, 0), 1), "halton", seed=5).boundary(50, sel, "top")
    b = CollocationSampler(Disk((0, 0), 1), "halton", seed=5).boundary(50, sel, "top")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert np.all(a[0][:, 1] > 0)
    np.testing.assert_allclose(a[0], a[1], atol=1e-15)  # unit disk: normal == point


def test_selection_of_two_sides_keeps_both():
    s = CollocationSampler(SQUARE, "uniform", seed=2)
    p, n = s.boundary(400, select=lambda q: np.abs(q[:, 1]) == 1.0, label="top and bottom")
    assert len(p) == 400
    top = int(np.sum(p[:, 1] == 1.0))
    assert 150 < top < 250
    np.testing.assert_array_equal(n[:, 1], p[:, 1])


def test_interval_end_point_selection():
    s = CollocationSampler(Interval(0, 2), seed=0)
    p, n = s.boundary(5, select=lambda q: q[:, 0] == 2.0, label="right end")
    assert p.shape == (5, 1) and np.all(p == 2.0) and np.all(n == 1.0)


def test_selection_matching_nothing_raises():
    s = CollocationSampler(SQUARE, seed=0)
    with pytest.raises(ProblemError) as info:
        s.boundary(10, select=lambda q: q[:, 0] == -2.0, label="left wall")
    message = str(info.value)
    assert "left wall" in message and repr(SQUARE) in message
    assert "sp.Eq(x, -1)" in message and "tolerance" in message


def test_rare_selection_returns_what_was_found():
    s = CollocationSampler(SQUARE, "sobol", seed=0)
    p, n = s.boundary(100, select=lambda q: (q[:, 0] == -1.0) & (q[:, 1] > 0.99), label="corner")
    assert 1 <= len(p) < 100
    assert np.all(p[:, 0] == -1.0) and np.all(p[:, 1] > 0.99)
    assert n.shape == p.shape


def test_scalar_selection_broadcasts_and_bad_shape_raises():
    s = CollocationSampler(SQUARE, seed=0)
    p, _ = s.boundary(20, select=lambda q: True, label="everything")
    assert len(p) == 20
    with pytest.raises(ProblemError, match="bad shape"):
        s.boundary(20, select=lambda q: np.ones((len(q), 2), bool), label="bad shape")


def test_invalid_arguments():
    with pytest.raises(ProblemError, match="sobol"):
        CollocationSampler(SQUARE, method="grid")
    s = CollocationSampler(SQUARE)
    for bad in (-1, 2.5, "10"):
        with pytest.raises(ProblemError):
            s.interior(bad)
    assert s.interior(0).shape == (0, 2)


def _terms(path, seed, on_boundary):
    import torch

    import pinnkan as pk
    from pinnkan.problem.compile import compile_problem
    from pinnkan.evaluation.residuals import sample_points

    problem = pk.load_problem(Path(__file__).resolve().parents[1] / "problems" / path)
    compiled = compile_problem(problem)
    sampler = CollocationSampler(problem.domain, seed=seed)
    return compiled, sample_points(compiled, sampler, 64, 16, torch.float64, torch.device("cpu"),
                                   equations_on_boundary=on_boundary)


def test_equations_on_boundary_add_boundary_points_and_leave_the_others_unchanged():
    import torch

    path = "poisson2d.py"
    _, plain = _terms(path, 4, False)
    _, more = _terms(path, 4, True)
    for a, b in zip(plain, more):
        if a.term.kind == "interior":
            assert b.points.shape == (64 + 16, 2) and torch.equal(b.points[:64], a.points)
            extra = b.points[64:].abs().amax(1)
            assert torch.allclose(extra, torch.ones_like(extra), rtol=0, atol=1e-12)   # on the square's boundary
        else:
            assert torch.equal(a.points, b.points) and torch.equal(a.normals, b.normals)


def test_equations_on_boundary_respect_an_equation_subdomain():
    _, plain = _terms("poisson_interface.py", 0, False)
    _, more = _terms("poisson_interface.py", 0, True)
    for a, b in zip(plain, more):
        if a.term.kind == "interior":   # "equation left" on x <= 0, "equation right" on x >= 0
            assert np.asarray(b.term.select(b.points.numpy())).all()
            assert a.points.shape[0] < b.points.shape[0] < a.points.shape[0] + 16
