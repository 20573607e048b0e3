"""Run folders that can be trusted: no mixing of two runs, no stale files, names that stay in
runs/, and a full disk that loses only what could not be written."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pinnkan.errors import OptionError
from pinnkan.output import folder as F
from helpers import run_main

ROOT = Path(__file__).resolve().parents[1]
NEUMANN = str(ROOT / "problems" / "poisson1d_neumann.py")
TINY = ["--grid", "4", "--steps", "5,3", "--points", "32", "--quiet"]




@pytest.mark.parametrize("name, clean", [("../../escaped", "_.._escaped"), ("a b/c", "a_b_c"), ("...", "problem"),
                                         ("heat-1d_v2.0", "heat-1d_v2.0")])
def test_safe_names_stay_inside_runs(name, clean):
    assert F.safe_name(name) == clean
    assert (Path("runs") / F.safe_name(name)).resolve().parent == Path("runs").resolve()


def test_an_earlier_runs_folder_is_refused_then_overwritten_exactly(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / "solution").mkdir()
    (out / "solution" / "solution_0000.vtu").write_text("old")
    (out / "notes.txt").write_text("mine")
    (out / ".metrics.0123456789ab.tmp.json").write_text("half")
    with pytest.raises(OptionError, match=r"holds the outputs of an earlier run \(metrics.json, solution\); add --overwrite"):
        F.claim(out)
    F.claim(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [F.LOCK, "notes.txt"]  # the stale temp file is gone too
    F.release(out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_folder_held_by_a_live_run_is_refused_and_a_dead_runs_lock_is_taken_over(tmp_path):
    (tmp_path / F.LOCK).write_text(str(os.getppid()))  # a live process that is not this one
    with pytest.raises(OptionError, match=rf"in use by another pinnkan run \(process {os.getppid()}\)"):
        F.claim(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / F.LOCK).write_text(str(dead.pid))
    F.claim(tmp_path)
    assert (tmp_path / F.LOCK).read_text() == str(os.getpid())


def test_the_default_folder_is_numbered_and_explicit_ones_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        code, stdout, err = run_main(["solve", NEUMANN, *TINY, "--no-plots"])
        assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["poisson1d_neumann-kan", "poisson1d_neumann-kan-2"]
    assert "outputs: runs/poisson1d_neumann-kan-2/" in stdout
    code, _, err = run_main(["solve", NEUMANN, *TINY, "--out", "runs/poisson1d_neumann-kan"])
    assert code == 2 and "holds the outputs of an earlier run" in err and "Traceback" not in err


def test_overwrite_leaves_no_file_of_the_earlier_run(tmp_path):
    out = tmp_path / "run"
    code, _, err = run_main(["solve", NEUMANN, *TINY, "--out", out])
    assert code == 0, err
    assert (out / "solution.png").exists()
    code, _, err = run_main(["solve", NEUMANN, *TINY, "--no-plots", "--seed", "4", "--out", out, "--overwrite"])
    assert code == 0, err
    assert not (out / "solution.png").exists() and not (out / "history.png").exists()
    assert json.loads((out / "metrics.json").read_text())["seed"] == 4
    assert not (out / F.LOCK).exists()


def test_a_full_disk_keeps_what_could_be_written_and_says_what_failed(tmp_path, monkeypatch):
    import pinnkan.output.result as result_module

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(result_module, "write_vtu", full)
    out = tmp_path / "run"
    code, stdout, err = run_main(["solve", NEUMANN, *TINY, "--no-plots", "--out", out])
    assert code == 4 and "Traceback" not in err
    assert "Could not write vtu" in err and "No space left on device" in err
    assert "written: history.json, metrics.json, model.pt" in err
    assert "poisson1d_neumann: KAN" in stdout  # the summary line is still printed
    assert json.loads((out / "metrics.json").read_text())["problem"] == "poisson1d_neumann"
    assert not list(out.glob(".*.tmp*"))
