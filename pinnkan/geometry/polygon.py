"""Simple polygons in 2D, and the simplex helpers shared with the mesh-based domains.

A :class:`Polygon` is the closed region bounded by a simple (non-self-intersecting) closed
polyline. Points are float64 arrays of shape (n, 2); normals are unit outward vectors.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import Delaunay

from pinnkan.errors import ProblemError
from pinnkan.geometry.domain import (
    Domain,
    as_real,
    check_count,
    check_resolution,
    fmt,
    generator,
    unit_samples,
)

_CHUNK = 2_000_000  # entries of the (points x edges) work arrays per block


# ---------------------------------------------------------------------------- simplex helpers
def simplex_volumes(vertices: np.ndarray) -> np.ndarray:
    """Size of each k-simplex in R^d: vertices (m, k + 1, d) -> (m,) (length, area, volume).

    Computed as sqrt(det(E E^T)) / k! with E (k, d) the edge vectors from vertex 0.
    """
    v = np.asarray(vertices, dtype=np.float64)
    k = v.shape[1] - 1
    e = v[:, 1:] - v[:, :1]
    if k == v.shape[2]:
        vol = np.abs(np.linalg.det(e))
    else:
        vol = np.sqrt(np.maximum(np.linalg.det(e @ np.swapaxes(e, 1, 2)), 0.0))
    return vol / math.factorial(k)


def pick_simplices(weights: np.ndarray, u0: np.ndarray):
    """Choose simplices with probability proportional to ``weights`` (m,) from u0 in [0, 1)^n.

    Returns (index (n,), s (n,)): s in [0, 1] is u0 rescaled within the chosen simplex's share,
    so that (index, s) together still carry the stratification of u0.
    """
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w)
    x = u0 * cum[-1]
    k = np.minimum(np.searchsorted(cum, x, side="right"), len(w) - 1)
    wk = w[k]
    s = np.where(wk > 0, (x - (cum[k] - wk)) / np.where(wk > 0, wk, 1.0), 0.0)
    return k, np.clip(s, 0.0, 1.0)


def simplex_points(vertices: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Map u in [0, 1]^k (n, k) to uniformly distributed points in k-simplices (n, k + 1, d).

    Area-preserving map: the distance fraction from vertex 0 is u_0^(1/k); the point on the
    opposite face is placed recursively with the remaining coordinates.
    """
    v = np.asarray(vertices, dtype=np.float64)
    k = v.shape[1] - 1
    if k == 0:
        return v[:, 0].copy()
    q = simplex_points(v[:, 1:], u[:, 1:]) if k > 1 else v[:, 1]
    r = u[:, 0] ** (1.0 / k)
    return v[:, 0] + r[:, None] * (q - v[:, 0])


def sample_simplices(vertices: np.ndarray, sizes: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Uniform points on a union of k-simplices (m, k + 1, d) of ``sizes`` (m,), from u (n, k).

    u[:, 0] chooses the simplex (probability proportional to size) and, rescaled, gives the
    first local coordinate, so quasi-random u stay evenly spread.
    """
    k, s = pick_simplices(sizes, u[:, 0])
    local = np.concatenate([s[:, None], u[:, 1:]], axis=1)
    return simplex_points(vertices[k], local)


def orient_simplices(points: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Reorder triangles (counter-clockwise) or tetrahedra (positive volume) in place; return cells."""
    v = points[cells]
    det = np.linalg.det(v[:, 1:] - v[:, :1])
    flip = det < 0
    cells[flip] = cells[flip][:, [1, 0, *range(2, cells.shape[1])]]
    return cells


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _chunks(n: int, m: int):
    step = max(1, _CHUNK // max(m, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (n,) from points (n, d) to the nearest of the segments [a_j, b_j] (m, d)."""
    d = b - a
    L2 = np.einsum("ij,ij->i", d, d)
    L2 = np.where(L2 > 0, L2, 1.0)
    out = np.empty(len(points))
    for sl in _chunks(len(points), len(a)):
        w = points[sl, None, :] - a[None]
        t = np.clip(np.einsum("nmk,mk->nm", w, d) / L2, 0.0, 1.0)
        out[sl] = np.sqrt(np.min(np.sum((w - t[..., None] * d) ** 2, axis=-1), axis=1))
    return out


def _point_in_polygon(points: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Crossing-number test: bool (n,), whether each point is inside the polygon v (m, 2)."""
    a, b = v, np.roll(v, -1, axis=0)
    dy = b[:, 1] - a[:, 1]
    safe = np.where(dy != 0, dy, 1.0)
    slope = (b[:, 0] - a[:, 0]) / safe
    out = np.empty(len(points), dtype=bool)
    for sl in _chunks(len(points), len(a)):
        px, py = points[sl, 0:1], points[sl, 1:2]
        spans = (a[None, :, 1] > py) != (b[None, :, 1] > py)
        x_cross = a[None, :, 0] + (py - a[None, :, 1]) * slope[None]
        out[sl] = np.count_nonzero(spans & (px < x_cross), axis=1) % 2 == 1
    return out


# ---------------------------------------------------------------------------- validation
def _segments_touch(p1, p2, q1, q2, eps):
    """Bool (k,): whether segments [p1, p2] and [q1, q2] (k, 2) intersect or touch."""
    o1, o2 = _cross(p2 - p1, q1 - p1), _cross(p2 - p1, q2 - p1)
    o3, o4 = _cross(q2 - q1, p1 - q1), _cross(q2 - q1, p2 - q1)
    proper = (o1 * o2 < 0) & (o3 * o4 < 0) & (np.abs(o1) > eps) & (np.abs(o2) > eps) \
        & (np.abs(o3) > eps) & (np.abs(o4) > eps)

    def on_seg(a, b, c, o):  # c collinear with [a, b] and within its box
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        slack = eps / np.maximum(np.linalg.norm(b - a, axis=1), 1e-300)
        return (np.abs(o) <= eps) & np.all((c >= lo - slack[:, None]) & (c <= hi + slack[:, None]), axis=1)

    return proper | on_seg(p1, p2, q1, o1) | on_seg(p1, p2, q2, o2) | on_seg(q1, q2, p1, o3) \
        | on_seg(q1, q2, p2, o4)


def _check_simple(v: np.ndarray, eps: float) -> None:
    """Raise ProblemError if the closed polyline v (m, 2) has repeated points or crosses itself."""
    m = len(v)
    a, b = v, np.roll(v, -1, axis=0)
    L = np.linalg.norm(b - a, axis=1)
    short = np.flatnonzero(L <= math.sqrt(eps))
    if short.size:
        i = int(short[0])
        raise ProblemError(
            f"Polygon: vertices {i} and {(i + 1) % m} are the same point "
            f"({fmt(v[i, 0])}, {fmt(v[i, 1])}); list each corner once (the polygon closes itself)."
        )
    # adjacent edges that fold back onto each other
    prev = np.roll(a, 1, axis=0)
    back = (np.abs(_cross(a - prev, b - a)) <= eps * 1e2) & (np.einsum("ij,ij->i", a - prev, b - a) < 0)
    if back.any():
        i = int(np.flatnonzero(back)[0])
        raise ProblemError(
            f"Polygon: the boundary turns back on itself at vertex {i} "
            f"({fmt(v[i, 0])}, {fmt(v[i, 1])}); the edges before and after it overlap. Remove "
            "that vertex or reorder the vertices so that they go around the polygon once."
        )
    if m < 4:
        return
    i, j = np.triu_indices(m, k=2)
    keep = ~((i == 0) & (j == m - 1))
    i, j = i[keep], j[keep]
    for sl in _chunks(len(i), 1):
        hit = _segments_touch(a[i[sl]], b[i[sl]], a[j[sl]], b[j[sl]], eps)
        if hit.any():
            k = int(np.flatnonzero(hit)[0])
            e, f = int(i[sl][k]), int(j[sl][k])
            raise ProblemError(
                f"Polygon: the boundary intersects itself: edge {e} (vertex {e} to {(e + 1) % m}) "
                f"meets edge {f} (vertex {f} to {(f + 1) % m}). Give the vertices of a simple "
                "polygon in order around its boundary; for shapes with holes or several parts "
                "combine simple polygons with set operations (a - b, a | b)."
            )


def _ear_clip(v: np.ndarray, eps: float) -> np.ndarray:
    """Triangulate the counter-clockwise simple polygon v (m, 2): int array (t, 3) of indices.

    Straight vertices (collinear with both neighbours) are skipped; ears are found among the
    convex vertices whose triangle contains no reflex vertex (O(m^2) to O(m^3)).
    """
    idx = list(range(len(v)))
    changed = True
    while changed and len(idx) > 3:
        changed = False
        for k in range(len(idx)):
            p, c, n = v[idx[k - 1]], v[idx[k]], v[idx[(k + 1) % len(idx)]]
            if abs(_cross(c - p, n - c)) <= eps:
                del idx[k]
                changed = True
                break
    tris = []
    while len(idx) > 3:
        ring = np.array(idx)
        P, C, N = v[np.roll(ring, 1)], v[ring], v[np.roll(ring, -1)]
        turn = _cross(C - P, N - C)
        reflex = ring[turn <= eps]
        order = np.argsort(-turn)  # most convex corners first
        clipped = False
        for k in order:
            if turn[k] <= eps:
                break
            i0, i1, i2 = int(ring[k - 1]), int(ring[k]), int(ring[(k + 1) % len(ring)])
            q = v[reflex[(reflex != i0) & (reflex != i1) & (reflex != i2)]]
            if len(q):
                a, b, c = v[i0], v[i1], v[i2]
                inside = (_cross(b - a, q - a) >= -eps) & (_cross(c - b, q - b) >= -eps) \
                    & (_cross(a - c, q - c) >= -eps)
                if inside.any():
                    continue
            tris.append((i0, i1, i2))
            idx.remove(i1)
            clipped = True
            break
        if not clipped:
            raise ProblemError(
                "Polygon: the vertices are too close to degenerate to triangulate (no ear found); "
                "remove nearly coincident or nearly collinear vertices."
            )
    tris.append(tuple(idx))
    return np.array(tris, dtype=np.int64)


# ---------------------------------------------------------------------------- Polygon
class Polygon(Domain):
    """Closed region bounded by a simple polygon with ``vertices`` (m >= 3 points, dim 2).

    The vertices go around the boundary once, in either orientation (stored counter-clockwise);
    the last one connects back to the first. Holes and several parts: combine polygons with set
    operations (``a - b``, ``a | b``).
    """

    dim = 2

    def __init__(self, vertices):
        try:
            items = [list(p) for p in vertices]
        except TypeError:
            items = None
        if items is None or len(items) < 3 or any(len(p) != 2 for p in items):
            raise ProblemError(
                f"Polygon: vertices must be a sequence of at least 3 points (x, y), got {vertices!r}."
            )
        v = np.array([[as_real(c, "Polygon", f"vertices[{i}][{k}]") for k, c in enumerate(p)]
                      for i, p in enumerate(items)])
        scale = float(np.linalg.norm(v.max(axis=0) - v.min(axis=0)))
        self._eps = 1e-13 * scale**2
        area2 = float(np.sum(_cross(v, np.roll(v, -1, axis=0))))
        if scale == 0 or abs(area2) <= 1e-12 * scale**2:
            if scale > 0 and np.linalg.matrix_rank(v - v.mean(axis=0), tol=1e-9 * scale) > 1:
                _check_simple(v, self._eps)  # e.g. a figure eight: report the crossing
            raise ProblemError(
                f"Polygon: the vertices enclose no area (signed area {fmt(area2 / 2)}): they are all "
                "on one line or the same point. Give the corners of a polygon with positive area."
            )
        if area2 < 0:
            v = v[::-1].copy()
        _check_simple(v, self._eps)
        self.vertices = v
        self._area = abs(area2) / 2.0
        self._a, self._b = v, np.roll(v, -1, axis=0)
        d = self._b - self._a
        self._lengths = np.linalg.norm(d, axis=1)
        self._normals = np.stack([d[:, 1], -d[:, 0]], axis=1) / self._lengths[:, None]
        self._triangles = _ear_clip(v, self._eps)
        self._tri_areas = simplex_volumes(v[self._triangles])

    @classmethod
    def l_shape(cls) -> "Polygon":
        """The L-shape (-1, 1)^2 minus [0, 1] x [-1, 0]: vertices (-1, -1), (0, -1), (0, 0),
        (1, 0), (1, 1), (-1, 1); the re-entrant corner is at the origin."""
        return cls([(-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1)])

    @property
    def bounds(self):
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    @property
    def measure(self) -> float:
        """Area by the shoelace formula."""
        return self._area

    @property
    def boundary_measure(self) -> float:
        """Perimeter."""
        return float(self._lengths.sum())

    @property
    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """(start (m, 2), end (m, 2)) of the edges, counter-clockwise."""
        return self._a.copy(), self._b.copy()

    @property
    def triangles(self) -> np.ndarray:
        """Ear-clipping triangulation: int array (m - 2 or fewer, 3) of vertex indices."""
        return self._triangles.copy()

    def distance_to_boundary(self, points) -> np.ndarray:
        """Distance (n,) from each point to the nearest edge."""
        return segment_distance(self.as_points(points), self._a, self._b)

    def contains(self, points, tol=None):
        p, t = self.as_points(points), self.tolerance(tol)
        return _point_in_polygon(p, self.vertices) | (self.distance_to_boundary(p) <= t)

    def on_boundary(self, points, tol=None):
        return self.distance_to_boundary(points) <= self.tolerance(tol)

    def sample_interior(self, n, method="sobol", rng=None):
        """Area-uniform points: u_0 picks a triangle of the ear-clipping triangulation by area."""
        u = unit_samples(check_count(n), 2, method, generator(rng))
        if len(u) == 0:
            return np.zeros((0, 2))
        return sample_simplices(self.vertices[self._triangles], self._tri_areas, u)

    def sample_boundary(self, n, method="sobol", rng=None):
        """Length-uniform points on the edges; each carries its edge's outward normal."""
        u = unit_samples(check_count(n), 1, method, generator(rng))
        if len(u) == 0:
            return np.zeros((0, 2)), np.zeros((0, 2))
        k, s = pick_simplices(self._lengths, u[:, 0])
        return self._a[k] + s[:, None] * (self._b[k] - self._a[k]), self._normals[k].copy()

    def boundary_nodes(self, h: float) -> np.ndarray:
        """Points (B, 2) around the boundary (counter-clockwise, vertices included), spacing <= h."""
        parts = []
        for a, b, L in zip(self._a, self._b, self._lengths):
            m = max(1, math.ceil(L / h - 1e-9))
            t = np.arange(m)[:, None] / m
            parts.append(a + t * (b - a))
        return np.concatenate(parts)

    def mesh(self, resolution):
        """Triangle mesh: boundary nodes and an interior grid (spacing h = extent / resolution),
        Delaunay triangulated with the boundary edges recovered; the triangles tile the polygon
        exactly (total area = shoelace area up to rounding)."""
        res = check_resolution(resolution, "Polygon")
        lo, hi = self.bounds
        h = float((hi - lo).max()) / res
        nodes = self.boundary_nodes(h)
        inner = _grid_2d(lo, hi, h)
        inner = inner[_point_in_polygon(inner, self.vertices)]
        inner = inner[self.distance_to_boundary(inner) > 0.5 * h]
        mesh = _recover_boundary_mesh(nodes, inner, self)
        if mesh is None:
            mesh = self._refined_ear_mesh(h)
        return mesh

    def _refined_ear_mesh(self, h: float):
        """Fallback mesh: every ear-clipping triangle split into k^2 similar triangles."""
        tri = self.vertices[self._triangles]
        longest = float(np.max(np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2)))
        k = max(1, min(math.ceil(longest / h), int(math.sqrt(2e6 / len(tri))) or 1))
        i, j = (a.ravel() for a in np.meshgrid(np.arange(k + 1), np.arange(k + 1), indexing="ij"))
        lattice = np.flatnonzero(i + j <= k)
        lid = -np.ones((k + 1, k + 1), dtype=np.int64)
        lid[i[lattice], j[lattice]] = np.arange(len(lattice))
        ii, jj = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        up = (ii + jj <= k - 1).ravel()
        down = (ii + jj <= k - 2).ravel()
        ii, jj = ii.ravel(), jj.ravel()
        local = np.concatenate([
            np.stack([lid[ii, jj], lid[ii + 1, jj], lid[ii, jj + 1]], axis=1)[up],
            np.stack([lid[np.minimum(ii + 1, k), jj], lid[np.minimum(ii + 1, k), np.minimum(jj + 1, k)],
                      lid[ii, np.minimum(jj + 1, k)]], axis=1)[down],
        ])
        bi, bj = i[lattice] / k, j[lattice] / k
        pts = (tri[:, None, 0] + bi[None, :, None] * (tri[:, None, 1] - tri[:, None, 0])
               + bj[None, :, None] * (tri[:, None, 2] - tri[:, None, 0])).reshape(-1, 2)
        cells = (local[None] + len(lattice) * np.arange(len(tri))[:, None, None]).reshape(-1, 3)
        lo, _ = self.bounds
        key = np.round((pts - lo) / (1e-7 * h)).astype(np.int64)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        cells = inverse.reshape(-1)[cells]
        pts = pts[first]
        return pts, [("triangle", orient_simplices(pts, cells))]

    def __repr__(self):
        pts = ", ".join(f"({fmt(x)}, {fmt(y)})" for x, y in self.vertices)
        return f"Polygon([{pts}])"


def _grid_2d(lo: np.ndarray, hi: np.ndarray, h: float) -> np.ndarray:
    """Tensor grid over the box [lo, hi] (corners included), spacing about h."""
    axes = [np.linspace(a, b, max(2, round((b - a) / h) + 1)) for a, b in zip(lo, hi)]
    X, Y = np.meshgrid(*axes, indexing="ij")
    return np.stack([X.ravel(), Y.ravel()], axis=1)


def _edge_keys(simplices: np.ndarray, n: int) -> np.ndarray:
    e = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [2, 0]]])
    e.sort(axis=1)
    return np.unique(e[:, 0] * n + e[:, 1])


def _recover_boundary_mesh(nodes: np.ndarray, inner: np.ndarray, polygon: Polygon, max_rounds: int = 40):
    """Delaunay mesh of ``nodes`` (a closed boundary loop, in order) and ``inner`` points in which
    every boundary segment is an edge: missing segments are split and the inner points that
    encroach on them removed. Returns (points, cells) or None if that does not succeed."""
    for _ in range(max_rounds):
        B = len(nodes)
        pts = np.concatenate([nodes, inner])
        try:
            simplices = Delaunay(pts).simplices.astype(np.int64)
        except Exception:  # qhull failure on degenerate input
            return None
        seg = np.stack([np.arange(B), (np.arange(B) + 1) % B], axis=1)
        seg.sort(axis=1)
        missing = ~np.isin(seg[:, 0] * len(pts) + seg[:, 1], _edge_keys(simplices, len(pts)))
        if not missing.any():
            break
        a, b = nodes[missing], np.roll(nodes, -1, axis=0)[missing]
        mid, rad = 0.5 * (a + b), 0.5 * np.linalg.norm(b - a, axis=1)
        if len(inner):
            near = np.zeros(len(inner), dtype=bool)
            for m, r in zip(mid, rad):
                near |= np.linalg.norm(inner - m, axis=1) <= 1.01 * r
            inner = inner[~near]
        pos = np.flatnonzero(missing)
        nodes = np.insert(nodes, pos + 1, mid, axis=0)
    else:
        return None
    tri = pts[simplices]
    area = 0.5 * _cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    scale = polygon.diameter
    cent = tri.mean(axis=1)
    keep = (np.abs(area) > 1e-14 * scale**2) & _point_in_polygon(cent, polygon.vertices)
    cells = simplices[keep]
    if abs(np.abs(area[keep]).sum() - polygon.measure) > 1e-12 * max(polygon.measure, scale**2):
        return None
    used = np.unique(cells)
    remap = -np.ones(len(pts), dtype=np.int64)
    remap[used] = np.arange(len(used))
    pts = pts[used]
    return pts, [("triangle", orient_simplices(pts, remap[cells]))]
