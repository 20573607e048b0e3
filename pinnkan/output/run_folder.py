"""A run folder: metrics.json, history.json, model.pt, solution.vtu (and .pvd), figures.

Every file goes through :func:`pinnkan.output.atomic.atomic_path`: none is ever left half
written.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from pinnkan.output.atomic import write_json
from pinnkan.output.model_file import save_model


def write_run(result, out_dir, plots: bool = True, resolution: int | None = None) -> dict[str, Path]:
    """Write ``result`` (a :class:`~pinnkan.output.result.Result`) into ``out_dir``: metrics.json
    (with the options), history.json, model.pt, solution.vtu (space-time for time-dependent
    problems of 1D and 2D space) and solution.pvd (time series), and, unless ``plots`` is False,
    the figures of :func:`pinnkan.output.figures.write_figures`. Returns {name: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = result.problem
    paths = {"metrics": write_json(out / "metrics.json", {**result.metrics, "options": asdict(result.options)})}
    paths["history"] = write_json(out / "history.json", result.history.as_dict())
    paths["model"] = save_model(out / "model.pt", result.model, asdict(result.options), problem.domain.bounds,
                                result.metrics["architecture"])
    if problem.time is None or problem.domain.space.dim < 3:
        paths["vtu"] = result.export(out / "solution.vtu", resolution)
    if problem.time is not None:
        paths["pvd"] = result.export_time_series(out / "solution.pvd")
    if plots:
        from pinnkan.output.figures import write_figures

        paths.update(write_figures(result, out))
    return paths
