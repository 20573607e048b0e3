"""Viscous Burgers equation in 1D (problems/burgers1d.py), trained with a viscosity ramp.

    u_t + u u_x - nu u_xx = 0,   x in [-1, 1], t in [0, 1],   nu = 0.01 / pi,
    u(x, 0) = -sin(pi x),        u(-1, t) = u(1, t) = 0.

The same problem and reference as burgers1d.py (Cole-Hopf solution by Gauss-Hermite
quadrature, :func:`pinnkan.reference.burgers`); only the training differs: the viscosity is a
symbol ramped by ``continuation``, so that the front is learned smooth first and sharpened
level by level. Level l of the multilevel schedule trains at value min(l, K - 1) of the ramp:
with the default levels 5, 10, 20, 40, grid 5 at nu = 0.1, grid 10 at nu = 0.03, grids 20 and
40 at the problem's own nu = 0.01 / pi, for which the metrics are reported. A single-level
model (the MLP) takes the values over three equal shares of its Adam steps.

Source: M. Raissi, P. Perdikaris, G. E. Karniadakis, "Physics-informed neural networks",
J. Comput. Phys. 378 (2019) 686-707, Sec. 3.1.1.
"""

import numpy as np
import sympy as sp

import pinnkan as pk
from pinnkan.reference import burgers

x, t, nu = sp.symbols("x t nu")
u = sp.Function("u")(x, t)

problem = pk.Problem(
    name="burgers1d_continuation",
    domain=pk.Interval(-1, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t) + u * u.diff(x) - nu * u.diff(x, 2), 0)],
    conditions=[pk.Dirichlet(u, 0), pk.Initial(u, -sp.sin(sp.pi * x))],
    continuation={nu: [0.1, 0.03, 0.01 / sp.pi]},  # the last value is the problem's own
    exact={u: burgers(nu=0.01 / np.pi)},
    description=(
        "Viscous Burgers u_t + u u_x = nu u_xx on [-1,1] x [0,1], u(x,0) = -sin(pi x), u(+-1,t) = 0, "
        "nu ramped 0.1 -> 0.03 -> 0.01/pi over the levels; exact solution for nu = 0.01/pi by Cole-Hopf."
    ),
)
