"""A run folder: metrics.json, history.json, model.pt, solution.vtu (and .pvd), figures.

Every file goes through :func:`pinnkan.output.atomic.atomic_path`: none is ever left half
written.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from pinnkan.errors import PinnkanError
from pinnkan.output.atomic import write_json
from pinnkan.output.model_file import save_model
from pinnkan.output.vtu import write_vtu


def write_run(result, out_dir, plots: bool = True, resolution: int | None = None) -> dict[str, Path]:
    """Write ``result`` (a :class:`~pinnkan.output.result.Result`) into ``out_dir``: metrics.json
    (with the options), history.json, model.pt, solution.vtu (space-time for time-dependent
    problems of 1D and 2D space; a plane slice beyond 3-D) and solution.pvd (time series), and,
    unless ``plots`` is False, the figures of :func:`pinnkan.output.figures.write_figures`.
    Returns {name: path}.

    The small files come first. A file that cannot be written (a full disk, a folder made
    read-only) does not stop the others: they are all tried, then :class:`OutputError` names the
    ones that failed and the ones written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = result.problem
    space_dim = problem.domain.dim if problem.time is None else problem.domain.space.dim
    steps = [("metrics", lambda: write_json(out / "metrics.json", {**result.metrics, "options": asdict(result.options)})),
             ("history", lambda: write_json(out / "history.json", result.history.as_dict())),
             ("model", lambda: save_model(out / "model.pt", result.model, asdict(result.options), problem.domain.bounds,
                                          result.metrics["architecture"]))]
    if space_dim > 3:
        steps.append(("slice_vtu", lambda: write_slice(result, out / "solution_slice.vtu", resolution or 80)))
    elif problem.time is None or space_dim < 3:
        steps.append(("vtu", lambda: result.export(out / "solution.vtu", resolution)))
    if problem.time is not None and space_dim <= 3:
        steps.append(("pvd", lambda: result.export_time_series(out / "solution.pvd")))
    if plots:
        from pinnkan.output.figures import write_figures

        steps.append(("figures", lambda: write_figures(result, out)))
    paths, failed = {}, []
    for name, write in steps:
        try:
            written = write()
        except OSError as exc:
            failed.append((name, exc))
            continue
        paths.update(written if isinstance(written, dict) else {name: written})
    if failed:
        reason = failed[0][1].strerror or str(failed[0][1])
        raise OutputError(
            f"Could not write {', '.join(n for n, _ in failed)} into {out} ({reason}); written: "
            f"{', '.join(sorted(Path(p).name for p in paths.values())) or 'nothing'}. Free some space or "
            "choose another folder with --out.", paths)
    return paths


class OutputError(PinnkanError):
    """Some outputs of a run could not be written; ``written`` maps the others to their paths."""

    def __init__(self, message: str, written: dict):
        super().__init__(message)
        self.written = written


def slice_points(domain, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A plane slice of a domain of any dimension d >= 2: the first two coordinates on an n x n
    grid over the bounding box, the others at the box's centre. Returns (points (P, d) inside the
    domain, their first two coordinates (P, 2), triangles (T, 3) of the grid whose corners are all
    inside, indexing the points)."""
    lo, hi = (np.asarray(b, dtype=np.float64) for b in domain.bounds)
    g = np.linspace(0.0, 1.0, n)
    X, Y = np.meshgrid(lo[0] + g * (hi[0] - lo[0]), lo[1] + g * (hi[1] - lo[1]), indexing="ij")
    pts = np.tile(0.5 * (lo + hi), (n * n, 1))
    pts[:, 0], pts[:, 1] = X.ravel(), Y.ravel()
    inside = domain.contains(pts)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    tri = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    tri = tri[inside[tri].all(axis=1)]
    new = np.cumsum(inside) - 1
    return pts[inside], pts[inside][:, :2], new[tri]


def write_slice(result, path: Path, n: int = 80) -> Path:
    """``path`` (.vtu): the fields of ``result`` on the plane slice of :func:`slice_points` (the
    first two coordinates; the others, time included, at the centre of the bounding box) for a
    domain of more than three dimensions, where no volume mesh exists."""
    points, plane, triangles = slice_points(result.problem.domain, n)
    return write_vtu(path, plane, [("triangle", triangles)], result.fields_on(points),
                     allow_nonfinite=result.allow_nonfinite)
