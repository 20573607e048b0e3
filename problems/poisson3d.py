"""3D Poisson problem on the unit cube with homogeneous Dirichlet boundary.

    -u_xx - u_yy - u_zz = 3 pi^2 sin(pi x) sin(pi y) sin(pi z)   in [0, 1]^3,
    u = 0                                                         on the whole boundary,
    exact solution u = sin(pi x) sin(pi y) sin(pi z).

Source: the standard 3D extension of the sine-product Poisson benchmark (manufactured).
"""

import sympy as sp

import pinnkan as pk

x, y, z = sp.symbols("x y z")
u = sp.Function("u")(x, y, z)
u_exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.sin(sp.pi * z)
f = sp.simplify(-u_exact.diff(x, 2) - u_exact.diff(y, 2) - u_exact.diff(z, 2))  # = 3 pi^2 u_exact

problem = pk.Problem(
    name="poisson3d",
    domain=pk.Box((0, 0, 0), (1, 1, 1)),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2) - u.diff(z, 2), f)],
    conditions=[pk.Dirichlet(u, 0)],
    exact={u: u_exact},
    description="3D Poisson on [0,1]^3: u = sin(pi x) sin(pi y) sin(pi z).",
)
