"""KAN-PINN against MLP-PINN on the same problem, points and budget.

Both models are trained with the same collocation points (same sampler, seed and counts) and
the same budget (wall-clock seconds or optimizer steps), over several seeds. The report gives,
per model, the mean and spread over seeds of parameters, time, relative L2 error, max error and
PDE residual, and the ratio of the errors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pinnkan.errors import OptionError
from pinnkan.output.atomic import write_json
from pinnkan.solver import check_options, solve

MODELS = ("kan", "mlp")


def mlp_width_for(n_params: int, dim: int, n_fields: int, depth: int = 3) -> int:
    """Hidden width h of an MLP [dim, h x depth, n_fields] whose parameter count is nearest n_params.

    count(h) = (dim + 1) h + (depth - 1)(h + 1) h + (h + 1) n_fields.
    """
    def count(h):
        return (dim + 1) * h + (depth - 1) * (h + 1) * h + (h + 1) * n_fields

    return min(range(1, 2000), key=lambda h: abs(count(h) - n_params))


def compare(problem, seeds: int = 1, budget_seconds: float | None = None, match_params: bool = False,
            kan_options: dict | None = None, mlp_options: dict | None = None, before_training=None,
            **common) -> dict:
    """Train both models for ``seeds`` seeds; return ``{"runs": [...], "summary": {...}}``.

    ``common`` options (points, steps, device, ...) go to both models; ``kan_options`` and
    ``mlp_options`` to one each. With ``match_params`` the MLP's hidden width is chosen so that
    its parameter count matches the KAN's. Both models' options are checked before any
    training; ``before_training()``, when given, is called then (the command line prepares its
    output folder there).
    """
    if seeds < 1:
        raise OptionError(f"Number of seeds must be >= 1, got {seeds}.")
    base_seed = int(common.pop("seed", 0))
    kan_options = {**common, **(kan_options or {})}
    mlp_options = {**common, **(mlp_options or {})}
    if budget_seconds is not None:
        for opts in (kan_options, mlp_options):
            opts["budget_seconds"] = budget_seconds
            opts.setdefault("lbfgs_steps", 10**7)  # the budget, not a step count, ends the run
            opts.setdefault("lm_steps", 10**7)
    check_options(problem, "kan", seed=base_seed, **kan_options)
    check_options(problem, "mlp", seed=base_seed, **mlp_options)
    if before_training is not None:
        before_training()
    runs, results = [], {}
    for s in range(seeds):
        seed = base_seed + s
        kan = solve(problem, model="kan", seed=seed, **kan_options)
        runs.append(_run_record(kan, seed))
        mopts = dict(mlp_options)
        if match_params and "widths" not in mopts:
            d, f = problem.domain.dim, len(problem.fields)
            h = mlp_width_for(kan.metrics["n_params"], d, f)
            mopts["widths"] = [d, h, h, h, f]
        mlp = solve(problem, model="mlp", seed=seed, **mopts)
        runs.append(_run_record(mlp, seed))
        results.setdefault("kan", []).append(kan)
        results.setdefault("mlp", []).append(mlp)
    summary = {m: _aggregate([r for r in runs if r["model"] == m]) for m in MODELS}
    summary["ratio_mlp_over_kan"] = _ratio(summary)
    return {"problem": problem.name, "budget_seconds": budget_seconds, "seeds": seeds,
            "runs": runs, "summary": summary, "results": results}


def _run_record(result, seed: int) -> dict:
    m = result.metrics
    h = result.history
    err = [max(v) for v in zip(*h.error.values())] if h.error else []
    return {
        "model": m["model"], "seed": seed, "architecture": m["architecture"], "n_params": m["n_params"],
        "wall_time_s": m["wall_time_s"], "steps": m["steps"],
        "rel_l2": m.get("rel_l2", {}), "max_abs_error": m.get("max_abs_error", {}),
        "mean_residual": m["mean_residual"], "stopped": m.get("stopped"),
        "history": {"time": h.time, "worst_rel_l2": err},
    }


def _stats(values) -> dict:
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if a.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max())}


def _aggregate(runs: list[dict]) -> dict:
    worst = lambda d: max(d.values()) if d else None
    return {
        "architecture": runs[0]["architecture"],
        "n_params": runs[0]["n_params"],
        "wall_time_s": _stats(r["wall_time_s"] for r in runs),
        "rel_l2": _stats(worst(r["rel_l2"]) for r in runs),
        "max_abs_error": _stats(worst(r["max_abs_error"]) for r in runs),
        "mean_residual": _stats(r["mean_residual"] for r in runs),
    }


def _ratio(summary: dict) -> float | None:
    k, m = summary["kan"]["rel_l2"]["mean"], summary["mlp"]["rel_l2"]["mean"]
    if k is None or m is None or k == 0:
        return None
    return m / k


def _fmt(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.2e} ± {s['std']:.1e}" if s["std"] else f"{s['mean']:.2e}"


def markdown(report: dict) -> str:
    """The comparison as a Markdown table, with a one-line verdict."""
    budget = f"{report['budget_seconds']:g} s per model" if report["budget_seconds"] else "equal step counts"
    lines = [
        f"# KAN-PINN vs MLP-PINN on {report['problem']}",
        "",
        f"Budget: {budget}; seeds: {report['seeds']}; same collocation points for both models. "
        "Errors are the worst field's; mean ± standard deviation over seeds.",
        "",
        "| model | architecture | params | time (s) | rel L2 | max abs error | mean residual |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in MODELS:
        s = report["summary"][m]
        t = s["wall_time_s"]
        lines.append(f"| {m.upper()}-PINN | {s['architecture']} | {s['n_params']} | {t['mean']:.1f} | "
                     f"{_fmt(s['rel_l2'])} | {_fmt(s['max_abs_error'])} | {_fmt(s['mean_residual'])} |")
    r = report["summary"]["ratio_mlp_over_kan"]
    if r is not None:
        who, factor = ("KAN-PINN", r) if r >= 1 else ("MLP-PINN", 1 / r)
        lines += ["", f"**{who} wins**: {factor:.1f}x lower mean relative L2 error."]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir) -> dict[str, Path]:
    """Write compare.md, compare.json and compare.png (error vs time) into ``out_dir``."""
    from pinnkan.output.atomic import atomic_path
    from pinnkan.output.plots import plot_error_vs_time

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "compare.md"
    with atomic_path(md) as tmp:
        tmp.write_text(markdown(report))
    data = {k: v for k, v in report.items() if k != "results"}
    paths = {"md": md, "json": write_json(out / "compare.json", data)}
    series = {}
    for r in report["runs"]:
        if r["history"]["worst_rel_l2"]:
            label = r["architecture"]
            series.setdefault(label, []).append((r["history"]["time"], r["history"]["worst_rel_l2"]))
    if series:
        paths["png"] = plot_error_vs_time(series, out / "compare.png", title=f"{report['problem']}: error vs time")
    return paths
