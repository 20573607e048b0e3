"""Interrupts and resume: Ctrl-C / SIGTERM stop at the next step and write every output; a run
resumed from its checkpoint ends where the run never stopped ends."""

import json
import signal
from pathlib import Path

import pytest

import pinnkan.cli as cli
from pinnkan.errors import OptionError
from pinnkan.output.checkpoint import read_checkpoint
from pinnkan.training.callbacks import Callback
from helpers import run_main

ROOT = Path(__file__).resolve().parents[1]
POISSON = str(ROOT / "problems" / "poisson2d.py")
RUN = ["--levels", "3,6,12", "--steps", "10,24", "--points", "96", "--boundary-points", "24", "--no-plots",
       "--quiet", "--seed", "1"]




class SignalAt(Callback):
    """Sends ``signum`` to this process at the first log entry on ``grid``."""

    def __init__(self, signum, grid):
        self.signum, self.grid, self.sent = signum, grid, False

    def on_log(self, trainer, record):
        if record["grid"] == self.grid and not self.sent:
            self.sent = True
            signal.raise_signal(self.signum)


def _with_signal(monkeypatch, signum, grid):
    real = cli._callbacks
    monkeypatch.setattr(cli, "_callbacks", lambda args, out: [*real(args, out), SignalAt(signum, grid)])


def _metrics(folder):
    return json.loads((Path(folder) / "metrics.json").read_text())


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_training_writes_the_outputs_and_resume_reaches_the_uninterrupted_result(
        tmp_path, monkeypatch, signum, status):
    code, _, err = run_main(["solve", POISSON, *RUN, "--out", tmp_path / "whole"])
    assert code == 0, err
    whole = _metrics(tmp_path / "whole")
    assert not (tmp_path / "whole" / "checkpoint.pt").exists()  # a finished run keeps none

    _with_signal(monkeypatch, signum, grid=6)
    code, stdout, err = run_main(["solve", POISSON, *RUN, "--out", tmp_path / "cut"])
    name = signal.Signals(signum).name
    assert code == status, err
    cut = _metrics(tmp_path / "cut")
    assert cut["interrupted"] == name and cut["steps"] < whole["steps"]
    assert f"INTERRUPTED ({name})" in stdout and f"--resume {tmp_path / 'cut'}" in err
    for f in ("solution.vtu", "history.json", "model.pt", "checkpoint.pt"):
        assert (tmp_path / "cut" / f).stat().st_size > 0
    assert read_checkpoint(tmp_path / "cut")["level"] == 0  # the last level that ended

    monkeypatch.undo()
    code, _, err = run_main(["solve", POISSON, "--resume", tmp_path / "cut", "--quiet", "--no-plots"])
    assert code == 0, err
    resumed = _metrics(tmp_path / "cut")
    assert resumed["interrupted"] is None and resumed["steps"] == whole["steps"]
    assert resumed["final_loss"] == pytest.approx(whole["final_loss"], rel=1e-10, abs=0)
    assert resumed["rel_l2"]["u"] == pytest.approx(whole["rel_l2"]["u"], rel=1e-10, abs=0)
    assert [lv["loss"] for lv in resumed["levels"]] == pytest.approx([lv["loss"] for lv in whole["levels"]], rel=1e-10)
    assert not (tmp_path / "cut" / "checkpoint.pt").exists()


def test_resume_without_a_checkpoint_or_of_another_problem_is_a_clear_error(tmp_path):
    code, _, err = run_main(["solve", POISSON, "--resume", tmp_path])
    assert code == 2 and "There is no checkpoint in" in err and "Traceback" not in err
    with pytest.raises(OptionError, match="There is no checkpoint"):
        read_checkpoint(tmp_path)
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    code, _, err = run_main(["solve", POISSON, "--resume", tmp_path])
    assert code == 2 and "could not be read" in err


def test_resume_refuses_a_run_of_another_problem(tmp_path, monkeypatch):
    _with_signal(monkeypatch, signal.SIGINT, grid=6)
    code, _, err = run_main(["solve", POISSON, *RUN, "--out", tmp_path / "cut"])
    assert code == 130, err
    monkeypatch.undo()
    other = str(ROOT / "problems" / "helmholtz2d.py")
    code, _, err = run_main(["solve", other, "--resume", tmp_path / "cut"])
    assert code == 2 and "solved problem 'poisson2d'" in err
