"""Explaining the KAN of a run folder (what ``pinnkan explain RUN_DIR`` does)."""

from __future__ import annotations

import json
from pathlib import Path

from pinnkan.errors import OptionError
from pinnkan.explain.pipeline import explain


def read_run(run_dir) -> tuple[object, dict]:
    """(the trained network, metrics.json) of the run folder ``run_dir``; OptionError when it is
    not a run folder or holds no KAN."""
    run = Path(run_dir)
    if not run.is_dir():
        raise OptionError(f"{run} is not a folder; give the run folder of `pinnkan solve` (e.g. runs/poisson2d-kan).")
    missing = [n for n in ("model.pt", "metrics.json") if not (run / n).is_file()]
    if missing:
        raise OptionError(f"{run} is not a run folder: it has no {' and no '.join(missing)}. Give the folder that "
                          "`pinnkan solve` wrote (e.g. runs/poisson2d-kan).")
    try:
        metrics = json.loads((run / "metrics.json").read_text())
    except (OSError, ValueError) as exc:
        raise OptionError(f"{run / 'metrics.json'} could not be read ({exc}); it is not a complete run folder.") from None
    options = metrics.get("options") or {}
    if options.get("model", "kan") != "kan":
        raise OptionError(f"The run in {run} trained an {str(options['model']).upper()}, which has no edge functions "
                          "to draw, prune or fit; explain reads KANs: solve with --model kan.")
    from pinnkan.output.model_file import load_model

    return load_model(run / "model.pt"), metrics


def explain_run(run_dir, problem=None, out_dir=None, **kwargs):
    """:func:`~pinnkan.explain.pipeline.explain` of the KAN in ``run_dir``, writing into
    ``out_dir`` (default ``run_dir/explain``). ``problem`` (a Problem), when given, must be the
    one the run solved."""
    model, metrics = read_run(run_dir)
    if problem is not None and metrics.get("problem") not in (None, problem.name):
        raise OptionError(f"The run in {run_dir} solved problem {metrics['problem']!r}, not {problem.name!r}; give "
                          "the problem file that run was made from.")
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "explain"
    return explain(model, problem=problem, out_dir=out, options=metrics.get("options"), **kwargs)
