"""Approximate distance functions (ADFs) to boundaries, for conditions imposed exactly.

An ADF phi of a boundary part Gamma vanishes on Gamma, is positive inside the domain and is
normalised to first order: phi ~ distance to Gamma near Gamma (grad phi . n = -1 on Gamma, n the
unit outward normal), after Sukumar & Srivastava, "Exact imposition of boundary conditions with
distance functions in physics-informed deep neural networks", CMAME 389 (2022) 114333.

Pure functions of points x (N, d) -> (N,) (any dtype and device) for the pieces:

- half-space ``side (x_axis - value)``; interval ``(x - a)(b - x) / (b - a)``;
- ball ``(r^2 - |x - c|^2) / (2 r)``;
- segment [p, q] (2-D, trimmed): f = ((x - p) x (q - p)) / L, t = ((L/2)^2 - |x - m|^2) / L,
  m = (p + q) / 2, phi = sqrt(f^2 + ((sqrt(t^2 + f^4) - t) / 2)^2);

and R-functions that combine them:

- R-equivalence (union of boundary pieces, m = 1): phi = 1 / sum_i 1 / phi_i;
- R-conjunction (intersection of regions, signed phi): a + b - sqrt(a^2 + b^2);
- R-disjunction (union of regions): a + b + sqrt(a^2 + b^2); negation (complement): -a;
- transfinite weights w_i = prod_{j != i} phi_j / sum_k prod_{j != k} phi_k (w_i = 1 on part i).

An ADF is described by plain data (nested lists, what ``model.pt`` stores), evaluated by
:func:`evaluate`; :func:`boundary_adf` builds the description of the part of a domain's boundary
that a condition selects.
"""

from __future__ import annotations

import numpy as np
import torch

from pinnkan.errors import OptionError
from pinnkan.geometry.ball import Ball
from pinnkan.geometry.csg import Difference, Intersection, SetOperation, Union
from pinnkan.geometry.polygon import Polygon
from pinnkan.geometry.shapes import _AxisBox
from pinnkan.geometry.spacetime import SpaceTime


# ------------------------------------------------------------------ pieces (pure functions)

def halfspace_adf(x: torch.Tensor, axis: int, value: float, side: float) -> torch.Tensor:
    """side * (x_axis - value): the signed distance to the plane x_axis = value, positive on
    the side ``side`` (+1: x_axis > value). (N, d) -> (N,)."""
    return side * (x[:, axis] - value)


def interval_adf(x: torch.Tensor, axis: int, a: float, b: float) -> torch.Tensor:
    """(x_axis - a)(b - x_axis) / (b - a): zero at both ends, slope 1 and -1 there. (N, d) -> (N,)."""
    s = x[:, axis]
    return (s - a) * (b - s) / (b - a)


def ball_adf(x: torch.Tensor, center, radius: float) -> torch.Tensor:
    """(r^2 - |x - c|^2) / (2 r): positive inside the ball, grad = -(x - c) / r (unit normal)
    on the sphere. Reads the first len(center) columns. (N, d) -> (N,)."""
    c = torch.as_tensor(center, dtype=x.dtype, device=x.device)
    y = x[:, :c.numel()] - c
    return (radius ** 2 - (y * y).sum(-1)) / (2 * radius)


def segment_adf(x: torch.Tensor, p, q) -> torch.Tensor:
    """Trimmed ADF of the 2-D segment [p, q] (module docstring): 0 on the segment, ~ the
    distance to it nearby, positive elsewhere. (N, d) -> (N,), first two columns."""
    (px, py), (qx, qy) = (float(v) for v in p), (float(v) for v in q)
    L = ((qx - px) ** 2 + (qy - py) ** 2) ** 0.5
    X, Y = x[:, 0], x[:, 1]
    f = ((X - px) * (qy - py) - (Y - py) * (qx - px)) / L
    mx, my = (px + qx) / 2, (py + qy) / 2
    t = ((L / 2) ** 2 - (X - mx) ** 2 - (Y - my) ** 2) / L
    rho = torch.sqrt(t * t + f ** 4)
    return torch.sqrt(f * f + ((rho - t) / 2) ** 2)


def inside_polygon(x: torch.Tensor, vertices) -> torch.Tensor:
    """Crossing-number test: True where (x_0, x_1) is inside the polygon. (N, d) -> bool (N,)."""
    v = torch.as_tensor(np.asarray(vertices, dtype=np.float64), dtype=x.dtype, device=x.device)
    X, Y = x[:, :1], x[:, 1:2]
    a, b = v, torch.roll(v, -1, dims=0)
    crosses = (a[:, 1] > Y) != (b[:, 1] > Y)
    dy = torch.where(b[:, 1] == a[:, 1], torch.ones_like(b[:, 1]), b[:, 1] - a[:, 1])
    xc = a[:, 0] + (Y - a[:, 1]) * (b[:, 0] - a[:, 0]) / dy
    return ((crosses & (X < xc)).sum(-1) % 2) == 1


def polygon_adf(x: torch.Tensor, vertices) -> torch.Tensor:
    """Signed ADF of a polygon: R-equivalence of its edges' segment ADFs, positive inside and
    negative outside. (N, d) -> (N,)."""
    v = np.asarray(vertices, dtype=np.float64)
    phi = r_equivalence([segment_adf(x, v[i], v[(i + 1) % len(v)]) for i in range(len(v))])
    sign = torch.where(inside_polygon(x, v), torch.ones_like(phi), -torch.ones_like(phi))
    return sign * phi


# ------------------------------------------------------------------ R-functions

def r_equivalence(phis: list[torch.Tensor]) -> torch.Tensor:
    """1 / sum_i 1 / phi_i (each phi_i >= 0): zero where any phi_i is, ~ phi_i near piece i.
    Exactly 0 where a phi_i is 0 (no 0/0). Each (N,) -> (N,)."""
    if len(phis) == 1:
        return phis[0]
    zero = torch.zeros_like(phis[0], dtype=torch.bool)
    inv = torch.zeros_like(phis[0])
    for p in phis:
        hit = p == 0
        zero = zero | hit
        inv = inv + 1 / torch.where(hit, torch.ones_like(p), p)
    return torch.where(zero, torch.zeros_like(inv), 1 / torch.where(zero, torch.ones_like(inv), inv))


def r_conjunction(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b - sqrt(a^2 + b^2): >= 0 exactly where a >= 0 and b >= 0 (intersection), ~ a where
    a -> 0 with b > 0."""
    return a + b - torch.sqrt(a * a + b * b)


def r_disjunction(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b + sqrt(a^2 + b^2): >= 0 exactly where a >= 0 or b >= 0 (union)."""
    return a + b + torch.sqrt(a * a + b * b)


def transfinite_weights(phis: list[torch.Tensor]) -> list[torch.Tensor]:
    """w_i = prod_{j != i} phi_j / sum_k prod_{j != k} phi_k: sum_i w_i = 1, w_i = 1 on part i
    (phi_i = 0). Where every product vanishes (a corner shared by parts) all w_i = 1/n."""
    n = len(phis)
    prods = []
    for i in range(n):
        p = torch.ones_like(phis[0])
        for j in range(n):
            if j != i:
                p = p * phis[j]
        prods.append(p)
    den = sum(prods)
    flat = den == 0
    safe = torch.where(flat, torch.ones_like(den), den)
    return [torch.where(flat, torch.full_like(p, 1.0 / n), p / safe) for p in prods]


# ------------------------------------------------------------------ plain-data descriptions

def evaluate(spec, x: torch.Tensor) -> torch.Tensor:
    """The ADF described by ``spec`` (nested lists, see :func:`boundary_adf`) at x (N, d) -> (N,).

    ["one"], ["half", axis, value, side], ["interval", axis, a, b], ["ball", center, r],
    ["segment", p, q], ["polygon", vertices], ["time", axis, t0, power] ((x_axis - t0)^power),
    ["equiv", [specs]], ["and", a, b], ["or", a, b], ["not", a], ["product", [specs]]."""
    kind = spec[0]
    if kind == "one":
        return torch.ones_like(x[:, 0])
    if kind == "half":
        return halfspace_adf(x, int(spec[1]), float(spec[2]), float(spec[3]))
    if kind == "interval":
        return interval_adf(x, int(spec[1]), float(spec[2]), float(spec[3]))
    if kind == "ball":
        return ball_adf(x, spec[1], float(spec[2]))
    if kind == "segment":
        return segment_adf(x, spec[1], spec[2])
    if kind == "polygon":
        return polygon_adf(x, spec[1])
    if kind == "time":
        return (x[:, int(spec[1])] - float(spec[2])) ** int(spec[3])
    if kind == "equiv":
        return r_equivalence([evaluate(s, x) for s in spec[1]])
    if kind == "and":
        return r_conjunction(evaluate(spec[1], x), evaluate(spec[2], x))
    if kind == "or":
        return r_disjunction(evaluate(spec[1], x), evaluate(spec[2], x))
    if kind == "not":
        return -evaluate(spec[1], x)
    if kind == "product":
        out = torch.ones_like(x[:, 0])
        for s in spec[1]:
            out = out * evaluate(s, x)
        return out
    raise ValueError(f"unknown distance-function kind {kind!r}")


def region_adf(domain) -> list:
    """Signed ADF description of a whole domain (positive inside, zero on its boundary, negative
    outside), for set operations: boxes as R-conjunctions of their half-spaces, balls, polygons,
    and unions, intersections and differences by R-functions."""
    if isinstance(domain, _AxisBox):
        lo, hi = domain.bounds
        spec = None
        for axis in range(len(lo)):
            for s in (["half", axis, float(lo[axis]), 1.0], ["half", axis, float(hi[axis]), -1.0]):
                spec = s if spec is None else ["and", spec, s]
        return spec
    if isinstance(domain, Ball):
        return ["ball", [float(c) for c in domain.center], float(domain.radius)]
    if isinstance(domain, Polygon):
        return ["polygon", np.asarray(domain.vertices, dtype=np.float64).tolist()]
    if isinstance(domain, SetOperation):
        a, b = (region_adf(d) for d in domain.operands)
        if isinstance(domain, Union):
            return ["or", a, b]
        if isinstance(domain, Intersection):
            return ["and", a, b]
        if isinstance(domain, Difference):
            return ["and", a, ["not", b]]
    raise OptionError(f"no distance function for the domain {domain!r}")


def boundary_pieces(domain) -> list[tuple[list, np.ndarray]]:
    """The pieces of a simple domain's boundary: [(ADF description, points on the piece (m, d))]:
    the 2 d faces of an interval or box, the sphere of a ball, the edges of a polygon. Each ADF is
    positive inside the domain. OptionError for other domains."""
    if isinstance(domain, _AxisBox):
        lo, hi = (np.asarray(b, dtype=np.float64) for b in domain.bounds)
        d = len(lo)
        u = np.random.default_rng(0).uniform(0.05, 0.95, size=(16, d))
        pieces = []
        for axis in range(d):
            for value, side in ((lo[axis], 1.0), (hi[axis], -1.0)):
                pts = lo + (hi - lo) * u
                pts[:, axis] = value
                pieces.append((["half", axis, float(value), side], pts))
        return pieces
    if isinstance(domain, Ball):
        pts, _ = domain.sample_boundary(16, "uniform", np.random.default_rng(0))
        return [(["ball", [float(c) for c in domain.center], float(domain.radius)], pts)]
    if isinstance(domain, Polygon):
        v = np.asarray(domain.vertices, dtype=np.float64)
        s = np.linspace(0.05, 0.95, 16)[:, None]
        return [(["segment", v[i].tolist(), v[(i + 1) % len(v)].tolist()], v[i] + s * (v[(i + 1) % len(v)] - v[i]))
                for i in range(len(v))]
    raise OptionError(f"no boundary pieces for the domain {domain!r}")


def _with_times(points: np.ndarray, domain) -> np.ndarray:
    """Space points (m, d) as space-time points at a few times of ``domain`` (a SpaceTime)."""
    times = np.linspace(domain.t0, domain.t1, 5)
    return np.concatenate([np.column_stack([points, np.full(len(points), t)]) for t in times])


def _combine(pieces: list[list]) -> list:
    """One description of the union of boundary pieces: opposite faces of one axis paired into
    an interval ADF, the rest joined by R-equivalence."""
    halves = {}
    rest = []
    for p in pieces:
        if p[0] == "half":
            halves.setdefault(p[1], []).append(p)
        else:
            rest.append(p)
    out = []
    for axis, hs in halves.items():
        if len(hs) == 2:
            a, b = sorted(float(h[2]) for h in hs)
            out.append(["interval", axis, a, b])
        else:
            out.extend(hs)
    out.extend(rest)
    return out[0] if len(out) == 1 else ["equiv", out]


def boundary_adf(domain, select=None, what: str = "the condition") -> list:
    """ADF description of the part of ``domain``'s boundary that ``select`` (``f(points (m, d)
    ndarray) -> bool (m,)``, None: the whole boundary) keeps.

    Intervals, boxes, balls and polygons: the selected faces, sphere or edges, joined by
    R-equivalence; a piece must be selected whole. Set operations: the whole boundary only, by
    R-functions of the operands. In space-time, the lateral boundary of a spatial domain.
    Raises OptionError, naming ``what``, when the part cannot be described."""
    space = domain.space if isinstance(domain, SpaceTime) else domain
    lift = (lambda p: _with_times(p, domain)) if isinstance(domain, SpaceTime) else (lambda p: p)
    if isinstance(space, SetOperation):
        if select is not None:
            pts, _ = domain.sample_boundary(256, "uniform", np.random.default_rng(0))
            if not np.asarray(select(pts), dtype=bool).all():
                raise OptionError(
                    f"A hard Dirichlet condition on a set operation of domains must hold on the whole boundary, "
                    f"but {what} selects part of it; use hard_dirichlet off (--hard-dirichlet off) for it.")
        try:
            return region_adf(space)
        except OptionError:
            raise OptionError(f"{what}: hard Dirichlet conditions need a domain built from intervals, boxes, "
                              f"disks, balls and polygons, not {space!r}; use hard_dirichlet off.") from None
    try:
        pieces = boundary_pieces(space)
    except OptionError:
        raise OptionError(f"{what}: hard Dirichlet conditions need an interval, box, disk, ball, polygon or a set "
                          f"operation of these, not {space!r}; use hard_dirichlet off (--hard-dirichlet off).") from None
    chosen = []
    for spec, pts in pieces:
        keep = np.ones(len(lift(pts)), dtype=bool) if select is None else np.asarray(select(lift(pts)), dtype=bool)
        if keep.all():
            chosen.append(spec)
        elif keep.any():
            raise OptionError(
                f"{what} selects part of a face, edge or sphere of {space!r}; a hard Dirichlet condition must "
                "cover whole pieces of the boundary. Select whole faces or edges, or use hard_dirichlet off.")
    if not chosen:
        raise OptionError(f"{what} selects no whole face, edge or sphere of {space!r} for a hard Dirichlet "
                          "condition; check its on=... relation, or use hard_dirichlet off.")
    return _combine(chosen)
