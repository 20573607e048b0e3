"""Kuramoto-Sivashinsky equation in 1D, periodic (the setup of jaxpi's benchmark, on t in [0, 0.5]).

    u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0,   x in [0, 2 pi] periodic, t in [0, 0.5],
    alpha = 100/16, beta = 100/16^2, gamma = 100/16^4,  u(x, 0) = cos(x) (1 + sin(x)).

Periodic(u, x) matches u and its x-derivatives of orders 1 to 3 across the period (the default
order for a fourth-order equation). Modes with wavenumber k < 16 grow (fastest e^(25 t)); the
solution forms travelling cells, smooth on this interval (jaxpi integrates to t = 1, where it
turns chaotic).

Reference solution: Fourier pseudo-spectral (256 modes) + ETDRK4 (dt = 2.5e-5) with
contour-integral coefficients (Kassam & Trefethen 2005), interpolated by splines (quintic in x)
(:func:`pinnkan.reference.kuramoto_sivashinsky`); its error is about 1e-7.

Sources: S. Wang, S. Sankaran, H. Wang, P. Perdikaris, "An expert's guide to training
physics-informed neural networks", arXiv:2308.08468 (2023) (jaxpi); A.-K. Kassam,
L. N. Trefethen, SIAM J. Sci. Comput. 26 (2005) 1214-1233.
"""

import sympy as sp

import pinnkan as pk
from pinnkan.reference import kuramoto_sivashinsky

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
alpha, beta, gamma = sp.Rational(100, 16), sp.Rational(100, 16**2), sp.Rational(100, 16**4)

problem = pk.Problem(
    name="kuramoto_sivashinsky1d",
    domain=pk.Interval(0, 2 * float(sp.pi)),
    time=(t, 0, sp.Rational(1, 2)),
    fields=[u],
    equations=[sp.Eq(u.diff(t) + alpha * u * u.diff(x) + beta * u.diff(x, 2) + gamma * u.diff(x, 4), 0)],
    conditions=[pk.Periodic(u, x), pk.Initial(u, sp.cos(x) * (1 + sp.sin(x)))],
    exact={u: kuramoto_sivashinsky()},
    description=(
        "Kuramoto-Sivashinsky u_t + (100/16) u u_x + (100/16^2) u_xx + (100/16^4) u_xxxx = 0 on [0, 2 pi] "
        "(periodic) x [0, 0.5], u(x,0) = cos(x)(1 + sin(x)); spectral/ETDRK4 reference (jaxpi's setup, "
        "Wang et al. arXiv:2308.08468; Kassam & Trefethen, SIAM J. Sci. Comput. 26 (2005))."
    ),
)
