"""The figures of a run: history.png, solution.png and, for time-dependent problems, solution.gif."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pinnkan.output import plots as P


def write_figures(result, out: Path) -> dict[str, Path]:
    """Write the PNG figures (and the GIF of a time-dependent problem of 1D or 2D space) of
    ``result`` into the folder ``out``; returns {name: path}."""
    out = Path(out)
    paths = {}
    problem = result.problem
    if problem.time is not None and problem.domain.space.dim <= 2:
        from pinnkan.output.timeseries import animate

        paths["gif"] = animate(result, out / "solution.gif")
    h = result.history
    paths["history_png"] = P.plot_history(
        {"step": h.step, "loss": h.loss, "error": h.error, "level_starts": h.level_starts}, out / "history.png")
    paths.update(_field_plots(result, out))
    return paths


def _field_plots(result, out: Path) -> dict[str, Path]:
    domain = result.problem.domain
    if domain.dim == 1:
        x = np.linspace(domain.bounds[0][0], domain.bounds[1][0], 400)
        data = result.fields_on(x[:, None], residuals=False)
        return {"profile_png": P.plot_profile_1d(x, _display(data, result.field_names), out / "solution.png")}
    if domain.dim == 2:
        points, cells = domain.mesh(80)
        triangles = next((c for kind, c in cells if kind == "triangle"), None)  # keeps notches and holes
        data = result.fields_on(points, residuals=False)
        labels = tuple(result.compiled.coordinates[:2])
        return {"fields_png": P.plot_fields_2d(points, triangles, _display(data, result.field_names),
                                               out / "solution.png", title=result.problem.name, labels=labels)}
    if domain.dim == 3:
        lo, hi = domain.bounds
        g = np.linspace(0, 1, 80)
        X, Y = np.meshgrid(lo[0] + g * (hi[0] - lo[0]), lo[1] + g * (hi[1] - lo[1]), indexing="ij")
        pts3 = np.stack([X.ravel(), Y.ravel(), np.full(X.size, 0.5 * (lo[2] + hi[2]))], axis=1)
        pts3 = pts3[domain.contains(pts3)]
        data = result.fields_on(pts3, residuals=False)
        return {"fields_png": P.plot_fields_2d(pts3[:, :2], None, _display(data, result.field_names),
                                               out / "solution.png",
                                               title=f"{result.problem.name}, slice {result.compiled.coordinates[2]} = {pts3[0, 2]:.3g}",
                                               labels=tuple(result.compiled.coordinates[:2]))}
    return {}


def _display(data: dict, field_names) -> dict:
    """The panels worth plotting: each field, its exact solution and its error."""
    keep = {}
    for name in field_names:
        for key in (name, f"{name}_exact", f"{name}_abs_error"):
            if key in data:
                keep[key] = data[key]
        exact = data.get(f"{name}_exact")
        if exact is not None and np.isnan(exact).any():  # the field lives on a subdomain: blank the rest
            keep[name] = np.where(np.isnan(exact), np.nan, data[name])
    return keep
