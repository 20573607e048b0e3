"""Callbacks: what a :class:`~pinnkan.training.trainer.Trainer` tells while it trains.

A callback is any object with these methods (subclass :class:`Callback` and override the ones
you need); each receives the trainer first:

- ``on_phase_start(trainer, name, total)``: a phase (``"adam"``, ``"lbfgs"``, ``"lm"``) of up
  to ``total`` steps begins; ``on_phase_end(trainer, name)``: it ended;
- ``on_steps(trainer, n)``: ``n`` optimizer steps were taken;
- ``on_log(trainer, record)``: a history entry was logged; ``record`` is a dict with ``phase``,
  ``level``, ``grid``, ``step``, ``elapsed_s``, ``loss``, ``rel_l2`` ({field: error on the
  validation points}, empty without an exact solution) and ``continuation`` ({parameter: value
  in force}, empty without a continuation ramp);
- ``on_level(trainer, level, grid)``: the model was refined onto ``grid`` (level index ``level``);
- ``on_level_end(trainer, level, used)``: level ``level`` ended normally (``used``: second-phase
  iterations so far); ``trainer.state()`` is then a checkpoint to go on from;
- ``on_stop(trainer, reason)``: training stopped early (non-finite loss), the last good model kept.

:class:`ProgressBar` (a terminal) and :class:`ProgressLog` (a log file or a batch job's stderr,
plus ``progress.jsonl``) are the two pinnkan uses itself.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path


class Callback:
    """The base class: every event does nothing."""

    def on_phase_start(self, trainer, name: str, total: int) -> None:
        pass

    def on_phase_end(self, trainer, name: str) -> None:
        pass

    def on_steps(self, trainer, n: int) -> None:
        pass

    def on_log(self, trainer, record: dict) -> None:
        pass

    def on_level(self, trainer, level: int, grid: int) -> None:
        pass

    def on_level_end(self, trainer, level: int, used: int) -> None:
        pass

    def on_stop(self, trainer, reason: str) -> None:
        pass


class ProgressBar(Callback):
    """A tqdm bar per phase on a terminal, with the last loss and errors."""

    def __init__(self):
        self._bar = None

    def on_phase_start(self, trainer, name, total):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=f"{name} L{trainer.level}", leave=False, dynamic_ncols=True)

    def on_phase_end(self, trainer, name):
        if self._bar is not None:
            self._bar.close()
        self._bar = None

    def on_steps(self, trainer, n):
        if self._bar is not None:
            self._bar.update(n)

    def on_log(self, trainer, record):
        if self._bar is not None:
            post = {"loss": f"{record['loss']:.2e}"}
            post.update({f"err_{k}": f"{v:.1e}" for k, v in record["rel_l2"].items()})
            post.update({k: f"{v:.3g}" for k, v in record.get("continuation", {}).items()})
            self._bar.set_postfix(post, refresh=False)


def planned_steps(schedule) -> int:
    """The steps a schedule runs when no level ends early: Adam and the trial iterations of each
    start, plus the second phase (one start's share)."""
    trials = (schedule.starts - 1) * (schedule.adam_steps + min(schedule.start_steps, schedule.second_steps))
    return schedule.adam_steps + schedule.second_steps + trials


def remaining_seconds(trainer) -> float | None:
    """Estimated seconds left: the time budget left, or the planned steps left at the mean rate
    so far, whichever is smaller (None before the first step)."""
    elapsed = trainer.elapsed()
    left = []
    if trainer.schedule.budget_seconds is not None:
        left.append(max(0.0, trainer.schedule.budget_seconds - elapsed))
    if trainer.step > 0:
        left.append(max(0, planned_steps(trainer.schedule) - trainer.step) * elapsed / trainer.step)
    return min(left) if left else None


def _finite(x):
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


class ProgressLog(Callback):
    """Plain progress lines for logs, and a ``progress.jsonl`` a user can ``tail -f``.

    Every ``every`` seconds (and at each level change and stop) one line goes to ``stream``
    (None: no lines), e.g.::

        pinnkan: level 2/4 (grid 20) step 412 loss 3.1e-07 rel_l2[u] 2.2e-04 elapsed 12s left ~25s

    and, when ``jsonl`` is a path, one JSON object per history entry (the same fields, with
    ``remaining_s``) is appended to that file and flushed.
    """

    def __init__(self, stream=None, jsonl=None, every: float = 10.0):
        self.stream, self.every = stream, float(every)
        self.jsonl = Path(jsonl) if jsonl is not None else None
        self._last = -math.inf
        self._record = None
        self._mode = "w"  # the first entry starts the file afresh

    def _line(self, trainer, record, note: str = "") -> str:
        n = len(trainer.schedule.levels)
        errs = " ".join(f"rel_l2[{k}] {v:.1e}" for k, v in record["rel_l2"].items())
        ramp = " ".join(f"{k} {v:.3g}" for k, v in record.get("continuation", {}).items())
        left = remaining_seconds(trainer)
        parts = [f"pinnkan: level {record['level'] + 1}/{n} (grid {record['grid']})", f"step {record['step']}",
                 f"loss {record['loss']:.2e}", errs, ramp, f"elapsed {record['elapsed_s']:.0f}s",
                 f"left ~{left:.0f}s" if left is not None else "", note]
        return " ".join(p for p in parts if p)

    def _say(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def on_log(self, trainer, record):
        self._record = record
        if self.jsonl is not None:
            row = {**record, "loss": _finite(record["loss"]),
                   "rel_l2": {k: _finite(v) for k, v in record["rel_l2"].items()},
                   "remaining_s": remaining_seconds(trainer), "wall_clock": time.time()}
            with self.jsonl.open(self._mode) as f:
                f.write(json.dumps(row, allow_nan=False) + "\n")
            self._mode = "a"
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._say(self._line(trainer, record))

    def on_level(self, trainer, level, grid):
        self._last = -math.inf  # the first entry of a level is always shown

    def on_stop(self, trainer, reason):
        if self._record is not None:
            self._say(self._line(trainer, self._record, f"STOPPED: {reason}"))


def default_callbacks(progress: bool, log_every_seconds: float | None = None, jsonl=None, stream=None) -> list:
    """The callbacks of a command-line run: a bar when ``progress`` (stderr is a terminal),
    otherwise plain lines every ``log_every_seconds`` on ``stream`` (default stderr); the
    progress.jsonl at ``jsonl`` either way."""
    out = []
    if progress:
        out.append(ProgressBar())
    if jsonl is not None or (not progress and log_every_seconds):
        out.append(ProgressLog(stream=None if progress or not log_every_seconds else (stream or sys.stderr),
                               jsonl=jsonl, every=log_every_seconds or 10.0))
    return out
