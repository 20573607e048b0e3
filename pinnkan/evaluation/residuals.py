"""The physics-informed loss: weighted mean squares of residuals over collocation points.

    L(theta) = sum_t w_t * mean_i r_t(x_i; theta)^2

with one term t per equation (interior points) and per condition (its boundary points); a term
whose points carry weights p_i (``TermPoints.point_weights``, the causal weights of
:mod:`pinnkan.training.causal`) contributes w_t * mean_i p_i r_t(x_i; theta)^2.
"""

from __future__ import annotations

import numpy as np
import torch

from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.problem.compile import CompiledProblem, parameters_of
from pinnkan.problem.terms import TermPoints

__all__ = ["TermPoints", "residual", "sample_points", "term_residual", "total_loss"]


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

    Each term draws its own (:meth:`pinnkan.problem.terms.Term.draw`, in the order of
    ``compiled.terms``): equations the interior set (or the part their region selects), boundary
    conditions ``n_boundary`` points on the part of the boundary they select, initial conditions
    ``n_boundary`` points on the initial slice, periodic conditions ``n_boundary`` matched pairs,
    interfaces ``n_boundary`` points on their plane, data terms their observation points.
    ``interior`` (n, d), when given, replaces the interior draw (adaptive sampling).

    ``equations_on_boundary`` adds ``n_boundary`` points of the whole boundary to the points of
    every equation, so that the equations hold up to the boundary, where interior points are
    sparse. They are drawn after all the others, which stay the same as without it.
    """
    as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)
    interior = as_t(sampler.interior(n_interior) if interior is None else interior)
    out = [term.draw(compiled, sampler, interior, n_boundary, as_t) for term in compiled.terms]
    if equations_on_boundary:
        pts, _ = sampler.boundary(n_boundary)
        out = [tp.term.with_boundary_points(tp, pts, as_t) for tp in out]
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
    """Return (loss scalar tensor, {term label: mean square residual (0-dim tensor)}).

    loss = sum_t w_t mean_i r_t(x_i)^2, or mean_i p_i r_t(x_i)^2 for a term with
    ``point_weights`` p (N,); the parts are the plain mean squares either way."""
    weights = weights or {}
    total = 0.0
    parts = {}
    for tp in data:
        r = residual(compiled, model, engine, tp)
        ms = (r * r).mean()
        parts[tp.term.label] = ms
        if tp.point_weights is not None:
            ms = (tp.point_weights * r * r).mean()
        total = total + weights.get(tp.term.label, tp.term.weight) * ms
    return total, parts
