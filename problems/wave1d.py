"""1D wave equation, second order in time (two initial conditions).

    u_tt = 4 u_xx                    on x in [0, 1], t in [0, 1],
    u(0, t) = u(1, t) = 0,
    u(x, 0) = sin(pi x) + sin(4 pi x) / 2,   u_t(x, 0) = 0,
    exact solution u = sin(pi x) cos(2 pi t) + sin(4 pi x) cos(8 pi t) / 2.

Source: the wave-equation example of DeepXDE (Lu et al., SIAM Review 2021), same data.
"""

import sympy as sp

import pinnkan as pk

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
u_exact = sp.sin(sp.pi * x) * sp.cos(2 * sp.pi * t) + sp.sin(4 * sp.pi * x) * sp.cos(8 * sp.pi * t) / 2

problem = pk.Problem(
    name="wave1d",
    domain=pk.Interval(0, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t, 2), 4 * u.diff(x, 2))],
    conditions=[
        pk.Dirichlet(u, 0),
        pk.Initial(u, u_exact.subs(t, 0)),
        pk.Initial(u.diff(t), 0),
    ],
    exact={u: u_exact},
    description="u_tt = 4 u_xx on [0,1] x [0,1], u = 0 at x = 0, 1, u(x,0) = sin(pi x) + sin(4 pi x)/2, u_t(x,0) = 0.",
)
