"""Nonlinear (cubic reaction) Poisson problem on the unit square (manufactured solution).

    -u_xx - u_yy + u^3 = f   in [0, 1]^2,
    u = u_exact              on the whole boundary (nonzero: x y / 2 there),
    exact solution u = sin(pi x) sin(pi y) + x y / 2,
    f = -lap(u_exact) + u_exact^3   (derived below with sympy).

Source: manufactured solution (no reference problem).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
u_exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y) + x * y / 2
f = -u_exact.diff(x, 2) - u_exact.diff(y, 2) + u_exact**3

problem = pk.Problem(
    name="nonlinear2d",
    domain=pk.Rectangle((0, 0), (1, 1)),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2) + u**3, f)],
    conditions=[pk.Dirichlet(u, u_exact)],
    exact={u: u_exact},
    description="-lap u + u^3 = f on [0,1]^2: u = sin(pi x) sin(pi y) + x y / 2.",
)
