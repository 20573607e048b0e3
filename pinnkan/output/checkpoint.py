"""``checkpoint.pt``: where a run can go on from, written at the end of each level.

The file (tensors and plain data only, read with ``weights_only=True``) holds the trainer's
:meth:`~pinnkan.training.trainer.Trainer.state` at the end of level ``level``, the second-phase
iterations ``used`` so far, the completed solve options and the problem's name::

    {"format": "pinnkan-checkpoint", "version": 1, "problem": name, "options": {...},
     "level": i, "used": n, "state": {...}}

``pinnkan solve PROBLEM --resume RUN_DIR`` reads it, rebuilds the network of that level and goes
on with level i + 1; with the same options and a step budget (not ``--budget-seconds``) the
result equals that of the run never stopped.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from pinnkan.errors import OptionError
from pinnkan.output.atomic import atomic_path, plain
from pinnkan.output.model_file import load_plain_file
from pinnkan.training import distributed
from pinnkan.training.callbacks import Callback

FORMAT = "pinnkan-checkpoint"
VERSION = 1


class Checkpointer(Callback):
    """Writes ``path`` (atomically) at the end of each level of a run of ``options`` (the
    completed :class:`~pinnkan.solver.SolveOptions`) on the problem named ``problem``."""

    def __init__(self, path, options, problem: str):
        self.path, self.options, self.problem = Path(path), options, problem

    def on_level_end(self, trainer, level, used):
        state = trainer.state()  # data-parallel: every rank takes part (the whole point sets), rank 0 writes
        if not distributed.is_main():
            return
        saved = {"format": FORMAT, "version": VERSION, "problem": self.problem,
                 "options": plain(asdict(self.options)), "level": level, "used": used, "state": state}
        with atomic_path(self.path) as tmp:
            torch.save(saved, tmp)


def read_checkpoint(run_dir) -> dict:
    """The checkpoint of the run folder ``run_dir``; OptionError naming the folder when there is
    none (the run ended before its first level did) or it is not a pinnkan checkpoint."""
    path = Path(run_dir) / "checkpoint.pt"
    if not path.is_file():
        raise OptionError(
            f"There is no checkpoint in {run_dir} ({path.name} is written at the end of each level, so a run "
            "stopped during its first level has none, and finished runs remove theirs); run the problem "
            "again without --resume."
        )
    saved = load_plain_file(path, OptionError, "checkpoint", "Run the problem again without --resume.")
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise OptionError(f"The file {path} is not a pinnkan checkpoint; run the problem again without --resume.")
    if saved.get("version", 0) > VERSION:
        raise OptionError(f"The checkpoint {path} has format version {saved['version']}; this pinnkan reads "
                          f"version {VERSION}. Update pinnkan to resume it.")
    return saved
