"""The figures of a run: history.png, solution.png and, for time-dependent problems, solution.gif.

solution.png shows, per field, the network's prediction, the exact solution (when the problem
has one, on the same colour range) and the absolute error: curves for 1D domains, colour maps
for 2D domains (the space-time plane of a 1D time-dependent problem) and for a slice through
3D domains (the middle time of a 2D time-dependent problem, the middle of the last coordinate
otherwise).
"""

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
    paths["history_png"] = P.plot_history(history_data(result), out / "history.png")
    paths.update(_field_plots(result, out))
    return paths


def history_data(result) -> dict:
    """What :func:`pinnkan.output.plots.history_figure` draws, taken from ``result.history``
    (per logged step: weighted loss, per-term mean squares, errors; level starts and weight
    updates) and the grids of the levels (``result.options``)."""
    h = result.history
    o = getattr(result, "options", None)
    grids = list(getattr(o, "levels", None) or []) or None
    return {"step": h.step, "loss": h.loss, "terms": h.terms, "error": h.error, "level_starts": h.level_starts,
            "grids": grids, "weight_steps": [w["step"] for w in getattr(h, "weights", None) or []]}


def _model_name(result) -> str:
    return str((getattr(result, "metrics", None) or {}).get("model", "network")).upper()


def _field_plots(result, out: Path) -> dict[str, Path]:
    domain = result.problem.domain
    names = result.field_names
    coords = [str(c) for c in result.compiled.coordinates]
    model = _model_name(result)
    if domain.dim == 1:
        x = np.linspace(domain.bounds[0][0], domain.bounds[1][0], 400)
        data = result.fields_on(x[:, None], residuals=False)
        curves, errors = _display_1d(data, names, model)
        return {"profile_png": P.plot_profile_1d(x, curves, out / "solution.png", title=result.problem.name,
                                                 errors=errors or None, xlabel=coords[0], ylabel=", ".join(names))}
    if domain.dim == 2:
        points, cells = domain.mesh(80)
        triangles = next((c for kind, c in cells if kind == "triangle"), None)  # keeps notches and holes
        data = result.fields_on(points, residuals=False)
        panels, groups = _display(data, names, model)
        return {"fields_png": P.plot_fields_2d(points, triangles, panels, out / "solution.png",
                                               title=result.problem.name, labels=tuple(coords[:2]),
                                               same_scale=groups)}
    if domain.dim == 3:
        lo, hi = domain.bounds
        g = np.linspace(0, 1, 80)
        X, Y = np.meshgrid(lo[0] + g * (hi[0] - lo[0]), lo[1] + g * (hi[1] - lo[1]), indexing="ij")
        pts3 = np.stack([X.ravel(), Y.ravel(), np.full(X.size, 0.5 * (lo[2] + hi[2]))], axis=1)
        pts3 = pts3[domain.contains(pts3)]
        data = result.fields_on(pts3, residuals=False)
        panels, groups = _display(data, names, model)
        return {"fields_png": P.plot_fields_2d(pts3[:, :2], None, panels, out / "solution.png",
                                               title=f"{result.problem.name} at {coords[2]} = {pts3[0, 2]:.3g}",
                                               labels=tuple(coords[:2]), same_scale=groups)}
    return {}


def _display(data: dict, field_names, model: str = "network") -> tuple[dict, list[tuple[str, str]]]:
    """The panels worth plotting, {title: (P,)}: each field, its exact solution and its error;
    and the (field, exact) title pairs to draw on one colour range."""
    keep, groups = {}, []
    for name in field_names:
        exact = data.get(f"{name}_exact")
        pred = data[name]
        if exact is not None and np.isnan(exact).any():  # the field lives on a subdomain: blank the rest
            pred = np.where(np.isnan(exact), np.nan, pred)
        keep[f"{name} ({model})"] = pred
        if exact is not None:
            keep[f"{name} exact"] = exact
            keep[f"|{name} − {name} exact|"] = data[f"{name}_abs_error"]
            groups.append((f"{name} ({model})", f"{name} exact"))
    return keep, groups


def _display_1d(data: dict, field_names, model: str = "network") -> tuple[dict, dict]:
    """({title: (P,)} of the fields and exact solutions, {title: (P,)} of the absolute errors)."""
    curves, errors = {}, {}
    for name in field_names:
        curves[f"{name} ({model})"] = data[name]
        if f"{name}_exact" in data:
            curves[f"{name} exact"] = data[f"{name}_exact"]
            errors[f"|{name} − {name} exact|"] = data[f"{name}_abs_error"]
    return curves, errors
