"""The physics-informed loss: weighted mean squares of residuals over collocation points.

    L(theta) = sum_t w_t * mean_i r_t(x_i; theta)^2

with one term t per equation (interior points) and per condition (its boundary points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..compile import CompiledProblem, Term, check_boundary_data, where
from ..errors import ProblemError
from ..sampling import CollocationSampler


@dataclass
class TermPoints:
    """Points of one loss term: ``points`` (N, d) and, for boundary terms, ``normals`` (N, d)."""

    term: Term
    points: torch.Tensor
    normals: torch.Tensor | None = None


def sample_points(
    compiled: CompiledProblem,
    sampler: CollocationSampler,
    n_interior: int,
    n_boundary: int,
    dtype: torch.dtype,
    device: torch.device,
) -> list[TermPoints]:
    """Draw collocation points: one interior set shared by all equations, one set per condition.

    Each condition gets ``n_boundary`` points on the part of the boundary it selects.
    """
    as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
    interior = as_t(sampler.interior(n_interior))
    out = []
    for term in compiled.terms:
        if term.kind == "interior":
            out.append(TermPoints(term, interior))
        else:
            try:
                pts, normals = sampler.boundary(n_boundary, select=term.select, label=term.label)
            except ProblemError as exc:
                raise ProblemError(f"In {where(compiled.problem)}: {exc}") from None
            check_boundary_data(compiled, term, pts)
            out.append(TermPoints(term, as_t(pts), as_t(normals)))
    return out


def residual(compiled: CompiledProblem, model, engine, tp: TermPoints, create_graph: bool = True) -> torch.Tensor:
    """Residual of one term at its points, shape (N,)."""
    values = engine(model, tp.points, tp.term.derivatives, create_graph=create_graph)
    env = compiled.env(tp.points, values, tp.normals)
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
