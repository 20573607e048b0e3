"""Continuation (a parameter ramp declared in the problem file) and point counts that grow with
the level: the compiled value can be changed in place, the schedule applies the documented map
(level l at v_min(l, K-1); on a single level K equal shares of Adam), the final metrics are for
the problem's own value, bad ramps are refused, and the counts per level follow
n_l = max(1, floor(n F^-(L-1-l) + 1/2))."""

import io
import json
import math
import signal

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.derivatives.engines import get_engine
from pinnkan.evaluation.metrics import evaluate
from pinnkan.evaluation.residuals import residual, sample_points
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.factory import build_network
from pinnkan.problem.compile import compile_problem, continuation_value
from pinnkan.training.callbacks import Callback, ProgressLog
from pinnkan.training.levenberg import residual_and_jacobian
from pinnkan.training.spec import SamplingSpec, level_points
from helpers import run_main

x, nu = sp.symbols("x nu")
u = sp.Function("u")(x)
RAMP = [0.5, 0.1, 0.02 / sp.pi]
FINAL = float(0.02 / sp.pi)


def reaction(ramp=None, value=nu, name="reaction"):
    """-nu u'' + u = sin(pi x) + nu (1 - x) on [0, 1], u(0) = nu (nu in a condition too),
    u(1) = 0; exact u = sin(pi x) / (nu pi^2 + 1) + nu (1 - x). ``value``: the symbol nu (with
    ``ramp``) or a number, for the problem compiled directly at that value."""
    exact = sp.sin(sp.pi * x) / (value * sp.pi**2 + 1) + value * (1 - x)
    rhs = sp.sin(sp.pi * x) + value * (1 - x)
    return pk.Problem(name=name, domain=pk.Interval(0, 1), fields=[u],
                      equations=[sp.Eq(-value * u.diff(x, 2) + u, rhs)],
                      conditions=[pk.Dirichlet(u, value, on=sp.Eq(x, 0)), pk.Dirichlet(u, 0, on=sp.Eq(x, 1))],
                      exact={u: exact}, continuation=None if ramp is None else {nu: ramp})


SMALL = dict(adam_steps=10, lm_steps=12, n_interior=32, n_boundary=2, n_eval=200, seed=0, log_every=1)


# ------------------------------------------------------------------ the compiled value
def test_continuation_value_is_the_documented_map():
    ramp = (3.0, 2.0, 1.0)
    assert [continuation_value(ramp, s) for s in range(6)] == [3.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    assert continuation_value(ramp, None) == 1.0


@pytest.mark.parametrize("stage", [0, 1, 2, None])
def test_residual_after_setting_the_value_equals_the_problem_compiled_with_it(stage):
    ramped = compile_problem(reaction(RAMP))
    assert ramped.continuation_values() == {"nu": FINAL}  # compiled at the problem's own value
    value = ramped.set_continuation(stage)["nu"]
    direct = compile_problem(reaction(value=value))
    torch.manual_seed(0)
    net = build_network({"model": "kan", "widths": [1, 4, 1], "grid": 6, "degree": 3}, ((0.0,), (1.0,)), torch.float64,
                        torch.device("cpu"))
    draw = lambda c: sample_points(c, CollocationSampler(pk.Interval(0, 1), seed=0), 64, 2, torch.float64,
                                   torch.device("cpu"))  # the same points for both
    data, same = draw(ramped), draw(direct)
    for engine in ("autograd", "jet"):
        for tp, tq in zip(data, same):
            assert torch.equal(tp.points, tq.points)
            a = residual(ramped, net, get_engine(engine), tp).detach()
            b = residual(direct, net, get_engine(engine), tq).detach()
            assert torch.max(torch.abs(a - b)) <= 1e-12 * max(1.0, float(b.abs().max())), (engine, tp.term.label)
    ra, ja = residual_and_jacobian(net, ramped, data, {})
    rb, jb = residual_and_jacobian(net, direct, same, {})
    assert torch.max(torch.abs(ra - rb)) <= 1e-12 and torch.max(torch.abs(ja - jb)) <= 1e-12


def test_exact_solution_and_boundary_data_are_at_the_final_value():
    ramped, direct = compile_problem(reaction(RAMP)), compile_problem(reaction(value=FINAL))
    pts = torch.linspace(0, 1, 11, dtype=torch.float64)[:, None]
    assert torch.max(torch.abs(ramped.exact_values(pts) - direct.exact_values(pts))) <= 1e-15
    ramped.set_continuation(0)  # the reference stays the final value's
    assert torch.max(torch.abs(ramped.exact_values(pts) - direct.exact_values(pts))) <= 1e-15


# ------------------------------------------------------------------ the schedule
class Records(Callback):
    def __init__(self):
        self.records, self.counts = [], []

    def on_log(self, trainer, record):
        self.records.append(record)

    def on_level_end(self, trainer, level, used):
        self.counts.append([len(tp.points) for tp in trainer.data])


def test_levels_follow_the_ramp_and_the_metrics_are_for_the_final_value():
    seen = Records()
    result = pk.solve(reaction(RAMP[1:]), levels=[3, 6, 12], callbacks=[seen], **SMALL)
    ramp = (RAMP[1], FINAL)
    expected = [continuation_value(ramp, level) for level in range(3)]  # [0.1, final, final]
    assert expected == [0.1, FINAL, FINAL]
    assert [lv["continuation"] for lv in result.metrics["levels"]] == [{"nu": v} for v in expected]
    assert [(c["level"], c["values"]["nu"]) for c in result.history.continuation] == list(enumerate(expected))
    assert result.metrics["continuation"] == result.history.continuation
    for record in seen.records:  # every logged entry, the refine entries included, at its level's value
        assert record["continuation"] == {"nu": expected[record["level"]]}, record
    assert result.compiled.continuation_values() == {"nu": FINAL}
    direct = compile_problem(reaction(value=FINAL))
    points = torch.as_tensor(pk.Interval(0, 1).evaluation_points(SMALL["n_eval"]), dtype=torch.float64)
    again = evaluate(direct, result.model, result.engine, points)
    for label, value in again["residual_rms"].items():
        assert result.metrics["residual_rms"][label] == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert result.metrics["rel_l2"]["u"] == pytest.approx(again["rel_l2"]["u"], rel=1e-12)


def test_single_level_applies_the_values_over_equal_shares_of_adam():
    seen = Records()
    pk.solve(reaction(RAMP), model="mlp", widths=[1, 8, 1], callbacks=[seen],
             **{**SMALL, "adam_steps": 7, "lbfgs_steps": 4})
    ramp = tuple(float(v) for v in RAMP)
    steps = {}  # value -> the steps logged at it; each share logs every step and its end
    for r in seen.records:
        if r["phase"] == "adam":
            steps.setdefault(r["continuation"]["nu"], []).append(r["step"])
    # split(7, 3) = [3, 2, 2]: steps 0-2 at v_0, 3-4 at v_1, 5-6 at v_2 (a share's end logged at its value)
    assert steps == {ramp[0]: [0, 1, 2, 3], ramp[1]: [3, 4, 5], ramp[2]: [5, 6, 7]}
    later = [r for r in seen.records if r["phase"] == "lbfgs"]
    assert later and all(r["continuation"] == {"nu": FINAL} for r in later)


def test_progress_lines_show_the_value_in_force():
    stream = io.StringIO()
    pk.solve(reaction(RAMP[1:]), levels=[3, 6], callbacks=[ProgressLog(stream=stream, every=0.0)],
             **{**SMALL, "lm_steps": 4})
    lines = stream.getvalue().splitlines()
    assert any(line.startswith("pinnkan: level 1/2") and " nu 0.1 " in line for line in lines), lines
    assert any(line.startswith("pinnkan: level 2/2") and f" nu {FINAL:.3g} " in line for line in lines), lines


# ------------------------------------------------------------------ bad input
def _problem_file(tmp_path, continuation: str, parameters: str = "None"):
    path = tmp_path / "ramp.py"
    path.write_text(
        "import sympy as sp\nimport pinnkan as pk\n"
        "x, nu, mu, k = sp.symbols('x nu mu k')\nu = sp.Function('u')(x)\n"
        "problem = pk.Problem(name='ramp', domain=pk.Interval(0, 1), fields=[u],\n"
        "    equations=[sp.Eq(-nu * u.diff(x, 2) + k * u, 1)], conditions=[pk.Dirichlet(u, 0)],\n"
        f"    parameters={parameters}, continuation={continuation})\n")
    return path


@pytest.mark.parametrize("continuation, parameters, message", [
    ("{'nu': [0.1, 0.01]}", "{k: 1.0}", "is keyed by the string 'nu', which is not a sympy symbol"),
    ("{u: [0.1, 0.01]}", "{k: 1.0}", "is keyed by u(x)"),
    ("{mu: [0.1, 0.01]}", "{k: 1.0}", "continuation={...} ramps mu, which appears in no equation or condition"),
    ("{x: [0.1, 0.01]}", "{k: 1.0}", "names x, which is a coordinate"),
    ("{k: [0.1, 0.01]}", "{k: 1.0}", "names k, which is an unknown parameter"),
    ("{nu: []}", "{k: 1.0}", "the list of values of nu is empty"),
    ("{nu: 0.1}", "{k: 1.0}", "the values of nu are 0.1 (a float), not a list"),
    ("{nu: [0.1, float('nan')]}", "{k: 1.0}", "value 2 of nu is nan, which is not finite"),
    ("{nu: [sp.oo, 0.1]}", "{k: 1.0}", "value 1 of nu is oo, which is not finite"),
    ("{nu: [0.1, 'small']}", "{k: 1.0}", "value 2 of nu is the string 'small', which is not a real number"),
    ("{nu: [0.1, x / 2]}", "{k: 1.0}", "value 2 of nu is x/2 (an expression of x), which is not a real number"),
    ("{}", "{k: 1.0}", "must be a non-empty dict"),
])
def test_bad_continuation_is_refused_naming_the_file(tmp_path, continuation, parameters, message):
    path = _problem_file(tmp_path, continuation, parameters)
    with pytest.raises(pk.ProblemError) as info:
        pk.check_options(pk.load_problem(path))
    text = str(info.value)
    assert message in text and str(path) in text, text


def test_more_values_than_levels_is_refused_before_training(tmp_path):
    path = _problem_file(tmp_path, "{nu: [1, 0.5, 0.2, 0.1]}", "None").read_text().replace("k * u", "u")
    (tmp_path / "four.py").write_text(path)
    problem = pk.load_problem(tmp_path / "four.py")
    with pytest.raises(pk.ProblemError) as info:
        pk.solve(problem, levels=[3, 6, 12], **SMALL, before_training=lambda: pytest.fail("trained"))
    text = str(info.value)
    assert "has 4 values, but the multilevel schedule has 3 levels" in text and "four.py" in text, text
    assert pk.check_options(problem, levels=[3, 6, 12, 24]).levels == [3, 6, 12, 24]  # one value per level: fine
    assert pk.check_options(problem, model="mlp").model == "mlp"  # a single level takes any number of values


# ------------------------------------------------------------------ points that grow with the level
def test_level_points_formula():
    assert [level_points(64, 2.0, lv, 3) for lv in range(3)] == [16, 32, 64]
    assert [level_points(100, 1.5, lv, 4) for lv in range(4)] == [math.floor(100 / 1.5 ** (3 - lv) + 0.5)
                                                                  for lv in range(4)] == [30, 44, 67, 100]
    assert [level_points(3, 4.0, lv, 3) for lv in range(3)] == [1, 1, 3]  # at least one point
    assert level_points(50, 1.0, 0, 4) == 50 and level_points(50, 3.0, 5, 4) == 50  # off, and past the last
    assert SamplingSpec(n_interior=64, n_boundary=8, points_growth=2).counts(0, 3) == (16, 2)


@pytest.mark.parametrize("bad", [0.5, float("nan"), float("inf"), True, "2"])
def test_points_growth_must_be_a_number_at_least_one(bad):
    with pytest.raises(pk.OptionError, match="points_growth"):
        pk.check_options(reaction(), points_growth=bad)


def test_point_counts_per_level_follow_the_formula():
    seen = Records()
    n_int, n_bnd, growth, levels = 64, 8, 2.0, [3, 6, 12]
    problem = pk.Problem(name="growth", domain=pk.Interval(0, 1), fields=[u], equations=[sp.Eq(-u.diff(x, 2), 1)],
                         conditions=[pk.Dirichlet(u, 0)])  # one term on the whole boundary: n_boundary points
    result = pk.solve(problem, levels=levels, callbacks=[seen], points_growth=growth,
                      **{**SMALL, "n_interior": n_int, "n_boundary": n_bnd})
    expected = [[level_points(n_int, growth, lv, 3), level_points(n_bnd, growth, lv, 3)] for lv in range(3)]
    assert expected == [[16, 2], [32, 4], [64, 8]]
    assert seen.counts == expected  # the trainer's points at the end of each level
    assert [[lv["n_interior"], lv["n_boundary"]] for lv in result.metrics["levels"]] == expected
    assert result.history.continuation == [] and "continuation" not in result.metrics["levels"][0]


def test_points_growth_flag_reaches_the_options_and_is_checked(tmp_path):
    problem = tmp_path / "p.py"
    problem.write_text("import sympy as sp\nimport pinnkan as pk\nx = sp.symbols('x')\nu = sp.Function('u')(x)\n"
                       "problem = pk.Problem(name='p', domain=pk.Interval(0, 1), fields=[u],\n"
                       "    equations=[sp.Eq(-u.diff(x, 2), 1)], conditions=[pk.Dirichlet(u, 0)])\n")
    code, _, err = run_main(["solve", problem, "--points-growth", "0.5", "--out", tmp_path / "out", "--quiet"])
    assert code == 2 and "points_growth (--points-growth) must be a finite number >= 1" in err, err
    code, out, err = run_main(["solve", problem, "--points-growth", "2", "--levels", "3,6", "--steps", "5,4",
                               "--points", "16", "--out", tmp_path / "out", "--quiet", "--no-plots"])
    assert code == 0, err
    import json

    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["options"]["points_growth"] == 2.0
    assert [lv["n_interior"] for lv in metrics["levels"]] == [8, 16]
    assert np.isfinite(metrics["mean_residual"])


@pytest.mark.slow  # three command-line runs
def test_a_resumed_run_takes_up_the_ramp_at_its_level(tmp_path, monkeypatch):
    """Interrupted on level 1 and resumed from the checkpoint of level 0: levels 1 and 2 train at
    their own values, and the run ends where the run never stopped ends."""
    import pinnkan.cli as cli

    path = _problem_file(tmp_path, "{nu: [1, 0.5, 0.2]}").read_text().replace("k * u", "u")
    (tmp_path / "ramp3.py").write_text(path)
    run = [tmp_path / "ramp3.py", "--levels", "3,6,12", "--steps", "6,12", "--points", "32", "--no-plots",
           "--quiet", "--seed", "1"]
    code, _, err = run_main(["solve", *run, "--out", tmp_path / "whole"])
    assert code == 0, err

    class InterruptAt(Callback):
        sent = False

        def on_log(self, trainer, record):
            if record["level"] == 1 and not self.sent:
                self.sent = True
                signal.raise_signal(signal.SIGINT)

    real = cli._callbacks
    monkeypatch.setattr(cli, "_callbacks", lambda args, out: [*real(args, out), InterruptAt()])
    code, _, err = run_main(["solve", *run, "--out", tmp_path / "cut"])
    assert code == 130, err
    monkeypatch.setattr(cli, "_callbacks", real)
    code, _, err = run_main(["solve", tmp_path / "ramp3.py", "--resume", tmp_path / "cut", "--quiet", "--no-plots"])
    assert code == 0, err
    whole, resumed = (json.loads((tmp_path / f / "metrics.json").read_text()) for f in ("whole", "cut"))
    assert [lv["continuation"] for lv in resumed["levels"]] == [{"nu": 1.0}, {"nu": 0.5}, {"nu": 0.2}]
    assert [lv["continuation"] for lv in whole["levels"]] == [lv["continuation"] for lv in resumed["levels"]]
    assert [lv["loss"] for lv in resumed["levels"]] == pytest.approx([lv["loss"] for lv in whole["levels"]], rel=1e-10)
