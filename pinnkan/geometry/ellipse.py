"""The ellipse {c + Q (a cos s, b sin s) r : 0 <= r <= 1} in 2D (Q the rotation by ``angle``).

Points are numpy float64 arrays of shape (n, 2); normals are unit outward vectors. Interior
points are the disk's area-uniform points under the affine map x = c + Q diag(a, b) y (affine
maps keep uniformity); boundary points are uniform in arc length, through the inverse of the
arc length s(theta) = int_0^theta sqrt(a^2 sin^2 + b^2 cos^2) tabulated on a fine periodic grid.
"""

from __future__ import annotations

import math

import numpy as np

from pinnkan.errors import ProblemError
from pinnkan.geometry.ball import sphere_points
from pinnkan.geometry.domain import (
    Domain,
    as_real,
    as_vector,
    check_count,
    check_resolution,
    fmt,
    generator,
    unit_samples,
)

_TABLE = 4096  # points of the arc-length table (the periodic trapezoid rule converges fast)


class Ellipse(Domain):
    """Closed ellipse of centre ``center`` (2 numbers), semi-axes ``semi_axes`` = (a, b) > 0
    along the x and y axes turned counter-clockwise by ``angle`` (radians) (dim 2)."""

    dim = 2

    def __init__(self, center, semi_axes, angle=0.0):
        self.center = as_vector(center, 2, "Ellipse", "center")
        self.semi_axes = as_vector(semi_axes, 2, "Ellipse", "semi_axes")
        self.angle = as_real(angle, "Ellipse", "angle")
        if np.any(self.semi_axes <= 0):
            raise ProblemError(
                f"Ellipse: both semi-axes must be positive, got semi_axes = "
                f"({fmt(self.semi_axes[0])}, {fmt(self.semi_axes[1])}). Write "
                "Ellipse((cx, cy), (a, b)) with a > 0 and b > 0."
            )
        c, s = math.cos(self.angle), math.sin(self.angle)
        self._Q = np.array([[c, -s], [s, c]])
        a, b = self.semi_axes
        theta = 2.0 * np.pi * np.arange(_TABLE + 1) / _TABLE
        speed = np.sqrt((a * np.sin(theta)) ** 2 + (b * np.cos(theta)) ** 2)
        arc = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]))]) * (2 * np.pi / _TABLE)
        self._theta, self._arc = theta, arc
        self._perimeter = float(np.sum(speed[:-1]) * 2 * np.pi / _TABLE)

    @property
    def bounds(self):
        a, b = self.semi_axes
        c, s = self._Q[0, 0], self._Q[1, 0]
        half = np.array([math.hypot(a * c, b * s), math.hypot(a * s, b * c)])
        return self.center - half, self.center + half

    @property
    def measure(self) -> float:
        """Area pi a b."""
        return math.pi * float(np.prod(self.semi_axes))

    @property
    def boundary_measure(self) -> float:
        """Perimeter (periodic trapezoid rule on the arc length, exact to rounding)."""
        return self._perimeter

    @property
    def diameter(self) -> float:
        return 2.0 * float(self.semi_axes.max())

    def _level(self, points):
        """(F, |grad F|) for F(x) = |diag(1/a, 1/b) Q^T (x - c)| - 1 (zero on the ellipse)."""
        y = (self.as_points(points) - self.center) @ self._Q / self.semi_axes
        r = np.linalg.norm(y, axis=1)
        g = y / self.semi_axes / np.where(r > 0, r, 1.0)[:, None]
        grad = np.where(r > 0, np.linalg.norm(g, axis=1), 1.0 / self.semi_axes.max())
        return r - 1.0, grad

    def _distance(self, points) -> np.ndarray:
        """Signed distance to the ellipse to first order, F / |grad F| (negative inside)."""
        F, grad = self._level(points)
        return F / grad

    def contains(self, points, tol=None):
        return self._distance(points) <= self.tolerance(tol)

    def on_boundary(self, points, tol=None):
        return np.abs(self._distance(points)) <= self.tolerance(tol)

    def _map(self, y: np.ndarray) -> np.ndarray:
        """Local (n, 2) coordinates (along the semi-axes) to points (n, 2)."""
        return self.center + y @ self._Q.T

    def sample_interior(self, n, method="sobol", rng=None):
        """Area-uniform points: the disk's (R sqrt(u_0), 2 pi u_1) map stretched by (a, b)."""
        u = unit_samples(check_count(n), 2, method, generator(rng))
        disk = np.sqrt(u[:, :1]) * sphere_points(u[:, 1:], 2)
        return self._map(disk * self.semi_axes)

    def _at_arc(self, s: np.ndarray):
        """Points and unit outward normals (each (n, 2)) at arc lengths s (n,) from theta = 0."""
        theta = np.interp(s, self._arc, self._theta)
        a, b = self.semi_axes
        y = np.stack([a * np.cos(theta), b * np.sin(theta)], axis=1)
        nrm = np.stack([b * np.cos(theta), a * np.sin(theta)], axis=1)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
        return self._map(y), nrm @ self._Q.T

    def sample_boundary(self, n, method="sobol", rng=None):
        """Points uniform in arc length on the ellipse, with the unit outward normals."""
        u = unit_samples(check_count(n), 1, method, generator(rng))[:, 0]
        return self._at_arc(u * self._arc[-1])

    def boundary_nodes(self, h: float) -> np.ndarray:
        """Points (B, 2) around the ellipse, equally spaced in arc length, spacing <= h."""
        m = max(8, math.ceil(self._arc[-1] / h))
        return self._at_arc(self._arc[-1] * np.arange(m) / m)[0]

    def mesh(self, resolution):
        """"triangle" mesh of arc-length boundary nodes and an inner grid (spacing
        extent / resolution); the boundary is replaced by chords (area error O(h^2))."""
        from pinnkan.geometry.csg import simplex_mesh

        return simplex_mesh(self, check_resolution(resolution, "Ellipse"))

    def __repr__(self):
        c = ", ".join(fmt(v) for v in self.center)
        ab = ", ".join(fmt(v) for v in self.semi_axes)
        tail = f", angle={fmt(self.angle)}" if self.angle else ""
        return f"Ellipse(({c}), ({ab}){tail})"
