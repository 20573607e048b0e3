import pytest
import torch

from pinnkan.networks.bspline import (cox_de_boor, dyadic_refinement_matrix, extended_uniform_knots,
                             knot_insertion_matrix, local_basis_matrix, refinement_matrix,
                             uniform_basis, uniform_local_basis, uniform_refinement_matrix)
from pinnkan.errors import OptionError

F64 = torch.float64
LO, HI, G = -1.3, 2.1, 7
DEGREES = [1, 2, 3, 5]


def points(n=400, lo=LO, hi=HI, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = lo + (hi - lo) * torch.rand(n, generator=gen, dtype=F64)
    return torch.cat([x, torch.tensor([lo, hi], dtype=F64)])


def off_knot_points(grid=G, seed=1):
    """Points inside cells, at least 0.1 h away from every knot."""
    gen = torch.Generator().manual_seed(seed)
    cells = torch.arange(grid, dtype=F64).repeat(20)
    u = 0.1 + 0.8 * torch.rand(cells.shape, generator=gen, dtype=F64)
    return LO + (cells + u) * (HI - LO) / grid


def test_extended_knots():
    t = extended_uniform_knots(LO, HI, G, 3)
    assert t.shape == (G + 7,) and t.dtype == F64
    assert torch.allclose(t[3], torch.tensor(LO, dtype=F64), atol=1e-15)
    assert torch.allclose(t[3 + G], torch.tensor(HI, dtype=F64), atol=1e-14)
    assert torch.allclose(t.diff(), torch.full((G + 6,), (HI - LO) / G, dtype=F64), atol=1e-14)


def test_cubic_local_matrix_matches_closed_form():
    u = torch.linspace(0, 1, 11, dtype=F64)
    M = local_basis_matrix(3, F64)
    vals = torch.stack([u ** p for p in range(4)], -1) @ M
    expected = torch.stack([(1 - u) ** 3 / 6, (3 * u ** 3 - 6 * u ** 2 + 4) / 6,
                            (-3 * u ** 3 + 3 * u ** 2 + 3 * u + 1) / 6, u ** 3 / 6], -1)
    assert torch.allclose(vals, expected, atol=1e-15, rtol=0)


@pytest.mark.parametrize("degree", [0, 1, 2, 4, 6, 7])
def test_local_matrix_matches_recursion_any_degree(degree):
    u = torch.linspace(0, 1, 9, dtype=F64)[:-1]
    M = local_basis_matrix(degree, F64)
    vals = torch.stack([u ** p for p in range(degree + 1)], -1) @ M
    knots = torch.arange(2 * degree + 2, dtype=F64)  # cell [k, k+1] carries B_0..B_k
    ref = cox_de_boor(degree + u, knots, degree)
    assert torch.allclose(vals, ref, atol=1e-13, rtol=0)


@pytest.mark.parametrize("degree", DEGREES)
def test_partition_of_unity(degree):
    x = points()
    assert (uniform_basis(x, LO, HI, G, degree).sum(-1) - 1).abs().max() < 1e-14
    t = extended_uniform_knots(LO, HI, G, degree)
    assert (cox_de_boor(x, t, degree).sum(-1) - 1).abs().max() < 1e-14


@pytest.mark.parametrize("degree", DEGREES)
def test_fast_path_matches_cox_de_boor(degree):
    x = points().reshape(2, -1)
    ref = cox_de_boor(x, extended_uniform_knots(LO, HI, G, degree), degree)
    dense = uniform_basis(x, LO, HI, G, degree)
    assert dense.shape == x.shape + (G + degree,)
    assert (dense - ref).abs().max() < 1e-13
    cell, vals = uniform_local_basis(x, LO, HI, G, degree)
    assert cell.dtype == torch.long and int(cell.min()) >= 0 and int(cell.max()) <= G - 1
    idx = cell.unsqueeze(-1) + torch.arange(degree + 1)
    assert (ref.gather(-1, idx) - vals).abs().max() < 1e-13


def test_cox_de_boor_right_end_closed():
    knots = torch.tensor([0, 0, 0, 0, 0.5, 1, 1, 1, 1], dtype=F64)
    B = cox_de_boor(torch.tensor([1.0, 0.0], dtype=F64), knots, 3)
    assert torch.allclose(B[0], torch.tensor([0, 0, 0, 0, 1.0], dtype=F64))
    assert torch.allclose(B[1], torch.tensor([1.0, 0, 0, 0, 0], dtype=F64))


def test_extension_policy_outside_range():
    x = torch.tensor([LO - 0.7, HI + 0.9], dtype=F64)
    cell, vals = uniform_local_basis(x, LO, HI, G, 3)
    assert cell.tolist() == [0, G - 1]
    u = (x - LO) / ((HI - LO) / G) - cell.to(F64)
    M = local_basis_matrix(3, F64)
    assert torch.allclose(vals, torch.stack([u ** p for p in range(4)], -1) @ M, atol=1e-14)
    assert (uniform_basis(x, LO, HI, G, 3).sum(-1) - 1).abs().max() < 1e-13


@pytest.mark.parametrize("degree,derivative", [(2, 1), (3, 1), (5, 1), (3, 2), (5, 2)])
def test_derivatives_vs_finite_differences(degree, derivative):
    x, eps = off_knot_points(), 1e-5
    d = uniform_basis(x, LO, HI, G, degree, derivative)
    f = lambda y: uniform_basis(y, LO, HI, G, degree, derivative - 1)  # noqa: E731
    fd = (f(x + eps) - f(x - eps)) / (2 * eps)
    assert (d - fd).abs().max() < 1e-6 * max(1.0, float(d.abs().max()))


@pytest.mark.parametrize("degree", [3, 5])
def test_derivatives_vs_autograd(degree):
    x = off_knot_points().requires_grad_(True)
    _, v0 = uniform_local_basis(x, LO, HI, G, degree)
    _, v1 = uniform_local_basis(x, LO, HI, G, degree, derivative=1)
    _, v2 = uniform_local_basis(x, LO, HI, G, degree, derivative=2)
    _, v3 = uniform_local_basis(x, LO, HI, G, degree, derivative=3)
    for r in range(degree + 1):
        g1, = torch.autograd.grad(v0[:, r].sum(), x, create_graph=True)
        g2, = torch.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = torch.autograd.grad(g2.sum(), x, retain_graph=True)
        assert torch.allclose(g1, v1[:, r], atol=1e-12, rtol=1e-12)
        assert torch.allclose(g2, v2[:, r], atol=1e-10, rtol=1e-12)
        assert torch.allclose(g3, v3[:, r], atol=1e-9, rtol=1e-12)


def test_derivative_above_degree_is_zero():
    x = points()
    assert uniform_basis(x, LO, HI, G, 2, derivative=3).abs().max() == 0


@pytest.mark.parametrize("degree", DEGREES)
def test_dyadic_refinement_same_spline(degree):
    c = torch.randn(G + degree, dtype=F64, generator=torch.Generator().manual_seed(degree))
    P = dyadic_refinement_matrix(G, degree, F64)
    assert P.shape == (2 * G + degree, G + degree)
    x = points()
    coarse = uniform_basis(x, LO, HI, G, degree) @ c
    assert (coarse - uniform_basis(x, LO, HI, 2 * G, degree) @ (P @ c)).abs().max() < 1e-12
    t2 = extended_uniform_knots(LO, HI, 2 * G, degree)
    assert (coarse - cox_de_boor(x, t2, degree) @ (P @ c)).abs().max() < 1e-12
    xo = torch.cat([torch.linspace(LO - 0.5, LO, 9, dtype=F64),
                    torch.linspace(HI, HI + 0.5, 9, dtype=F64)])
    outside = uniform_basis(xo, LO, HI, G, degree) @ c
    assert (outside - uniform_basis(xo, LO, HI, 2 * G, degree) @ (P @ c)).abs().max() < 1e-12


@pytest.mark.parametrize("degree", DEGREES)
def test_boehm_insertion_same_spline(degree):
    gen = torch.Generator().manual_seed(10 + degree)
    knots = torch.cumsum(0.2 + torch.rand(G + 2 * degree + 1, generator=gen, dtype=F64), 0)
    c = torch.randn(G + degree, generator=gen, dtype=F64)
    lo, hi = float(knots[degree]), float(knots[-degree - 1])
    x = points(lo=lo, hi=hi)
    f = cox_de_boor(x, knots, degree) @ c
    new = 0.5 * float(knots[degree + 2] + knots[degree + 3])
    A = knot_insertion_matrix(knots, degree, new)
    k1 = torch.sort(torch.cat([knots, torch.tensor([new], dtype=F64)])).values
    assert A.shape == (G + degree + 1, G + degree)
    assert (f - cox_de_boor(x, k1, degree) @ (A @ c)).abs().max() < 1e-12
    extra = torch.tensor([lo + 0.3 * (hi - lo), float(knots[degree + 4]), hi - 0.01], dtype=F64)
    k2 = torch.sort(torch.cat([knots, extra])).values
    R = refinement_matrix(knots, k2, degree)
    assert (f - cox_de_boor(x, k2, degree) @ (R @ c)).abs().max() < 1e-12


def test_refinement_matrix_rejects_non_superset():
    old = torch.arange(10, dtype=F64)
    with pytest.raises(OptionError, match="superset"):
        refinement_matrix(old, old[:-1] + 0.5, 3)


@pytest.mark.parametrize("degree", DEGREES)
def test_dyadic_equals_boehm(degree):
    old = [2 * (p - degree) for p in range(G + 2 * degree + 1)]
    merged = list(range(-2 * degree, 2 * G + 2 * degree + 1))
    R = refinement_matrix(old, merged, degree)[degree:degree + 2 * G + degree]
    assert torch.allclose(R, dyadic_refinement_matrix(G, degree, F64), atol=1e-14, rtol=0)


@pytest.mark.parametrize("degree", DEGREES)
@pytest.mark.parametrize("new_grid", [14, 21, 28, 35])
def test_uniform_refinement_any_multiple(degree, new_grid):
    c = torch.randn(G + degree, dtype=F64, generator=torch.Generator().manual_seed(3))
    R = uniform_refinement_matrix(G, new_grid, degree, F64)
    x = torch.cat([points(), torch.linspace(LO - 0.3, HI + 0.3, 50, dtype=F64)])
    diff = uniform_basis(x, LO, HI, G, degree) @ c - uniform_basis(x, LO, HI, new_grid, degree) @ (R @ c)
    assert diff.abs().max() < 1e-12


def test_uniform_refinement_rejects_non_multiple():
    with pytest.raises(OptionError, match="multiple"):
        uniform_refinement_matrix(G, 10, 3)
