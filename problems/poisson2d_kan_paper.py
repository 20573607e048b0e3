"""The 2D Poisson problem of the KAN paper on the square [-1, 1]^2.

    -u_xx - u_yy = f   in [-1, 1]^2,
    u = u_exact        on the whole boundary (which is 0 there: sin(pi x) = 0 on x = +-1 and
                       sin(pi y^2) = sin(pi) = 0 on y = +-1),
    exact solution u = sin(pi x) sin(pi y^2),
    f = -lap(u_exact) = pi^2 (1 + 4 y^2) sin(pi x) sin(pi y^2) - 2 pi sin(pi x) cos(pi y^2)
        (derived below with sympy from u_exact, so it is exactly consistent).

Source: Z. Liu et al., "KAN: Kolmogorov-Arnold Networks", arXiv:2404.19756 (2024),
Section 3.4 "Solving partial differential equations" (written there as lap u = f with the
opposite sign of f).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
u_exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y**2)
f = sp.simplify(-u_exact.diff(x, 2) - u_exact.diff(y, 2))

problem = pk.Problem(
    name="poisson2d_kan_paper",
    domain=pk.Rectangle((-1, -1), (1, 1)),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), f)],
    conditions=[pk.Dirichlet(u, u_exact)],
    exact={u: u_exact},
    description="Poisson problem of the KAN paper (Liu et al. 2024): u = sin(pi x) sin(pi y^2).",
)
