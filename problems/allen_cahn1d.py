"""Allen-Cahn equation in 1D, periodic (the PINN benchmark of Raissi et al. and Wight & Zhao).

    u_t - 1e-4 u_xx + 5 u^3 - 5 u = 0,   x in [-1, 1] periodic, t in [0, 1],
    u(x, 0) = x^2 cos(pi x).

Reference solution: Fourier pseudo-spectral in x (4096 modes) with ETDRK4 in time (dt = 1e-3),
interpolated by bicubic splines (:func:`pinnkan.reference.allen_cahn`); its error is about
1e-5 at early times, 2e-6 for t >= 0.1 and 2e-8 for t >= 0.5. The solution forms plateaus
u = -1 and u ~ +1 separated by sharp interfaces (width ~ 0.006).

Sources: M. Raissi, P. Perdikaris, G. E. Karniadakis, "Physics-informed neural networks",
J. Comput. Phys. 378 (2019) 686-707, Sec. 4.1.2; C. L. Wight, J. Zhao, "Solving Allen-Cahn and
Cahn-Hilliard equations using the adaptive physics informed neural networks", Commun.
Comput. Phys. 29 (2021) 930-954 (arXiv 2020).
"""

import sympy as sp

import pinnkan as pk
from pinnkan.reference import allen_cahn

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)

problem = pk.Problem(
    name="allen_cahn1d",
    domain=pk.Interval(-1, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t) - sp.Rational(1, 10000) * u.diff(x, 2) + 5 * u**3 - 5 * u, 0)],
    conditions=[pk.Periodic(u, x), pk.Initial(u, x**2 * sp.cos(sp.pi * x))],
    exact={u: allen_cahn()},
    description=(
        "Allen-Cahn u_t = 1e-4 u_xx - 5 u^3 + 5 u on [-1,1] (periodic) x [0,1], "
        "u(x,0) = x^2 cos(pi x); spectral/ETDRK4 reference (Raissi et al., J. Comput. Phys. 378 "
        "(2019); Wight & Zhao, Commun. Comput. Phys. 29 (2021))."
    ),
)
