"""Laplace equation on the L-shaped domain, with the re-entrant corner singularity.

    -u_xx - u_yy = 0   in the L-shape (-1, 1)^2 minus [0, 1] x [-1, 0],
    u = u_exact        on the whole boundary,
    exact solution u = r^(2/3) sin(2 theta / 3),  r = sqrt(x^2 + y^2), theta in [0, 3 pi / 2].

theta is the angle measured counter-clockwise from the edge y = 0, x > 0 (where u = 0) to the
edge x = 0, y < 0 (where u = 0 too): theta = pi + atan2(-y, -x), which lies in (0, 2 pi] and
jumps only across the positive x-axis, outside the domain's interior. u is harmonic, and its
gradient is unbounded at the re-entrant corner (0, 0) (|grad u| ~ r^(-1/3)), which limits the
accuracy any smooth approximation reaches.

Source: the standard corner-singularity benchmark for adaptive finite elements, e.g.
W. F. Mitchell, "A collection of 2D elliptic problems for testing adaptive grid refinement
algorithms", Appl. Math. Comput. 220 (2013), problem "Reentrant Corner" with omega = 3 pi / 2.
"""

import sympy as sp

import pinnkan as pk
from pinnkan.geometry import Polygon

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
r = sp.sqrt(x**2 + y**2)
theta = sp.pi + sp.atan2(-y, -x)
u_exact = r ** sp.Rational(2, 3) * sp.sin(2 * theta / 3)

problem = pk.Problem(
    name="poisson_lshape",
    domain=Polygon.l_shape(),  # vertices (-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 0)],
    conditions=[pk.Dirichlet(u, u_exact)],
    exact={u: u_exact},
    description="Laplace on the L-shape: u = r^(2/3) sin(2 theta / 3) (re-entrant corner).",
)
