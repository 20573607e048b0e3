"""Lid-driven cavity at Re = 100: steady incompressible Navier-Stokes in the unit square.

    u u_x + v u_y + p_x - (u_xx + u_yy) / Re = 0,
    u v_x + v v_y + p_y - (v_xx + v_yy) / Re = 0,
    u_x + v_y = 0                                   in [0, 1]^2, Re = 100,
    u = 1, v = 0 on the lid y = 1 (corners included); u = v = 0 on the other walls (y < 1);
    p(0, 0) = 0 (one observation fixes the pressure level, which the equations leave free).

The classic lid: u jumps from 1 to 0 at the top corners (no smoothing).

Reference: the centre-line tables of Ghia, Ghia & Shin, J. Comput. Phys. 48 (1982) 387-411,
Table I (u on x = 1/2) and Table II (v on y = 1/2), 17 points each
(:mod:`pinnkan.reference.ghia`). The exact solutions of u and v are those values at the table
points and undefined elsewhere, and the evaluation points of the domain end with the 33 distinct
table points, so rel_l2 and max_abs_error of u and v are the errors against Ghia et al.'s
centre lines (their error_coverage is the table's share of the evaluation points). The
pressure has no reference; it is pinned only to make it unique.
"""

import sympy as sp

import pinnkan as pk
from pinnkan.reference.ghia import GhiaCavity, centre_line_exact

RE = 100

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
v = sp.Function("v")(x, y)
p = sp.Function("p")(x, y)
u_ghia, v_ghia = centre_line_exact(x, y, RE)


def lap(w):
    return w.diff(x, 2) + w.diff(y, 2)


problem = pk.Problem(
    name="cavity_re100",
    domain=GhiaCavity(),
    fields=[u, v, p],
    vectors={"velocity": (u, v)},
    equations=[
        sp.Eq(u * u.diff(x) + v * u.diff(y) + p.diff(x) - lap(u) / RE, 0),
        sp.Eq(u * v.diff(x) + v * v.diff(y) + p.diff(y) - lap(v) / RE, 0),
        sp.Eq(u.diff(x) + v.diff(y), 0),
    ],
    conditions=[
        pk.Dirichlet(u, 1, on=sp.Eq(y, 1), label="lid u"),
        pk.Dirichlet(u, 0, on=(y < 1), label="wall u"),
        pk.Dirichlet(v, 0, label="wall v"),
        pk.Data(p, points=[[0.0, 0.0]], values=[0.0], label="pressure level"),
    ],
    exact={u: u_ghia, v: v_ghia},
    description=(
        "Lid-driven cavity, steady incompressible Navier-Stokes at Re = 100 on [0,1]^2: u = 1 on the lid "
        "y = 1, no slip elsewhere, p(0,0) = 0; errors of u and v on the centre-line tables of Ghia, Ghia & "
        "Shin, J. Comput. Phys. 48 (1982), Tables I and II."
    ),
)
