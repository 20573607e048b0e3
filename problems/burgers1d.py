"""Viscous Burgers equation in 1D with a shock-like front (the PINN benchmark of Raissi et al.).

    u_t + u u_x - nu u_xx = 0,   x in [-1, 1], t in [0, 1],   nu = 0.01 / pi,
    u(x, 0) = -sin(pi x),        u(-1, t) = u(1, t) = 0.

Exact solution by the Cole-Hopf transformation, evaluated with Gauss-Hermite quadrature
(:func:`pinnkan.reference.burgers`); a steep front forms at x = 0, with the largest slope
u_x = -152.00516 at t = 1.6037 / pi (Basdevant et al., Comput. Fluids 14 (1986) 23-41).

Source: M. Raissi, P. Perdikaris, G. E. Karniadakis, "Physics-informed neural networks",
J. Comput. Phys. 378 (2019) 686-707, Sec. 3.1.1.
"""

import numpy as np
import sympy as sp

import pinnkan as pk
from pinnkan.reference import burgers

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
nu = 0.01 / sp.pi

problem = pk.Problem(
    name="burgers1d",
    domain=pk.Interval(-1, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t) + u * u.diff(x) - nu * u.diff(x, 2), 0)],
    conditions=[pk.Dirichlet(u, 0), pk.Initial(u, -sp.sin(sp.pi * x))],
    exact={u: burgers(nu=0.01 / np.pi)},
    description=(
        "Viscous Burgers u_t + u u_x = (0.01/pi) u_xx on [-1,1] x [0,1], u(x,0) = -sin(pi x), "
        "u(+-1,t) = 0; exact solution by Cole-Hopf (Raissi et al., J. Comput. Phys. 378 (2019))."
    ),
)
