"""Function fitting as a problem: the regression case of the multilevel KAN study.

    u(x, y) = f(R (x, y)),  f(x, y) = cos(4 pi x) + sin(pi y) + sin(2 pi y) + |sin(3 pi y^2)|,
    R the rotation by 0.175 rad, on [-1, 1]^2.

Written as the "equation" u - f = 0 with no boundary condition, so the physics-informed loss
is the mean squared fitting error on the collocation points.
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
theta = sp.Rational(175, 1000)
xr = sp.cos(theta) * x - sp.sin(theta) * y
yr = sp.sin(theta) * x + sp.cos(theta) * y
f = sp.cos(4 * sp.pi * xr) + sp.sin(sp.pi * yr) + sp.sin(2 * sp.pi * yr) + sp.Abs(sp.sin(3 * sp.pi * yr**2))

problem = pk.Problem(
    name="regression2d",
    domain=pk.Rectangle((-1, -1), (1, 1)),
    fields=[u],
    equations=[u - f],
    exact={u: f},
)
