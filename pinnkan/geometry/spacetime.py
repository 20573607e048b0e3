"""The space-time cylinder Omega x [t0, t1] of a time-dependent problem.

Points are float64 arrays (n, d + 1): the d space coordinates, then time. The cylinder's
"boundary" in the sense of boundary conditions is the lateral surface (partial Omega) x [t0, t1];
its unit outward normals are the spatial normals with a zero time component. The initial slice
Omega x {t0} is sampled separately (:meth:`SpaceTime.sample_initial`) for initial conditions.
"""

from __future__ import annotations

import numpy as np

from pinnkan.errors import ProblemError
from pinnkan.geometry.domain import Domain, check_count, check_resolution, fmt, generator, unit_samples

# space cell type -> space-time cell type of the extruded (prism) mesh
_EXTRUDED = {"line": "quad", "triangle": "wedge", "quad": "hexahedron"}


class SpaceTime(Domain):
    """``space`` x [t0, t1] for a spatial domain ``space`` of any dimension d >= 1."""

    def __init__(self, space: Domain, t0: float, t1: float):
        if not isinstance(space, Domain):
            raise ProblemError(f"SpaceTime needs a spatial domain, got {space!r}.")
        t0, t1 = float(t0), float(t1)
        if not (np.isfinite(t0) and np.isfinite(t1) and t0 < t1):
            raise ProblemError(
                f"The time interval ({fmt(t0)}, {fmt(t1)}) must be finite with t0 < t1; write "
                "time=(t, 0, 1) for t in [0, 1]."
            )
        self.space, self.t0, self.t1 = space, t0, t1
        self.dim = space.dim + 1

    @property
    def duration(self) -> float:
        return self.t1 - self.t0

    @property
    def bounds(self):
        lo, hi = self.space.bounds
        return np.append(lo, self.t0), np.append(hi, self.t1)

    @property
    def measure(self) -> float:
        return self.space.measure * self.duration

    @property
    def boundary_measure(self) -> float:
        """Size of the lateral surface: |partial Omega| * (t1 - t0)."""
        return self.space.boundary_measure * self.duration

    def _split(self, points):
        p = self.as_points(points)
        return p[:, :-1], p[:, -1]

    def _in_time(self, t, tol) -> np.ndarray:
        tt = self.tolerance(tol)
        return (t >= self.t0 - tt) & (t <= self.t1 + tt)

    def contains(self, points, tol=None):
        x, t = self._split(points)
        return self.space.contains(x, tol) & self._in_time(t, tol)

    def on_boundary(self, points, tol=None):
        """On the lateral surface (the initial and final slices are not boundary here)."""
        x, t = self._split(points)
        return self.space.on_boundary(x, tol) & self._in_time(t, tol)

    def is_box(self) -> bool:
        return hasattr(self.space, "lengths")

    def sample_interior(self, n, method="sobol", rng=None):
        """(n, d + 1) points; jointly low-discrepancy when the space is a box."""
        rng, n = generator(rng), check_count(n)
        if self.is_box():
            lo, hi = self.bounds
            return lo + (hi - lo) * unit_samples(n, self.dim, method, rng)
        x = self.space.sample_interior(n, method, rng)
        t = self.t0 + self.duration * unit_samples(n, 1, method, rng)
        return np.hstack([x, t])

    def sample_boundary(self, n, method="sobol", rng=None):
        """(points, normals) on the lateral surface; normals (n, d + 1) have time component 0."""
        rng = generator(rng)
        x, nx = self.space.sample_boundary(check_count(n), method, rng)
        t = self.t0 + self.duration * unit_samples(len(x), 1, method, rng)
        return np.hstack([x, t]), np.hstack([nx, np.zeros((len(x), 1))])

    def sample_initial(self, n, method="sobol", rng=None) -> np.ndarray:
        """(n, d + 1) points of the initial slice Omega x {t0}."""
        x = self.space.sample_interior(check_count(n), method, generator(rng))
        return np.hstack([x, np.full((len(x), 1), self.t0)])

    def window(self, t0: float, t1: float) -> "SpaceTime":
        """The same space over the sub-interval [t0, t1] of [self.t0, self.t1] (a time window)."""
        t0, t1 = float(t0), float(t1)
        if not (self.t0 <= t0 < t1 <= self.t1):
            raise ProblemError(f"The time window ({fmt(t0)}, {fmt(t1)}) is not a sub-interval of "
                               f"({fmt(self.t0)}, {fmt(self.t1)}) of {self!r}.")
        return SpaceTime(self.space, t0, t1)

    def times(self, n: int) -> np.ndarray:
        """``n`` >= 2 equally spaced times from t0 to t1."""
        return np.linspace(self.t0, self.t1, max(int(n), 2))

    def mesh(self, resolution):
        """The space mesh extruded over ``resolution`` time steps (quads, wedges or hexahedra).

        A space of 3 or more dimensions gives a cylinder of 4 or more, which has no VTK cell:
        use a time series instead.
        """
        resolution = check_resolution(resolution, "SpaceTime")
        if self.space.dim >= 3:
            raise ProblemError(
                f"A {self.space.dim}D space x time domain has no single-file mesh; export it as a "
                "time series (Result.export_time_series)."
            )
        points, cells = self.space.mesh(resolution)
        times = self.times(resolution + 1)
        P = len(points)
        all_points = np.vstack([np.hstack([points, np.full((P, 1), t)]) for t in times])
        out = []
        for kind, c in cells:
            if kind not in _EXTRUDED:
                raise ProblemError(f"SpaceTime cannot extrude {kind!r} cells of {self.space!r}.")
            layers = []
            for k in range(len(times) - 1):
                below, above = c + k * P, c + (k + 1) * P
                if kind == "line":  # (x0, t), (x1, t), (x1, t+), (x0, t+): counter-clockwise
                    layers.append(np.stack([below[:, 0], below[:, 1], above[:, 1], above[:, 0]], axis=1))
                else:
                    layers.append(np.hstack([below, above]))
            out.append((_EXTRUDED[kind], np.vstack(layers).astype(np.int64)))
        return all_points, out

    def periodic_pairs(self, n, axis: int, method="sobol", rng=None):
        """See :func:`pinnkan.geometry.domain.box_periodic_pairs`; ``axis`` < space.dim."""
        if not self.is_box() or axis >= self.space.dim:
            raise ProblemError(f"Periodic conditions need a box-shaped space; got {self.space!r}.")
        lo, hi = self.bounds
        return box_periodic_pairs(lo, hi, n, axis, method, rng)

    def __repr__(self):
        return f"SpaceTime({self.space!r}, {fmt(self.t0)}, {fmt(self.t1)})"


def box_periodic_pairs(lo, hi, n, axis: int, method="sobol", rng=None):
    """Matched points (lo_points, hi_points), each (n, d), on the faces x_axis = lo and = hi.

    The other coordinates are drawn in the box and shared by each pair, so that
    hi_points - lo_points = (hi - lo)[axis] e_axis row by row.
    """
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    p = lo + (hi - lo) * unit_samples(check_count(n), len(lo), method, generator(rng))
    a, b = p.copy(), p.copy()
    a[:, axis], b[:, axis] = lo[axis], hi[axis]
    return a, b
