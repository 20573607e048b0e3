"""Set operations on domains: union ``a | b``, difference ``a - b``, intersection ``a & b``.

The operands are closed domains of the same dimension (any :class:`Domain`, set operations
included). With int(X) the interior of X (inside X and not on its boundary, up to the
tolerance), the boundary points are sampled from the operands' boundaries dA and dB as

    union          contains: A or B          boundary: dA outside int B, dB outside A
    difference     contains: A, not int B    boundary: dA outside B, dB inside int A
    intersection   contains: A and B         boundary: dA inside int B, dB inside int A

The normals of the difference's hole (dB inside A) are those of B, flipped. Where the two
boundaries coincide, the side of the operand's normal decides (a probe a small distance along
it): e.g. the common edge of two touching squares is not on the boundary of their union, and
it is sampled once where two boundaries overlap with the same outward side.
``on_boundary`` applies the same rules to points without normals (closed versions: a point of
dA on dB counts).
Points are float64 arrays (n, dim); normals are unit outward vectors (n, dim).

Sizes are estimated by quasi-Monte Carlo with a fixed seed (so they are reproducible), from
the operands' own samplers: the overlap |A & B| = |S| P_S(x in L), S the operand of smaller
measure and L the other one, from 2^16 points of S, gives

    |A | B| = |A| + |B| - |A & B|,    |A - B| = |A| - |A & B|,    |A & B|

(exact when S lies wholly inside L or outside it, e.g. a small ball cut from a box), and
boundary_measure sums each operand's boundary size times the fraction of 2^14 points of it
that lies on the result's boundary (relative error ~1e-3).

Interior points are drawn by rejection from whichever proposal keeps the larger share: the
bounding box (accept if inside), or the operands' samplers, which is better for curved or
far-apart operands and in high dimension, where a ball fills little of its box:

    union          A's points, and B's points outside A
    difference     A's points outside the interior of B
    intersection   S's points inside L

Each accepted point has the same density |D|^-1 (a point of A & B is proposed by A alone in a
union); in a union the n points are shared out as |A| : |D| - |A| (the parts of D that the two
operands' accepted points cover), the first accepted ones of each kept, and the two mixed.
Boundary points come from each operand's own boundary sampler, in proportion to the kept
area, so a small part of the boundary (a small hole) gets its share by area.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from pinnkan.errors import ProblemError
from pinnkan.geometry.domain import (
    Domain,
    no_mesh_error,
    check_count,
    check_resolution,
    generator,
    split_counts,
    unit_samples,
)
from pinnkan.geometry.polygon import Polygon, orient_simplices
from pinnkan.geometry.ball import Ball
from pinnkan.geometry.shapes import _AxisBox

_SEED = 1234567
_N_MEASURE = 2**16
_N_BOUNDARY = 2**14
_MIN_FRACTION = 1e-4  # smallest part of the bounding box (or of a boundary) that is sampled
_CELLS = {1: "line", 2: "triangle", 3: "tetra"}


def strictly_inside(domain: Domain, points: np.ndarray, tol: float) -> np.ndarray:
    """Bool (n,): in the closed domain and not on its boundary, both up to ``tol``."""
    return domain.contains(points, tol) & ~domain.on_boundary(points, tol)


class SetOperation(Domain):
    """Common part of :class:`Union`, :class:`Difference` and :class:`Intersection`."""

    symbol = "?"
    flip = (False, False)  # whether the normals of each operand's boundary part are reversed

    def __init__(self, a: Domain, b: Domain):
        for side, d in (("left", a), ("right", b)):
            if not isinstance(d, Domain):
                raise ProblemError(
                    f"A set operation '{self.symbol}' needs two domains, but its {side} operand is "
                    f"{d!r} (a {type(d).__name__}). Combine pinnkan domains, e.g. "
                    "Rectangle((0, 0), (2, 1)) - Disk((1, 0.5), 0.25)."
                )
        if a.dim != b.dim:
            raise ProblemError(
                f"Cannot form {a!r} {self.symbol} {b!r}: the left domain is {a.dim}-dimensional and "
                f"the right one {b.dim}-dimensional. Set operations combine two domains of the "
                "same dimension."
            )
        self.a, self.b, self.dim = a, b, a.dim
        self._cache: dict = {}

    # -- set rules (points p (n, dim) already validated, absolute tolerance t) -------------
    def _contains(self, p, t):
        raise NotImplementedError

    def _on_boundary(self, p, t):
        raise NotImplementedError

    def _keep(self, k: int, p: np.ndarray, n: np.ndarray, t: float) -> np.ndarray:
        """Bool mask: which points p of operand k's boundary (normals n) are on this boundary."""
        raise NotImplementedError

    def _probe(self, t: float) -> float:
        return max(1e-6 * self.diameter, 10.0 * t)

    # -- Domain API -------------------------------------------------------------------------
    @property
    def operands(self) -> tuple[Domain, Domain]:
        return self.a, self.b

    def contains(self, points, tol=None):
        return self._contains(self.as_points(points), self.tolerance(tol))

    def on_boundary(self, points, tol=None):
        return self._on_boundary(self.as_points(points), self.tolerance(tol))

    def _smaller(self) -> int:
        """Index (0 for a, 1 for b) of the operand S of smaller measure (a on a tie)."""
        return int(self.b.measure < self.a.measure)

    def _overlap(self) -> float:
        """|A & B| = |S| P_S(x in L) (S the operand of smaller measure, L the other), from 2^16
        fixed-seed Sobol points of S's own sampler."""
        if "overlap" not in self._cache:
            k = self._smaller()
            small, large = self.operands[k], self.operands[1 - k]
            p = small.sample_interior(_N_MEASURE, "sobol", np.random.default_rng(_SEED))
            self._cache["overlap"] = small.measure * float(np.mean(large.contains(p, tol=0.0)))
        return self._cache["overlap"]

    def _measure(self) -> float:
        """The measure from |A|, |B| and :meth:`_overlap` (see the module docstring)."""
        raise NotImplementedError

    def _proposals(self) -> list[tuple[int, Domain, float]]:
        """(index k, operand, measure of the part of this domain its accepted points cover)
        for the operands whose interior samplers propose this domain's points."""
        raise NotImplementedError

    def _accept(self, k: int, p: np.ndarray) -> np.ndarray:
        """Bool (n,): which points p drawn from the sampler of operand k are kept."""
        return self._contains(p, 0.0)

    def _interior_plan(self):
        """(acceptance rate, proposals or None for the bounding box), the larger rate winning."""
        lo, hi = self.bounds
        box_rate = self.measure / float(np.prod(hi - lo))
        proposals = self._proposals()
        own_rate = self.measure / sum(d.measure for _, d, _ in proposals)
        return (own_rate, proposals) if own_rate > box_rate else (box_rate, None)

    @staticmethod
    def _rejection(n: int, draw, accept, rate: float) -> np.ndarray:
        """The first n accepted points (fewer after 1000 batches) of batches ``draw(m)`` of
        about 1.2 (n - found) / rate candidates, kept where ``accept`` (bool (m,)) holds."""
        parts, found = [], 0
        for _ in range(1000):
            p = draw(int(1.2 * (n - found) / rate) + 16)
            p = p[accept(p)]
            parts.append(p)
            found += len(p)
            if found >= n:
                break
        return np.concatenate(parts)[:n]

    def _boundary_fractions(self) -> tuple[float, float]:
        """Fraction of each operand's boundary that is part of this boundary (fixed seed)."""
        if "fractions" not in self._cache:
            rng, t = np.random.default_rng(_SEED), self.tolerance()
            fr = []
            for k, d in enumerate(self.operands):
                p, n = d.sample_boundary(_N_BOUNDARY, "sobol", rng)
                fr.append(float(np.mean(self._keep(k, p, n, t))))
            self._cache["fractions"] = tuple(fr)
        return self._cache["fractions"]

    @property
    def measure(self) -> float:
        """Length, area or volume, from the operands' measures and their estimated overlap."""
        return max(0.0, self._measure())

    @property
    def boundary_measure(self) -> float:
        """Sum over the operands of boundary_measure times the estimated kept fraction."""
        f = self._boundary_fractions()
        return float(self.a.boundary_measure * f[0] + self.b.boundary_measure * f[1])

    def _check_not_empty(self):
        """(acceptance rate, proposals) of :meth:`_interior_plan`; ProblemError if the rate
        is below 1e-4 (the domain is empty or too thin)."""
        rate, proposals = self._interior_plan()
        if rate < _MIN_FRACTION:
            lo, hi = self.bounds
            raise ProblemError(
                f"The domain {self!r} is empty or too thin to sample: about {rate:.2g} of the points "
                f"drawn in its bounding box {list(map(float, lo))} .. {list(map(float, hi))} or in its "
                f"operands would lie inside it (at least {_MIN_FRACTION:g} is needed). Check the set "
                "operation: the removed part of a difference may cover the domain, or the parts of an "
                "intersection may barely overlap."
            )
        return rate, proposals

    def sample_interior(self, n, method="sobol", rng=None):
        """Points drawn with ``method`` in the bounding box or from the operands' samplers
        (whichever accepts more) and kept if inside (rejection); see the module docstring."""
        n, rng = check_count(n), generator(rng)
        if n == 0:
            return np.zeros((0, self.dim))
        rate, proposals = self._check_not_empty()
        if proposals is None:
            lo, hi = self.bounds
            return self._rejection(n, lambda m: lo + (hi - lo) * unit_samples(m, self.dim, method, rng),
                                   lambda p: self.contains(p, tol=0.0), rate)
        counts = split_counts(n, [share for _, _, share in proposals], rng)
        parts = [self._rejection(int(c), lambda m, d=d: d.sample_interior(m, method, rng),
                                 lambda p, k=k: self._accept(k, p), max(share / d.measure, _MIN_FRACTION))
                 for (k, d, share), c in zip(proposals, counts) if c]
        p = np.concatenate(parts)
        return p[rng.permutation(len(p))]  # the operands' parts mixed

    def sample_boundary(self, n, method="sobol", rng=None):
        """Points drawn on the operands' boundaries (in proportion to the size of the part of
        each that is kept) and kept if on this boundary; the hole of a difference has its
        normals flipped."""
        n, rng = check_count(n), generator(rng)
        if n == 0:
            return np.zeros((0, self.dim)), np.zeros((0, self.dim))
        fr = self._boundary_fractions()
        sizes = [d.boundary_measure * f for d, f in zip(self.operands, fr)]
        if sum(sizes) <= 0 or max(fr) < _MIN_FRACTION:
            raise ProblemError(
                f"The domain {self!r} has no boundary to sample: no part of its operands' "
                "boundaries lies on it. Check the set operation (the domain may be empty)."
            )
        t = self.tolerance()
        points, normals = [], []
        for k, (d, c) in enumerate(zip(self.operands, split_counts(n, sizes, rng))):
            if c == 0:
                continue
            kept_p, kept_n, found = [], [], 0
            for _ in range(1000):
                batch = int(1.25 * (c - found) / max(fr[k], _MIN_FRACTION)) + 16
                p, nv = d.sample_boundary(batch, method, rng)
                keep = self._keep(k, p, nv, t)
                kept_p.append(p[keep])
                kept_n.append(nv[keep])
                found += int(keep.sum())
                if found >= c:
                    break
            p, nv = np.concatenate(kept_p), np.concatenate(kept_n)
            if len(p) > c:  # a random subset: operands may list their boundary parts in order
                pick = np.sort(rng.choice(len(p), size=c, replace=False))
                p, nv = p[pick], nv[pick]
            points.append(p)
            normals.append(-nv if self.flip[k] else nv)
        return np.concatenate(points), np.concatenate(normals)

    def boundary_nodes(self, h: float) -> np.ndarray:
        """Points (B, dim) on the boundary, spacing about h: the operands' nodes kept on this
        boundary, plus (2D) the points where straight edges and circles of the two cross."""
        nodes = np.concatenate([boundary_nodes(self.a, h), boundary_nodes(self.b, h)])
        nodes = nodes[self.on_boundary(nodes)]
        if self.dim == 2:
            cross = _crossings(self.a, self.b)
            if len(cross):
                cross = cross[self.on_boundary(cross, tol=1e-7 * self.diameter)]
                nodes = np.concatenate([cross, nodes])
        return _thin(nodes, 0.25 * h)

    def mesh(self, resolution):
        """Simplex mesh ("line", "triangle" or "tetra"): boundary nodes and a grid of spacing
        h = extent / resolution, Delaunay triangulated, keeping the cells whose centroid is
        inside. Straight boundaries are met exactly where their nodes are joined by mesh edges;
        curved ones are replaced by chords, an area or volume error O(h^2) per unit boundary.
        Beyond 3 dimensions there is no mesh: ProblemError."""
        resolution = check_resolution(resolution, type(self).__name__)
        if self.dim > 3:
            raise no_mesh_error(self)
        return simplex_mesh(self, resolution)

    def __repr__(self):
        return f"({self.a!r} {self.symbol} {self.b!r})"


class Union(SetOperation):
    """A | B: the points of A or of B. Bounds: the box around both."""

    symbol = "|"

    @property
    def bounds(self):
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        return np.minimum(la, lb), np.maximum(ha, hb)

    def _contains(self, p, t):
        return self.a.contains(p, t) | self.b.contains(p, t)

    def _measure(self):
        return self.a.measure + self.b.measure - self._overlap()

    def _proposals(self):
        return [(0, self.a, self.a.measure), (1, self.b, max(0.0, self.measure - self.a.measure))]

    def _accept(self, k, p):
        return np.ones(len(p), dtype=bool) if k == 0 else ~self.a.contains(p, tol=0.0)

    def _on_boundary(self, p, t):
        return (self.a.on_boundary(p, t) & ~strictly_inside(self.b, p, t)) | (
            self.b.on_boundary(p, t) & ~strictly_inside(self.a, p, t))

    def _keep(self, k, p, n, t):
        if k == 1:
            return ~self.a.contains(p, t)
        keep = ~self.b.contains(p, t)
        on = self.b.on_boundary(p, t)
        if on.any():  # common boundary: keep if B is not on the outer side
            keep[on] = ~self.b.contains(p[on] + self._probe(t) * n[on], t)
        return keep


class Difference(SetOperation):
    """A - B: the points of A not inside B (B's boundary inside A bounds a hole, normals
    pointing into B). Bounds: those of A."""

    symbol = "-"
    flip = (False, True)

    @property
    def bounds(self):
        return self.a.bounds

    def _contains(self, p, t):
        return self.a.contains(p, t) & ~strictly_inside(self.b, p, t)

    def _measure(self):
        return self.a.measure - self._overlap()

    def _proposals(self):
        return [(0, self.a, self.measure)]

    def _on_boundary(self, p, t):
        return (self.a.on_boundary(p, t) & ~strictly_inside(self.b, p, t)) | (
            self.b.on_boundary(p, t) & self.a.contains(p, t))

    def _keep(self, k, p, n, t):
        if k == 1:
            return strictly_inside(self.a, p, t)
        keep = ~self.b.contains(p, t)
        on = self.b.on_boundary(p, t)
        if on.any():  # common boundary: keep if the inner side of A is not removed
            keep[on] = ~self.b.contains(p[on] - self._probe(t) * n[on], t)
        return keep


class Intersection(SetOperation):
    """A & B: the points of both A and B. Bounds: the intersection of the two boxes."""

    symbol = "&"

    def __init__(self, a, b):
        super().__init__(a, b)
        lo, hi = self.bounds
        if np.any(lo >= hi):
            raise ProblemError(
                f"The intersection {self!r} is empty: the bounding boxes of the two domains do "
                "not overlap. Check the positions and sizes of the operands."
            )

    @property
    def bounds(self):
        (la, ha), (lb, hb) = self.a.bounds, self.b.bounds
        return np.maximum(la, lb), np.minimum(ha, hb)

    def _contains(self, p, t):
        return self.a.contains(p, t) & self.b.contains(p, t)

    def _measure(self):
        return self._overlap()

    def _proposals(self):
        k = self._smaller()
        return [(k, self.operands[k], self.measure)]

    def _on_boundary(self, p, t):
        return (self.a.on_boundary(p, t) & self.b.contains(p, t)) | (
            self.b.on_boundary(p, t) & self.a.contains(p, t))

    def _keep(self, k, p, n, t):
        if k == 1:
            return strictly_inside(self.a, p, t)
        keep = strictly_inside(self.b, p, t)
        on = self.b.on_boundary(p, t)
        if on.any():  # common boundary: keep if the inner side of A is inside B
            keep[on] = self.b.contains(p[on] - self._probe(t) * n[on], t)
        return keep


# ---------------------------------------------------------------------------- meshing helpers
def _box_grid(lo: np.ndarray, hi: np.ndarray, h: float) -> np.ndarray:
    """Tensor grid over the box [lo, hi] (faces included), spacing about h: (P, dim)."""
    axes = [np.linspace(a, b, max(2, round((b - a) / h) + 1)) for a, b in zip(lo, hi)]
    return np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)


def _thin(nodes: np.ndarray, r: float) -> np.ndarray:
    """Drop nodes closer than r to an earlier node (earlier nodes win)."""
    if len(nodes) < 2:
        return nodes
    pairs = cKDTree(nodes).query_pairs(r, output_type="ndarray")
    if len(pairs) == 0:
        return nodes
    drop = np.zeros(len(nodes), dtype=bool)
    drop[pairs.max(axis=1)] = True
    return nodes[~drop]


def boundary_nodes(domain: Domain, h: float) -> np.ndarray:
    """Points (B, dim) on the boundary of ``domain`` with spacing about h, for meshing.

    Uses ``domain.boundary_nodes(h)`` where the domain has it (balls, polygons, set
    operations, mesh domains); boxes get regular nodes; other domains a fixed Halton set of
    boundary_measure / h^(dim-1) points.
    """
    if hasattr(domain, "boundary_nodes"):
        return domain.boundary_nodes(h)
    if isinstance(domain, _AxisBox):
        lo, hi = domain.bounds
        if domain.dim == 1:
            return np.stack([lo, hi])
        if domain.dim == 2:
            corners = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
            return Polygon(corners).boundary_nodes(h)
        faces = []
        for k in range(domain.dim):
            others = [j for j in range(domain.dim) if j != k]
            face = _box_grid(lo[others], hi[others], h)
            for value in (lo[k], hi[k]):
                p = np.empty((len(face), domain.dim))
                p[:, others], p[:, k] = face, value
                faces.append(p)
        return np.unique(np.concatenate(faces), axis=0)
    m = min(200_000, max(8, math.ceil(domain.boundary_measure / h ** max(domain.dim - 1, 0))))
    return domain.sample_boundary(m, "halton", np.random.default_rng(_SEED))[0]


def _primitives(domain: Domain):
    """(segments (m, 2, 2), circles (k, 3) as cx, cy, r) carrying a 2D domain's boundary."""
    segs, circles = np.zeros((0, 2, 2)), np.zeros((0, 3))
    if isinstance(domain, Polygon):
        a, b = domain.edges
        segs = np.stack([a, b], axis=1)
    elif isinstance(domain, _AxisBox) and domain.dim == 2:
        (x0, y0), (x1, y1) = domain.bounds
        c = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        segs = np.stack([c, np.roll(c, -1, axis=0)], axis=1)
    elif isinstance(domain, Ball) and domain.dim == 2:
        circles = np.array([[*domain.center, domain.radius]])
    elif isinstance(domain, SetOperation):
        (s1, c1), (s2, c2) = _primitives(domain.a), _primitives(domain.b)
        segs, circles = np.concatenate([s1, s2]), np.concatenate([c1, c2])
    return segs, circles


def _crossings(a: Domain, b: Domain) -> np.ndarray:
    """Points (k, 2) where the straight edges and circles of a meet those of b."""
    (sa, ca), (sb, cb) = _primitives(a), _primitives(b)
    out = [_seg_seg(sa, sb), _seg_circle(sa, cb), _seg_circle(sb, ca), _circle_circle(ca, cb)]
    return np.concatenate(out)


def _seg_seg(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    if not len(s1) or not len(s2):
        return np.zeros((0, 2))
    p, r = s1[:, None, 0], s1[:, None, 1] - s1[:, None, 0]
    q, s = s2[None, :, 0], s2[None, :, 1] - s2[None, :, 0]
    den = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    ok = np.abs(den) > 1e-14 * np.linalg.norm(r, axis=-1) * np.linalg.norm(s, axis=-1)
    den = np.where(ok, den, 1.0)
    w = q - p
    t = (w[..., 0] * s[..., 1] - w[..., 1] * s[..., 0]) / den
    u = (w[..., 0] * r[..., 1] - w[..., 1] * r[..., 0]) / den
    hit = ok & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    return (p + t[..., None] * r)[hit]


def _seg_circle(segs: np.ndarray, circles: np.ndarray) -> np.ndarray:
    if not len(segs) or not len(circles):
        return np.zeros((0, 2))
    p, d = segs[:, None, 0], segs[:, None, 1] - segs[:, None, 0]
    c, R = circles[None, :, :2], circles[None, :, 2]
    f = p - c
    A = np.sum(d * d, axis=-1)
    B = 2 * np.sum(f * d, axis=-1)
    C = np.sum(f * f, axis=-1) - R**2
    disc = B**2 - 4 * A * C
    ok = disc >= 0
    root = np.sqrt(np.where(ok, disc, 0.0))
    pts = []
    for sign in (-1.0, 1.0):
        t = (-B + sign * root) / (2 * A)
        hit = ok & (t >= 0) & (t <= 1)
        pts.append((p + t[..., None] * d)[hit])
    return np.concatenate(pts)


def _circle_circle(c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    if not len(c1) or not len(c2):
        return np.zeros((0, 2))
    p1, r1 = c1[:, None, :2], c1[:, None, 2]
    p2, r2 = c2[None, :, :2], c2[None, :, 2]
    d = np.linalg.norm(p2 - p1, axis=-1)
    ok = (d > 0) & (d <= r1 + r2) & (d >= np.abs(r1 - r2))
    d = np.where(ok, d, 1.0)
    a = (r1**2 - r2**2 + d**2) / (2 * d)
    hgt = np.sqrt(np.maximum(r1**2 - a**2, 0.0))
    e = (p2 - p1) / d[..., None]
    mid = p1 + a[..., None] * e
    perp = np.stack([-e[..., 1], e[..., 0]], axis=-1)
    return np.concatenate([(mid + hgt[..., None] * perp)[ok], (mid - hgt[..., None] * perp)[ok]])


def simplex_mesh(domain: Domain, resolution: int):
    """Mesh of a domain from its boundary nodes and an inner grid: (points (P, dim), cells).

    h = largest bounding-box side / resolution. Grid points inside the domain and farther
    than 0.6 h from every boundary node are added to the boundary nodes; the Delaunay
    simplices whose centroid lies inside the domain are kept (oriented positively), and the
    flat ones of zero size where all their neighbours are kept (so that the mesh is conforming).
    """
    lo, hi = domain.bounds
    h = float((hi - lo).max()) / resolution
    nodes = boundary_nodes(domain, h)
    grid = _box_grid(lo, hi, h)
    grid = grid[domain.contains(grid, tol=0.0)]
    if len(nodes) and len(grid):
        grid = grid[cKDTree(nodes).query(grid)[0] > 0.6 * h]
    pts = np.concatenate([nodes, grid])
    if domain.dim == 1:
        x = np.unique(pts[:, 0])
        mid = 0.5 * (x[1:] + x[:-1])
        keep = domain.contains(mid[:, None], tol=0.0)
        cells = np.stack([np.arange(len(x) - 1), np.arange(1, len(x))], axis=1)[keep]
        used = np.unique(cells)
        remap = -np.ones(len(x), dtype=np.int64)
        remap[used] = np.arange(len(used))
        return x[used][:, None], [("line", remap[cells])]
    tri = Delaunay(pts)
    simplices, neighbors = tri.simplices.astype(np.int64), tri.neighbors
    v = pts[simplices]
    vol = np.abs(np.linalg.det(v[:, 1:] - v[:, :1])) / math.factorial(domain.dim)
    flat = vol <= 1e-12 * h**domain.dim
    keep = ~flat
    keep[keep] = domain.contains(v[keep].mean(axis=1), tol=0.0)
    # flat cells (from co-circular or co-spherical grid points) stay where all their neighbours
    # do, so that the mesh remains conforming; elsewhere they are dropped
    keep |= flat
    while True:
        drop = flat & keep & np.any((neighbors < 0) | ~keep[neighbors], axis=1)
        if not drop.any():
            break
        keep &= ~drop
    cells = simplices[keep]
    used = np.unique(cells)
    remap = -np.ones(len(pts), dtype=np.int64)
    remap[used] = np.arange(len(used))
    pts = pts[used]
    return pts, [(_CELLS[domain.dim], orient_simplices(pts, remap[cells]))]
