"""2D Poisson problem on the unit disk (manufactured solution).

    -u_xx - u_yy = f   in the disk x^2 + y^2 <= 1,
    u = u_exact        on the circle x^2 + y^2 = 1 (there u = y sin(pi x) / 4),
    exact solution u = 1 - x^2 - y^2 + y sin(pi x) / 4,
    f = -lap(u_exact) = 4 + (pi^2 / 4) y sin(pi x)   (derived below with sympy).

Source: manufactured solution (no reference problem).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
u_exact = 1 - x**2 - y**2 + y * sp.sin(sp.pi * x) / 4
f = sp.simplify(-u_exact.diff(x, 2) - u_exact.diff(y, 2))

problem = pk.Problem(
    name="poisson_disk",
    domain=pk.Disk((0, 0), 1),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), f)],
    conditions=[pk.Dirichlet(u, u_exact)],
    exact={u: u_exact},
    description="Poisson on the unit disk: u = 1 - x^2 - y^2 + y sin(pi x) / 4.",
)
