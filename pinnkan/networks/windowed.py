"""One solution joined from the networks of consecutive time windows (time marching).

The time interval [t_0, t_K] is split at the edges t_0 < t_1 < ... < t_K; network k holds the
solution on window k = [t_k, t_{k+1}). The joined module is piecewise in time:

    u(x, t) = u_k(x, t)   for t_k <= t < t_{k+1}   (k = 0 .. K-1; t = t_K belongs to window K-1),

so a point exactly at an inner edge t_k belongs to the later window k. Times before t_0 go to
window 0 and times after t_K to window K-1 (each window network extrapolates there).

Derivatives of the joined module at a point are those of its window's network: the derivative
engines evaluate each window's network on its own points (:meth:`WindowedModel.pieces`) and
scatter the values back; nested autograd through :meth:`WindowedModel.forward` gives the same.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from pinnkan.networks.mlp import BoxNormalization


def window_index(t: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """The window k of each time t (N,): the number of inner edges t_1 .. t_{K-1} that are <= t,
    so t_k <= t < t_{k+1} gives k, t = t_k gives k (the later window), t >= t_{K-1} gives K - 1.
    ``edges`` (K + 1,) increasing. Long tensor (N,)."""
    inner = edges[1:-1].to(dtype=t.dtype, device=t.device).contiguous()
    return torch.searchsorted(inner, t.contiguous(), right=True)


def check_edges(edges) -> list[float]:
    """``edges`` as a list of K + 1 >= 2 strictly increasing finite floats, else ValueError."""
    out = [float(e) for e in edges]
    if len(out) < 2 or any(not b > a for a, b in zip(out, out[1:])) or any(e != e or abs(e) == float("inf")
                                                                           for e in out):
        raise ValueError(f"time window edges must be at least two increasing finite numbers, got {edges!r}")
    return out


class WindowedModel(nn.Module):
    """The networks ``nets`` (K modules mapping (N, d) to (N, F)) of the time windows between
    ``edges`` (K + 1 increasing times) joined along input column ``axis`` (time).
    forward: (N, d) -> (N, F), row i from network k = :func:`window_index` of x[i, axis]."""

    def __init__(self, nets, edges, axis: int):
        super().__init__()
        edges = check_edges(edges)
        if len(nets) != len(edges) - 1:
            raise ValueError(f"{len(nets)} window networks for {len(edges) - 1} windows")
        self.windows = nn.ModuleList(nets)
        self.axis = int(axis)
        p = next(self.windows[0].parameters())
        self.register_buffer("edges", torch.tensor(edges, dtype=p.dtype, device=p.device))

    @property
    def n_windows(self) -> int:
        return len(self.windows)

    def pieces(self, x: torch.Tensor) -> list[tuple[torch.Tensor, nn.Module]]:
        """[(rows (n_k,) long, network k)] for the windows that hold some of the points x (N, d);
        the rows of all pieces together are 0 .. N-1, each once (no points: one empty piece of
        window 0)."""
        k = window_index(x[:, self.axis].detach(), self.edges)
        out = []
        for i, net in enumerate(self.windows):
            rows = torch.nonzero(k == i, as_tuple=True)[0]
            if rows.numel():
                out.append((rows, net))
        return out or [(k, self.windows[0])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pieces = self.pieces(x)
        if len(pieces) == 1:
            return pieces[0][1](x)
        rows = torch.cat([r for r, _ in pieces])
        values = torch.cat([net(x[r]) for r, net in pieces])
        return values[torch.argsort(rows)]

    @property
    def n_params(self) -> int:
        """Trainable scalars of all window networks together."""
        return sum(int(getattr(n, "n_params", sum(p.numel() for p in n.parameters() if p.requires_grad)))
                   for n in self.windows)

    def describe(self) -> str:
        inner = self.windows[0]
        what = inner.describe() if hasattr(inner, "describe") else type(inner).__name__
        return f"{what}, {self.n_windows} time windows"


def scatter_pieces(pieces: list[tuple[torch.Tensor, dict]], n: int) -> dict:
    """Join per-piece derivative values [(rows (n_k,), {key: (n_k,)})] into {key: (n,)}, row
    rows[j] of the result taken from entry j of its piece (the rows of all pieces cover 0 .. n-1
    once)."""
    rows = torch.cat([r for r, _ in pieces])
    order = torch.argsort(rows)
    if rows.numel() != n:
        raise ValueError(f"pieces cover {rows.numel()} of {n} points")
    keys = pieces[0][1].keys()
    return {key: torch.cat([values[key] for _, values in pieces])[order] for key in keys}


def with_input_box(net: nn.Module, bounds) -> nn.Module:
    """A copy of ``net`` (a KAN or MLP, with its ``normalize`` input map, or a
    :class:`~pinnkan.networks.constraints.ConstrainedNetwork` around one) whose inputs are
    normalised from the box ``bounds`` = (lo, hi) instead: if the old box was [a, b] and the new
    [a', b'], the copy computes x' -> net(a + (x' - a') (b - a) / (b' - a')), the same function
    moved onto the new box (for the next time window: the previous window's solution shifted in
    time as its starting guess). Inside a constrained network the inner network's box is the
    embedded box of ``bounds`` (periodic coordinates as their cos and sin in [-1, 1])."""
    out = copy.deepcopy(net)
    p = next(net.parameters())
    target = out
    if hasattr(out, "inner"):  # a constrained network: its inner network sees the embedded inputs
        from pinnkan.networks.constraints import embedded_bounds

        target, bounds = out.inner, embedded_bounds(bounds, out.periodic)
    target.normalize = BoxNormalization(bounds, len(bounds[0]), p.dtype).to(p.device)
    return out


def window_box(bounds, axis: int, t0: float, t1: float) -> tuple[list[float], list[float]]:
    """The box ``bounds`` = (lo, hi) with coordinate ``axis`` (time) restricted to [t0, t1]."""
    lo, hi = [float(v) for v in bounds[0]], [float(v) for v in bounds[1]]
    lo[axis], hi[axis] = float(t0), float(t1)
    return lo, hi
