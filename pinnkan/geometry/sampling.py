"""Collocation points for training: interior points and (selected parts of) the boundary.

Points are numpy float64 arrays of shape (n, dim). Every draw comes from one numpy Generator
seeded by ``seed``, so a sampler built with the same domain, method and seed produces the same
sequence of point sets; each call draws new points (calling again is how to resample).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pinnkan.errors import ProblemError
from pinnkan.geometry.domain import Domain, check_count, check_method
from pinnkan.geometry.spacetime import box_periodic_pairs

Select = Callable[[np.ndarray], np.ndarray]


class CollocationSampler:
    """Draws interior and boundary collocation points of ``domain`` with ``method``.

    ``method`` is "uniform", "sobol" or "halton"; ``seed`` seeds the one Generator all draws
    come from.
    """

    def __init__(self, domain: Domain, method: str = "sobol", seed: int = 0):
        self.domain = domain
        self.method = check_method(method)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def __repr__(self):
        return f"CollocationSampler({self.domain!r}, method={self.method!r}, seed={self.seed!r})"

    def interior(self, n: int) -> np.ndarray:
        """Return (n, dim) new points in the closed domain."""
        return self.domain.sample_interior(check_count(n), self.method, self.rng)

    def initial(self, n: int) -> np.ndarray:
        """Return (n, dim) new points on the initial slice of a space-time domain."""
        if not hasattr(self.domain, "sample_initial"):
            raise ProblemError(f"The domain {self.domain!r} has no time, so it has no initial slice.")
        return self.domain.sample_initial(check_count(n), self.method, self.rng)

    def periodic(self, n: int, axis: int) -> np.ndarray:
        """Return (2n, dim) points: n on the face x_axis = lo, then their partners on x_axis = hi."""
        if hasattr(self.domain, "periodic_pairs"):
            lo, hi = self.domain.periodic_pairs(check_count(n), axis, self.method, self.rng)
        else:
            a, b = self.domain.bounds
            lo, hi = box_periodic_pairs(a, b, check_count(n), axis, self.method, self.rng)
        return np.concatenate([lo, hi])

    def plane(self, n: int, axis: int, value: float) -> np.ndarray:
        """Return (n, dim) points of the domain on the plane x_axis = value (interior interfaces)."""
        n = check_count(n)
        kept, found, tries = [], 0, 0
        while found < n and tries < 100:
            p = self.domain.sample_interior(max(n, 256), self.method, self.rng)
            p[:, axis] = value
            p = p[self.domain.contains(p)]
            kept.append(p)
            found += len(p)
            tries += 1
        if found == 0:
            raise ProblemError(f"The plane x_{axis} = {value:g} does not cut the domain {self.domain!r}.")
        return np.concatenate(kept)[:n]

    def boundary(self, n: int, select: Select | None = None, label: str = "boundary"):
        """Return (points (m, dim), unit outward normals (m, dim)) on the boundary.

        Without ``select``, m = n points cover the whole boundary. With ``select`` (a callable
        mapping (k, dim) points to a bool mask of shape (k,)), candidates are drawn from the
        whole boundary and only the selected ones are kept, until n are found. The search stops
        after max(200 * n, 20000) candidates: if some but fewer than n points were selected by
        then, those are returned (m < n); if none was selected, ProblemError is raised naming
        ``label``.
        """
        n = check_count(n)
        if select is None or n == 0:
            return self.domain.sample_boundary(n, self.method, self.rng)
        budget = max(200 * n, 20000)
        drawn, kept_p, kept_n, found = 0, [], [], 0
        batch = min(budget, max(4 * n, 1024))
        while found < n and drawn < budget:
            p, nv = self.domain.sample_boundary(batch, self.method, self.rng)
            mask = self._mask(select, p, label)
            drawn += batch
            kept_p.append(p[mask])
            kept_n.append(nv[mask])
            found += int(mask.sum())
            rate = max(found, 1) / drawn
            batch = min(budget - drawn, max(1024, int(1.2 * (n - found) / rate) + 1))
        if found == 0:
            raise ProblemError(
                f"The boundary selection '{label}' matched no boundary point of the domain "
                f"{self.domain!r} ({drawn} candidate points tried). Check the relation that "
                "defines it (e.g. sp.Eq(x, -1) for the left side of Rectangle((-1, -1), (1, 1))) "
                "and that it describes a part of this domain's boundary, and the tolerance used "
                "to compare coordinates."
            )
        points, normals = np.concatenate(kept_p), np.concatenate(kept_n)
        if found > n:
            keep = np.sort(self.rng.choice(found, size=n, replace=False))
            points, normals = points[keep], normals[keep]
        return points, normals

    @staticmethod
    def _mask(select: Select, points: np.ndarray, label: str) -> np.ndarray:
        """Evaluate ``select`` on (k, dim) points and return a bool mask of shape (k,)."""
        mask = np.asarray(select(points))
        try:
            return np.broadcast_to(mask.astype(bool), (len(points),))
        except ValueError:
            raise ProblemError(
                f"The boundary selection '{label}' returned an array of shape {mask.shape} for "
                f"{len(points)} points; it must return one true/false value per point."
            ) from None
