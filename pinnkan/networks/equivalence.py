"""Change of basis between B-splines and power-ReLU functions (KAN <-> multichannel MLP).

On knots t_0 < t_1 < ... < t_{n+k} (n = number of B-splines of degree k), the B-splines and the
power-ReLU functions psi_j(x) = ReLU(x - t_j)^k, j = 0..n-1, span the same space on the grid
range [t_k, t_n]:

    B_i(x) = sum_j A[i, j] psi_j(x),
    A[i, i+j] = (-1)^(k+1) (t_{i+k+1} - t_i) / prod_{l != j} (t_{i+j} - t_{i+l}),  j = 0..k+1,

the (k+1)-th divided difference of (. - x)_+^k (terms with i+j >= n vanish on the grid range,
since their knots lie at or right of its end). A is square, upper triangular and banded; for
uniform spacing h it is A[i, i+j] = (-1)^j C(k+1, j) / (k! h^k), i.e. h^-k / k! times the
(k+1)-fold difference matrix. A spline with B-spline coefficients c equals the ReLU^k
combination with weights w = A^T c; back, c = A^-T w.

cond(A^T A) grows like n^(2k+2): the B-spline basis is the well-conditioned one, which is why
gradient descent in it acts as preconditioned descent in the ReLU weights.
"""

from __future__ import annotations

import torch

from pinnkan.errors import OptionError


def bspline_to_relu_matrix(knots: torch.Tensor, degree: int) -> torch.Tensor:
    """A of shape (n, n), n = len(knots) - degree - 1, with B_i = sum_j A[i, j] psi_j on
    [t_k, t_n]. Knots must be strictly increasing (simple knots)."""
    t = torch.as_tensor(knots, dtype=torch.float64)
    k = int(degree)
    n = t.numel() - k - 1
    if n < 1 or not bool((t[1:] > t[:-1]).all()):
        raise OptionError("The power-ReLU change of basis needs strictly increasing knots "
                          f"(at least degree + 2 of them); got {t.tolist()}.")
    A = torch.zeros(n, n, dtype=torch.float64, device=t.device)
    for i in range(n):
        span = t[i + k + 1] - t[i]
        for j in range(k + 2):
            if i + j >= n:
                break
            others = torch.cat([t[i:i + j], t[i + j + 1:i + k + 2]])
            A[i, i + j] = (-1) ** (k + 1) * span / torch.prod(t[i + j] - others)
    return A.to(torch.as_tensor(knots).dtype) if torch.is_tensor(knots) else A


def relu_power_basis(x: torch.Tensor, knots: torch.Tensor, degree: int, derivative: int = 0) -> torch.Tensor:
    """psi_j^(derivative)(x) for j = 0..n-1: x.shape + (n,), psi_j(x) = ReLU(x - t_j)^k.

    d/dx^m ReLU(x - t)^k = k!/(k-m)! ReLU(x - t)^(k-m) (the Heaviside step for m = k)."""
    k = int(degree)
    n = knots.numel() - k - 1
    z = x.unsqueeze(-1) - knots[:n].to(x)
    m = int(derivative)
    if m > k:
        return torch.zeros_like(z)
    scale = 1.0
    for p in range(k - m + 1, k + 1):
        scale *= p
    if m == k:
        return scale * (z > 0).to(x.dtype)
    return scale * torch.relu(z) ** (k - m)


def relu_weights_from_bspline(coef: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """w = A^T c along the last axis: coef (..., n) -> weights (..., n)."""
    return coef @ A


def bspline_from_relu_weights(weights: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """c = A^-T w along the last axis (triangular solve): weights (..., n) -> coef (..., n)."""
    shape = weights.shape
    w = weights.reshape(-1, shape[-1]).T                     # (n, m)
    c = torch.linalg.solve_triangular(A.T, w, upper=False)   # A^T is lower triangular
    return c.T.reshape(shape)
