"""A solution written on a user's mesh file (read by :mod:`pinnkan.geometry.mesh_file`)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from pinnkan.errors import OptionError
from pinnkan.geometry.mesh_file import VOLUME_CELLS, read_volume_mesh
from pinnkan.output.vtu import write_vtu

_CHUNK = 65536  # points per evaluation block in export_on_mesh


def check_mesh_for(problem, mesh_path):
    """Read ``mesh_path`` for writing ``problem``'s solution on it: (points, cells), or an
    OptionError naming the file when it is unusable or of another dimension than the problem's
    space. Called before training, so that a bad --mesh costs nothing."""
    points, cells = read_volume_mesh(mesh_path, error=OptionError)
    space = problem.spatial_domain
    if points.shape[1] != space.dim:
        raise OptionError(
            f"The mesh file {mesh_path} is a {points.shape[1]}D mesh but the space of problem "
            f"{problem.name!r} is {space.dim}D; give a mesh of the problem's domain "
            f"({VOLUME_CELLS.get(space.dim, 'cells')})."
        )
    return points, cells


def export_on_mesh(result, mesh_path, out_path) -> Path:
    """Evaluate ``result`` at the points of the mesh file ``mesh_path`` and write ``out_path``.

    The .vtu holds the file's points and cells (triangles or tetrahedra) with the point data of
    :meth:`pinnkan.output.result.Result.fields_on` (each field, its exact solution and error where
    known, the residuals). For a time-dependent problem the mesh is a mesh of space, and a
    time series is written instead: ``out_path`` with suffix .pvd plus one .vtu per time (see
    :mod:`pinnkan.output.timeseries`). Points outside the problem's domain are evaluated too (there
    the values are an extrapolation): a warning gives their fraction. A mesh whose dimension
    differs from the problem's space raises OptionError naming the file. Written atomically;
    returns the path.
    """
    points, cells = check_mesh_for(result.problem, mesh_path)
    space = result.problem.spatial_domain
    outside = ~space.contains(points, tol=1e-6 * space.diameter)
    if outside.any():
        warnings.warn(
            f"{outside.mean():.1%} of the points of {mesh_path} ({int(outside.sum())} of "
            f"{len(points)}) lie outside the domain of {result.problem.name!r}; the values "
            "written there are extrapolated by the network, not solutions of the problem.",
            UserWarning,
            stacklevel=2,
        )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if result.problem.time is not None:
        from pinnkan.output.timeseries import export_time_series

        return export_time_series(result, out_path.with_suffix(".pvd"), mesh=(points, cells))
    parts = [result.fields_on(points[i:i + _CHUNK]) for i in range(0, len(points), _CHUNK)]
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return write_vtu(out_path, points, cells, data, allow_nonfinite=result.allow_nonfinite)
