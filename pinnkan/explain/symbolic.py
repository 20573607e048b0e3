"""The symbolic formula of a KAN: every edge matched to a library function
(:mod:`pinnkan.explain.library`), then the whole network composed in sympy.

pinnkan's KAN computes z_0 = s * x + h (the box normalisation, per coordinate),
y_l = Phi_l(z_l) (y_lj = sum_i phi_lji(z_li)) and z_{l+1} = tanh(y_l) between layers. An edge
of the first layer is fitted as a function of the coordinate x_i itself (phi(s_i x_i + h_i): the
fitted inner map absorbs the normalisation); an edge of a later layer both as a function of its
input t = tanh(y) and as a function of the pre-activation y (psi(y) = phi(tanh(y))), and the
better of the two is kept (the tanh form counts one more in complexity). The composed formula is
u_j = sum_i f_{L-1,j,i}(v_{L-1,i}), v_0 = x and v_{l,i} = y_{l-1,i} or tanh(y_{l-1,i}) as fitted.
Edges that are zero (pruned) contribute 0 exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
import torch

from pinnkan.evaluation.residuals import kan_edge_values, kan_layer_inputs
from pinnkan.explain.library import LIBRARY, EdgeFit, fit_edge
from pinnkan.explain.scores import as_points, check_kan


@dataclass
class SymbolicEdge:
    """The chosen fit of edge (layer, out, in): ``fit``, the variable it is a function of
    (``on``: "x" the coordinate, "y" the pre-activation, "t" = tanh(y)), the samples' range and
    the runner-up fits (``others``)."""

    layer: int
    out: int
    inp: int
    on: str
    fit: EdgeFit | None  # None: a zero (pruned) edge
    lo: float = 0.0
    hi: float = 0.0
    others: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"layer": self.layer, "out": self.out, "in": self.inp, "on": self.on, "range": [self.lo, self.hi],
                **(self.fit.as_dict() if self.fit is not None else {"function": "pruned"}),
                "alternatives": [{"function": f.name, "r2": f.r2} for f in self.others]}


def _linspace_range(v: torch.Tensor, n: int) -> torch.Tensor:
    """n points spanning the values v (N,) take."""
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1e-12
    return torch.linspace(lo, hi, n, dtype=v.dtype, device=v.device)


def _single_edge(layer, j: int, i: int, z: torch.Tensor) -> torch.Tensor:
    """phi_ji at the values z (n,) of input i (the other inputs at 0 do not enter edge (j, i))."""
    full = torch.zeros(z.shape[0], layer.in_features, dtype=z.dtype, device=z.device)
    full[:, i] = z
    return kan_edge_values(layer, full)[:, j, i]


def _is_zero_edge(layer, j: int, i: int) -> bool:
    zero = not bool(layer.coef[j, i].any())
    if layer.base == "silu":
        zero = zero and float(layer.w_base[j, i]) == 0.0
    return zero


def fit_edges(model, points, library=LIBRARY, n_samples: int = 201, grid_size: int = 31,
              complexity_weight: float = 0.5) -> list[SymbolicEdge]:
    """The chosen fit of every edge of the KAN ``model``, read on ``points`` (N, d) (the samples
    of each edge span the range its input takes there)."""
    check_kan(model, "the symbolic fit")
    edges = []
    with torch.no_grad():
        pts = as_points(model, points)
        inputs = kan_layer_inputs(model, pts)
        scale, shift = _normalisation(model, pts)
        for l, layer in enumerate(model.layers):
            pre = model.layers[l - 1](inputs[l - 1]) if l > 0 else None  # y_{l-1}, z_l = tanh(y_{l-1})
            for i in range(layer.in_features):
                if l == 0:
                    xs = _linspace_range(pts[:, i], n_samples)
                    variants = [("x", xs, xs * scale[i] + shift[i])]
                else:
                    ys = _linspace_range(pre[:, i], n_samples)
                    ts = torch.tanh(ys)
                    variants = [("t", ts, ts), ("y", ys, ts)]
                for j in range(layer.out_features):
                    if _is_zero_edge(layer, j, i):
                        edges.append(SymbolicEdge(l, j, i, variants[0][0], None))
                        continue
                    best = None
                    for on, var, z in variants:
                        phi = _single_edge(layer, j, i, z).double().cpu().numpy()
                        v = var.double().cpu().numpy()
                        fits = fit_edge(v, phi, library, grid_size, complexity_weight)
                        if on == "t":
                            for f in fits:
                                f.score += complexity_weight
                        cand = (fits[0].score, on, fits, float(v.min()), float(v.max()))
                        if best is None or cand[0] < best[0]:
                            best = cand
                    _, on, fits, lo, hi = best
                    edges.append(SymbolicEdge(l, j, i, on, fits[0], lo, hi, fits[1:4]))
    return edges


def _normalisation(model, pts):
    """(scale (d,), shift (d,)) of the model's input map z = scale * x + shift."""
    n = model.normalize
    d = pts.shape[1]
    if getattr(n, "active", False):
        return n.scale.reshape(-1), n.shift.reshape(-1)
    return torch.ones(d, dtype=pts.dtype, device=pts.device), torch.zeros(d, dtype=pts.dtype, device=pts.device)


def compose(model, edges: list[SymbolicEdge], coordinates) -> list[sp.Expr]:
    """The formula of each output of ``model`` from the edge fits, in the sympy symbols
    ``coordinates`` (one per input)."""
    values = list(coordinates)
    by_key = {(e.layer, e.out, e.inp): e for e in edges}
    for l, layer in enumerate(model.layers):
        pre = []
        for j in range(layer.out_features):
            terms = []
            for i in range(layer.in_features):
                e = by_key[(l, j, i)]
                if e.fit is None:
                    continue
                var = values[i] if l == 0 or e.on == "y" else sp.tanh(values[i])
                terms.append(e.fit.expr(var))
            pre.append(sp.Add(*terms))
        values = pre
    return values


def coordinate_symbols(names, d: int) -> list[sp.Symbol]:
    """Symbols of the d coordinates: ``names`` when given, else x, y, z (d <= 3) or x1..xd."""
    if names is None:
        names = ["x", "y", "z"][:d] if d <= 3 else [f"x{k + 1}" for k in range(d)]
    return [sp.Symbol(str(n)) for n in names]
