"""The built-in shapes: Interval, Rectangle, Box (axis-aligned boxes in any dimension) and Disk.

Points are numpy float64 arrays of shape (n, dim); normals are unit outward vectors.
"""

from __future__ import annotations

import numpy as np

from pinnkan.errors import ProblemError
from pinnkan.geometry.ball import Ball
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

_MESH_CELLS = {1: "line", 2: "quad", 3: "hexahedron"}


def _grid(axes: list[np.ndarray]) -> np.ndarray:
    """Tensor-product points (prod len(axes[k]), len(axes)), first axis varying slowest."""
    return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)


class _AxisBox(Domain):
    """Axis-aligned box [lo_0, hi_0] x ... x [lo_{d-1}, hi_{d-1}] for any d >= 1."""

    _name = "Box"

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        bad = np.flatnonzero(lo >= hi)
        if bad.size:
            k = int(bad[0])
            raise ProblemError(
                f"{self._name}: lo must be smaller than hi in every coordinate, but coordinate "
                f"{k} has lo = {fmt(lo[k])} and hi = {fmt(hi[k])}. Give the lower corner "
                f"first and make every side of positive length."
            )
        self.dim = len(lo)
        self._lo, self._hi = lo, hi

    @property
    def bounds(self):
        return self._lo.copy(), self._hi.copy()

    @property
    def lengths(self) -> np.ndarray:
        """Side lengths, shape (dim,)."""
        return self._hi - self._lo

    def _face_sizes(self) -> np.ndarray:
        """Size of the face orthogonal to each axis, shape (dim,) (1 for the 1D end points)."""
        L = self.lengths
        return np.array([np.prod(np.delete(L, k)) for k in range(self.dim)])

    @property
    def measure(self) -> float:
        return float(np.prod(self.lengths))

    @property
    def boundary_measure(self) -> float:
        return float(2.0 * self._face_sizes().sum())

    def contains(self, points, tol=None):
        p, t = self.as_points(points), self.tolerance(tol)
        return np.all((p >= self._lo - t) & (p <= self._hi + t), axis=1)

    def on_boundary(self, points, tol=None):
        p, t = self.as_points(points), self.tolerance(tol)
        near = (np.abs(p - self._lo) <= t) | (np.abs(p - self._hi) <= t)
        return self.contains(p, t) & np.any(near, axis=1)

    def sample_interior(self, n, method="sobol", rng=None):
        u = unit_samples(check_count(n), self.dim, method, generator(rng))
        return self._lo + self.lengths * u

    def sample_boundary(self, n, method="sobol", rng=None):
        """Points on the faces (coordinate exactly lo_k or hi_k), counts in proportion to face size.

        Faces are ordered (axis 0, lo), (axis 0, hi), (axis 1, lo), ...
        """
        rng = generator(rng)
        counts = split_counts(check_count(n), np.repeat(self._face_sizes(), 2), rng)
        pts, nrm = [], []
        for face, c in enumerate(counts):
            k, side = divmod(face, 2)
            others = [j for j in range(self.dim) if j != k]
            p = np.empty((c, self.dim))
            p[:, others] = self._lo[others] + self.lengths[others] * unit_samples(
                int(c), self.dim - 1, method, rng
            )
            p[:, k] = self._hi[k] if side else self._lo[k]
            nv = np.zeros((c, self.dim))
            nv[:, k] = 1.0 if side else -1.0
            pts.append(p)
            nrm.append(nv)
        return np.concatenate(pts), np.concatenate(nrm)

    def grid_counts(self, resolution: int) -> list[int]:
        """Cells per axis: ``resolution`` on the longest side, the others near-square (>= 2)."""
        L = self.lengths
        low = min(2, resolution)
        return [max(low, round(resolution * l / L.max())) for l in L]

    def mesh(self, resolution):
        """Structured grid: "line", "quad" or "hexahedron" cells, (counts + 1) points per axis.

        Beyond 3 dimensions there is no mesh: ProblemError.
        """
        resolution = check_resolution(resolution, self._name)
        if self.dim > 3:
            raise no_mesh_error(self)
        counts = self.grid_counts(resolution)
        points = _grid([np.linspace(a, b, c + 1) for a, b, c in zip(self._lo, self._hi, counts)])
        idx = np.arange(len(points)).reshape([c + 1 for c in counts])
        lo, hi = slice(None, -1), slice(1, None)
        quad = ((lo, lo), (hi, lo), (hi, hi), (lo, hi))  # counter-clockwise in (x, y)
        if self.dim == 1:
            corners = [idx[lo], idx[hi]]
        elif self.dim == 2:
            corners = [idx[i, j] for i, j in quad]
        else:  # bottom face, then the face above it (VTK hexahedron order)
            corners = [idx[i, j, k] for k in (lo, hi) for i, j in quad]
        cells = np.stack([c.ravel() for c in corners], axis=1).astype(np.int64)
        return points, [(_MESH_CELLS[self.dim], cells)]

    def __repr__(self):
        comma = "," if self.dim == 1 else ""
        lo = ", ".join(fmt(v) for v in self._lo) + comma
        hi = ", ".join(fmt(v) for v in self._hi) + comma
        return f"{self._name}(({lo}), ({hi}))"


class Interval(_AxisBox):
    """Closed interval [a, b] (dim 1); its boundary is the two end points."""

    _name = "Interval"

    def __init__(self, a, b):
        a, b = as_real(a, "Interval", "a"), as_real(b, "Interval", "b")
        if not a < b:
            raise ProblemError(
                f"Interval: the left end a must be smaller than the right end b, got "
                f"a = {fmt(a)} and b = {fmt(b)}. Write Interval(left, right) with left < right."
            )
        super().__init__(np.array([a]), np.array([b]))

    def __repr__(self):
        return f"Interval({fmt(self._lo[0])}, {fmt(self._hi[0])})"


class Rectangle(_AxisBox):
    """Axis-aligned rectangle with lower corner ``lo`` and upper corner ``hi`` (dim 2)."""

    _name = "Rectangle"

    def __init__(self, lo, hi):
        super().__init__(as_vector(lo, 2, "Rectangle", "lo"), as_vector(hi, 2, "Rectangle", "hi"))


class Box(_AxisBox):
    """Axis-aligned box with lower corner ``lo`` and upper corner ``hi`` (dim d = len(lo) >= 1).

    Box((0, 0, 0), (1, 1, 1)) is the unit cube; Box([0] * 5, [1] * 5) the unit box in 5-D.
    Its boundary is the 2d faces x_k = lo_k and x_k = hi_k.
    """

    _name = "Box"

    def __init__(self, lo, hi):
        try:
            d = len(lo)
        except TypeError:
            d = 0
        if d < 1:
            raise ProblemError(
                f"Box: lo must be a sequence of at least one number (the lower corner, one number "
                f"per coordinate), got {lo!r}. Write Box((0, 0, 0), (1, 1, 1)) for the unit cube."
            )
        super().__init__(as_vector(lo, d, "Box", "lo"), as_vector(hi, d, "Box", "hi"))


class Disk(Ball):
    """Closed disk of centre ``center`` (2 numbers) and radius ``radius`` > 0 (dim 2): the
    2-D :class:`~pinnkan.geometry.ball.Ball`."""

    _name = "Disk"

    def __init__(self, center, radius):
        super().__init__(center, radius, dim=2)
