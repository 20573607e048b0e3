"""Failures after the checks: memory that would not suffice, memory that runs out, a run that
diverges to a finite but useless state. Each ends with a clear message and keeps the model."""

import contextlib
import io
import warnings
from pathlib import Path

import pytest
import torch

import pinnkan as pk
from helpers import poisson1d
import pinnkan.cli as cli
import pinnkan.solver as solver
from pinnkan.errors import OptionError

ROOT = Path(__file__).resolve().parents[1]
NEUMANN = str(ROOT / "problems" / "poisson1d_neumann.py")



def test_the_memory_of_levenberg_marquardt_is_three_jacobians_and_two_grams():
    assert solver.lm_memory_bytes(1000, 100) == 8 * (3 * 1000 * 100 + 2 * 100 * 100)
    assert solver.lm_memory_bytes(1000, 100, itemsize=4) == 4 * (3 * 1000 * 100 + 2 * 100 * 100)


def test_levenberg_marquardt_that_would_not_fit_falls_back_or_is_refused(monkeypatch):
    monkeypatch.setattr(solver, "_available_bytes", lambda device: 10**6)  # 1 MB free
    opts = dict(grid=5, adam_steps=5, lm_steps=3, lbfgs_steps=3, n_interior=256)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = pk.solve(poisson1d(), **opts)
    assert result.options.optimizer == "lbfgs"
    assert any("training with L-BFGS instead" in str(w.message) and "GiB are free" in str(w.message) for w in caught)
    with pytest.raises(OptionError, match=r"Levenberg-Marquardt on about 258 residuals and .* --optimizer lbfgs"):
        pk.solve(poisson1d(), optimizer="lm", lm_solver="dense", **opts)
    with pytest.warns(UserWarning, match=r"258 residuals .* matrix-free \(--lm-solver cg\) instead"):
        result = pk.solve(poisson1d(), optimizer="lm", **opts)  # lm_solver "auto": the matrix-free step fits
    assert (result.options.optimizer, result.options.lm_solver) == ("lm", "cg")


def test_running_out_of_memory_keeps_the_last_good_model_and_writes_the_outputs(tmp_path, monkeypatch):
    import pinnkan.training.trainer as trainer_module

    real, calls = trainer_module.total_loss, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 8:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 7400000000 bytes")
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "total_loss", failing)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["solve", NEUMANN, "--grid", "4", "--steps", "20,5", "--points", "32", "--quiet",
                         "--no-plots", "--out", str(tmp_path / "run")])
    assert code == 3 and "Traceback" not in err.getvalue()
    assert "out of memory at step" in err.getvalue() and "--points" in err.getvalue()
    import json

    m = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert m["stopped"].startswith("out of memory") and m["steps"] < 25
    assert all(torch.isfinite(v).all() for v in pk.load_model(tmp_path / "run" / "model.pt").state_dict().values())


def test_a_run_that_diverges_to_a_finite_state_ends_with_a_warning_and_status_3(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["solve", NEUMANN, "--model", "mlp", "--steps", "30,0", "--lr", "1e3", "--points", "32",
                         "--quiet", "--no-plots", "--out", str(tmp_path / "run")])
    assert code == 3, err.getvalue()
    assert "training diverged; lower the learning rate (--lr)" in err.getvalue()
    assert "DIVERGED:" in out.getvalue()
