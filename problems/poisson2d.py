"""2D Poisson on the square [-1, 1]^2 with homogeneous Dirichlet boundary.

    -u_xx - u_yy = 2 pi^2 sin(pi x) sin(pi y),   u = 0 on the boundary,
    exact solution u = sin(pi x) sin(pi y).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
u_exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)

problem = pk.Problem(
    name="poisson2d",
    domain=pk.Rectangle((-1, -1), (1, 1)),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 2 * sp.pi**2 * u_exact)],
    conditions=[pk.Dirichlet(u, 0)],
    exact={u: u_exact},
)
