"""Centre-line velocities of the lid-driven cavity from Ghia, Ghia & Shin (1982).

U. Ghia, K. N. Ghia, C. T. Shin, "High-Re solutions for incompressible flow using the
Navier-Stokes equations and a multigrid method", J. Comput. Phys. 48 (1982) 387-411:
steady flow in the unit square, lid u = 1 on y = 1, no slip on the other walls, Re = 1/nu,
computed on a uniform 129 x 129 grid (h = 1/128).

- Table I: u along the vertical centre line x = 1/2 at 17 grid nodes y = (j - 1) / 128,
  j = 129, 126, 125, 124, 123, 110, 95, 80, 65, 59, 37, 23, 14, 10, 9, 8, 1 (printed as
  y = 1.0000, 0.9766, ..., 0.0547, 0.0000).
- Table II: v along the horizontal centre line y = 1/2 at 17 nodes x = (k - 1) / 128,
  k = 129, 125, 124, 123, 122, 117, 111, 104, 65, 31, 30, 21, 13, 11, 10, 9, 1 (printed as
  x = 1.0000, 0.9688, ..., 0.0625, 0.0000).

Shipped here: the columns Re = 100 and Re = 1000 of both tables (5 decimals as printed), at the
exact grid nodes (the printed 4-digit coordinates are these nodes rounded; the tests check it).
The numbers were taken from CliMA/Oceananigans.jl (validation/lid_driven_cavity/
plot_lid_driven_cavity.py, "Data from tables 1, 2, and 4 of Ghia et al. (1982)", with the grid
indices above) and checked entry by entry against an independent copy in a lattice-Boltzmann
code's validation test (constants U_RE100, V_RE100, U_RE1000, V_RE1000); the two agree on all
68 values.

A problem measures its error on these points: :func:`centre_line_exact` gives sympy
expressions that equal the table at its points and are undefined (nan) elsewhere, and
:class:`GhiaCavity` is the unit square whose evaluation points (:meth:`GhiaCavity.evaluation_points`)
end with the 33 distinct table points, so the errors (and the validation score during training) of a
cavity problem are those against Ghia et al.'s centre lines.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from pinnkan.geometry.shapes import Rectangle

__all__ = ["GhiaCavity", "REYNOLDS", "U_TABLE", "V_TABLE", "X_NODES", "Y_NODES", "centre_line_exact",
           "reference_points"]

REYNOLDS = (100, 1000)

_J = np.array([129, 126, 125, 124, 123, 110, 95, 80, 65, 59, 37, 23, 14, 10, 9, 8, 1])
_K = np.array([129, 125, 124, 123, 122, 117, 111, 104, 65, 31, 30, 21, 13, 11, 10, 9, 1])
Y_NODES = (_J - 1) / 128.0  # Table I: the points (1/2, y) of the vertical centre line
X_NODES = (_K - 1) / 128.0  # Table II: the points (x, 1/2) of the horizontal centre line

U_TABLE = {  # Table I, u(1/2, y) at Y_NODES
    100: np.array([1.00000, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641, -0.20581,
                   -0.21090, -0.15662, -0.10150, -0.06434, -0.04775, -0.04192, -0.03717, 0.00000]),
    1000: np.array([1.00000, 0.65928, 0.57492, 0.51117, 0.46604, 0.33304, 0.18719, 0.05702, -0.06080,
                    -0.10648, -0.27805, -0.38289, -0.29730, -0.22220, -0.20196, -0.18109, 0.00000]),
}
V_TABLE = {  # Table II, v(x, 1/2) at X_NODES
    100: np.array([0.00000, -0.05906, -0.07391, -0.08864, -0.10313, -0.16914, -0.22445, -0.24533, 0.05454,
                   0.17527, 0.17507, 0.16077, 0.12317, 0.10890, 0.10091, 0.09233, 0.00000]),
    1000: np.array([0.00000, -0.21388, -0.27669, -0.33714, -0.39188, -0.51550, -0.42665, -0.31966, 0.02526,
                    0.32235, 0.33075, 0.37095, 0.32627, 0.30353, 0.29012, 0.27485, 0.00000]),
}


def _check_re(re) -> int:
    if re not in U_TABLE:
        raise ValueError(f"ghia: tables are shipped for Re = {', '.join(map(str, REYNOLDS))}, got {re!r}.")
    return int(re)


def reference_points() -> np.ndarray:
    """The 33 distinct table points (33, 2): (1/2, Y_NODES) of Table I, then (X_NODES, 1/2) of
    Table II without the centre (1/2, 1/2), which both tables hold."""
    across = X_NODES[X_NODES != 0.5]
    return np.concatenate([np.stack([np.full(17, 0.5), Y_NODES], axis=1),
                           np.stack([across, np.full(across.size, 0.5)], axis=1)])


def centre_line_exact(x: sp.Symbol, y: sp.Symbol, re: int) -> tuple[sp.Expr, sp.Expr]:
    """(u, v) as sympy Piecewise of the coordinates x, y: u = Table I at (1/2, y_i), v = Table II
    at (x_i, 1/2), nan everywhere else (a reference defined on the table points only)."""
    re = _check_re(re)
    half = sp.Rational(1, 2)

    def pieces(along, across, nodes, values):
        return sp.Piecewise(*[(sp.Float(float(val)), sp.And(sp.Eq(across, half), sp.Eq(along, sp.Float(float(node)))))
                              for node, val in zip(nodes, values)], (sp.nan, True))

    return pieces(y, x, Y_NODES, U_TABLE[re]), pieces(x, y, X_NODES, V_TABLE[re])


class GhiaCavity(Rectangle):
    """The unit square [0, 1]^2 of the cavity; its evaluation points end with the points of
    Ghia et al.'s tables (the 33 of :func:`reference_points`), the rest is the usual Sobol set."""

    def __init__(self):
        super().__init__((0.0, 0.0), (1.0, 1.0))

    def evaluation_points(self, n: int) -> np.ndarray:
        """(n, 2): n - 33 points of the scrambled Sobol set of the square, then the 33 table points
        (only the Sobol set when n < 66, so that the table points never make up most of the set)."""
        table = reference_points()
        if n < 2 * len(table):
            return super().evaluation_points(n)
        return np.concatenate([super().evaluation_points(n - len(table)), table])
