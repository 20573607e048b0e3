"""One configuration path: the choices, the specs that check themselves, callbacks, progress
logs, a user's own network, and an import that does not wait for torch."""

import io
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan import choices
from pinnkan.errors import OptionError
from pinnkan.training.callbacks import Callback, ProgressLog, planned_steps, remaining_seconds
from pinnkan.training.spec import SamplingSpec, ScheduleSpec
from helpers import poisson1d, run_main

ROOT = Path(__file__).resolve().parents[1]
POISSON = str(ROOT / "problems" / "poisson2d.py")
TINY = ["--steps", "20,20", "--points", "128", "--boundary-points", "32", "--grid", "4"]





def test_the_choices_are_those_the_code_accepts():
    from pinnkan.derivatives.engines import ENGINES
    from pinnkan.networks.mlp import ACTIVATIONS

    assert set(choices.ENGINES) == set(ENGINES)
    assert choices.ACTIVATIONS == tuple(ACTIVATIONS)
    assert set(choices.SECOND_OPTIMIZERS) | {"auto"} == set(choices.OPTIMIZERS)


def test_solve_options_build_specs_that_carry_the_completed_values():
    o = pk.SolveOptions(adam_steps=7, lm_steps=11, n_interior=99, seed=5).complete(dim=2, n_fields=1)
    sampling, schedule = o.specs()
    assert sampling == SamplingSpec(n_interior=99, n_boundary=256, method="sobol", seed=5)
    assert schedule.levels == (5, 10, 20, 40) and schedule.optimizer == "lm"
    assert (schedule.adam_steps, schedule.lm_steps, schedule.second_steps) == (7, 11, 11)
    assert schedule.balance == "grad" and schedule.weights == {}


@pytest.mark.parametrize("make, message", [
    (lambda: SamplingSpec(n_interior=0, n_boundary=1), "n_interior must be an integer >= 1"),
    (lambda: SamplingSpec(n_interior=1, n_boundary=1, method="grid"), "Unknown sampler 'grid'"),
    (lambda: SamplingSpec(n_interior=1, n_boundary=1, seed=-1), "seed must be an integer >= 0"),
    (lambda: SamplingSpec(n_interior=1, n_boundary=1, seed=2**64), "seed must be between 0 and 4294967295"),
    (lambda: ScheduleSpec(levels=()), "at least one level"),
    (lambda: ScheduleSpec(levels=(5,), optimizer="sgd"), "Unknown optimizer 'sgd'"),
    (lambda: ScheduleSpec(levels=(5,), weights={"Dirichlet 1": -5.0}), "finite number >= 0"),
    (lambda: ScheduleSpec(levels=(5,), budget_seconds=float("inf")), "budget_seconds must be a positive finite"),
    (lambda: ScheduleSpec(levels=(5,), adam_lr=0.0), "adam_lr must be a positive finite"),
])
def test_specs_check_their_own_values(make, message):
    with pytest.raises(OptionError, match=message):
        make()


@pytest.mark.parametrize("argv, fact", [
    (["--seed", "-1"], "--seed: expected an integer between 0 and 4294967295, got -1"),
    (["--seed", "99999999999999999999"], "--seed: expected an integer between 0 and 4294967295"),
    (["--weight", "Dirichlet 1=-5"], "a loss weight must be a finite number >= 0"),
    (["--resolution", "0"], "--resolution: expected an integer >= 1, got 0"),
    (["--budget-seconds", "nan"], "--budget-seconds: expected a positive finite number of seconds"),
    (["--eval-points", "0"], "--eval-points: expected an integer >= 1"),
])
def test_bad_flags_are_one_line_errors_before_anything_runs(tmp_path, argv, fact):
    code, stdout, stderr = run_main(["solve", POISSON, *TINY, *argv, "--out", tmp_path / "o"])
    assert code == 2 and stdout == "" and "Traceback" not in stderr
    assert stderr.startswith("pinnkan: error:") and len(stderr.strip().splitlines()) == 1
    assert fact in stderr, stderr
    assert not (tmp_path / "o").exists()


def test_an_unknown_flag_points_to_the_commands_own_help(tmp_path):
    code, _, stderr = run_main(["solve", POISSON, "--no-such-flag"])
    assert code == 2 and "unrecognized arguments: --no-such-flag" in stderr
    assert "see 'pinnkan solve --help'" in stderr
    code, _, stderr = run_main(["compare", POISSON, "--nope"])
    assert code == 2 and "see 'pinnkan compare --help'" in stderr


def test_import_and_help_do_not_load_torch():
    code = ("import sys, contextlib, io\nimport pinnkan, pinnkan.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: pinnkan.cli.main(['solve', '--help'])\n"
            "    except SystemExit: pass\n"
            "print(sorted(m for m in ('torch', 'sympy', 'scipy', 'matplotlib') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_phase_start(self, trainer, name, total):
        self.events.append(("start", name, total))

    def on_phase_end(self, trainer, name):
        self.events.append(("end", name))

    def on_steps(self, trainer, n):
        self.events.append(("steps", n))

    def on_log(self, trainer, record):
        self.events.append(("log", record["step"], record["grid"]))

    def on_level(self, trainer, level, grid):
        self.events.append(("level", level, grid))


def test_callbacks_see_every_phase_step_log_and_level():
    rec = Recorder()
    result = pk.solve(poisson1d(), levels=[3, 6], adam_steps=10, lm_steps=6, n_interior=32, log_every=5,
                      callbacks=[rec])
    ev = rec.events
    steps = sum(e[1] for e in ev if e[0] == "steps")
    assert steps == result.metrics["steps"]
    assert [e[1] for e in ev if e[0] == "start"] == ["adam", "lm", "lm"]
    assert [e for e in ev if e[0] == "level"] == [("level", 1, 6)]
    logs = [e for e in ev if e[0] == "log"]
    assert [e[1] for e in logs] == result.history.step
    assert {e[2] for e in logs} == {3, 6}


def test_progress_log_writes_lines_and_a_jsonl_that_match_the_history(tmp_path):
    stream = io.StringIO()
    log = ProgressLog(stream=stream, jsonl=tmp_path / "progress.jsonl", every=0.0)
    result = pk.solve(poisson1d(), levels=[3, 6], adam_steps=10, lm_steps=6, n_interior=32, log_every=5,
                      callbacks=[log])
    rows = [json.loads(line) for line in (tmp_path / "progress.jsonl").read_text().splitlines()]
    h = result.history
    assert [r["step"] for r in rows] == h.step and [r["loss"] for r in rows] == h.loss
    assert [r["rel_l2"]["u"] for r in rows] == h.error["u"]
    assert all(r["remaining_s"] is None or r["remaining_s"] >= 0 for r in rows)
    lines = stream.getvalue().splitlines()
    assert len(lines) == len(rows)
    assert lines[0].startswith("pinnkan: level 1/2 (grid 3) step 0 loss ") and "rel_l2[u]" in lines[0]
    assert lines[-1].startswith(f"pinnkan: level 2/2 (grid 6) step {h.step[-1]} ")


def test_the_estimate_of_time_left_follows_the_planned_steps():
    class T:
        schedule = ScheduleSpec(levels=(5,), optimizer="lm", adam_steps=100, lm_steps=300, starts=2, start_steps=50)
        step = 100

        def elapsed(self):
            return 10.0

    assert planned_steps(T.schedule) == 100 + 300 + (100 + 50)
    assert remaining_seconds(T()) == pytest.approx((550 - 100) * 10.0 / 100)


def test_cli_writes_progress_jsonl_and_plain_lines_when_stderr_is_not_a_terminal(tmp_path):
    code, _, stderr = run_main(["solve", POISSON, *TINY, "--no-plots", "--progress-every", "0.001",
                                "--out", tmp_path / "run"])
    assert code == 0, stderr
    rows = [json.loads(line) for line in (tmp_path / "run" / "progress.jsonl").read_text().splitlines()]
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [r["step"] for r in rows] == history["step"]
    assert sum(line.startswith("pinnkan: level 1/1 (grid 4) step ") for line in stderr.splitlines()) == len(rows)
    code, _, stderr = run_main(["solve", POISSON, *TINY, "--no-plots", "--quiet", "--out", tmp_path / "q"])
    assert code == 0 and "pinnkan: level" not in stderr


def test_solve_trains_a_users_own_network():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    result = pk.solve(poisson1d(), model="mlp", net=net, adam_steps=200, lbfgs_steps=200, n_interior=64)
    assert result.model is net and result.metrics["architecture"] == "Sequential"
    assert result.metrics["n_params"] == 16 + 16 + 16 + 1
    assert result.metrics["rel_l2"]["u"] < 1e-2


def test_a_users_network_of_the_wrong_shape_is_an_error_before_training():
    net = torch.nn.Linear(1, 3).double()
    with pytest.raises(OptionError, match=r"maps 4 points of shape \(4, 1\) to \(4, 3\); it must give \(4, 1\)"):
        pk.solve(poisson1d(), net=net)


def test_metrics_record_the_options_as_plain_data(tmp_path):
    result = pk.solve(poisson1d(), grid=4, adam_steps=5, lm_steps=3, n_interior=32)
    paths = result.save(tmp_path, plots=False)
    saved = json.loads(Path(paths["metrics"]).read_text())
    assert saved["options"] == json.loads(json.dumps(asdict(result.options)))


def test_the_model_of_lowest_validation_error_in_the_last_level_is_kept():
    from pinnkan.choices import VALIDATION_POINTS

    problem = poisson1d()
    result = pk.solve(problem, levels=[3, 6], adam_steps=30, lm_steps=40, n_interior=16, log_every=10)
    h = result.history
    last = [j for j, lv in enumerate(h.level) if lv == 1]
    errors = [h.error["u"][j] for j in last]
    best = result.metrics["best"]
    assert best["by"] == "validation error" and best["step"] == h.step[last[errors.index(min(errors))]]
    assert best["score"] == min(errors)
    v = torch.as_tensor(problem.domain.evaluation_points(VALIDATION_POINTS))
    with torch.no_grad():
        pred = result.model(v)[:, 0]
    exact = torch.sin(torch.pi * v[:, 0])
    assert float(torch.linalg.norm(pred - exact) / torch.linalg.norm(exact)) == pytest.approx(min(errors), rel=1e-12)


def test_without_an_exact_solution_the_held_out_residual_chooses():
    x = sp.symbols("x")
    u = sp.Function("u")(x)
    problem = pk.Problem(name="p2", domain=pk.Interval(0, 1), fields=[u],
                         equations=[sp.Eq(-u.diff(x, 2), 1)], conditions=[pk.Dirichlet(u, 0)])
    result = pk.solve(problem, grid=5, adam_steps=20, lm_steps=10, n_interior=16, log_every=10)
    assert result.metrics["best"]["by"] == "validation residual"
    assert result.metrics["best"]["step"] in result.history.step
