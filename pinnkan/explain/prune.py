"""Pruning a KAN: drop the edges whose L1 score is below a threshold, then the hidden nodes left
without incoming or outgoing edges, and return the smaller KAN.

Edge (l, j, i) with |phi_lji|_1 < threshold is set to zero (its spline coefficients and base
weight). A hidden node with no outgoing edge left contributes nothing and is removed; one with no
incoming edge left has the constant value tanh(0) = 0, so each of its outgoing edges adds the
constant phi_{l,j,i}(0) to node j: that constant is moved onto another edge into j (B-splines sum
to one: adding c to all coefficients of an edge adds c to it, also on the extended end pieces)
and the node is removed. Removing nodes is exact; only the zeroed edges change the function, so
threshold 0 changes nothing and pruning an edge that is already zero changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pinnkan.explain.scores import check_kan, edge_scores
from pinnkan.evaluation.residuals import kan_edge_values


@dataclass
class Pruned:
    """A pruned KAN: ``model`` (a plain KAN of ``model.widths``), ``masks`` (one bool tensor
    (out, in) per layer: the edges kept), ``kept`` (per node layer, the indices of the original
    nodes kept) and ``removed_edges``, ``removed_nodes`` (counts against the original)."""

    model: nn.Module
    masks: list[torch.Tensor]
    kept: list[list[int]]
    removed_edges: int
    removed_nodes: int


def _edge_at_zero(layer, j: int, i: int) -> torch.Tensor:
    """phi_ji(0) of a layer (a 0-dim tensor)."""
    z = torch.zeros(1, layer.in_features, dtype=layer.coef.dtype, device=layer.coef.device)
    return kan_edge_values(layer, z)[0, j, i]


def _zero_edges(layer, drop: np.ndarray) -> None:
    """Set the edges ``drop`` (out, in) of a layer to zero, in place."""
    keep = torch.as_tensor(~drop, dtype=layer.coef.dtype, device=layer.coef.device)
    layer.coef.mul_(keep[..., None])
    if layer.base == "silu":
        layer.w_base.mul_(keep)


def prune(model, points, threshold: float = 1e-2) -> Pruned:
    """The KAN ``model`` pruned at ``threshold`` on the scores over ``points`` (N, d); see the
    module docstring. ``model`` is not changed."""
    check_kan(model, "prune")
    if not (threshold >= 0 and np.isfinite(threshold)):
        from pinnkan.errors import OptionError

        raise OptionError(f"The pruning threshold must be a finite number >= 0, got {threshold}.")
    basis = model.spline_basis
    net = model.to_basis("bspline") if basis != "bspline" else copy.deepcopy(model)
    scores = edge_scores(net, points)
    masks = [s >= threshold for s in scores]  # (out, in) bool per layer
    n_edges = sum(int(m.size) for m in masks)
    alive = [np.ones(w, dtype=bool) for w in net.widths]
    with torch.no_grad():
        for layer, m in zip(net.layers, masks):
            _zero_edges(layer, ~m)
        changed = True
        while changed:
            changed = False
            for h in range(1, len(net.widths) - 1):  # hidden node layers
                for i in np.flatnonzero(alive[h]):
                    if alive[h].sum() == 1:
                        break  # keep one node per hidden layer
                    has_in = bool(masks[h - 1][i][alive[h - 1]].any())
                    has_out = bool(masks[h][:, i].any())
                    if has_in and has_out:
                        continue
                    if not has_in:  # constant node tanh(0) = 0: move phi_ji(0) onto another edge into j
                        layer = net.layers[h]
                        others = [k for k in np.flatnonzero(alive[h]) if k != i]
                        for j in np.flatnonzero(masks[h][:, i]):
                            onto = next((k for k in others if masks[h][j, k]), others[0])
                            layer.coef[j, onto] += _edge_at_zero(layer, int(j), int(i))
                            masks[h][j, onto] = True
                    alive[h][i] = False
                    masks[h - 1][i, :] = False
                    masks[h][:, i] = False
                    _zero_edges(net.layers[h - 1], ~masks[h - 1])
                    _zero_edges(net.layers[h], ~masks[h])
                    changed = True
    kept = [list(map(int, np.flatnonzero(a))) for a in alive]
    small = _sub_kan(net, kept)
    small_masks = [torch.as_tensor(m[kept[l + 1]][:, kept[l]], device=layer.coef.device)
                   for l, (m, layer) in enumerate(zip(masks, small.layers))]
    if basis != "bspline":
        small = small.to_basis(basis)
    removed_edges = n_edges - sum(int(m.sum()) for m in small_masks)
    removed_nodes = sum(len(a) - len(k) for a, k in zip(alive, kept))
    return Pruned(small, small_masks, kept, removed_edges, removed_nodes)


def _sub_kan(net, kept: list[list[int]]):
    """The KAN of the nodes ``kept`` (per node layer) of ``net``: the same edge functions."""
    small = copy.deepcopy(net)
    small.widths = [len(k) for k in kept]
    for l, layer in enumerate(small.layers):
        rows, cols = kept[l + 1], kept[l]
        layer.in_features, layer.out_features = len(cols), len(rows)
        layer.coef = nn.Parameter(layer.coef.detach()[rows][:, cols].clone())
        if layer.base == "silu":
            layer.w_base = nn.Parameter(layer.w_base.detach()[rows][:, cols].clone())
        if layer.free_knots:
            layer.knot_logits = nn.Parameter(layer.knot_logits.detach()[cols].clone())
    return small


def masked_gradients(model, masks: list[torch.Tensor]) -> list:
    """Hooks that keep the pruned edges at zero while ``model`` trains: every gradient of the
    spline coefficients (and base weights) is multiplied by the mask (out, in). Returns the
    handles; call ``handle.remove()`` on each when done."""
    handles = []
    for layer, m in zip(model.layers, masks):
        mc = m[..., None].to(layer.coef.dtype)
        handles.append(layer.coef.register_hook(lambda g, mc=mc: g * mc))
        if layer.base == "silu":
            mb = m.to(layer.w_base.dtype)
            handles.append(layer.w_base.register_hook(lambda g, mb=mb: g * mb))
    return handles


def fine_tune(model, masks, compiled, engine, domain, steps: int, n_interior: int = 1024, n_boundary: int = 256,
              seed: int = 0):
    """``steps`` L-BFGS iterations of ``model`` (in place) on the PDE loss of ``compiled`` at fresh
    collocation points of ``domain``, the pruned edges (``masks``) held at zero. Returns the
    trainer's :class:`~pinnkan.training.trainer.History`."""
    from pinnkan.geometry.sampling import CollocationSampler
    from pinnkan.training.spec import SamplingSpec, ScheduleSpec
    from pinnkan.training.trainer import Trainer

    sampler = CollocationSampler(domain, method="sobol", seed=seed)
    trainer = Trainer(compiled, model, engine, sampler, ScheduleSpec(levels=(model.grid,), lbfgs_steps=steps),
                      SamplingSpec(n_interior=n_interior, n_boundary=n_boundary, seed=seed))
    handles = masked_gradients(model, masks)
    try:
        trainer.lbfgs(steps)
    finally:
        for h in handles:
            h.remove()
    with torch.no_grad():
        for layer, m in zip(model.layers, masks):
            layer.coef.mul_(m[..., None].to(layer.coef.dtype))
    return trainer.history
