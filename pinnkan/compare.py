"""KAN-PINN against MLP-PINN on the same problem, points and budget.

All rows are trained with the same collocation points (same sampler, seed and counts) and the
same budget (wall-clock seconds or optimizer steps), over several seeds. Rows: ``kan`` (the
KAN), ``mlp`` (the MLP) and, on request, ``kan-relu`` (the same KAN trained in the power-ReLU
basis), so that network, basis and optimizer effects can be told apart.

Each row gets the best second-phase optimizer pinnkan has for its size (:func:`best_optimizer`):
Levenberg-Marquardt for a network of at most ``LM_MAX_PARAMS`` parameters that it supports
(a KAN, or an MLP with a jet activation), L-BFGS otherwise. The report gives, per row, the
optimizer, the schedule, the parameter count, the steps reached against the planned ones,
whether each run reached its schedule's end, and the mean and spread over seeds of time,
relative L2 error, max error and PDE residual. A "wins" verdict between two rows is given only
when both reached their schedule's end in every seed, both beat u = 0 (mean rel L2 < 1) and
the spread over seeds (max/min rel L2) of neither is larger than the ratio of their mean errors.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pinnkan.choices import LM_MAX_PARAMS
from pinnkan.errors import OptionError
from pinnkan.networks.factory import build_network, n_parameters
from pinnkan.output.atomic import write_json
from pinnkan.problem.compile import compile_problem
from pinnkan.solver import SolveOptions, check_options, solve
from pinnkan.training.callbacks import Callback, ProgressBar, planned_steps

MODELS = ("kan", "mlp")
ROWS = ("kan", "mlp", "kan-relu")
MODEL_OF = {"kan": "kan", "mlp": "mlp", "kan-relu": "kan"}
LABELS = {"kan": "KAN-PINN", "mlp": "MLP-PINN", "kan-relu": "KAN-PINN (relu basis)"}
OPTIMIZER_NAMES = {"lm": "LM", "lbfgs": "L-BFGS"}
UNTIL_BUDGET = 10**7  # second-phase steps of a budget run: the budget, not a step count, ends it


def mlp_width_for(n_params: int, dim: int, n_fields: int, depth: int = 3) -> int:
    """Hidden width h of an MLP [dim, h x depth, n_fields] whose parameter count is nearest n_params.

    count(h) = (dim + 1) h + (depth - 1)(h + 1) h + (h + 1) n_fields.
    """
    def count(h):
        return (dim + 1) * h + (depth - 1) * (h + 1) * h + (h + 1) * n_fields

    return min(range(1, 2000), key=lambda h: abs(count(h) - n_params))


def best_optimizer(net, compiled) -> tuple[str, str]:
    """(optimizer, reason): ``"lm"`` when ``net`` has at most LM_MAX_PARAMS trainable parameters
    and Levenberg-Marquardt supports it and the equations (``check_supported``), else ``"lbfgs"``."""
    from pinnkan.training.levenberg import check_supported

    n = n_parameters(net)
    if n > LM_MAX_PARAMS:
        return "lbfgs", f"{n} parameters > {LM_MAX_PARAMS}: L-BFGS"
    try:
        check_supported(net, compiled)
    except OptionError:
        return "lbfgs", "Levenberg-Marquardt does not apply to this network or these equations: L-BFGS"
    return "lm", f"{n} parameters <= {LM_MAX_PARAMS}: Levenberg-Marquardt"


OPTIMIZER_RULE = (f"optimizer auto: Levenberg-Marquardt (LM) for a network of at most {LM_MAX_PARAMS} "
                  "parameters (on its last grid) that LM supports, L-BFGS otherwise")


@dataclass
class RowPlan:
    """One row of the comparison, fixed before any training: the options given to solve
    (optimizer explicit), the completed options, the parameter count of the last level's network
    and the schedule."""

    row: str
    options: dict
    completed: SolveOptions
    n_params: int
    optimizer_rule: str
    until_budget: bool  # the second phase has no step count: the budget ends it

    @property
    def model(self) -> str:
        return MODEL_OF[self.row]

    @property
    def planned_steps(self) -> int | None:
        """Steps of the full schedule (None when the budget, not a step count, ends it)."""
        return None if self.until_budget else planned_steps(self.completed.specs()[1])

    def schedule(self) -> dict:
        """The schedule as plain data, with a one-line ``text``."""
        o = self.completed
        s = o.specs()[1]
        second = None if self.until_budget else s.second_steps
        levels = list(s.levels) if o.model == "kan" else None
        where = ("levels " + ",".join(map(str, levels)) if len(levels) > 1 else f"grid {levels[0]}") if levels else None
        text = "; ".join(x for x in (
            where, f"Adam {s.adam_steps}",
            f"{OPTIMIZER_NAMES[s.optimizer]} {'until budget' if second is None else second}",
            f"{s.starts} starts" if s.starts > 1 else None) if x)
        return {"levels": levels, "adam_steps": s.adam_steps, "adam_lr": s.adam_lr, "optimizer": s.optimizer,
                "second_steps": second, "starts": s.starts, "balance": s.balance,
                "budget_seconds": s.budget_seconds, "text": text}


class PhaseWatch(Callback):
    """Records each phase a run enters: name, level, steps asked and taken, and whether the
    clock (the level's share of the time budget) had run out when it ended."""

    def __init__(self):
        self.phases: list[dict] = []
        self._open: dict | None = None

    def on_phase_start(self, trainer, name, total):
        self._open = {"phase": name, "level": trainer.level, "asked": int(total), "first": trainer.step}

    def on_phase_end(self, trainer, name):
        p, self._open = self._open, None
        if p is not None:
            first = p.pop("first")
            self.phases.append({**p, "taken": trainer.step - first, "clock_out": trainer.out_of_budget(),
                                "elapsed_s": trainer.elapsed()})


def plan_row(problem, row: str, options: dict, budget_seconds, seed: int, compiled) -> RowPlan:
    """Check ``options`` for ``row`` and fix its optimizer: the one asked for, or for ``"auto"``
    :func:`best_optimizer` of the row's network on its last grid. Raises OptionError."""
    model = MODEL_OF[row]
    opts = dict(options)
    asked = opts.get("optimizer", "auto")
    o = check_options(problem, model, seed=seed, **opts)
    with torch.random.fork_rng(devices=[]):
        net = build_network(o.network(), problem.domain.bounds, torch.float64, torch.device("cpu"))
    if asked == "auto":
        optimizer, rule = best_optimizer(net, compiled)
    else:
        if asked == "lm":
            from pinnkan.training.levenberg import check_supported

            check_supported(net, compiled)  # before any training, as solve would at its second phase
        optimizer, rule = asked, f"{OPTIMIZER_NAMES[asked]}, as asked"
    opts["optimizer"] = optimizer
    until_budget = False
    if budget_seconds is not None:
        opts["budget_seconds"] = budget_seconds
        until_budget = f"{optimizer}_steps" not in opts
        opts.setdefault("lbfgs_steps", UNTIL_BUDGET)
        opts.setdefault("lm_steps", UNTIL_BUDGET)
    o = check_options(problem, model, seed=seed, **opts)
    return RowPlan(row, opts, o, n_parameters(net), rule, until_budget)


def compare(problem, seeds: int = 1, budget_seconds: float | None = None, match_params: bool = False,
            kan_options: dict | None = None, mlp_options: dict | None = None, before_training=None,
            relu_row: bool = False, **common) -> dict:
    """Train every row for ``seeds`` seeds; return ``{"rows", "runs", "summary", "warnings",
    "verdicts", ...}``.

    ``common`` options (points, steps, device, ...) go to all rows; ``kan_options`` and
    ``mlp_options`` to the KAN rows and the MLP. With ``match_params`` the MLP's hidden width
    is chosen so that its parameter count matches the KAN's. With ``relu_row`` a third row
    ``kan-relu`` trains the same KAN with ``spline_basis="relu"``. ``optimizer`` ``"auto"`` (the
    default) is fixed per row by :func:`best_optimizer`. Every row's options are checked before
    any training; ``before_training()``, when given, is called then (the command line prepares
    its output folder there).
    """
    if seeds < 1:
        raise OptionError(f"Number of seeds must be >= 1, got {seeds}.")
    base_seed = int(common.pop("seed", 0))
    plans = _plans(problem, budget_seconds, match_params, relu_row, common, kan_options or {}, mlp_options or {},
                   base_seed)
    if before_training is not None:
        before_training()
    warm_up_s = warm_up(problem, plans, base_seed)
    runs, results = [], {}
    for s in range(seeds):
        seed = base_seed + s
        for plan in plans:
            watch = PhaseWatch()
            callbacks = ([ProgressBar()] if plan.options.get("progress") else []) + [watch]
            result = solve(problem, model=plan.model, seed=seed, callbacks=callbacks, **plan.options)
            runs.append(_run_record(result, seed, plan, watch.phases))
            results.setdefault(plan.row, []).append(result)
    summary = {p.row: _aggregate([r for r in runs if r["row"] == p.row], p) for p in plans}
    summary["ratio_mlp_over_kan"] = _ratio(summary, "mlp", "kan")
    if relu_row:
        summary["ratio_kan_relu_over_kan"] = _ratio(summary, "kan-relu", "kan")
    report = {"problem": problem.name, "budget_seconds": budget_seconds, "seeds": seeds,
              "rows": [p.row for p in plans], "optimizer_rule": OPTIMIZER_RULE, "warm_up_s": warm_up_s,
              "runs": runs, "summary": summary, "results": results}
    report["warnings"] = warnings_of(report)
    report["verdicts"] = [v for _, _, v in verdicts_of(report)]
    return report


def _plans(problem, budget_seconds, match_params, relu_row, common, kan_options, mlp_options, seed) -> list[RowPlan]:
    """The rows' plans, all options checked (the MLP's widths from the KAN's count with match_params)."""
    compiled = compile_problem(problem)
    kan = {**common, **kan_options}
    if relu_row and kan.get("spline_basis", "bspline") == "relu":
        raise OptionError("The KAN already trains in the relu basis (--basis relu); the extra row of --with-relu "
                          "(relu_row) is that same KAN: drop one of the two.")
    plans = [plan_row(problem, "kan", kan, budget_seconds, seed, compiled)]
    mlp = {**common, **mlp_options}
    if match_params and "widths" not in mlp:
        d, f = problem.domain.dim, len(problem.fields)
        h = mlp_width_for(plans[0].n_params, d, f)
        mlp["widths"] = [d, h, h, h, f]
    plans.append(plan_row(problem, "mlp", mlp, budget_seconds, seed, compiled))
    if relu_row:
        plans.append(plan_row(problem, "kan-relu", {**kan, "spline_basis": "relu"}, budget_seconds, seed, compiled))
    return plans


def warm_up(problem, plans: list[RowPlan], seed: int) -> float:
    """Train each row once for one step of each phase on a few points, untimed, and return the
    seconds it took: a process's one-time costs (torch's optimizer and autograd set-up, the
    imports of the derivative engines and of Levenberg-Marquardt, several seconds) are then not
    charged to the time or the budget of the first row trained. The torch RNG is left as is."""
    from pinnkan.errors import PinnkanError

    t0 = time.perf_counter()
    small = {"adam_steps": 1, "lbfgs_steps": 1, "lm_steps": 1, "n_interior": 16, "n_boundary": 8, "n_eval": 64,
             "budget_seconds": None, "progress": False, "starts": 1}
    with torch.random.fork_rng(devices=[]):
        for plan in plans:
            try:
                solve(problem, model=plan.model, seed=seed, callbacks=[], **{**plan.options, **small})
            except PinnkanError:
                pass  # a few points may not suit every problem; the real runs report their own errors
    return time.perf_counter() - t0


def cut_short(phases: list[dict], plan: RowPlan, steps: int, stopped, interrupted=None) -> str | None:
    """Why a run did not reach its schedule's end, or None when it did.

    Not reached: a non-finite loss stopped it, or an interrupt (``interrupted``); or the time
    budget cut it short: an Adam phase
    (or trial start) ended or was skipped on the clock, a level got no second-phase iterations
    (when the second phase has at least one per level), or, when the second phase has a step
    count, the run ended on the clock before its planned steps. A second phase without a step
    count (a budget run's default) ends on the budget by plan; ending on a loss plateau is the
    schedule's own end.
    """
    if stopped:
        return f"stopped: {stopped}"
    if interrupted:
        return f"interrupted: {interrupted}"
    o = plan.completed
    if o.budget_seconds is None:
        return None
    s = o.specs()[1]
    adam = [p for p in phases if p["phase"] == "adam"]
    if s.adam_steps > 0 and (len(adam) < s.starts or any(p["taken"] < p["asked"] for p in adam)):
        done = sum(p["taken"] for p in adam)
        return f"the time budget ended Adam after {done} of {s.adam_steps * s.starts} steps"
    n = len(s.levels)
    if s.second_steps >= n:
        entered = {p["level"] for p in phases if p["phase"] == s.optimizer}
        missing = [g for i, g in enumerate(s.levels) if i not in entered]
        if missing:
            return f"the time budget left grid(s) {', '.join(map(str, missing))} untrained"
    planned = plan.planned_steps
    if planned is not None and steps < planned and phases and phases[-1]["clock_out"]:
        return f"the time budget ended it at step {steps} of {planned}"
    return None


def _run_record(result, seed: int, plan: RowPlan, phases: list[dict]) -> dict:
    m = result.metrics
    h = result.history
    err = [max(v) for v in zip(*h.error.values())] if h.error else []
    cut = cut_short(phases, plan, m["steps"], m.get("stopped"), m.get("interrupted"))
    return {
        "row": plan.row, "model": m["model"], "seed": seed, "architecture": m["architecture"],
        "n_params": m["n_params"], "optimizer": plan.completed.optimizer,
        "wall_time_s": m["wall_time_s"], "steps": m["steps"], "planned_steps": plan.planned_steps,
        "reached_end": cut is None, "cut_short": cut, "phases": phases,
        "rel_l2": m.get("rel_l2", {}), "max_abs_error": m.get("max_abs_error", {}),
        "mean_residual": m["mean_residual"], "stopped": m.get("stopped"),
        "history": {"time": h.time, "worst_rel_l2": err},
    }


def _stats(values) -> dict:
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if a.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max())}


def _aggregate(runs: list[dict], plan: RowPlan) -> dict:
    worst = lambda d: max(d.values()) if d else None
    rel = _stats(worst(r["rel_l2"]) for r in runs)
    return {
        "label": LABELS[plan.row],
        "model": plan.model,
        "architecture": runs[0]["architecture"],
        "n_params": runs[0]["n_params"],
        "optimizer": plan.completed.optimizer,
        "optimizer_rule": plan.optimizer_rule,
        "schedule": plan.schedule(),
        "planned_steps": plan.planned_steps,
        "steps": _stats(r["steps"] for r in runs),
        "reached_end": {"runs": sum(r["reached_end"] for r in runs), "of": len(runs)},
        "cut_short": [f"seed {r['seed']}: {r['cut_short']}" for r in runs if r["cut_short"]],
        "wall_time_s": _stats(r["wall_time_s"] for r in runs),
        "rel_l2": rel,
        "spread_rel_l2": spread(rel),
        "max_abs_error": _stats(worst(r["max_abs_error"]) for r in runs),
        "mean_residual": _stats(r["mean_residual"] for r in runs),
    }


def spread(stats: dict) -> float | None:
    """max / min over seeds of a positive quantity (1 for one seed; None when unmeasured)."""
    lo, hi = stats.get("min"), stats.get("max")
    if lo is None or hi is None or lo <= 0:
        return None
    return hi / lo


def _ratio(summary: dict, num: str, den: str) -> float | None:
    a, b = summary[num]["rel_l2"]["mean"], summary[den]["rel_l2"]["mean"]
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---------------------------------------------------------------------------- warnings and verdicts
def _rows(report: dict) -> list[str]:
    return list(report.get("rows") or [r for r in ROWS if r in report["summary"]])


def _label(report: dict, row: str) -> str:
    return report["summary"][row].get("label", LABELS.get(row, row))


def _reached(s: dict) -> bool:
    r = s.get("reached_end")
    return r is None or r["runs"] == r["of"]


def _invalid(s: dict) -> bool:
    m = s["rel_l2"]["mean"]
    return m is not None and m >= 1


def warnings_of(report: dict) -> list[str]:
    """The warnings of a report: rows that did not reach their schedule's end in some seed, rows
    worse than u = 0 (mean rel L2 >= 1), and pairs whose spread over seeds exceeds the ratio of
    their mean errors."""
    out = []
    for row in _rows(report):
        s, name = report["summary"][row], _label(report, row)
        if not _reached(s):
            r = s["reached_end"]
            why = "; ".join(s.get("cut_short") or [])
            out.append(f"{name} did not reach its schedule's end in {r['of'] - r['runs']} of {r['of']} seed(s)"
                       + (f" ({why})" if why else "") + "; its errors are not those of its full schedule.")
        if _invalid(s):
            out.append(f"{name}: mean rel L2 {s['rel_l2']['mean']:.2e} >= 1, worse than u = 0: "
                       "not a valid baseline.")
    for a, b, _ in verdicts_of(report):
        ratio, spreads = _pair(report, a, b)
        if ratio is not None and spreads and max(spreads.values()) > ratio:
            parts = ", ".join(f"{_label(report, k)} {v:.2f}x" for k, v in spreads.items())
            out.append(f"The spread over seeds (max/min rel L2: {parts}) is larger than the ratio of the mean "
                       f"errors of {_label(report, a)} and {_label(report, b)} ({ratio:.2f}x): their difference "
                       "is within the seed-to-seed variation.")
    return out


def _pair(report: dict, a: str, b: str):
    """(ratio >= 1 of the larger to the smaller mean rel L2 or None, {row: spread over seeds})."""
    sa, sb = report["summary"][a], report["summary"][b]
    ma, mb = sa["rel_l2"]["mean"], sb["rel_l2"]["mean"]
    if ma is None or mb is None or min(ma, mb) <= 0:
        return None, {}
    spreads = {k: spread(report["summary"][k]["rel_l2"]) for k in (a, b)}
    return max(ma, mb) / min(ma, mb), {k: v for k, v in spreads.items() if v is not None}


def verdicts_of(report: dict) -> list[tuple[str, str, str | None]]:
    """(row a, row b, line) per compared pair: KAN vs MLP, and KAN vs its relu-basis twin when
    present. The line says which row wins and by what factor of mean rel L2; it is a "no verdict"
    line when either row did not reach its schedule's end in every seed, either is worse than
    u = 0, the spread over seeds of either is larger than the ratio, or the means are equal;
    None without errors."""
    rows = _rows(report)
    pairs = [(a, b) for a, b in (("kan", "mlp"), ("kan", "kan-relu")) if a in rows and b in rows]
    out = []
    for a, b in pairs:
        ratio, spreads = _pair(report, a, b)
        if ratio is None:
            out.append((a, b, None))
            continue
        sa, sb = report["summary"][a], report["summary"][b]
        la, lb = _label(report, a), _label(report, b)
        why = []
        if not (_reached(sa) and _reached(sb)):
            why.append("a row did not reach its schedule's end")
        if _invalid(sa) or _invalid(sb):
            why.append("a row is worse than u = 0")
        if spreads and max(spreads.values()) > ratio:
            why.append("the spread over seeds is larger than the ratio of the mean errors")
        if ratio == 1:
            why.append("equal mean errors")
        if why:
            out.append((a, b, f"No verdict between {la} and {lb}: {'; '.join(why)}."))
            continue
        win, lose = (la, lb) if sa["rel_l2"]["mean"] < sb["rel_l2"]["mean"] else (lb, la)
        out.append((a, b, f"**{win} wins**: {ratio:.1f}x lower mean relative L2 error than {lose}."))
    return out


# ---------------------------------------------------------------------------- report
def _fmt(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.2e} ± {s['std']:.1e}" if s["std"] else f"{s['mean']:.2e}"


def _steps_cell(s: dict) -> str:
    steps = s.get("steps") or {}
    if steps.get("mean") is None:
        return "n/a"
    planned = s.get("planned_steps")
    return f"{steps['mean']:.0f} / {planned}" if planned is not None else f"{steps['mean']:.0f} (until budget)"


def _row_line(s: dict) -> str:
    t = s["wall_time_s"]
    sched = (s.get("schedule") or {}).get("text", "n/a")
    reached = s.get("reached_end")
    reach = f"{reached['runs']}/{reached['of']}" if reached else "n/a"
    optimizer = OPTIMIZER_NAMES.get(s.get("optimizer"), s.get("optimizer") or "n/a")
    return (f"| {s['label']} | {s['architecture']} | {s['n_params']} | {t['mean']:.1f} | {_fmt(s['rel_l2'])} | "
            f"{_fmt(s['max_abs_error'])} | {_fmt(s['mean_residual'])} | {optimizer} | {sched} | "
            f"{_steps_cell(s)} | {reach} |")


def markdown(report: dict) -> str:
    """The comparison as a Markdown table (one row per model), its warnings and, where they
    allow one, a verdict per compared pair."""
    budget = f"{report['budget_seconds']:g} s per model" if report["budget_seconds"] else "equal step counts"
    rows = _rows(report)
    title = " vs ".join(_label(report, r) for r in rows)
    lines = [
        f"# {title} on {report['problem']}",
        "",
        f"Budget: {budget}; seeds: {report['seeds']}; same collocation points for every model. "
        "Errors are the worst field's; mean ± standard deviation over seeds. Steps: mean over seeds / "
        "planned; reached end: runs that reached their schedule's end (not cut by the budget or a stop). "
        f"Second-phase optimizer, unless --optimizer sets one: {OPTIMIZER_RULE.split(': ', 1)[1]}.",
        "",
        "| model | architecture | params | time (s) | rel L2 | max abs error | mean residual | optimizer | "
        "schedule | steps | reached end |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    for row in rows:
        lines.append(_row_line({"label": _label(report, row), **report["summary"][row]}))
    warns = warnings_of(report)
    if warns:
        lines += [""] + [f"- **Warning**: {w}" for w in warns]
    if report["seeds"] == 1:
        lines += ["", "One seed: the spread over seeds is not measured; use several seeds before drawing conclusions."]
    verdicts = [v for _, _, v in verdicts_of(report) if v]
    if verdicts:
        lines += [""] + verdicts
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir) -> dict[str, Path]:
    """Write compare.md, compare.json and compare.png (error vs time, per row one run per seed)
    into ``out_dir``."""
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
            row = r.get("row", r["model"])
            label = f"{LABELS.get(row, row)}, {OPTIMIZER_NAMES.get(r.get('optimizer'), r.get('optimizer'))}"
            series.setdefault(label, []).append((r["history"]["time"], r["history"]["worst_rel_l2"], r["seed"]))
    if series:
        paths["png"] = plot_error_vs_time(series, out / "compare.png", title=f"{report['problem']}: error vs time")
    return paths
