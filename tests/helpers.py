"""Helpers shared by the tests: exact derivative values from sympy, finite-difference
Jacobians of the Levenberg-Marquardt residual vector, and the command line run in-process."""

import contextlib
import io

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


def run_main(argv):
    """``pinnkan.cli.main(argv)`` in-process: (exit status, stdout, stderr); argparse exits count
    as a status. The module's ``main`` is looked up at each call, so monkeypatches apply."""
    import pinnkan.cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = pinnkan.cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def poisson1d():
    """-u'' = pi^2 sin(pi x) on [0, 1], u = 0 at both ends; exact u = sin(pi x)."""
    import pinnkan as pk

    x = sp.symbols("x")
    u = sp.Function("u")(x)
    return pk.Problem(name="p1", domain=pk.Interval(0, 1), fields=[u],
                      equations=[sp.Eq(-u.diff(x, 2), sp.pi**2 * sp.sin(sp.pi * x))],
                      conditions=[pk.Dirichlet(u, 0)], exact={u: sp.sin(sp.pi * x)})
