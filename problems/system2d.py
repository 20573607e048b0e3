"""A system of two coupled Poisson equations on the unit square (manufactured solution).

    -u_xx - u_yy + v = f1   in [0, 1]^2,
    -v_xx - v_yy + u = f2   in [0, 1]^2,
    u = u_exact, v = v_exact on the whole boundary,
    exact solution u = sin(pi x) sin(pi y),  v = x^2 - y^2,
    f1 = 2 pi^2 sin(pi x) sin(pi y) + x^2 - y^2,  f2 = sin(pi x) sin(pi y)
        (both derived below with sympy from the exact solution).

Source: manufactured solution (no reference problem).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
v = sp.Function("v")(x, y)
u_exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)
v_exact = x**2 - y**2


def lap(w):
    return w.diff(x, 2) + w.diff(y, 2)


f1 = sp.simplify(-lap(u_exact) + v_exact)
f2 = sp.simplify(-lap(v_exact) + u_exact)

problem = pk.Problem(
    name="system2d",
    domain=pk.Rectangle((0, 0), (1, 1)),
    fields=[u, v],
    equations=[sp.Eq(-lap(u) + v, f1), sp.Eq(-lap(v) + u, f2)],
    conditions=[pk.Dirichlet(u, u_exact), pk.Dirichlet(v, v_exact)],
    exact={u: u_exact, v: v_exact},
    description="Coupled -lap u + v = f1, -lap v + u = f2 on [0,1]^2: u = sin(pi x) sin(pi y), v = x^2 - y^2.",
)
