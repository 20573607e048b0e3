"""The solid circular cylinder in 3D and the orthonormal frame of its axis.

With a the unit axis, Q = [e1, e2, a] an orthonormal frame and local coordinates
y = Q^T (x - c), the cylinder is {x : y1^2 + y2^2 <= R^2, |y3| <= H / 2}. Its boundary is the
side r = R (outward normal Q (y1, y2, 0) / R) and the two caps y3 = +-H/2 (normals +-a).
Points are numpy float64 arrays of shape (n, 3). The samplers map unit-cube points through
measure-preserving maps, so Sobol and Halton points stay evenly spread:

    interior  y = (R sqrt(u0) cos 2 pi u1, R sqrt(u0) sin 2 pi u1, H (u2 - 1/2))
    side      y = (R cos 2 pi u0, R sin 2 pi u0, H (u1 - 1/2))          (area 2 pi R H)
    caps      y = (R sqrt(u0) cos 2 pi u1, R sqrt(u0) sin 2 pi u1, +-H/2)  (area pi R^2 each)
"""

from __future__ import annotations

import math

import numpy as np

from pinnkan.errors import ProblemError
from pinnkan.geometry.ball import Ball, sphere_points
from pinnkan.geometry.domain import (
    Domain,
    as_real,
    as_vector,
    check_count,
    check_resolution,
    fmt,
    generator,
    split_counts,
    unit_samples,
)

_Z = (0.0, 0.0, 1.0)


def axis_frame(axis: np.ndarray) -> np.ndarray:
    """Orthonormal frame Q (3, 3) whose last column is axis / |axis|; Q = I for the z axis.

    e1 is the coordinate direction least aligned with the axis (the first of them on a tie),
    made orthogonal to it; e2 = a x e1. For a coordinate axis every entry is exactly 0 or +-1.
    """
    a = axis / np.linalg.norm(axis)
    helper = np.zeros(3)
    helper[int(np.argmin(np.abs(a)))] = 1.0
    e1 = helper - (helper @ a) * a
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, np.cross(a, e1), a], axis=1)


def disk_points(u: np.ndarray) -> np.ndarray:
    """Map u in [0, 1)^2 (n, 2) onto the unit disk (n, 2), uniformly in area: sqrt(u0) s(u1)."""
    return np.sqrt(u[:, :1]) * sphere_points(u[:, 1:], 2)


class Cylinder(Domain):
    """Closed circular cylinder in 3D: centre ``center`` (the midpoint of its axis, 3 numbers),
    ``radius`` R > 0, ``height`` H > 0 along ``axis`` (a nonzero 3-vector, default z).

    Cylinder((0, 0, 1), 1, 2) is the unit disk of the (x, y) plane times 0 <= z <= 2.
    """

    dim = 3

    def __init__(self, center, radius, height, axis=_Z):
        self.center = as_vector(center, 3, "Cylinder", "center")
        self.radius = as_real(radius, "Cylinder", "radius")
        self.height = as_real(height, "Cylinder", "height")
        axis = as_vector(axis, 3, "Cylinder", "axis")
        if self.radius <= 0 or self.height <= 0:
            raise ProblemError(
                f"Cylinder: the radius and the height must be positive, got radius = {fmt(self.radius)} "
                f"and height = {fmt(self.height)}. Write Cylinder((cx, cy, cz), radius, height) with "
                "both positive; (cx, cy, cz) is the midpoint of the axis."
            )
        if not np.linalg.norm(axis) > 0:
            raise ProblemError(
                "Cylinder: the axis must be a nonzero direction, got axis = (0, 0, 0). Write e.g. "
                "axis=(0, 0, 1) for a cylinder along z."
            )
        self._Q = axis_frame(axis)
        self.axis = self._Q[:, 2].copy()

    @property
    def bounds(self):
        """Half-extent along x_i: (H / 2) |a_i| + R sqrt(1 - a_i^2), a the unit axis."""
        a = self.axis
        half = 0.5 * self.height * np.abs(a) + self.radius * np.sqrt(np.maximum(1.0 - a * a, 0.0))
        return self.center - half, self.center + half

    @property
    def measure(self) -> float:
        """Volume pi R^2 H."""
        return math.pi * self.radius**2 * self.height

    @property
    def boundary_measure(self) -> float:
        """Area 2 pi R H (side) + 2 pi R^2 (caps)."""
        return 2.0 * math.pi * self.radius * (self.height + self.radius)

    @property
    def diameter(self) -> float:
        """Distance between opposite rims: sqrt(H^2 + 4 R^2)."""
        return math.hypot(self.height, 2.0 * self.radius)

    def local(self, points) -> np.ndarray:
        """Local coordinates y = Q^T (x - c) (n, 3): y3 along the axis, y1, y2 across it."""
        return (self.as_points(points) - self.center) @ self._Q

    def _map(self, y: np.ndarray) -> np.ndarray:
        return self.center + y @ self._Q.T

    def _radial_axial(self, points):
        y = self.local(points)
        return np.hypot(y[:, 0], y[:, 1]), y[:, 2]

    def contains(self, points, tol=None):
        r, s = self._radial_axial(points)
        t = self.tolerance(tol)
        return (r <= self.radius + t) & (np.abs(s) <= 0.5 * self.height + t)

    def on_boundary(self, points, tol=None):
        r, s = self._radial_axial(points)
        t = self.tolerance(tol)
        inside = (r <= self.radius + t) & (np.abs(s) <= 0.5 * self.height + t)
        return inside & ((np.abs(r - self.radius) <= t) | (np.abs(np.abs(s) - 0.5 * self.height) <= t))

    def sample_interior(self, n, method="sobol", rng=None):
        """Volume-uniform points: a disk point R sqrt(u0) s(u1) across, H (u2 - 1/2) along."""
        u = unit_samples(check_count(n), 3, method, generator(rng))
        y = np.concatenate([self.radius * disk_points(u[:, :2]), self.height * (u[:, 2:] - 0.5)], axis=1)
        return self._map(y)

    def _side(self, u: np.ndarray):
        """Side points and normals (each (n, 3)) from u (n, 2): angle 2 pi u0, height H (u1 - 1/2)."""
        ring = sphere_points(u[:, :1], 2)
        y = np.concatenate([self.radius * ring, self.height * (u[:, 1:] - 0.5)], axis=1)
        nrm = np.concatenate([ring, np.zeros((len(u), 1))], axis=1)
        return self._map(y), nrm @ self._Q.T

    def _cap(self, u: np.ndarray, side: float):
        """Points and normals of the cap y3 = side * H / 2 (side = +-1) from u (n, 2)."""
        y = np.concatenate([self.radius * disk_points(u), np.full((len(u), 1), 0.5 * side * self.height)], axis=1)
        return self._map(y), np.broadcast_to(side * self.axis, y.shape).copy()

    def sample_boundary(self, n, method="sobol", rng=None):
        """Area-uniform points: side, bottom cap (y3 = -H/2), top cap, in that order, counts in
        proportion to their areas 2 pi R H, pi R^2, pi R^2; unit outward normals."""
        rng = generator(rng)
        side, bottom, top = split_counts(check_count(n), [2.0 * self.height, self.radius, self.radius], rng)
        parts = [self._side(unit_samples(int(side), 2, method, rng)),
                 self._cap(unit_samples(int(bottom), 2, method, rng), -1.0),
                 self._cap(unit_samples(int(top), 2, method, rng), 1.0)]
        return np.concatenate([p for p, _ in parts]), np.concatenate([v for _, v in parts])

    def boundary_nodes(self, h: float) -> np.ndarray:
        """Points (B, 3) on the surface, spacing about h: rings on the side and on the caps."""
        m = max(8, math.ceil(2.0 * math.pi * self.radius / h))
        levels = max(2, math.ceil(self.height / h) + 1)
        th = 2.0 * math.pi * np.arange(m) / m
        ring = np.stack([np.cos(th), np.sin(th)], axis=1)
        side = [np.concatenate([self.radius * ring, np.full((m, 1), s)], axis=1)
                for s in np.linspace(-0.5 * self.height, 0.5 * self.height, levels)]
        n_rings = max(1, math.ceil(self.radius / h))  # the caps' rims are the side's end rings
        disk = Ball((0.0, 0.0), self.radius).rings(n_rings)[: -6 * n_rings]
        caps = [np.concatenate([disk, np.full((len(disk), 1), s)], axis=1)
                for s in (-0.5 * self.height, 0.5 * self.height)]
        return self._map(np.concatenate(side + caps))

    def mesh(self, resolution):
        """"tetra" mesh of the surface rings and an inner grid of spacing extent / resolution; the
        curved side is replaced by chords (volume error O(h^2))."""
        from pinnkan.geometry.csg import simplex_mesh

        return simplex_mesh(self, check_resolution(resolution, "Cylinder"))

    def __repr__(self):
        c = ", ".join(fmt(v) for v in self.center)
        tail = "" if np.array_equal(self.axis, _Z) else ", axis=(" + ", ".join(fmt(v) for v in self.axis) + ")"
        return f"Cylinder(({c}), {fmt(self.radius)}, {fmt(self.height)}{tail})"
