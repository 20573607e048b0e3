"""The physics-informed loss: weighted mean squares of residuals over collocation points.

    L(theta) = sum_t w_t * mean_i r_t(x_i; theta)^2

with one term t per equation (interior points) and per condition (its boundary points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pinnkan.problem.compile import CompiledProblem, Term, check_boundary_data, parameters_of, where
from pinnkan.errors import ProblemError
from pinnkan.geometry.sampling import CollocationSampler


@dataclass
class TermPoints:
    """Points of one loss term: ``points`` (N, d); for boundary terms ``normals`` (N, d); for data
    terms ``observed`` (N,) values. A periodic term's points are (2m, d): lo points, then partners."""

    term: Term
    points: torch.Tensor
    normals: torch.Tensor | None = None
    observed: torch.Tensor | None = None

    @property
    def n_residuals(self) -> int:
        return self.points.shape[0] // 2 if self.term.paired else self.points.shape[0]


def sample_points(
    compiled: CompiledProblem,
    sampler: CollocationSampler,
    n_interior: int,
    n_boundary: int,
    dtype: torch.dtype,
    device: torch.device,
    interior: np.ndarray | None = None,
    equations_on_boundary: bool = False,
) -> list[TermPoints]:
    """Draw collocation points: one interior set shared by all equations, one set per condition.

    Each boundary condition gets ``n_boundary`` points on the part of the boundary it selects;
    initial conditions ``n_boundary`` points on the initial slice; periodic conditions
    ``n_boundary`` matched pairs; data terms their observation points. ``interior`` (n, d), when
    given, replaces the interior draw (adaptive sampling).

    ``equations_on_boundary`` adds ``n_boundary`` points of the whole boundary to the points of
    every equation, so that the equations hold up to the boundary, where interior points are
    sparse. They are drawn after all the others, which stay the same as without it.
    """
    as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
    interior = as_t(sampler.interior(n_interior) if interior is None else interior)
    out = []
    for term in compiled.terms:
        if term.kind == "interior" and term.select is not None:
            mask = torch.as_tensor(term.select(interior.cpu().numpy()), device=device)
            if not bool(mask.any()):
                raise ProblemError(
                    f"In {where(compiled.problem)}, the region of {term.label} ({term.expression} on "
                    "its on=... relation) holds none of the interior collocation points; check the relation."
                )
            out.append(TermPoints(term, interior[mask]))
        elif term.kind == "interior":
            out.append(TermPoints(term, interior))
        elif term.kind == "interface":
            out.append(TermPoints(term, as_t(sampler.plane(n_boundary, term.axis, term.observed[0]))))
        elif term.kind == "initial":
            pts = sampler.initial(n_boundary)
            check_boundary_data(compiled, term, pts)
            out.append(TermPoints(term, as_t(pts)))
        elif term.kind == "periodic":
            out.append(TermPoints(term, as_t(sampler.periodic(n_boundary, term.axis))))
        elif term.kind == "data":
            pts, values = term.observed
            out.append(TermPoints(term, as_t(pts), observed=as_t(values)))
        else:
            try:
                pts, normals = sampler.boundary(n_boundary, select=term.select, label=term.label)
            except ProblemError as exc:
                raise ProblemError(f"In {where(compiled.problem)}: {exc}") from None
            check_boundary_data(compiled, term, pts)
            out.append(TermPoints(term, as_t(pts), as_t(normals)))
    if equations_on_boundary:
        pts, _ = sampler.boundary(n_boundary)
        for i, tp in enumerate(out):
            if tp.term.kind == "interior":
                extra = pts if tp.term.select is None else pts[np.asarray(tp.term.select(pts), dtype=bool)]
                out[i] = TermPoints(tp.term, torch.cat([tp.points, as_t(extra)]))
    return out


def residual(compiled: CompiledProblem, model, engine, tp: TermPoints, create_graph: bool = True) -> torch.Tensor:
    """Residual of one term at its points, shape (N,)."""
    values = engine(model, tp.points, tp.term.derivatives, create_graph=create_graph)
    return term_residual(compiled, model, tp, values)


def term_residual(compiled: CompiledProblem, model, tp: TermPoints, values: dict, params: dict | None = None) -> torch.Tensor:
    """Residual (n_residuals,) of ``tp.term`` from the field derivative ``values`` at its points;
    ``params`` replaces the model's problem parameters ({name: 0-dim tensor}) when given."""
    params = parameters_of(model) if params is None else params
    env = compiled.env(tp.points, values, tp.normals if tp.term.needs_normals else None, params)
    if tp.observed is not None:
        env["_obs"] = tp.observed
    return tp.term.residual(env)


def total_loss(compiled: CompiledProblem, model, engine, data: list[TermPoints], weights: dict | None = None):
    """Return (loss scalar tensor, {term label: float mean square residual})."""
    weights = weights or {}
    total = 0.0
    parts = {}
    for tp in data:
        r = residual(compiled, model, engine, tp)
        ms = (r * r).mean()
        parts[tp.term.label] = ms
        total = total + weights.get(tp.term.label, tp.term.weight) * ms
    return total, parts
