"""2D Helmholtz equation on the square [-1, 1]^2 with homogeneous Dirichlet boundary.

    -u_xx - u_yy - k^2 u = f   in [-1, 1]^2,   k = 1,
    u = 0                      on the whole boundary,
    exact solution u = sin(pi x) sin(4 pi y),
    f = -lap(u_exact) - k^2 u_exact = (17 pi^2 - 1) sin(pi x) sin(4 pi y)   (derived below with sympy).

Source: the Helmholtz benchmark of the PINN literature (e.g. Wang, Teng, Perdikaris, "Understanding
and mitigating gradient pathologies in physics-informed neural networks", SIAM J. Sci. Comput.
43 (2021), with a1 = 1, a2 = 4); used by benchmarks/peers/ against pykan and DeepXDE.
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
k = 1
u_exact = sp.sin(sp.pi * x) * sp.sin(4 * sp.pi * y)
f = sp.simplify(-u_exact.diff(x, 2) - u_exact.diff(y, 2) - k**2 * u_exact)

problem = pk.Problem(
    name="helmholtz2d",
    domain=pk.Rectangle((-1, -1), (1, 1)),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2) - k**2 * u, f)],
    conditions=[pk.Dirichlet(u, 0)],
    exact={u: u_exact},
    description="-lap u - k^2 u = f on [-1,1]^2, k = 1: u = sin(pi x) sin(4 pi y).",
)
