"""1D heat equation with Dirichlet ends (exact solution: the first Fourier mode decaying).

    u_t = alpha u_xx                 on x in [0, 1], t in [0, 1], alpha = 0.1,
    u(0, t) = u(1, t) = 0,
    u(x, 0) = sin(pi x),
    exact solution u = exp(-alpha pi^2 t) sin(pi x).

Source: the classical separable solution (e.g. DeepXDE's heat-equation example uses the same
equation with other data).
"""

import sympy as sp

import pinnkan as pk

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
alpha = sp.Rational(1, 10)

problem = pk.Problem(
    name="heat1d",
    domain=pk.Interval(0, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t), alpha * u.diff(x, 2))],
    conditions=[pk.Dirichlet(u, 0), pk.Initial(u, sp.sin(sp.pi * x))],
    exact={u: sp.exp(-alpha * sp.pi**2 * t) * sp.sin(sp.pi * x)},
    description="u_t = 0.1 u_xx on [0,1] x [0,1], u = 0 at x = 0, 1, u(x, 0) = sin(pi x).",
)
