"""Loss terms, one class per kind: where a term's points come from and what its residual is.

Every term is ``weight * mean(residual**2)`` over its points. A term's compiled expression
``value(env) -> (N,)`` reads coordinate, placeholder (field derivative) and normal tensors from
``env`` (see :meth:`pinnkan.problem.compile.CompiledProblem.env`); :meth:`Term.residual` turns it
into the residual, and :meth:`Term.draw` draws the term's points from a collocation sampler
(an object with the methods of :class:`pinnkan.geometry.sampling.CollocationSampler`).

Kinds: :class:`EquationTerm` (interior collocation points), :class:`BoundaryTerm` (the
boundary, or the lateral surface in space-time), :class:`InitialTerm` (the slice t = t0),
:class:`PeriodicTerm` (matched pairs on opposite faces), :class:`InterfaceTerm` (a plane
x_axis = value inside the domain) and :class:`DataTerm` (observation points). A new kind is one
new subclass with its own ``draw`` (and ``residual`` when it is not the expression itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp
import torch

Key = tuple[int, tuple[int, ...]]  # (field index, multi-index alpha): the derivative d^alpha u_field
from pinnkan.errors import ProblemError

AsTensor = Callable[[np.ndarray], torch.Tensor]


@dataclass
class TermPoints:
    """Points of one loss term: ``points`` (N, d); for boundary terms ``normals`` (N, d); for data
    terms ``observed`` (N,) values. A periodic term's points are (2m, d): lo points, then partners.
    ``point_weights`` (n_residuals,), when set, weight the squared residuals: the term's mean
    square becomes mean(point_weights * r^2) (the causal weights of training). ``n_whole``, when
    set, says these points are one process's share of a set of ``n_whole`` residuals (data-
    parallel training): the term's mean divides by n_whole, so the shares' losses add up to the
    whole set's (:attr:`mean_over`)."""

    term: "Term"
    points: torch.Tensor
    normals: torch.Tensor | None = None
    observed: torch.Tensor | None = None
    point_weights: torch.Tensor | None = None
    n_whole: int | None = None

    @property
    def n_residuals(self) -> int:
        return self.points.shape[0] // 2 if self.term.paired else self.points.shape[0]

    @property
    def mean_over(self) -> int:
        """The count the term's mean square divides by: ``n_whole`` for a share, else n_residuals."""
        return self.n_residuals if self.n_whole is None else self.n_whole


@dataclass
class Term:
    """One loss term (abstract): ``weight * mean(residual**2)`` over its points.

    derivatives: keys (field, alpha) the residual needs from the derivative engine.
    value: ``f(env) -> (N,)``, the compiled ``expression`` with fields replaced by placeholders.
    Class attributes: ``kind`` (a label for messages), ``is_equation`` (an equation rather than a
    condition), ``paired`` (points come in (lo, hi) pairs, one residual per pair),
    ``needs_normals``, ``select`` (None: no selection of a part of the domain).
    """

    label: str
    weight: float
    derivatives: set[Key]
    value: Callable
    expression: sp.Expr

    kind = "term"
    is_equation = False
    paired = False
    needs_normals = False
    select = None

    def residual(self, env: dict) -> torch.Tensor:
        """r = value(env), shape (N,)."""
        return self.value(env)

    def draw(self, compiled, sampler, interior: torch.Tensor, n_boundary: int, as_tensor: AsTensor) -> TermPoints:
        """This term's points: ``interior`` (n, d) is the interior set shared by the equations,
        ``n_boundary`` the number of points (or pairs) a condition draws, ``as_tensor`` the
        conversion of an (m, d) array to the training dtype and device."""
        raise NotImplementedError(f"{type(self).__name__} does not draw points")

    def with_boundary_points(self, tp: TermPoints, points: np.ndarray, as_tensor: AsTensor) -> TermPoints:
        """``tp`` with boundary ``points`` (m, d) added where the term holds there; conditions
        keep their own points (see ``equations_on_boundary`` of ``sample_points``)."""
        return tp


@dataclass
class EquationTerm(Term):
    """An equation on the interior collocation points, or on the part of them where ``select``
    (``f(points (m, d) ndarray) -> bool (m,)``) holds for an equation of a subdomain."""

    select: Callable | None = None

    kind = "interior"
    is_equation = True

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        if self.select is None:
            return TermPoints(self, interior)
        mask = torch.as_tensor(self.select(interior.cpu().numpy()), device=interior.device)
        if not bool(mask.any()):
            raise ProblemError(
                f"In {compiled.location}, the region of {self.label} ({self.expression} on "
                "its on=... relation) holds none of the interior collocation points; check the relation."
            )
        return TermPoints(self, interior[mask])

    def with_boundary_points(self, tp, points, as_tensor) -> TermPoints:
        extra = points if self.select is None else points[np.asarray(self.select(points), dtype=bool)]
        return TermPoints(self, torch.cat([tp.points, as_tensor(extra)]))


@dataclass
class BoundaryTerm(Term):
    """A Dirichlet, Neumann or Robin condition on the boundary (the part ``select`` keeps).

    needs_normals: the residual reads the unit outward normal (env ``_n0``, ``_n1``, ...).
    data: the prescribed value ``f(env of coordinates) -> (N,)``, checked finite at the points.
    """

    select: Callable | None = None
    needs_normals: bool = False
    data: Callable | None = None

    kind = "boundary"

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        try:
            pts, normals = sampler.boundary(n_boundary, select=self.select, label=self.label)
        except ProblemError as exc:
            raise ProblemError(f"In {compiled.location}: {exc}") from None
        compiled.check_data(self, pts)
        return TermPoints(self, as_tensor(pts), as_tensor(normals))


@dataclass
class InitialTerm(Term):
    """An initial condition on ``n_boundary`` points of the slice t = t0; ``data`` as for
    :class:`BoundaryTerm`."""

    data: Callable | None = None

    kind = "initial"

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        pts = sampler.initial(n_boundary)
        compiled.check_data(self, pts)
        return TermPoints(self, as_tensor(pts))


@dataclass
class PeriodicTerm(Term):
    """Periodicity along coordinate ``axis``: points (2m, d), the m "lo" points on the face
    x_axis = lo then their m "hi" partners; residual (m,) = value(hi) - value(lo), where value is
    the ``order``-th derivative of the field along the axis."""

    axis: int = 0
    order: int = 0

    kind = "periodic"
    paired = True

    def residual(self, env: dict) -> torch.Tensor:
        v = self.value(env)
        m = v.shape[0] // 2
        return v[m:] - v[:m]

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        return TermPoints(self, as_tensor(sampler.periodic(n_boundary, self.axis)))


@dataclass
class InterfaceTerm(Term):
    """A condition on the interior plane x_axis = value, ``plane = (axis, value)``: ``n_boundary``
    points of the domain on that plane."""

    plane: tuple[int, float] = (0, 0.0)

    kind = "interface"

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        axis, value = self.plane
        return TermPoints(self, as_tensor(sampler.plane(n_boundary, axis, value)))


@dataclass
class DataTerm(Term):
    """Observations field(x_i) = v_i: ``observed = (points (n, d), values (n,))`` numpy arrays;
    the residual reads the values as env ``_obs``."""

    observed: tuple = field(default_factory=lambda: (np.zeros((0, 0)), np.zeros(0)))

    kind = "data"

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        pts, values = self.observed
        return TermPoints(self, as_tensor(pts), observed=as_tensor(values))
