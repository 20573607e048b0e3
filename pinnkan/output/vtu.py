"""Solution fields to VTU files (ParaView, VTK) through meshio.

Points are float64 arrays of shape (P, dim) with dim 1..3; cells are a list of
(meshio cell type, int array of shape (ncells, nodes)); point data arrays have shape (P,) or
(P, c). Files are written atomically: a failed write leaves no partial file behind.
"""

from __future__ import annotations

from pathlib import Path

import meshio
import numpy as np

from pinnkan.output.atomic import atomic_path
from pinnkan.errors import PinnkanError


def _pad3(a: np.ndarray) -> np.ndarray:
    """Pad the columns of a (P, c) array with c < 3 by zeros to (P, 3)."""
    return np.hstack([a, np.zeros((a.shape[0], 3 - a.shape[1]))]) if a.shape[1] < 3 else a


def write_vtu(path, points, cells, point_data: dict | None = None, allow_nonfinite: bool = False) -> Path:
    """Write a binary VTU file and return its path.

    ``points`` (P, dim) are padded to 3 columns; point data of shape (P,) are scalars, (P, 2)
    vectors are padded to 3 components. Raises ValueError when an array does not have P rows,
    and :class:`PinnkanError` (a ValueError) listing the names of arrays with non-finite values
    unless ``allow_nonfinite`` (the coordinates must always be finite).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or not 1 <= pts.shape[1] <= 3:
        raise ValueError(f"points must have shape (P, 1..3), got {pts.shape}")
    n = len(pts)
    data = {}
    for name, values in (point_data or {}).items():
        a = np.asarray(values, dtype=np.float64)
        if a.ndim not in (1, 2) or a.shape[0] != n:
            raise ValueError(f"point data {name!r} has shape {a.shape}; expected ({n},) or ({n}, c)")
        data[name] = _pad3(a) if a.ndim == 2 and a.shape[1] == 2 else a
    bad = [] if allow_nonfinite else [name for name, a in data.items() if not np.all(np.isfinite(a))]
    if bad or not np.all(np.isfinite(pts)):
        what = ", ".join(repr(b) for b in bad) if bad else "the point coordinates"
        raise PinnkanError(
            f"Cannot write {path}: non-finite values (NaN or infinity) in {what}. This usually "
            "means training diverged; lower the learning rate or check the problem definition."
        )
    cell_blocks = [(str(t), np.asarray(c, dtype=np.int64)) for t, c in cells]
    mesh = meshio.Mesh(_pad3(pts), cell_blocks, point_data=data)
    path = Path(path)
    with atomic_path(path) as tmp:
        meshio.write(tmp, mesh, file_format="vtu", binary=True)
    return path


def read_vtu(path):
    """Read a VTU file; return (points (P, 3), cells [(type, int array)], point_data dict)."""
    mesh = meshio.read(path, file_format="vtu")
    cells = [(block.type, np.asarray(block.data)) for block in mesh.cells]
    return np.asarray(mesh.points, dtype=np.float64), cells, dict(mesh.point_data)
