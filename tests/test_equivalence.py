"""B-spline <-> power-ReLU change of basis and the KAN <-> multichannel ReLU^k MLP conversion."""

from math import comb, factorial

import pytest
import torch

import pinnkan as pk
from pinnkan.networks.bspline import cox_de_boor, extended_uniform_knots, uniform_basis
from pinnkan.networks.equivalence import (bspline_from_relu_weights, bspline_to_relu_matrix, relu_power_basis,
                                 relu_weights_from_bspline)


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_uniform_matrix_is_the_truncated_power_formula(degree):
    grid, lo, hi = 6, -1.0, 2.0
    h = (hi - lo) / grid
    A = bspline_to_relu_matrix(extended_uniform_knots(lo, hi, grid, degree), degree)
    n = grid + degree
    expected = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):
        for j in range(degree + 2):
            if i + j < n:
                expected[i, i + j] = (-1) ** j * comb(degree + 1, j) / (factorial(degree) * h ** degree)
    assert torch.allclose(A, expected, rtol=1e-12, atol=0)
    assert torch.equal(A, torch.triu(A))


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_bsplines_are_combinations_of_power_relus_uniform(degree):
    grid = 8
    t = extended_uniform_knots(-1.0, 1.0, grid, degree)
    x = torch.rand(500, dtype=torch.float64) * 2 - 1
    A = bspline_to_relu_matrix(t, degree)
    B = uniform_basis(x, -1.0, 1.0, grid, degree)
    assert torch.allclose(relu_power_basis(x, t, degree) @ A.T, B, rtol=0, atol=1e-11)


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_bsplines_are_combinations_of_power_relus_arbitrary_knots(degree):
    gen = torch.Generator().manual_seed(7)
    gaps = 0.5 + torch.rand(12 + degree, generator=gen, dtype=torch.float64)
    t = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(gaps, 0)])
    n = t.numel() - degree - 1
    x = t[degree] + (t[n] - t[degree]) * torch.rand(400, generator=gen, dtype=torch.float64)
    A = bspline_to_relu_matrix(t, degree)
    B = cox_de_boor(x, t, degree)
    assert torch.allclose(relu_power_basis(x, t, degree) @ A.T, B, rtol=0, atol=1e-10)


def test_relu_weights_round_trip():
    t = extended_uniform_knots(0.0, 1.0, 10, 3)
    A = bspline_to_relu_matrix(t, 3)
    c = torch.randn(4, 5, 13, dtype=torch.float64)
    assert torch.allclose(bspline_from_relu_weights(relu_weights_from_bspline(c, A), A), c, atol=1e-10)


def test_repeated_knots_are_rejected():
    with pytest.raises(pk.OptionError, match="strictly increasing"):
        bspline_to_relu_matrix(torch.tensor([0.0, 0.0, 1.0, 2.0, 3.0]), 2)


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_kan_to_relu_mlp_and_back_same_outputs(degree):
    torch.manual_seed(degree)
    box = ([0.0, -2.0], [1.0, 2.0])
    kan = pk.KAN([2, 5, 3, 1], grid=6, degree=degree, bounds=box)
    x = torch.rand(300, 2, dtype=torch.float64) * torch.tensor([1.0, 4.0], dtype=torch.float64) \
        + torch.tensor([0.0, -2.0], dtype=torch.float64)
    relu = kan.to_basis("relu")
    back = relu.to_basis("bspline")
    assert relu.spline_basis == "relu" and "ReLU" in relu.describe()
    assert torch.allclose(relu(x), kan(x), rtol=0, atol=1e-10)
    assert torch.allclose(back(x), kan(x), rtol=0, atol=1e-10)
    assert torch.allclose(back.layers[0].coef, kan.layers[0].coef, atol=1e-10)


def test_relu_basis_kan_refines_exactly():
    torch.manual_seed(0)
    kan = pk.KAN([2, 4, 1], grid=5, spline_basis="relu")
    x = torch.rand(200, 2, dtype=torch.float64) * 2 - 1
    fine = kan.refine(10)
    assert fine.spline_basis == "relu" and fine.grid == 10
    assert torch.allclose(fine(x), kan(x), rtol=0, atol=1e-10)
