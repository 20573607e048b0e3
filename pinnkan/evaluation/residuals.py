"""The physics-informed loss: weighted mean squares of residuals over collocation points.

    L(theta) = sum_t w_t * mean_i r_t(x_i; theta)^2

with one term t per equation (interior points) and per condition (its boundary points); a term
whose points carry weights p_i (``TermPoints.point_weights``, the causal weights of
:mod:`pinnkan.training.causal`) contributes w_t * mean_i p_i r_t(x_i; theta)^2. When the points
are one process's share of a set of N_t (``TermPoints.n_whole``, data-parallel training), the
mean is sum_{i in share} / N_t, so the losses of the shares add up to the loss of the whole set.
"""

from __future__ import annotations

import numpy as np
import torch

from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.problem.compile import CompiledProblem, parameters_of
from pinnkan.problem.terms import TermPoints

__all__ = ["TermPoints", "mean_square", "residual", "sample_points", "term_residual", "total_loss"]


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
    ``point_weights`` p (N,); the parts are the plain mean squares either way (each mean as
    :func:`mean_square` takes it: over the whole set for a share)."""
    weights = weights or {}
    total = 0.0
    parts = {}
    for tp in data:
        r = residual(compiled, model, engine, tp)
        ms = mean_square(tp, r * r)
        parts[tp.term.label] = ms
        if tp.point_weights is not None:
            ms = mean_square(tp, tp.point_weights * r * r)
        total = total + weights.get(tp.term.label, tp.term.weight) * ms
    return total, parts


def mean_square(tp: TermPoints, r2: torch.Tensor) -> torch.Tensor:
    """The term's mean of ``r2`` (n_residuals,): r2.mean(), or sum(r2) / n_whole when ``tp`` is
    a share of a set of n_whole residuals (0 for an empty share). 0-dim tensor."""
    return r2.mean() if tp.n_whole is None else r2.sum() / tp.n_whole


# ------------------------------------------------------------------ KAN edges and sparsity

def kan_layer_inputs(model, points: torch.Tensor) -> list[torch.Tensor]:
    """The inputs z_l (N, widths[l]) of each layer of a :class:`~pinnkan.networks.kan.KAN`:
    z_0 = normalise(x), z_{l+1} = tanh(layer_l(z_l))."""
    z = model.normalize(points)
    out = []
    for i, layer in enumerate(model.layers):
        out.append(z)
        if i < len(model.layers) - 1:
            z = torch.tanh(layer(z))
    return out


def kan_edge_values(layer, z: torch.Tensor) -> torch.Tensor:
    """phi_ji(z_i) of every edge of a KAN layer: z (N, in) -> (N, out, in), with
    phi_ji(t) = sum_m coef[j, i, m] basis_m(t) [+ w_base[j, i] silu(t)]; sum over i = layer(z)."""
    values = torch.einsum("nim,jim->nji", layer.basis(z), layer.coef)
    if layer.base == "silu":
        values = values + torch.nn.functional.silu(z)[:, None, :] * layer.w_base
    return values


def kan_edge_l1(model, points: torch.Tensor) -> list[torch.Tensor]:
    """The L1 norms of the KAN paper, |phi_lji|_1 = mean_s |phi_lji(z_li(x_s))| over the points
    x_s (N, d): one (out, in) tensor per layer."""
    return [kan_edge_values(layer, z).abs().mean(0) for layer, z in zip(model.layers, kan_layer_inputs(model, points))]


def sparsity_penalty(model, points: torch.Tensor) -> torch.Tensor:
    """The KAN paper's sparsity regulariser (Liu et al. 2024, eq. 2.20 with mu_1 = mu_2 = 1):
    sum_l ( |Phi_l|_1 + S(Phi_l) ), |Phi_l|_1 = sum_ji |phi_lji|_1 and the entropy
    S(Phi_l) = -sum_ji p_lji log p_lji, p_lji = |phi_lji|_1 / |Phi_l|_1."""
    total = 0.0
    for a in kan_edge_l1(model, points):
        norm = a.sum()
        p = a / norm.clamp_min(torch.finfo(a.dtype).tiny)
        total = total + norm - (p * torch.log(p.clamp_min(torch.finfo(a.dtype).tiny))).sum()
    return total
