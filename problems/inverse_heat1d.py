"""Inverse problem: learn the diffusivity of a 1D heat equation from observations of u.

    u_t = k u_xx          on x in [0, 1], t in [0, 1], k unknown (true value 0.1, guess 0.5),
    u(0, t) = u(1, t) = 0,  u(x, 0) = sin(pi x),
    observations: u at 50 points drawn uniformly in space-time (seed 0), from the exact
    solution u = exp(-0.1 pi^2 t) sin(pi x).

The learned k is reported in metrics.json under "parameters" and in the summary line, with
its relative error against the true value given in exact={k: 0.1}.

Source: the classical inverse diffusivity problem of the PINN literature (e.g. DeepXDE's
"inverse problem for the diffusion equation" example, with other data).
"""

import numpy as np
import sympy as sp

import pinnkan as pk

x, t, k = sp.symbols("x t k")
u = sp.Function("u")(x, t)
u_exact = sp.exp(-sp.Rational(1, 10) * sp.pi**2 * t) * sp.sin(sp.pi * x)

rng = np.random.default_rng(0)
points = rng.random((50, 2))  # (x, t) in [0, 1]^2
values = sp.lambdify((x, t), u_exact, "numpy")(points[:, 0], points[:, 1])

problem = pk.Problem(
    name="inverse_heat1d",
    domain=pk.Interval(0, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t), k * u.diff(x, 2))],
    conditions=[
        pk.Dirichlet(u, 0),
        pk.Initial(u, sp.sin(sp.pi * x)),
        pk.Data(u, points, values, label="observations"),
    ],
    parameters={k: 0.5},
    exact={u: u_exact, k: 0.1},
    description="u_t = k u_xx with k unknown, learned from 50 observations of u (true k = 0.1).",
)
