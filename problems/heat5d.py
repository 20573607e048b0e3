"""5-D heat equation on the unit ball with a source (a high-dimensional time-dependent test).

    u_t = k Laplace u + f,   f = -k |x|^2 exp(|x|^2 / 2 + t),   k = 1/5,
    x in the unit ball of R^5, t in [0, 1],
    u = exp(|x|^2 / 2 + t) on the sphere |x| = 1 and at t = 0,
    exact solution u = exp(|x|^2 / 2 + t).

Source: the high-dimensional heat problem HNd of the PINNacle benchmark suite (Hao et al.,
"PINNacle: a comprehensive benchmark of physics-informed neural networks for solving PDEs",
NeurIPS 2024), with Dirichlet data on the sphere.
"""

import sympy as sp

import pinnkan as pk

xs = sp.symbols("x1:6")
t = sp.symbols("t")
u = sp.Function("u")(*xs, t)
k = sp.Rational(1, 5)
r2 = sum(xi**2 for xi in xs)
u_exact = sp.exp(r2 / 2 + t)

problem = pk.Problem(
    name="heat5d",
    domain=pk.Ball([0] * 5, 1),
    time=(t, 0, 1),
    fields=[u],
    equations=[sp.Eq(u.diff(t), k * sum(u.diff(xi, 2) for xi in xs) - k * r2 * u_exact)],
    conditions=[pk.Dirichlet(u, u_exact), pk.Initial(u, u_exact.subs(t, 0))],
    exact={u: u_exact},
    description="u_t = (1/5) Laplace u - (1/5)|x|^2 exp(|x|^2/2 + t) on the unit 5-ball x [0,1] (PINNacle HNd).",
)
