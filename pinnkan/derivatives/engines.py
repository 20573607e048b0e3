"""Derivatives of a network with respect to its inputs.

A derivative request is a key ``(field, alpha)``: output column ``field`` of the network and a
multi-index ``alpha`` (one non-negative count per input coordinate), meaning
``d^|alpha| u_field / dx_0^alpha_0 ... dx_{d-1}^alpha_{d-1}``. An engine maps a network, points
``x`` of shape (N, d) and a set of keys to ``{key: Tensor (N,)}``.

Engines are interchangeable behind :func:`get_engine`; every residual in pinnkan goes through one.
A piecewise module (one with ``pieces(x)``, the time windows of
:class:`~pinnkan.networks.windowed.WindowedModel`) is differentiated piece by piece
(:func:`by_pieces`) by the jet and auto engines; autograd differentiates its forward directly.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from pinnkan.problem.terms import Key  # (field index, multi-index alpha)


def order(key: Key) -> int:
    """Total order |alpha| of a derivative key."""
    return sum(key[1])


class AutogradEngine:
    """Nested reverse-mode autograd, each distinct derivative computed once.

    A key of order m is obtained from its parent of order m-1 (the multi-index with its last
    non-zero count lowered by one) by one ``torch.autograd.grad`` call, which yields the
    derivative of the parent with respect to all d inputs at once; every one of those is cached.
    So a 2D Laplacian costs three backward passes: grad u, grad u_x, grad u_y. This relies on the
    network acting on each point independently (no coupling across the batch).
    """

    name = "autograd"

    def __call__(self, model: Callable, x: torch.Tensor, keys: Iterable[Key], create_graph: bool = True):
        keys = set(keys)
        need_grad = any(order(k) > 0 for k in keys)
        if need_grad and not x.requires_grad:
            x = x.detach().requires_grad_(True)
        out = model(x)
        d = x.shape[1]
        cache: dict[Key, torch.Tensor] = {}
        for f in range(out.shape[1]):
            cache[(f, (0,) * d)] = out[:, f]

        def compute(key: Key) -> torch.Tensor:
            if key in cache:
                return cache[key]
            field, alpha = key
            j = max(i for i, a in enumerate(alpha) if a > 0)
            parent = (field, alpha[:j] + (alpha[j] - 1,) + alpha[j + 1:])
            p = compute(parent)
            if p.requires_grad:
                graph = create_graph or not _is_last(key, keys)
                (g,) = torch.autograd.grad(p.sum(), x, create_graph=graph, retain_graph=True, allow_unused=True)
            else:
                g = None
            if g is None:
                g = torch.zeros_like(x)
            for i in range(d):
                child = parent[1][:i] + (parent[1][i] + 1,) + parent[1][i + 1:]
                cache.setdefault((field, child), g[:, i])
            return cache[key]

        for key in sorted(keys, key=order):
            compute(key)
        return {k: cache[k] for k in keys}


def _is_last(key: Key, keys: set[Key]) -> bool:
    """True when no requested key needs ``key`` as an ancestor (its graph can then be dropped)."""
    return order(key) >= max(order(k) for k in keys)


class JetEngine:
    """Forward-mode jets (:mod:`pinnkan.derivatives.jets`): value, gradient and the needed second
    derivatives are propagated through the layers in closed form, in one forward pass.

    Handles KANs and MLPs with tanh/sin/silu activations and derivatives up to order 2; any
    other request is passed to the :class:`AutogradEngine`, which serves as its reference.
    With ``create_graph=False`` (evaluation) no autograd graph is built at all.
    """

    name = "jet"

    def __init__(self):
        self.fallback = AutogradEngine()

    def __call__(self, model: Callable, x: torch.Tensor, keys: Iterable[Key], create_graph: bool = True):
        from pinnkan.derivatives.jets import jet_forward, read_jet, second_order_pairs, supports

        keys = set(keys)
        if hasattr(model, "pieces"):
            return by_pieces(self, model, x, keys, create_graph)
        if not supports(model) or any(order(k) > 2 for k in keys):
            return self.fallback(model, x, keys, create_graph=create_graph)
        pairs = second_order_pairs(keys)
        with torch.set_grad_enabled(create_graph and torch.is_grad_enabled()):
            J = jet_forward(model, x, pairs)
        return read_jet(J, keys, pairs)


# A loss and its gradient through nested autograd cost O(G+k) per edge (dense basis in the
# layer's forward), through the jets O(k+1) (local basis), with more operations per point.
# Measured on one CPU core, KAN [2, 10, 1], 2304 points, interleaved medians (docs/performance.md):
# autograd ahead up to grid 15 (9.2 against 13.3 ms), even between grids 20 and 30 (the tie moved
# between two runs), the jets ahead on grid 40 (12.6 against 24.0).
JET_MIN_GRID = 24


def prefers_jets(model) -> bool:
    """The rule of the ``"auto"`` engine: jets for a KAN with a uniform B-spline layer of at least
    ``JET_MIN_GRID`` cells (the jets' cost does not grow with the grid), autograd otherwise; for
    a network with exact constraints, the rule of the network inside."""
    from pinnkan.derivatives.jets import core_network, is_local
    from pinnkan.networks.kan import KAN

    model = core_network(model)
    return isinstance(model, KAN) and any(is_local(l) and l.grid >= JET_MIN_GRID for l in model.layers)


class AutoEngine:
    """Picks, call by call, the engine that is faster for ``model`` (:func:`prefers_jets`), so a
    multilevel run switches to the jets when its grid grows past ``JET_MIN_GRID``. Both give the
    same values up to rounding."""

    name = "auto"

    def __init__(self):
        self.jet, self.autograd = JetEngine(), AutogradEngine()

    def __call__(self, model: Callable, x: torch.Tensor, keys: Iterable[Key], create_graph: bool = True):
        if hasattr(model, "pieces"):
            return by_pieces(self, model, x, set(keys), create_graph)
        engine = self.jet if prefers_jets(model) else self.autograd
        return engine(model, x, keys, create_graph=create_graph)


def by_pieces(engine, model, x: torch.Tensor, keys: set, create_graph: bool = True) -> dict:
    """Derivatives of a piecewise module (one with ``pieces(x) -> [(rows, network)]``, such as
    :class:`~pinnkan.networks.windowed.WindowedModel`): each piece's network through ``engine``
    on its own points x[rows], the values scattered back to the rows. {key: (N,)}."""
    from pinnkan.networks.windowed import scatter_pieces

    pieces = model.pieces(x)
    if len(pieces) == 1:
        return engine(pieces[0][1], x, keys, create_graph=create_graph)
    return scatter_pieces([(rows, engine(net, x[rows], keys, create_graph=create_graph)) for rows, net in pieces],
                          x.shape[0])


ENGINES = {"auto": AutoEngine, "autograd": AutogradEngine, "jet": JetEngine}


def get_engine(name: str = "auto"):
    """Return a derivative engine by name: ``"auto"`` (default; :class:`AutoEngine`),
    ``"autograd"`` (nested reverse mode, the reference) or ``"jet"`` (forward mode; falls back
    to autograd where it does not apply). See docs/performance.md for their costs."""
    from pinnkan.errors import OptionError

    if name not in ENGINES:
        raise OptionError(f"Unknown derivative engine {name!r}; choose one of {', '.join(ENGINES)}.")
    return ENGINES[name]()
