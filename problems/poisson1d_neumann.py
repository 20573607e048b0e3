"""1D Poisson problem with a Dirichlet end and a Neumann end (manufactured solution).

    -u'' = f                     on [0, 1],
    u(0) = 0                     (Dirichlet at x = 0),
    u'(1) = u_exact'(1) = 1      (Neumann at x = 1; the outward normal there is +1, so the
                                  outward normal derivative is u'(1)),
    exact solution u = sin(3 pi x / 2) + x,
    f = -u_exact'' = (9 pi^2 / 4) sin(3 pi x / 2)   (derived below with sympy).

Source: manufactured solution (no reference problem).
"""

import sympy as sp

import pinnkan as pk

x = sp.symbols("x")
u = sp.Function("u")(x)
u_exact = sp.sin(3 * sp.pi * x / 2) + x
f = sp.simplify(-u_exact.diff(x, 2))
flux = u_exact.diff(x)  # outward normal derivative at x = 1 (normal +1); equals 1 there

problem = pk.Problem(
    name="poisson1d_neumann",
    domain=pk.Interval(0, 1),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2), f)],
    conditions=[
        pk.Dirichlet(u, u_exact, on=sp.Eq(x, 0)),
        pk.Neumann(u, flux, on=sp.Eq(x, 1)),
    ],
    exact={u: u_exact},
    description="1D Poisson, Dirichlet at x = 0 and Neumann at x = 1: u = sin(3 pi x / 2) + x.",
)
