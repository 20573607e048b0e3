"""Poisson problem with a discontinuous coefficient and an interface at x = 0.

    -div(eps grad u) = f   on [-1, 1]^2,   eps = 1 for x < 0 and 1/2 for x >= 0,
    u = 0 on the boundary; across x = 0: u continuous and eps du/dx continuous (flux balance),
    exact solution u = sin(pi x) sin(3 pi y) for x < 0 and sin(2 pi x) sin(3 pi y) for x >= 0,
    so f = 10 pi^2 sin(pi x) sin(3 pi y) on the left and (13/2) pi^2 sin(2 pi x) sin(3 pi y) on
    the right. du/dx jumps across x = 0 (pi on the left, 2 pi on the right, times sin(3 pi y)).

The kink cannot be represented by one smooth network, so the problem is split into subdomains:
the field u1 lives on x <= 0 and u2 on x >= 0 (one network with two outputs), each with its own
equation (pk.Equation(..., on=...)), boundary condition and exact solution (nan where the field
does not live, so errors are measured on its own subdomain), joined by two pk.Interface
conditions on x = 0.

Source: the Poisson interface problem of the multilevel KAN paper (arXiv 2603.04827).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u1 = sp.Function("u1")(x, y)
u2 = sp.Function("u2")(x, y)
eps1, eps2 = 1, sp.Rational(1, 2)
left = sp.sin(sp.pi * x) * sp.sin(3 * sp.pi * y)
right = sp.sin(2 * sp.pi * x) * sp.sin(3 * sp.pi * y)
f1 = sp.simplify(-eps1 * (left.diff(x, 2) + left.diff(y, 2)))
f2 = sp.simplify(-eps2 * (right.diff(x, 2) + right.diff(y, 2)))


def laplacian(u):
    return u.diff(x, 2) + u.diff(y, 2)


problem = pk.Problem(
    name="poisson_interface",
    domain=pk.Rectangle((-1, -1), (1, 1)),
    fields=[u1, u2],
    equations=[
        pk.Equation(sp.Eq(-eps1 * laplacian(u1), f1), on=x <= 0, label="equation left"),
        pk.Equation(sp.Eq(-eps2 * laplacian(u2), f2), on=x >= 0, label="equation right"),
    ],
    conditions=[
        pk.Dirichlet(u1, 0, on=x <= 0, label="boundary left"),
        pk.Dirichlet(u2, 0, on=x >= 0, label="boundary right"),
        pk.Interface(u1 - u2, on=sp.Eq(x, 0), label="continuity"),
        pk.Interface(eps1 * u1.diff(x) - eps2 * u2.diff(x), on=sp.Eq(x, 0), label="flux"),
    ],
    exact={
        u1: sp.Piecewise((left, x <= 0), (sp.nan, True)),
        u2: sp.Piecewise((right, x >= 0), (sp.nan, True)),
    },
    description="-div(eps grad u) = f, eps = 1 (x < 0) / 0.5 (x >= 0), flux continuity at x = 0.",
)
