"""A domain given by a mesh file: the union of its triangles (2D) or tetrahedra (3D).

Points are float64 arrays of shape (n, dim); normals are unit outward vectors. The boundary is
made of the faces (edges in 2D, triangles in 3D) that belong to one cell only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from pinnkan.errors import ProblemError
from pinnkan.geometry.domain import Domain, check_count, generator, unit_samples
from pinnkan.geometry.polygon import pick_simplices, sample_simplices, simplex_points, simplex_volumes
from pinnkan.geometry.mesh_file import read_volume_mesh

_BLOCK = 65536  # points per block in the vectorised point-in-cell and distance searches


def _point_face_distance(p: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Distance (k,) from points p (k, d) to segments (d = 2) or triangles (d = 3) f (k, d, d)."""
    if f.shape[1] == 2:
        a, d = f[:, 0], f[:, 1] - f[:, 0]
        t = np.clip(np.einsum("ij,ij->i", p - a, d) / np.einsum("ij,ij->i", d, d), 0.0, 1.0)
        return np.linalg.norm(p - a - t[:, None] * d, axis=1)
    a, b, c = f[:, 0], f[:, 1], f[:, 2]
    n = np.cross(b - a, c - a)
    nn = np.einsum("ij,ij->i", n, n)
    w = p - a
    # barycentric coordinates of the projection onto the triangle's plane
    s = np.einsum("ij,ij->i", np.cross(w, c - a), n) / nn
    t = np.einsum("ij,ij->i", np.cross(b - a, w), n) / nn
    inside = (s >= 0) & (t >= 0) & (s + t <= 1)
    plane = np.abs(np.einsum("ij,ij->i", w, n)) / np.sqrt(nn)
    edges = np.min([_point_face_distance(p, np.stack([x, y], axis=1)) for x, y in ((a, b), (b, c), (c, a))],
                   axis=0)
    return np.where(inside, plane, edges)


class MeshDomain(Domain):
    """The domain covered by the triangles (2D) or tetrahedra (3D) of the mesh file ``path``.

    Any format meshio reads; a file with 3 coordinates and z = 0 everywhere is a 2D mesh.
    The mesh should be conforming (neighbouring cells share whole faces).
    """

    def __init__(self, path):
        self.path = Path(path)
        points, cells = read_volume_mesh(self.path)
        if points.shape[1] == 1:
            raise ProblemError(
                f"The mesh file {self.path} is a 1D mesh (lines); MeshDomain reads triangles or "
                "tetrahedra. For a 1D domain use pk.Interval(a, b)."
            )
        self.points, (self.cell_type, self.cells) = points, cells[0]
        self.dim = points.shape[1]
        d = self.dim
        v = points[self.cells]  # (C, d + 1, d)
        self._volumes = simplex_volumes(v)
        self._v0 = v[:, 0]
        E = np.swapaxes(v[:, 1:] - v[:, :1], 1, 2)  # columns are the edge vectors
        ok = self._volumes > 1e-14 * np.max(self._volumes)
        self._inv = np.full((len(v), d, d), np.nan)
        self._inv[ok] = np.linalg.inv(E[ok])
        # height of each cell over the face opposite each vertex: d * volume / face size
        self._heights = np.stack([
            d * self._volumes / np.maximum(simplex_volumes(v[:, [j for j in range(d + 1) if j != i]]), 1e-300)
            for i in range(d + 1)], axis=1)
        centroids = v.mean(axis=1)
        self._cell_tree = cKDTree(centroids)
        self._cell_radius = float(np.max(np.linalg.norm(v - centroids[:, None], axis=2)))
        # faces: all (d)-subsets of each cell, with the vertex opposite to them
        local = [[j for j in range(d + 1) if j != i] for i in range(d + 1)]
        faces = np.concatenate([self.cells[:, f] for f in local])
        opposite = np.concatenate([self.cells[:, i] for i in range(d + 1)])
        key = np.sort(faces, axis=1)
        _, first, inverse, counts = np.unique(key, axis=0, return_index=True, return_inverse=True,
                                              return_counts=True)
        if np.any(counts > 2):
            raise ProblemError(
                f"The mesh file {self.path} is not a valid volume mesh: {int(np.sum(counts > 2))} "
                f"{'edges' if d == 2 else 'faces'} are shared by more than two cells. Check that "
                "the mesh has no duplicate or overlapping cells."
            )
        single = first[counts == 1]
        self.faces = faces[single]
        fv = points[self.faces]  # (F, d, d)
        self._face_vertices = fv
        self._face_sizes = simplex_volumes(fv)
        if d == 2:
            e = fv[:, 1] - fv[:, 0]
            normal = np.stack([e[:, 1], -e[:, 0]], axis=1)
        else:
            normal = np.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        away = np.einsum("ij,ij->i", normal, points[opposite[single]] - fv[:, 0])
        normal[away > 0] *= -1.0
        self._face_normals = normal
        fc = fv.mean(axis=1)
        self._face_tree = cKDTree(fc)
        self._face_radius = float(np.max(np.linalg.norm(fv - fc[:, None], axis=2)))
        # a face of a flat cell has its opposite vertex in its own plane: probe its sides instead
        flat = np.abs(away) <= 1e-10 * self._face_radius
        if flat.any():
            probe = 1e-6 * self.diameter
            out = ~self.contains(fc[flat] + probe * normal[flat], tol=0.0)
            normal[np.flatnonzero(flat)[~out]] *= -1.0

    @property
    def bounds(self):
        return self.points.min(axis=0), self.points.max(axis=0)

    @property
    def measure(self) -> float:
        """Sum of the cell areas (2D) or volumes (3D)."""
        return float(self._volumes.sum())

    @property
    def boundary_measure(self) -> float:
        """Sum of the boundary edge lengths (2D) or face areas (3D)."""
        return float(self._face_sizes.sum())

    @property
    def boundary_faces(self) -> tuple[np.ndarray, np.ndarray]:
        """(faces (F, dim) point indices, unit outward normals (F, dim)) of the boundary."""
        return self.faces.copy(), self._face_normals.copy()

    def _in_cells(self, p: np.ndarray, cand: np.ndarray, t: float) -> np.ndarray:
        """Bool (k,): whether p (k, d) lies in cell cand (k,) up to distance t from its faces."""
        lam = np.einsum("kij,kj->ki", self._inv[cand], p - self._v0[cand])
        lam = np.concatenate([1.0 - lam.sum(axis=1, keepdims=True), lam], axis=1)
        # signed distance to face i is lambda_i times the height over that face
        with np.errstate(invalid="ignore"):
            return np.all(lam * self._heights[cand] >= -t, axis=1)

    def _boundary_distance_below(self, p: np.ndarray, t: float) -> np.ndarray:
        """Bool (n,): whether each point is within distance t of a boundary face."""
        out = np.zeros(len(p), dtype=bool)
        for s in range(0, len(p), _BLOCK):
            q = p[s:s + _BLOCK]
            lists = self._face_tree.query_ball_point(q, self._face_radius + t)
            sizes = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
            if not sizes.sum():
                continue
            rows = np.repeat(np.arange(len(q)), sizes)
            faces = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(sizes.sum()))
            near = _point_face_distance(q[rows], self._face_vertices[faces]) <= t
            out[s + rows[near]] = True
        return out

    def contains(self, points, tol=None):
        """Point-in-cell test (barycentric coordinates) over the nearby cells; points within
        ``tol`` of the boundary count as inside."""
        p, t = self.as_points(points), self.tolerance(tol)
        out = np.zeros(len(p), dtype=bool)
        lo, hi = self.bounds
        todo = np.flatnonzero(np.all((p >= lo - t) & (p <= hi + t), axis=1))
        k = min(8, len(self.cells))
        for s in range(0, len(todo), _BLOCK):
            idx = todo[s:s + _BLOCK]
            _, near = self._cell_tree.query(p[idx], k=k)
            near = near.reshape(len(idx), k)
            hit = self._in_cells(np.repeat(p[idx], k, axis=0), near.ravel(), t).reshape(len(idx), k)
            out[idx] = hit.any(axis=1)
        rest = todo[~out[todo]]
        for s in range(0, len(rest), _BLOCK):  # cells farther away: every cell whose ball is near
            idx = rest[s:s + _BLOCK]
            lists = self._cell_tree.query_ball_point(p[idx], self._cell_radius + t)
            sizes = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
            if not sizes.sum():
                continue
            rows = np.repeat(np.arange(len(idx)), sizes)
            cells = np.fromiter((i for x in lists for i in x), dtype=np.int64, count=int(sizes.sum()))
            hit = self._in_cells(p[idx][rows], cells, t)
            out[idx[rows[hit]]] = True
        rest = todo[~out[todo]]
        if len(rest):
            out[rest] = self._boundary_distance_below(p[rest], t)
        return out

    def on_boundary(self, points, tol=None):
        """Whether each point is within ``tol`` of a boundary face."""
        return self._boundary_distance_below(self.as_points(points), self.tolerance(tol))

    def sample_interior(self, n, method="sobol", rng=None):
        """Cells chosen with probability proportional to their size, uniform points in them."""
        u = unit_samples(check_count(n), self.dim, method, generator(rng))
        if len(u) == 0:
            return np.zeros((0, self.dim))
        return sample_simplices(self.points[self.cells], self._volumes, u)

    def sample_boundary(self, n, method="sobol", rng=None):
        """Points on the boundary faces in proportion to their size, with the faces' normals."""
        u = unit_samples(check_count(n), self.dim - 1, method, generator(rng))
        if len(u) == 0:
            return np.zeros((0, self.dim)), np.zeros((0, self.dim))
        k, s = pick_simplices(self._face_sizes, u[:, 0])
        local = np.concatenate([s[:, None], u[:, 1:]], axis=1)
        return simplex_points(self._face_vertices[k], local), self._face_normals[k].copy()

    def boundary_nodes(self, h: float) -> np.ndarray:
        """The mesh points on the boundary (B, dim) (h is not used)."""
        return self.points[np.unique(self.faces)]

    def mesh(self, resolution=None):
        """The file's own points and cells (``resolution`` is not used)."""
        return self.points.copy(), [(self.cell_type, self.cells.copy())]

    def __repr__(self):
        return f"MeshDomain({str(self.path)!r})"
