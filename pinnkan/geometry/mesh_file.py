"""Volume meshes read from files through meshio (the geometry side of user meshes).

A volume mesh is made of triangles (2D) or tetrahedra (3D); files are read through meshio
(Gmsh .msh, VTK .vtu/.vtk, XDMF, Medit .mesh, ...; the format follows the file extension).
Points are float64 arrays (P, dim); cells are int arrays (C, dim + 1) of point indices.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import meshio
import numpy as np

from pinnkan.errors import ProblemError

VOLUME_CELLS = {1: "line", 2: "triangle", 3: "tetra"}
# higher-order cells list their corner points first: the linear cell is the first dim + 1
_CORNERS = {"line": 1, "line3": 1, "triangle": 2, "triangle6": 2, "triangle7": 2, "tetra": 3, "tetra10": 3}


def read_volume_mesh(path, error: type[Exception] = ProblemError):
    """Read the triangles (2D) or tetrahedra (3D) of a mesh file, or its lines (1D) when it
    has neither.

    Returns (points (P, dim) float64, [(cell type, int array (C, dim + 1))]) with only the
    points the cells use (renumbered). A file with 3 coordinates whose z are all 0 holds a 2D
    mesh (and whose y and z are all 0, with line cells only, a 1D mesh). Any problem (missing file, unreadable file, no triangle or tetra cells, non-finite
    coordinates, cells of zero total size) raises ``error`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        where = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise error(
            f"The mesh file {path} {where}. Give the path of a mesh file that meshio can read "
            "(e.g. a Gmsh .msh or a VTK .vtu file); relative paths are taken from the current "
            "directory."
        )
    said = io.StringIO()
    try:  # meshio prints its own messages and warnings: keep them off the terminal
        with warnings.catch_warnings(), contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            warnings.simplefilter("ignore")
            mesh = meshio.read(path)
    except (Exception, SystemExit) as exc:  # meshio raises many kinds (and exits on some files)
        lines = [line.strip() for line in said.getvalue().splitlines() if line.strip()]
        reason = str(exc) if not isinstance(exc, SystemExit) else "; ".join(lines[-2:])
        reason = " ".join(reason.split()).removeprefix("Error: ") or type(exc).__name__
        raise error(
            f"The mesh file {path} could not be read by meshio ({reason}). Check that the file "
            "is complete and in a format meshio reads (Gmsh .msh, VTK .vtu/.vtk, XDMF, Medit "
            ".mesh, ...); the format is chosen from the file extension."
        ) from None
    points = np.asarray(mesh.points, dtype=np.float64)
    kinds = sorted({block.type for block in mesh.cells})
    blocks = {}
    for block in mesh.cells:
        dim = _CORNERS.get(block.type)
        if dim is not None and len(block.data):
            blocks.setdefault(dim, []).append(np.asarray(block.data, dtype=np.int64)[:, : dim + 1])
    dim = 3 if 3 in blocks else 2 if 2 in blocks else 1 if 1 in blocks else None
    if dim is None:
        raise error(
            f"The mesh file {path} has no triangle or tetra cells (it has: "
            f"{', '.join(kinds) or 'no cells'}). pinnkan needs a volume mesh of the domain: "
            "triangles for a 2D domain, tetrahedra for a 3D one (with Gmsh: gmsh -2 or gmsh -3; "
            "quadrilaterals and hexahedra must be split into triangles or tetrahedra)."
        )
    if points.ndim != 2 or points.shape[1] not in (1, 2, 3) or points.shape[1] < dim:
        raise error(f"The mesh file {path} has points of shape {points.shape}; expected (P, {dim}).")
    if dim == 1 and points.shape[1] > 1:
        if np.any(np.abs(points[:, 1:]) > 1e-12 * max(float(np.abs(points).max()), 1e-300)):
            raise error(
                f"The mesh file {path} holds only line cells off the x axis (a curve). pinnkan needs "
                "a volume mesh of the domain: lines on the x axis (y = z = 0) for 1D, triangles "
                "for 2D, tetrahedra for 3D (with Gmsh: gmsh -2 or gmsh -3)."
            )
        points = points[:, :1]
    if dim == 2 and points.shape[1] == 3:
        z = points[:, 2]
        if np.any(np.abs(z) > 1e-12 * max(float(np.abs(points).max()), 1e-300)):
            raise error(
                f"The mesh file {path} holds triangles in 3D (their z coordinates are not all 0): "
                "a surface mesh. pinnkan needs a volume mesh: tetrahedra for a 3D domain, or "
                "triangles in the plane z = 0 for a 2D domain."
            )
        points = points[:, :2]
    cells = np.concatenate(blocks[dim])
    if cells.min() < 0 or cells.max() >= len(points):
        raise error(f"The mesh file {path} has cells that refer to points it does not contain.")
    used = np.unique(cells)
    points = points[used]
    if not np.all(np.isfinite(points)):
        raise error(f"The mesh file {path} has non-finite point coordinates (NaN or infinity).")
    cells = np.searchsorted(used, cells)
    v = points[cells]
    if not np.any(np.abs(np.linalg.det(v[:, 1:] - v[:, :1])) > 0):
        raise error(f"The mesh file {path} has cells of zero total {('length', 'area', 'volume')[dim - 1]}.")
    return points, [(VOLUME_CELLS[dim], cells)]
