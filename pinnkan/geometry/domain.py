"""Abstract domain and the helpers the shapes share.

Points are numpy float64 arrays of shape (n, dim). Normals are unit outward vectors of the
same shape. Sampling methods are "uniform" (pseudo-random), "sobol" and "halton" (scrambled
quasi-random sequences from :mod:`scipy.stats.qmc`, seeded from the caller's Generator).
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.stats import qmc

from pinnkan.errors import ProblemError

METHODS = ("uniform", "sobol", "halton")
EVALUATION_SEED = 20_260_101  # seeds the scrambled Sobol set of Domain.evaluation_points


def check_method(method) -> str:
    """Return ``method`` if it is one of :data:`METHODS`, else raise ProblemError."""
    if method not in METHODS:
        raise ProblemError(
            f"Unknown sampling method {method!r}. Valid methods are {', '.join(METHODS)}: "
            "'uniform' draws independent random points, 'sobol' and 'halton' draw scrambled "
            "low-discrepancy points that cover the domain more evenly."
        )
    return method


def check_count(n, what: str = "number of points") -> int:
    """Return ``n`` as an int if it is a non-negative integer, else raise ProblemError."""
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
        raise ProblemError(f"The {what} must be a non-negative integer, got {n!r}.")
    return int(n)


def _qmc_engine(cls, d: int, seed: int):
    try:
        return cls(d, scramble=True, rng=seed)
    except TypeError:  # scipy < 1.15 names the argument ``seed``
        return cls(d, scramble=True, seed=seed)


def unit_samples(n: int, d: int, method: str, rng: np.random.Generator) -> np.ndarray:
    """Return (n, d) points in the unit cube [0, 1)^d drawn with ``method`` from ``rng``.

    Quasi-random engines are scrambled and seeded from ``rng``, so every call gives a new,
    reproducible point set; ``d = 0`` or ``n = 0`` gives an empty array of shape (n, d).
    """
    check_method(method)
    if n == 0 or d == 0:
        return np.zeros((n, d))
    if method == "uniform":
        return rng.random((n, d))
    cls = qmc.Sobol if method == "sobol" else qmc.Halton
    engine = _qmc_engine(cls, d, int(rng.integers(2**63 - 1)))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The balance properties", category=UserWarning)
        return np.asarray(engine.random(n), dtype=np.float64)


def split_counts(n: int, sizes, rng: np.random.Generator) -> np.ndarray:
    """Split ``n`` into integer counts proportional to ``sizes`` (largest remainder).

    Ties among the remainders are broken at random with ``rng`` so that no part is favoured.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    share = n * sizes / sizes.sum()
    counts = np.floor(share).astype(np.int64)
    rest = n - int(counts.sum())
    if rest:
        order = np.lexsort((rng.random(len(sizes)), -(share - counts)))
        counts[order[:rest]] += 1
    return counts


def as_real(value, shape: str, name: str) -> float:
    """Return ``value`` as a finite float or raise ProblemError naming ``shape`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ProblemError(f"{shape}: {name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ProblemError(f"{shape}: {name} must be finite, got {value!r}.")
    return value


def as_vector(values, length: int, shape: str, name: str) -> np.ndarray:
    """Return ``values`` as a finite float64 array of shape (length,) or raise ProblemError."""
    try:
        items = list(values)
    except TypeError:
        items = None
    if items is None or len(items) != length:
        raise ProblemError(
            f"{shape}: {name} must be a sequence of {length} numbers, got {values!r}."
        )
    return np.array([as_real(v, shape, f"{name}[{i}]") for i, v in enumerate(items)])


def fmt(x: float) -> str:
    """Format a number compactly for reprs: integers without a trailing '.0'."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


class Domain(ABC):
    """A closed, bounded domain in ``dim`` dimensions.

    Domains of the same dimension combine into new ones: ``a | b`` (union), ``a - b``
    (difference) and ``a & b`` (intersection); see :mod:`pinnkan.geometry.csg`.
    """

    dim: int

    @property
    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounding box (lo, hi), each a float64 array of shape (dim,)."""

    @property
    @abstractmethod
    def measure(self) -> float:
        """Length, area or volume of the domain."""

    @property
    @abstractmethod
    def boundary_measure(self) -> float:
        """Size of the boundary (point count in 1D, length in 2D, area in 3D)."""

    @property
    def diameter(self) -> float:
        """Largest distance between two points of the domain (here: bounding-box diagonal)."""
        lo, hi = self.bounds
        return float(np.linalg.norm(hi - lo))

    def tolerance(self, tol=None) -> float:
        """Return ``tol``, or the default 1e-9 * diameter when ``tol`` is None."""
        return 1e-9 * self.diameter if tol is None else float(tol)

    def as_points(self, points) -> np.ndarray:
        """Return ``points`` as a float64 array of shape (n, dim) or raise ProblemError."""
        p = np.asarray(points, dtype=np.float64)
        if self.dim == 1 and p.ndim == 1:
            p = p[:, None]
        if p.ndim != 2 or p.shape[1] != self.dim:
            raise ProblemError(
                f"{self!r} expects points of shape (n, {self.dim}), got shape {p.shape}."
            )
        return p

    @abstractmethod
    def contains(self, points, tol=None) -> np.ndarray:
        """Bool (n,): whether each point lies in the closed domain, up to ``tol``."""

    @abstractmethod
    def on_boundary(self, points, tol=None) -> np.ndarray:
        """Bool (n,): whether each point lies on the boundary, up to ``tol``."""

    @abstractmethod
    def sample_interior(self, n: int, method: str = "sobol", rng=None) -> np.ndarray:
        """Return (n, dim) points in the closed domain, drawn with ``method`` from ``rng``.

        ``rng`` is a numpy Generator (an int or None seeds a new one).
        """

    @abstractmethod
    def sample_boundary(self, n: int, method: str = "sobol", rng=None):
        """Return (points (n, dim), unit outward normals (n, dim)) on the boundary.

        Points are spread over the boundary parts in proportion to their size.
        """

    @abstractmethod
    def mesh(self, resolution: int):
        """Return (points (P, dim) float64, cells: list of (meshio cell type, int array)).

        Domains of more than 3 dimensions have no mesh: they raise ProblemError.
        """

    def evaluation_points(self, n: int) -> np.ndarray:
        """Return the (n, dim) points on which errors are measured: exactly ``n`` points of a
        scrambled Sobol set with the fixed seed :data:`EVALUATION_SEED`, inside the domain.

        They come from the domain's own interior sampler (an affine map of the unit cube for
        boxes, a measure-preserving map for balls, cylinders and simplices, rejection in the
        bounding box or from the operands' samplers for set operations), so the mean of f over them estimates the mean of f over the
        domain for any integrable f (no grid to alias with a periodic solution). The same
        ``n`` gives the same points on every call; in 1D they are sorted.
        """
        n = check_count(n, "number of evaluation points")
        p = self.sample_interior(n, "sobol", np.random.default_rng(EVALUATION_SEED))
        return np.sort(p, axis=0) if self.dim == 1 else p

    def __or__(self, other) -> "Domain":
        """Union ``self | other`` of two domains of the same dimension (:class:`~pinnkan.geometry.csg.Union`)."""
        from pinnkan.geometry.csg import Union

        return Union(self, other)

    def __sub__(self, other) -> "Domain":
        """Difference ``self - other``: ``self`` with ``other`` removed (:class:`~pinnkan.geometry.csg.Difference`)."""
        from pinnkan.geometry.csg import Difference

        return Difference(self, other)

    def __and__(self, other) -> "Domain":
        """Intersection ``self & other`` (:class:`~pinnkan.geometry.csg.Intersection`)."""
        from pinnkan.geometry.csg import Intersection

        return Intersection(self, other)


def generator(rng) -> np.random.Generator:
    """Return ``rng`` if it is a numpy Generator, or a new one seeded with ``rng``."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def no_mesh_error(domain: Domain) -> ProblemError:
    """The error raised by ``mesh`` for a domain of more than 3 dimensions."""
    return ProblemError(
        f"{domain!r} is {domain.dim}-dimensional, and no mesh exists beyond 3 dimensions (there "
        "are no VTK cells for it); evaluate the solution on points instead, or export 2-D or "
        "3-D slices of it."
    )


def check_resolution(resolution, shape: str) -> int:
    """Return ``resolution`` as an int >= 1 or raise ProblemError naming ``shape``."""
    if isinstance(resolution, bool) or not isinstance(resolution, Integral) or resolution < 1:
        raise ProblemError(
            f"{shape}: the mesh resolution must be a positive integer, got {resolution!r}."
        )
    return int(resolution)
