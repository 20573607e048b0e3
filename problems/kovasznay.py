"""Kovasznay flow: steady incompressible Navier-Stokes in 2D, Re = 20.

    u u_x + v u_y + p_x - (u_xx + u_yy) / Re = 0,
    u v_x + v v_y + p_y - (v_xx + v_yy) / Re = 0,
    u_x + v_y = 0                                   in [-0.5, 1] x [-0.5, 1.5],
    u = u_exact, v = v_exact on the whole boundary, p = p_exact on x = 1 (fixes the pressure level),
    exact solution, lambda = Re/2 - sqrt(Re^2/4 + 4 pi^2):
        u = 1 - exp(lambda x) cos(2 pi y),
        v = lambda / (2 pi) exp(lambda x) sin(2 pi y),
        p = (1 - exp(2 lambda x)) / 2.

Source: L. I. G. Kovasznay, "Laminar flow behind a two-dimensional grid", Proc. Cambridge
Philos. Soc. 44 (1948) 58-62; the domain and Re as in Jin et al., "NSFnets", J. Comput. Phys.
426 (2021) 109951.
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
v = sp.Function("v")(x, y)
p = sp.Function("p")(x, y)

Re = sp.Integer(20)
lam = Re / 2 - sp.sqrt(Re**2 / 4 + 4 * sp.pi**2)
u_exact = 1 - sp.exp(lam * x) * sp.cos(2 * sp.pi * y)
v_exact = lam / (2 * sp.pi) * sp.exp(lam * x) * sp.sin(2 * sp.pi * y)
p_exact = (1 - sp.exp(2 * lam * x)) / 2


def lap(w):
    return w.diff(x, 2) + w.diff(y, 2)


problem = pk.Problem(
    name="kovasznay",
    domain=pk.Rectangle((-0.5, -0.5), (1, 1.5)),
    fields=[u, v, p],
    vectors={"velocity": (u, v)},
    equations=[
        sp.Eq(u * u.diff(x) + v * u.diff(y) + p.diff(x) - lap(u) / Re, 0),
        sp.Eq(u * v.diff(x) + v * v.diff(y) + p.diff(y) - lap(v) / Re, 0),
        sp.Eq(u.diff(x) + v.diff(y), 0),
    ],
    conditions=[
        pk.Dirichlet(u, u_exact),
        pk.Dirichlet(v, v_exact),
        pk.Dirichlet(p, p_exact, on=sp.Eq(x, 1)),
    ],
    exact={u: u_exact, v: v_exact, p: p_exact},
    description=(
        "Kovasznay flow, steady incompressible Navier-Stokes at Re = 20 on [-0.5,1] x [-0.5,1.5]: "
        "u.grad u + grad p - lap u / Re = 0, div u = 0; u = 1 - exp(lambda x) cos(2 pi y), "
        "v = lambda/(2 pi) exp(lambda x) sin(2 pi y), p = (1 - exp(2 lambda x))/2, "
        "lambda = Re/2 - sqrt(Re^2/4 + 4 pi^2) (Kovasznay 1948)."
    ),
)
