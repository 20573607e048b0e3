"""Balls {x : |x - c| <= R} in any dimension d >= 1, and the unit-cube-to-sphere map they use.

Points are numpy float64 arrays of shape (n, d); normals are unit outward vectors.
The samplers map unit-cube points through measure-preserving maps, so Sobol and Halton points
stay evenly spread:

    interior  x = c + R u_0^(1/d) s(u_1, ..., u_{d-1})       (d unit coordinates)
    boundary  x = c + R s(u_0, ..., u_{d-2}),  normal s         (d - 1 unit coordinates)

with s the map from [0, 1)^(d-1) onto the unit sphere S^(d-1) of :func:`sphere_points`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betaincinv

from pinnkan.errors import ProblemError
from pinnkan.geometry.domain import (
    Domain,
    no_mesh_error,
    as_real,
    as_vector,
    check_count,
    check_resolution,
    fmt,
    generator,
    split_counts,
    unit_samples,
)


def sphere_points(u: np.ndarray, d: int) -> np.ndarray:
    """Map u in [0, 1)^(d-1) (n, d - 1) onto the unit sphere S^(d-1) in R^d: (n, d), uniformly.

    d = 2: (cos 2 pi u_0, sin 2 pi u_0). d > 2: the first coordinate t has density
    proportional to (1 - t^2)^((d - 3) / 2) on [-1, 1], i.e. (t + 1) / 2 ~ Beta((d-1)/2, (d-1)/2),
    so t = 2 B^(-1)(u_0) - 1; the others are sqrt(1 - t^2) times a point of S^(d-2) from
    u_1, ..., u_{d-2}. Each step is the inverse of a distribution function, so the whole map
    carries the uniform measure of the cube to that of the sphere.
    """
    if d == 2:
        th = 2.0 * np.pi * u[:, 0]
        return np.stack([np.cos(th), np.sin(th)], axis=1)
    a = 0.5 * (d - 1)
    t = 2.0 * betaincinv(a, a, u[:, 0]) - 1.0
    rest = sphere_points(u[:, 1:], d - 1)
    return np.concatenate([t[:, None], np.sqrt(np.maximum(1.0 - t * t, 0.0))[:, None] * rest], axis=1)


def unit_ball_volume(d: int) -> float:
    """Volume of the unit ball in R^d: pi^(d/2) / Gamma(d/2 + 1)."""
    return math.pi ** (0.5 * d) / math.gamma(0.5 * d + 1.0)


def fibonacci_sphere(m: int) -> np.ndarray:
    """m nearly evenly spread points (m, 3) on the unit sphere S^2 (Fibonacci lattice)."""
    k = np.arange(m) + 0.5
    z = 1.0 - 2.0 * k / m
    phi = math.pi * (3.0 - math.sqrt(5.0)) * k
    r = np.sqrt(np.maximum(1.0 - z * z, 0.0))
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


class Ball(Domain):
    """Closed ball of centre ``center`` (d numbers, d >= 1) and radius ``radius`` > 0 (dim d).

    d = 1 is the interval [c - R, c + R], d = 2 the disk (same points as :class:`Disk`).
    """

    _name = "Ball"

    def __init__(self, center, radius, dim: int | None = None):
        if dim is None:
            try:
                dim = len(center)
            except TypeError:
                dim = 0
            if dim < 1:
                raise ProblemError(
                    f"{self._name}: center must be a sequence of at least one number (one per "
                    f"coordinate), got {center!r}. Write {self._name}((0, 0, 0), 1) for the unit ball in 3D."
                )
        self.center = as_vector(center, dim, self._name, "center")
        self.radius = as_real(radius, self._name, "radius")
        self.dim = dim
        if self.radius <= 0:
            c = ", ".join(("cx", "cy", "cz")[:dim] if dim <= 3 else (f"c{i}" for i in range(dim)))
            raise ProblemError(
                f"{self._name}: the radius must be positive, got radius = {fmt(self.radius)}. "
                f"Write {self._name}(({c}), r) with r > 0."
            )

    @property
    def bounds(self):
        return self.center - self.radius, self.center + self.radius

    @property
    def measure(self) -> float:
        """Volume pi^(d/2) / Gamma(d/2 + 1) R^d (length 2R in 1D, area pi R^2 in 2D)."""
        return unit_ball_volume(self.dim) * self.radius**self.dim

    @property
    def boundary_measure(self) -> float:
        """Size of the sphere: d * volume / R (2 end points in 1D, 2 pi R in 2D)."""
        return self.dim * self.measure / self.radius

    @property
    def diameter(self) -> float:
        return 2.0 * self.radius

    def _dist(self, points) -> np.ndarray:
        return np.linalg.norm(self.as_points(points) - self.center, axis=1)

    def contains(self, points, tol=None):
        return self._dist(points) <= self.radius + self.tolerance(tol)

    def on_boundary(self, points, tol=None):
        return np.abs(self._dist(points) - self.radius) <= self.tolerance(tol)

    def sample_interior(self, n, method="sobol", rng=None):
        """Volume-uniform points: radius R u_0^(1/d), direction from u_1, ..., u_{d-1}.

        In 1D the points are c + R (2 u_0 - 1).
        """
        u = unit_samples(check_count(n), self.dim, method, generator(rng))
        if self.dim == 1:
            return self.center + self.radius * (2.0 * u - 1.0)
        r = self.radius * u[:, 0] ** (1.0 / self.dim)
        return self.center + r[:, None] * sphere_points(u[:, 1:], self.dim)

    def sample_boundary(self, n, method="sobol", rng=None):
        """Area-uniform points on the sphere; the normals are the radial unit vectors.

        In 1D the boundary is the two end points, each getting half the points (ties at random).
        """
        n, rng = check_count(n), generator(rng)
        if self.dim == 1:
            left, right = split_counts(n, [1.0, 1.0], rng)
            normals = np.concatenate([-np.ones((left, 1)), np.ones((right, 1))])
        else:
            normals = sphere_points(unit_samples(n, self.dim - 1, method, rng), self.dim)
        return self.center + self.radius * normals, normals

    def boundary_nodes(self, h: float) -> np.ndarray:
        """Points (B, dim) on the sphere with spacing about h, for meshing set operations."""
        if self.dim == 1:
            return np.stack(self.bounds)
        if self.dim == 2:
            m = max(8, math.ceil(2 * math.pi * self.radius / h))
            th = 2 * math.pi * np.arange(m) / m
            return self.center + self.radius * np.stack([np.cos(th), np.sin(th)], axis=1)
        if self.dim == 3:
            m = max(12, math.ceil(self.boundary_measure / (0.866 * h * h)))
            return self.center + self.radius * fibonacci_sphere(m)
        raise no_mesh_error(self)

    def rings(self, n_rings: int) -> np.ndarray:
        """(2D) Centre plus ``n_rings`` concentric rings (ring k has 6k points), the last on the circle."""
        pts = [np.zeros((1, 2))]
        for k in range(1, n_rings + 1):
            th = 2.0 * np.pi * np.arange(6 * k) / (6 * k)
            r = self.radius if k == n_rings else self.radius * k / n_rings
            pts.append(r * np.stack([np.cos(th), np.sin(th)], axis=1))
        return self.center + np.concatenate(pts)

    def mesh(self, resolution):
        """1D: "line" cells, ``resolution`` of them. 2D: Delaunay "triangle" mesh of concentric
        rings, about ``resolution`` points across. 3D: "tetra" mesh of a Fibonacci sphere and an
        inner grid of spacing 2R / resolution. Beyond 3D: ProblemError."""
        resolution = check_resolution(resolution, self._name)
        if self.dim == 1:
            lo, hi = self.bounds
            x = np.linspace(lo[0], hi[0], resolution + 1)[:, None]
            k = np.arange(resolution)
            return x, [("line", np.stack([k, k + 1], axis=1).astype(np.int64))]
        if self.dim == 2:
            return self._disk_mesh(resolution)
        if self.dim == 3:
            from pinnkan.geometry.csg import simplex_mesh

            return simplex_mesh(self, resolution)
        raise no_mesh_error(self)

    def _disk_mesh(self, resolution: int):
        from scipy.spatial import Delaunay

        n_rings = max(1, round(resolution / 2))
        points = self.rings(n_rings)
        tri = Delaunay(points - self.center).simplices.astype(np.int64)
        a, b, c = (points[tri[:, i]] for i in range(3))
        area = 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
        tri[area < 0] = tri[area < 0][:, [0, 2, 1]]
        keep = np.abs(area) > 1e-12 * (self.radius / n_rings) ** 2
        return points, [("triangle", tri[keep])]

    def __repr__(self):
        c = ", ".join(fmt(v) for v in self.center)
        if self.dim == 1:
            c += ","
        return f"{self._name}(({c}), {fmt(self.radius)})"
