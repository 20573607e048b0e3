"""Gray-Scott reaction-diffusion system in 1D, periodic (two fields).

    u_t = Du u_xx - u v^2 + F (1 - u),
    v_t = Dv v_xx + u v^2 - (F + kappa) v,      x in [-1, 1] periodic, t in [0, 20],
    Du = 1e-3, Dv = 5e-4, F = 0.04, kappa = 0.06,
    u(x, 0) = 1 - b(x) / 2,  v(x, 0) = b(x) / 2,  b(x) = exp(-10 (1 - cos(pi x))).

The v pulse at x = 0 grows while it consumes u (min u 0.5 -> 0.12 near t = 10), then splits into
two pulses that move apart; the solution stays smooth.

Reference solution: Fourier pseudo-spectral (256 modes) + ETDRK4 (dt = 2e-3), interpolated by
bicubic splines (:func:`pinnkan.reference.gray_scott`); its error is about 1e-10.

Source: P. Gray, S. K. Scott, Chem. Eng. Sci. 39 (1984) 1087-1097; J. E. Pearson, "Complex
patterns in a simple system", Science 261 (1993) 189-192 (F, kappa of the pulse-splitting regime).
"""

import sympy as sp

import pinnkan as pk
from pinnkan.reference import gray_scott

x, t = sp.symbols("x t")
u = sp.Function("u")(x, t)
v = sp.Function("v")(x, t)
Du, Dv, F, kappa = sp.Rational(1, 1000), sp.Rational(1, 2000), sp.Rational(1, 25), sp.Rational(3, 50)
b = sp.exp(-10 * (1 - sp.cos(sp.pi * x)))
u_ref, v_ref = gray_scott()

problem = pk.Problem(
    name="gray_scott1d",
    domain=pk.Interval(-1, 1),
    time=(t, 0, 20),
    fields=[u, v],
    equations=[
        sp.Eq(u.diff(t) - Du * u.diff(x, 2) + u * v**2 - F * (1 - u), 0),
        sp.Eq(v.diff(t) - Dv * v.diff(x, 2) - u * v**2 + (F + kappa) * v, 0),
    ],
    conditions=[pk.Periodic(u, x), pk.Periodic(v, x), pk.Initial(u, 1 - b / 2), pk.Initial(v, b / 2)],
    exact={u: u_ref, v: v_ref},
    description=(
        "Gray-Scott u_t = 1e-3 u_xx - u v^2 + 0.04 (1 - u), v_t = 5e-4 v_xx + u v^2 - 0.1 v on [-1,1] "
        "(periodic) x [0,20], u(x,0) = 1 - b/2, v(x,0) = b/2, b = exp(-10 (1 - cos(pi x))); "
        "spectral/ETDRK4 reference (Gray & Scott 1984; Pearson 1993)."
    ),
)
