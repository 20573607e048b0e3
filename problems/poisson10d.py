"""10-D Poisson problem on the unit cube (a test of the curse of dimensionality).

    -Laplace u = pi^2 / 4 sum_i sin(pi x_i / 2)   in [0, 1]^10,
    u = sum_i sin(pi x_i / 2)                      on the whole boundary,
    exact solution u = sum_i sin(pi x_i / 2).

Source: the high-dimensional Poisson problem PNd of the PINNacle benchmark suite (Hao et al.,
"PINNacle: a comprehensive benchmark of physics-informed neural networks for solving PDEs",
NeurIPS 2024), here in 10 dimensions.
"""

import sympy as sp

import pinnkan as pk

xs = sp.symbols("x1:11")
u = sp.Function("u")(*xs)
u_exact = sum(sp.sin(sp.pi * xi / 2) for xi in xs)
laplace = lambda w: sum(w.diff(xi, 2) for xi in xs)

problem = pk.Problem(
    name="poisson10d",
    domain=pk.Box([0] * 10, [1] * 10),
    fields=[u],
    equations=[sp.Eq(-laplace(u), -laplace(u_exact))],
    conditions=[pk.Dirichlet(u, u_exact)],
    exact={u: u_exact},
    description="10-D Poisson on [0,1]^10: u = sum_i sin(pi x_i / 2) (PINNacle PNd).",
)
