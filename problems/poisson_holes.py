"""2D Poisson problem on a square with four circular holes (manufactured solution).

    -u_xx - u_yy = f    in  Omega = [-1/2, 1/2]^2 minus the four disks of radius 1/10 centred at
                        (+-3/10, +-3/10)  (the geometry of PINNacle's Poisson 2d-C),
    u = u_exact         on the outer square,
    grad u . n = g      on each hole's circle, n the unit outward normal of Omega (pointing
                        into the hole), g = grad u_exact . n,
    exact solution u = exp(x) sin(2 pi y) + x^2 - y^2,  f = (4 pi^2 - 1) exp(x) sin(2 pi y).

Sources: manufactured solution; the domain after Z. Hao et al., "PINNacle: a comprehensive
benchmark of physics-informed neural networks for solving PDEs", NeurIPS 2024 (Poisson 2d-C).
"""

import sympy as sp

import pinnkan as pk

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
u_exact = sp.exp(x) * sp.sin(2 * sp.pi * y) + x**2 - y**2
f = sp.simplify(-u_exact.diff(x, 2) - u_exact.diff(y, 2))
R = sp.Rational(1, 10)
CENTRES = [(sp.Rational(sx * 3, 10), sp.Rational(sy * 3, 10)) for sx in (-1, 1) for sy in (-1, 1)]

domain = pk.Rectangle((-0.5, -0.5), (0.5, 0.5))
for cx, cy in CENTRES:
    domain = domain - pk.Disk((float(cx), float(cy)), float(R))


def hole_flux(cx, cy):
    """grad u_exact . n on the circle around (cx, cy), n = -(x - cx, y - cy) / R."""
    return -((x - cx) * u_exact.diff(x) + (y - cy) * u_exact.diff(y)) / R


outer = sp.Or(sp.Eq(x, -sp.Rational(1, 2)), sp.Eq(x, sp.Rational(1, 2)), sp.Eq(y, -sp.Rational(1, 2)),
              sp.Eq(y, sp.Rational(1, 2)))
problem = pk.Problem(
    name="poisson_holes",
    domain=domain,
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), f)],
    conditions=[pk.Dirichlet(u, u_exact, on=outer, label="outer square")] + [
        pk.Neumann(u, hole_flux(cx, cy), on=((x - cx) ** 2 + (y - cy) ** 2 < (2 * R) ** 2), label=f"hole {i + 1}")
        for i, (cx, cy) in enumerate(CENTRES)],
    exact={u: u_exact},
    description=(
        "Poisson on [-1/2,1/2]^2 minus four disks of radius 1/10 at (+-3/10, +-3/10): u = exp(x) sin(2 pi y) "
        "+ x^2 - y^2, Dirichlet on the square, Neumann on the holes (PINNacle Poisson 2d-C geometry)."
    ),
)
