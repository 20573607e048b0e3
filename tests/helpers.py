"""Helpers shared by the tests: exact derivative values from sympy, and finite-difference
Jacobians of the Levenberg-Marquardt residual vector."""

import numpy as np
import sympy as sp
import torch

from pinnkan.training.levenberg import flat_parameters, residual_and_jacobian, set_flat_parameters


def sympy_values(keys, exact, coords, points):
    """{(0, alpha): tensor} of the derivatives of the sympy expression ``exact`` at points."""
    cols = [points[:, i] for i in range(points.shape[1])]
    out = {}
    for f, alpha in keys:
        expr = exact
        for c, a in zip(coords, alpha):
            if a:
                expr = expr.diff(c, a)
        val = np.broadcast_to(np.asarray(sp.lambdify(coords, expr, "numpy")(*cols), dtype=float), cols[0].shape)
        out[(f, alpha)] = torch.as_tensor(val.copy())
    return out


def finite_difference_jacobian(model, compiled, data, weights, h=1e-6):
    """Central differences (M, P) of the weighted residual vector R w.r.t. the flat parameters;
    the parameters are restored afterwards."""
    theta = flat_parameters(model)
    cols = []
    for j in range(len(theta)):
        e = torch.zeros_like(theta)
        e[j] = h
        set_flat_parameters(model, theta + e)
        rp, _ = residual_and_jacobian(model, compiled, data, weights, with_jacobian=False)
        set_flat_parameters(model, theta - e)
        rm, _ = residual_and_jacobian(model, compiled, data, weights, with_jacobian=False)
        cols.append((rp - rm) / (2 * h))
    set_flat_parameters(model, theta)
    return torch.stack(cols, dim=1)
