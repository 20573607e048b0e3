"""pinnkan compare: the optimizer of each row, the relu row, what the report says and when it
gives a verdict."""

import json
from pathlib import Path

import pytest
import torch

import pinnkan.compare as C
from pinnkan.compare import (best_optimizer, compare, cut_short, markdown, plan_row, verdicts_of, warnings_of,
                             write_report)
from pinnkan.errors import OptionError
from pinnkan.networks.mlp import MLP
from pinnkan.problem.compile import compile_problem
from pinnkan.problem.loading import load_problem
from helpers import run_main

POISSON = str(Path(__file__).resolve().parents[1] / "problems" / "poisson2d.py")
TINY = dict(adam_steps=5, lbfgs_steps=5, lm_steps=5, n_interior=64, n_boundary=16, grid=3)




@pytest.fixture(scope="module")
def poisson():
    return load_problem(POISSON)


@pytest.fixture(scope="module")
def compiled(poisson):
    return compile_problem(poisson)


# ---------------------------------------------------------------------------- optimizer per row
@pytest.mark.parametrize("row, options, n_params, optimizer", [
    ("kan", {}, 2 * 10 * 43 + 10 * 43, "lm"),                                # default multilevel KAN, grid 40 last
    ("kan-relu", {"spline_basis": "relu"}, 2 * 10 * 43 + 10 * 43, "lm"),     # same KAN, relu basis
    ("mlp", {}, 3 * 50 + 2 * 51 * 50 + 51, "lbfgs"),                         # default MLP: 5301 > 3000
    ("mlp", {"widths": [2, 20, 20, 1]}, 3 * 20 + 21 * 20 + 21, "lm"),        # small tanh MLP: LM too
    ("mlp", {"widths": [2, 20, 20, 1], "activation": "gelu"}, 501, "lbfgs"),  # LM has no gelu jets
    ("kan", {"widths": [2, 40, 40, 1], "grid": 20}, (2 * 40 + 40 * 40 + 40) * 23, "lbfgs"),  # > 3000
])
def test_each_row_gets_the_best_optimizer_for_its_size(poisson, compiled, row, options, n_params, optimizer):
    plan = plan_row(poisson, row, options, None, 0, compiled)
    assert plan.n_params == n_params
    assert plan.completed.optimizer == optimizer and plan.options["optimizer"] == optimizer
    assert plan.completed.model == C.MODEL_OF[row]


def test_an_optimizer_asked_for_is_kept(poisson, compiled):
    plan = plan_row(poisson, "mlp", {"optimizer": "lm"}, None, 0, compiled)  # 5301 parameters, LM asked
    assert plan.completed.optimizer == "lm" and plan.optimizer_rule == "LM, as asked"
    plan = plan_row(poisson, "kan", {"optimizer": "lbfgs"}, None, 0, compiled)
    assert plan.completed.optimizer == "lbfgs"
    with pytest.raises(OptionError, match="Levenberg-Marquardt optimizer needs a KAN or an MLP"):
        plan_row(poisson, "mlp", {"optimizer": "lm", "activation": "gelu"}, None, 0, compiled)


def test_the_size_limit_is_inclusive(poisson, compiled, monkeypatch):
    net = MLP([2, 20, 20, 1], activation="tanh", bounds=poisson.domain.bounds, dtype=torch.float64)
    monkeypatch.setattr(C, "LM_MAX_PARAMS", 501)
    assert best_optimizer(net, compiled) == ("lm", "501 parameters <= 501: Levenberg-Marquardt")
    monkeypatch.setattr(C, "LM_MAX_PARAMS", 500)
    assert best_optimizer(net, compiled) == ("lbfgs", "501 parameters > 500: L-BFGS")


def test_match_params_gives_the_mlp_the_kans_count_and_lm(poisson):
    plans = C._plans(poisson, None, True, False, dict(TINY), {}, {}, 0)
    kan, mlp = plans
    h = C.mlp_width_for(kan.n_params, 2, 1)
    assert mlp.completed.widths == [2, h, h, h, 1] and abs(mlp.n_params - kan.n_params) < 0.1 * kan.n_params
    assert (kan.completed.optimizer, mlp.completed.optimizer) == ("lm", "lm")


def test_budget_runs_have_no_second_phase_step_count_unless_given(poisson, compiled):
    plan = plan_row(poisson, "kan", {"adam_steps": 5}, 10.0, 0, compiled)
    assert plan.until_budget and plan.planned_steps is None and plan.completed.lm_steps == C.UNTIL_BUDGET
    assert plan.schedule()["text"] == "levels 5,10,20,40; Adam 5; LM until budget"
    plan = plan_row(poisson, "mlp", {"adam_steps": 5, "lbfgs_steps": 7, "lm_steps": 7}, 10.0, 0, compiled)
    assert not plan.until_budget and plan.planned_steps == 12
    assert plan.schedule()["text"] == "Adam 5; L-BFGS 7" and plan.schedule()["second_steps"] == 7


def test_relu_row_with_a_relu_kan_is_an_error_before_training(poisson):
    called = []
    with pytest.raises(OptionError, match="already trains in the relu basis"):
        compare(poisson, relu_row=True, spline_basis="relu", before_training=lambda: called.append(1), **TINY)
    assert called == []


# ---------------------------------------------------------------------------- reached the schedule's end
def _phase(name, level, asked, taken, clock_out=False):
    return {"phase": name, "level": level, "asked": asked, "taken": taken, "clock_out": clock_out, "elapsed_s": 0.0}


@pytest.fixture(scope="module")
def budget_plans(poisson, compiled):
    """A 2-level KAN under a 10 s budget: open-ended second phase, and one with 20 LM steps."""
    base = {"levels": [5, 10], "adam_steps": 30}
    return (plan_row(poisson, "kan", base, 10.0, 0, compiled),
            plan_row(poisson, "kan", {**base, "lm_steps": 20}, 10.0, 0, compiled))


def test_cut_short_names_what_the_budget_cut(budget_plans):
    open_ended, finite = budget_plans
    assert finite.planned_steps == 50
    full = [_phase("adam", 0, 30, 30), _phase("lm", 0, 10**7 // 2, 400, True), _phase("lm", 1, 10**7, 500, True)]
    assert cut_short(full, open_ended, 930, None) is None  # the budget is the plan's end
    assert cut_short([_phase("adam", 0, 30, 12, True)], open_ended, 12, None) == \
        "the time budget ended Adam after 12 of 30 steps"
    assert cut_short(full[:2], open_ended, 430, None) == "the time budget left grid(s) 10 untrained"
    ended = [_phase("adam", 0, 30, 30), _phase("lm", 0, 10, 10), _phase("lm", 1, 10, 4, True)]
    assert cut_short(ended, finite, 44, None) == "the time budget ended it at step 44 of 50"
    plateau = [_phase("adam", 0, 30, 30), _phase("lm", 0, 10, 6), _phase("lm", 1, 14, 9)]
    assert cut_short(plateau, finite, 45, None) is None  # a plateau is the schedule's own end
    assert cut_short(full, open_ended, 930, "non-finite loss") == "stopped: non-finite loss"
    assert cut_short(full, open_ended, 930, None, "SIGINT") == "interrupted: SIGINT"


def test_without_a_budget_only_a_stop_ends_a_run_early(poisson, compiled):
    plan = plan_row(poisson, "kan", {"grid": 3, "adam_steps": 5, "lm_steps": 50}, None, 0, compiled)
    assert cut_short([_phase("adam", 0, 5, 5), _phase("lm", 0, 50, 31)], plan, 36, None) is None
    assert cut_short([], plan, 2, "non-finite loss (nan)") == "stopped: non-finite loss (nan)"


# ---------------------------------------------------------------------------- the report, by hand
def _stats(values):
    return C._stats(values)


def _row(label, errors, optimizer="lm", reached=None, n_params=100, planned=40, steps=40, cuts=()):
    n = len(errors)
    reached = n if reached is None else reached
    return {"label": label, "architecture": f"{label} net", "n_params": n_params, "optimizer": optimizer,
            "schedule": {"text": "grid 3; Adam 20; LM 20"}, "planned_steps": planned,
            "steps": _stats([steps] * n), "reached_end": {"runs": reached, "of": n}, "cut_short": list(cuts),
            "wall_time_s": _stats([1.0] * n), "rel_l2": _stats(errors), "max_abs_error": _stats(errors),
            "mean_residual": _stats([1e-3] * n)}


def _report(kan, mlp, relu=None, seeds=2):
    summary = {"kan": _row("KAN-PINN", kan), "mlp": _row("MLP-PINN", mlp, optimizer="lbfgs")}
    if relu is not None:
        summary["kan-relu"] = _row("KAN-PINN (relu basis)", relu)
    return {"problem": "p", "budget_seconds": None, "seeds": seeds, "rows": list(summary), "summary": summary}


def _table(md):
    return {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
            for line in md.splitlines() if line.startswith("| ") and "PINN" in line}


def test_table_columns_say_optimizer_schedule_params_steps_and_reached():
    md = markdown(_report([1e-3, 2e-3], [5e-2, 6e-2]))
    header = [c.strip() for c in md.splitlines()[4].split("|")[1:-1]]
    assert header == ["model", "architecture", "params", "time (s)", "rel L2", "max abs error", "mean residual",
                      "optimizer", "schedule", "steps", "reached end"]
    rows = _table(md)
    assert rows["KAN-PINN"][7:] == ["LM", "grid 3; Adam 20; LM 20", "40 / 40", "2/2"]
    assert rows["MLP-PINN"][7] == "L-BFGS" and rows["MLP-PINN"][4] == "5.50e-02 ± 5.0e-03"


def test_a_clear_difference_gets_a_verdict():
    report = _report([1e-3, 2e-3], [5e-2, 6e-2])  # ratio 36.7 > spreads 2.0 and 1.2
    assert warnings_of(report) == []
    md = markdown(report)
    assert "**KAN-PINN wins**: 36.7x lower mean relative L2 error than MLP-PINN." in md
    assert "Warning" not in md


def test_spread_larger_than_the_ratio_gives_a_warning_and_no_verdict():
    report = _report([1e-3, 4e-3], [3e-3, 4e-3])  # ratio 3.5e-3 / 2.5e-3 = 1.4 < spread 4.0
    warns = warnings_of(report)
    assert len(warns) == 1 and "spread over seeds (max/min rel L2: KAN-PINN 4.00x, MLP-PINN 1.33x)" in warns[0]
    assert "ratio of the mean errors of KAN-PINN and MLP-PINN (1.40x)" in warns[0]
    md = markdown(report)
    assert "wins" not in md and f"- **Warning**: {warns[0]}" in md
    assert "No verdict between KAN-PINN and MLP-PINN: the spread over seeds is larger than the ratio" in md


def test_a_row_cut_short_gives_a_warning_and_no_verdict():
    report = _report([1e-3, 2e-3], [5e-2, 6e-2])
    report["summary"]["mlp"].update(reached_end={"runs": 1, "of": 2},
                                    cut_short=["seed 1: the time budget ended Adam after 3 of 500 steps"])
    warns = warnings_of(report)
    assert warns == ["MLP-PINN did not reach its schedule's end in 1 of 2 seed(s) (seed 1: the time budget ended "
                     "Adam after 3 of 500 steps); its errors are not those of its full schedule."]
    md = markdown(report)
    assert "wins" not in md and _table(md)["MLP-PINN"][10] == "1/2"
    assert "No verdict between KAN-PINN and MLP-PINN: a row did not reach its schedule's end." in md


def test_a_row_worse_than_zero_is_not_a_valid_baseline():
    report = _report([1e-3, 2e-3], [1.0, 1.2])
    assert warnings_of(report) == ["MLP-PINN: mean rel L2 1.10e+00 >= 1, worse than u = 0: not a valid baseline."]
    md = markdown(report)
    assert "worse than u = 0: not a valid baseline" in md and "wins" not in md


def test_the_relu_row_is_compared_with_its_bspline_twin():
    report = _report([1e-3, 1.2e-3], [5e-2, 6e-2], relu=[4e-3, 5e-3])
    lines = [v for _, _, v in verdicts_of(report)]
    assert lines == ["**KAN-PINN wins**: 50.0x lower mean relative L2 error than MLP-PINN.",
                     "**KAN-PINN wins**: 4.1x lower mean relative L2 error than KAN-PINN (relu basis)."]
    md = markdown(report)
    assert set(_table(md)) == {"KAN-PINN", "MLP-PINN", "KAN-PINN (relu basis)"}
    assert md.startswith("# KAN-PINN vs MLP-PINN vs KAN-PINN (relu basis) on p")


def test_one_seed_says_its_spread_is_unmeasured():
    md = markdown(_report([1e-3], [5e-2], seeds=1))
    assert "One seed: the spread over seeds is not measured" in md
    assert "**KAN-PINN wins**: 50.0x" in md


# ---------------------------------------------------------------------------- real (tiny) compares
def test_tiny_compare_with_relu_row_uses_lm_for_every_row(poisson, tmp_path):
    report = compare(poisson, seeds=2, match_params=True, relu_row=True, **TINY)
    assert report["rows"] == ["kan", "mlp", "kan-relu"]
    assert [(r["row"], r["model"], r["seed"]) for r in report["runs"]] == [
        ("kan", "kan", 0), ("mlp", "mlp", 0), ("kan-relu", "kan", 0),
        ("kan", "kan", 1), ("mlp", "mlp", 1), ("kan-relu", "kan", 1)]
    for r in report["runs"]:
        assert r["optimizer"] == "lm" and [p["phase"] for p in r["phases"]] == ["adam", "lm"]
        assert r["steps"] == r["planned_steps"] == 10 and r["reached_end"] and r["cut_short"] is None
    s = report["summary"]
    assert s["kan"]["n_params"] == s["kan-relu"]["n_params"] == 3 * 10 * 6
    assert "ReLU basis" in s["kan-relu"]["architecture"] and "ReLU" not in s["kan"]["architecture"]
    assert s["kan"]["schedule"]["text"] == "grid 3; Adam 5; LM 5" and s["mlp"]["schedule"]["text"] == "Adam 5; LM 5"
    assert s["kan"]["reached_end"] == {"runs": 2, "of": 2} and s["kan"]["steps"]["mean"] == 10
    assert s["ratio_kan_relu_over_kan"] == s["kan-relu"]["rel_l2"]["mean"] / s["kan"]["rel_l2"]["mean"]
    paths = write_report(report, tmp_path)
    data = json.loads(Path(paths["json"]).read_text())
    assert data["rows"] == report["rows"] and data["warnings"] == report["warnings"] == warnings_of(report)
    assert data["summary"]["mlp"]["optimizer"] == "lm" and data["summary"]["kan-relu"]["planned_steps"] == 10
    assert (tmp_path / "compare.md").read_text() == markdown(report)


def test_a_budget_that_cuts_adam_short_is_reported(poisson):
    report = compare(poisson, seeds=1, budget_seconds=0.3, adam_steps=10**6, n_interior=64, n_boundary=16, grid=3,
                     mlp_options={"widths": [2, 8, 1]})
    for r in report["runs"]:
        assert not r["reached_end"] and r["cut_short"].startswith("the time budget ended Adam after ")
        assert r["steps"] < 10**6 and r["planned_steps"] is None
    md = markdown(report)
    assert md.count("did not reach its schedule's end in 1 of 1 seed(s)") == 2
    assert "wins" not in md and "No verdict between KAN-PINN and MLP-PINN" in md
    assert _table(md)["KAN-PINN"][9].endswith("(until budget)")


@pytest.mark.slow
def test_cli_with_relu_adds_the_row_and_prints_the_warnings(tmp_path):
    code, stdout, stderr = run_main(["compare", POISSON, "--steps", "5,5", "--points", "64", "--boundary-points", "16",
                                     "--grid", "3", "--with-relu", "--out", tmp_path])
    assert code == 0, stderr
    report = json.loads((tmp_path / "compare.json").read_text())
    assert report["rows"] == ["kan", "mlp", "kan-relu"]
    assert [r["optimizer"] for r in report["runs"]] == ["lm", "lbfgs", "lm"]  # default MLP: 5301 parameters
    md = (tmp_path / "compare.md").read_text()
    assert md.strip() in stdout and set(_table(md)) == {"KAN-PINN", "MLP-PINN", "KAN-PINN (relu basis)"}
    for w in report["warnings"]:
        assert f"- **Warning**: {w}" in stdout
    code, _, stderr = run_main(["solve", POISSON, "--with-relu", "--out", tmp_path / "s"])
    assert code == 2 and "unrecognized arguments: --with-relu" in stderr
