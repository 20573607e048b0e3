"""Conditions imposed exactly through the network: periodic inputs, hard Dirichlet values and
exact initial values, so that their terms leave the loss.

A :class:`ConstrainedNetwork` wraps any network N (KAN, MLP) as

    u_f(x) = G_f(x) + Phi_f(x) * N_f(E(x))          per field f,

- E, the periodic embedding: coordinate x_j of period L = b - a becomes the two inputs
  (cos theta, sin theta), theta = 2 pi (x_j - a) / L, so u and all its derivatives are periodic;
- Phi_f = phi_D(x) (t - t0)^k: phi_D the approximate distance function of the Dirichlet part
  (:mod:`pinnkan.geometry.distance`; 1 without hard Dirichlet), k = 1 for an exact initial value,
  2 with an initial u_t as well, 0 without;
- G_f = sum_i w_i h_i + u0 + (t - t0) v0 with the Dirichlet data g_i of parts i, transfinite
  weights w_i (w = 1 for one part) and h_i = g_i - g_i(t0) - (t - t0) d_t g_i(t0) (the time
  terms only with exact initial values): G = g_i on part i (where u0 = g_i(t0) and v0 = d_t g_i(t0),
  i.e. for compatible data), G = u0 and d_t G = v0 at t = t0.

G, Phi and E have no parameters; the whole constraint is plain data (a description that
``model.pt`` stores: sympy expressions as nested lists, ADFs as in ``distance.evaluate``).
"""

from __future__ import annotations

import copy
import math

import sympy as sp
import torch
from torch import nn

from pinnkan.choices import EXACT_INITIAL, HARD_DIRICHLET, PERIODIC
from pinnkan.errors import OptionError
from pinnkan.geometry.distance import boundary_adf, evaluate, transfinite_weights
from pinnkan.problem.compile import selection, where
from pinnkan.problem.definition import Dirichlet, Initial, Periodic
from pinnkan.problem.symbolic import compile_expression
from pinnkan.problem.terms import BoundaryTerm, InitialTerm, PeriodicTerm



# ------------------------------------------------------------------ sympy <-> plain data

_SINGLETONS = {"Pi", "Exp1", "ImaginaryUnit", "Zero", "One", "NegativeOne", "Half", "Infinity", "NegativeInfinity",
               "NaN", "true", "false", "BooleanTrue", "BooleanFalse"}


def expression_to_data(expr) -> list:
    """A sympy expression as nested lists of names and numbers (what torch.load(weights_only)
    reads): ["Symbol", name], ["Integer", n], ["Rational", p, q], ["Float", x], ["S", name],
    [class name, [args...]] for classes of the sympy namespace. ValueError for anything else."""
    e = sp.sympify(expr)
    if isinstance(e, sp.Symbol):
        return ["Symbol", e.name]
    if isinstance(e, sp.Integer):
        return ["Integer", int(e)]
    if isinstance(e, sp.Rational):
        return ["Rational", int(e.p), int(e.q)]
    if isinstance(e, sp.Float):
        return ["Float", float(e)]
    name = type(e).__name__
    if not e.args:
        if name in _SINGLETONS:
            return ["S", name]
        raise ValueError(f"cannot store {e!r}")
    if getattr(sp, name, None) is not type(e):
        raise ValueError(f"cannot store {name} ({e})")
    return [name, [expression_to_data(a) for a in e.args]]


def expression_from_data(data) -> sp.Expr:
    """Inverse of :func:`expression_to_data`; only sympy classes are looked up, nothing is run."""
    kind = data[0]
    if kind == "Symbol":
        return sp.Symbol(str(data[1]))
    if kind == "Integer":
        return sp.Integer(int(data[1]))
    if kind == "Rational":
        return sp.Rational(int(data[1]), int(data[2]))
    if kind == "Float":
        return sp.Float(float(data[1]))
    if kind == "S":
        if data[1] in ("true", "BooleanTrue"):
            return sp.true
        if data[1] in ("false", "BooleanFalse"):
            return sp.false
        return getattr(sp.S, str(data[1]))
    cls = getattr(sp, str(kind), None)
    if not (isinstance(cls, type) and issubclass(cls, sp.Basic)):
        raise ValueError(f"not a sympy class: {kind!r}")
    return cls(*[expression_from_data(a) for a in data[1]])


# ------------------------------------------------------------------ the wrapped network

def embedded_width(dim: int, periodic) -> int:
    """Inputs of the inner network: d, plus one for each periodic coordinate (cos and sin)."""
    return dim + len(periodic)


def embedded_bounds(bounds, periodic):
    """The box of the embedded inputs: each periodic coordinate's (cos, sin) in [-1, 1]^2, the
    others their own range. bounds: (lo, hi) of length d -> (lo', hi') of length d + n_periodic."""
    lo, hi = (list(map(float, b)) for b in bounds)
    axes = {int(p[0]) for p in periodic}
    new_lo, new_hi = [], []
    for j in range(len(lo)):
        if j in axes:
            new_lo += [-1.0, -1.0]
            new_hi += [1.0, 1.0]
        else:
            new_lo.append(lo[j])
            new_hi.append(hi[j])
    return new_lo, new_hi


def periodic_embedding(x: torch.Tensor, periodic) -> torch.Tensor:
    """E(x): x (N, d) -> (N, d + n_periodic), coordinate j of ``periodic`` entry (j, a, L)
    replaced in place by cos(2 pi (x_j - a) / L), sin(2 pi (x_j - a) / L)."""
    by_axis = {int(j): (float(a), float(L)) for j, a, L in periodic}
    cols = []
    for j in range(x.shape[1]):
        if j in by_axis:
            a, L = by_axis[j]
            theta = (2 * math.pi / L) * (x[:, j] - a)
            cols += [torch.cos(theta), torch.sin(theta)]
        else:
            cols.append(x[:, j])
    return torch.stack(cols, dim=1)


class ConstrainedNetwork(nn.Module):
    """u_f = G_f(x) + Phi_f(x) N_f(E(x)) (module docstring) around the network ``inner``.

    description: {"coordinates": [names], "periodic": [[axis, a, L], ...], "fields": [{"field": f,
    "base": expression data, "parts": [[ADF, expression data], ...], "phi": ADF}, ...],
    "labels": [what is imposed]}. forward: (N, d) -> (N, n_fields)."""

    def __init__(self, inner: nn.Module, description: dict):
        super().__init__()
        self.inner = inner
        self.description = description
        self.periodic = [(int(j), float(a), float(L)) for j, a, L in description.get("periodic", [])]
        names = list(description["coordinates"])
        self._names = names
        self._fields = []
        for entry in description.get("fields", []):
            base = compile_expression(expression_from_data(entry["base"]), set(names), "constraint")
            parts = [(adf, compile_expression(expression_from_data(h), set(names), "constraint"))
                     for adf, h in entry.get("parts", [])]
            self._fields.append((int(entry["field"]), base, parts, entry["phi"]))

    @property
    def constrains_output(self) -> bool:
        return bool(self._fields)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The inner network's inputs E(x): (N, d) -> (N, d + n_periodic)."""
        return periodic_embedding(x, self.periodic) if self.periodic else x

    def fixed(self, x: torch.Tensor, n_fields: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(G, Phi), each (N, n_fields): G = 0 and Phi = 1 for unconstrained fields."""
        G = x.new_zeros(x.shape[0], n_fields)
        P = x.new_ones(x.shape[0], n_fields)
        if not self._fields:
            return G, P
        env = {n: x[:, i] for i, n in enumerate(self._names)}
        gs, ps, idx = [], [], []
        for f, base, parts, phi in self._fields:
            g = base(env)
            if parts:
                w = transfinite_weights([evaluate(adf, x) for adf, _ in parts])
                g = g + sum(wi * h(env) for wi, (_, h) in zip(w, parts))
            gs.append(g)
            ps.append(evaluate(phi, x))
            idx.append(f)
        cols = torch.tensor(idx, device=x.device)
        G = G.index_copy(1, cols, torch.stack(gs, dim=1))
        P = P.index_copy(1, cols, torch.stack(ps, dim=1))
        return G, P

    def forward(self, x):
        n = self.inner(self.embed(x))
        if not self._fields:
            return n
        G, P = self.fixed(x, n.shape[1])
        return G + P * n

    def refine(self, new_grid):
        """The same constraint around the inner network refined onto ``new_grid``: same function."""
        if not hasattr(self.inner, "refine"):
            raise OptionError("The inner network of this constraint cannot be refined.")
        inner = self.inner.refine(new_grid)
        self.inner, saved = None, self.inner  # do not deep-copy the old inner network
        try:
            new = copy.deepcopy(self)
        finally:
            self.inner = saved
        new.inner = inner
        return new

    @property
    def grid(self):
        return getattr(self.inner, "grid", None)

    @property
    def layers(self):
        return self.inner.layers

    def coefficient_names(self) -> list[str]:
        """The inner KAN's spline coefficients as named in this module's ``named_parameters()``."""
        return [f"inner.{n}" for n in self.inner.coefficient_names()]

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def describe(self) -> str:
        inner = self.inner.describe() if hasattr(self.inner, "describe") else type(self.inner).__name__
        labels = self.description.get("labels", [])
        return inner + (f"; exact: {', '.join(labels)}" if labels else "")


# ------------------------------------------------------------------ the plan of a problem

def _condition_label(cond, j: int) -> str:
    """The term label :func:`pinnkan.problem.compile.compile_problem` gives condition j."""
    return cond.label or f"{cond.kind} {j + 1}"


def _initial_order(cond: Initial, t) -> int:
    e = cond.expr
    return sum(int(n) for v, n in e.variable_count) if isinstance(e, sp.Derivative) else 0


def _stored(expr, what: str, loc: str) -> list:
    try:
        return expression_to_data(expr)
    except ValueError:
        raise OptionError(
            f"In {loc}, {what} ({expr}) cannot be imposed exactly: it uses a function that a model file "
            "cannot store (a table or a user function); use hard_dirichlet off / exact_initial off for it."
        ) from None


def plan_constraints(compiled, periodic: str = "auto", hard_dirichlet: str = "off", exact_initial: str = "off",
                     own_network: bool = False):
    """(description for :class:`ConstrainedNetwork` or None, the terms left in the loss).

    periodic "auto": embed coordinate x_j when every field is Periodic in x_j on a box-shaped
    space (else the penalty terms stay); "embed": the same, an OptionError where it does not
    apply; "penalty": the paired terms. hard_dirichlet / exact_initial "on": every Dirichlet
    condition / every Initial condition on a field value (and on its first time derivative)
    imposed exactly, an OptionError where one cannot be. ``own_network``: a user's network
    (solve(net=...)), which keeps its inputs and outputs: only "auto" and "off" apply."""
    for name, value, choices in (("periodic", periodic, PERIODIC), ("hard_dirichlet", hard_dirichlet, HARD_DIRICHLET),
                                 ("exact_initial", exact_initial, EXACT_INITIAL)):
        if value not in choices:
            raise OptionError(f"Unknown {name} mode {value!r}; choose one of {', '.join(choices)}.")
    problem = compiled.problem
    loc = where(problem)
    if own_network:
        asked = [n for n, v in (("periodic embed", periodic == "embed"), ("hard_dirichlet on", hard_dirichlet == "on"),
                                ("exact_initial on", exact_initial == "on")) if v]
        if asked:
            raise OptionError(f"{', '.join(asked)} wraps the network pinnkan builds; it cannot be used with a "
                              f"network of your own (net=) for {loc}.")
        return None, list(compiled.terms)
    coords = list(compiled.coordinates)
    conds = list(problem.conditions)
    terms = list(compiled.terms)
    labels, dropped = [], set()

    # periodic embedding
    per_axis: dict[int, set] = {}
    for c in conds:
        if isinstance(c, Periodic) and c.coordinate in problem.coordinates:
            per_axis.setdefault(coords.index(c.coordinate.name), set()).add(c.field.func.__name__)
    space = problem.spatial_domain
    embedded = []
    if periodic != "penalty":
        for axis, fields in sorted(per_axis.items()):
            if set(fields) != set(compiled.field_names) or not hasattr(space, "lengths"):
                if periodic == "embed":
                    raise OptionError(
                        f"In {loc}, the periodic embedding of {coords[axis]} makes every field periodic in it, "
                        f"but only {', '.join(sorted(fields))} of {', '.join(compiled.field_names)} is; use "
                        "periodic penalty (--periodic penalty).")
                continue
            lo, hi = space.bounds
            embedded.append([axis, float(lo[axis]), float(hi[axis] - lo[axis])])
            labels.append(f"periodic in {coords[axis]}")
        axes = {e[0] for e in embedded}
        dropped |= {id(t) for t in terms if isinstance(t, PeriodicTerm) and t.axis in axes}

    # output transforms, per field
    t = problem.time_symbol
    t0 = sp.Float(problem.time[1]) if t is not None else None
    if exact_initial == "on" and t is None:
        raise OptionError(f"exact_initial on needs a time-dependent problem; {loc} has no time.")
    fields = []
    for f, name in enumerate(compiled.field_names):
        dirichlet = [(j, c) for j, c in enumerate(conds) if isinstance(c, Dirichlet) and c.field.func.__name__ == name]
        initial = {}
        if exact_initial == "on":
            for j, c in enumerate(conds):
                if isinstance(c, Initial) and c.field.func.__name__ == name:
                    initial.setdefault(_initial_order(c, t), (j, c))
        use_d = hard_dirichlet == "on" and bool(dirichlet)
        use_i = 0 in initial
        if not (use_d or use_i):
            continue
        u0 = sp.sympify(initial[0][1].value).subs(t, t0) if use_i else sp.Integer(0)
        v0 = sp.sympify(initial[1][1].value).subs(t, t0) if use_i and 1 in initial else None
        k = 0 if not use_i else (2 if v0 is not None else 1)

        def h(g):  # g - g(t0) - (t - t0) d_t g(t0) for the orders imposed at t0
            if k == 0:
                return g
            out = g - g.subs(t, t0)
            return out - (t - t0) * sp.diff(g, t).subs(t, t0) if k == 2 else out

        base = u0 + ((t - t0) * v0 if k == 2 else 0)
        parts, adfs = [], []
        if use_d:
            merged: dict = {}
            for j, c in dirichlet:
                value = sp.sympify(c.value)
                extra = {s.name for s in value.free_symbols} - set(coords)
                what = f"condition {j + 1} ({c.kind} on {c.field})"
                if extra:
                    raise OptionError(f"In {loc}, {what} depends on {', '.join(sorted(extra))}, which is not a "
                                      "coordinate; a hard Dirichlet value must be a function of the coordinates.")
                adf = boundary_adf(problem.domain, selection(c.on, coords, problem.domain, what),
                                   f"In {loc}, {what}")
                merged.setdefault(value, []).append(adf)
                dropped |= {id(tm) for tm in terms if isinstance(tm, BoundaryTerm) and tm.label == _condition_label(c, j)}
            for value, specs in merged.items():
                adf = specs[0] if len(specs) == 1 else ["equiv", specs]
                adfs.append(adf)
                parts.append([adf, _stored(h(value), "the Dirichlet value", loc)])
            if len(parts) == 1:
                base = base + h(next(iter(merged)))
                parts = []
            labels.append(f"Dirichlet on {name}")
        if use_i:
            for order in (0, 1) if k == 2 else (0,):
                j, c = initial[order]
                dropped |= {id(tm) for tm in terms if isinstance(tm, InitialTerm) and tm.label == _condition_label(c, j)}
            labels.append(f"initial {name}" + (f", {name}_t" if k == 2 else ""))
        phi = [] if not adfs else [adfs[0] if len(adfs) == 1 else ["equiv", adfs]]
        if k:
            phi.append(["time", len(coords) - 1, float(t0), k])
        phi_spec = phi[0] if len(phi) == 1 else ["product", phi]
        fields.append({"field": f, "base": _stored(base, "the imposed value", loc), "parts": parts, "phi": phi_spec})
    if not embedded and not fields:
        return None, terms
    description = {"coordinates": coords, "periodic": embedded, "fields": fields, "labels": labels}
    return description, [tm for tm in terms if id(tm) not in dropped]


def wrap(inner: nn.Module, description: dict | None) -> nn.Module:
    """``inner`` inside a :class:`ConstrainedNetwork` of ``description`` (None: ``inner`` itself)."""
    return inner if not description else ConstrainedNetwork(inner, description).to(
        next(iter(inner.parameters())).device)


__all__ = ["ConstrainedNetwork", "embedded_bounds", "embedded_width", "expression_from_data",
           "expression_to_data", "periodic_embedding", "plan_constraints", "wrap"]
