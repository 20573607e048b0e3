"""The training schedule: Adam, then a second-order phase, level by level for a multilevel KAN.

Continuation (``Problem(continuation={nu: [v_0, ..., v_{K-1}]})``): with L >= 2 levels, level l
trains at v_min(l, K-1), so the last level, and every level from K-1 on, at v_{K-1} (K > L is
refused: :func:`check_continuation`). On a single level (an MLP, a KAN on one grid) the Adam
steps are split into K near-equal shares (:func:`split`), share k at v_k, each with a fresh Adam
state; the second phase runs at v_{K-1}.
"""

from __future__ import annotations

from dataclasses import replace

from pinnkan.errors import ProblemError
from pinnkan.evaluation.residuals import total_loss
from pinnkan.training.trainer import Trainer


def split(total: int, parts: int) -> list[int]:
    """Split ``total`` steps into ``parts`` near-equal shares (earlier shares get the remainder)."""
    q, r = divmod(total, parts)
    return [q + (i < r) for i in range(parts)]


def check_continuation(compiled, n_levels: int) -> None:
    """A continuation ramp of K values on a schedule of ``n_levels`` >= 2 levels needs K <= n_levels
    (one value per level, the last ones at the final value); ProblemError naming the file otherwise.
    A single level takes any K (shares of Adam)."""
    long = {k: len(v) for k, v in compiled.continuation.items() if len(v) > n_levels}
    if n_levels < 2 or not long:
        return
    name, k = next(iter(long.items()))
    raise ProblemError(
        f"In {compiled.location}, continuation={{{name}: [...]}} has {k} values, but the multilevel schedule has "
        f"{n_levels} levels, and level l trains at value min(l, K - 1); give at most {n_levels} values, or as many "
        f"levels or more (e.g. --levels {','.join(str(5 * 2 ** i) for i in range(k))})."
    )


def continuation_adam(trainer: Trainer, steps: int, lr: float) -> None:
    """Adam for ``steps`` steps; on a single level with a continuation ramp of K values, as K
    near-equal shares, share k at stage k (fresh Adam state each), then the final values."""
    ramps = trainer.compiled.continuation
    k = max((len(v) for v in ramps.values()), default=1)
    if len(trainer.schedule.levels) > 1 or k == 1:
        trainer.adam(steps, lr)
        return
    for stage, part in enumerate(split(steps, k)):
        trainer.set_continuation(stage)
        trainer.adam(part, lr)
    trainer.set_continuation(None)


def run_schedule(trainer: Trainer, new_start=None, resume: dict | None = None) -> None:
    """Adam, then the second-phase optimizer (L-BFGS or Levenberg-Marquardt), as
    ``trainer.schedule`` (a :class:`~pinnkan.training.spec.ScheduleSpec`) says.

    Multilevel (several ``levels``): Adam on the coarsest grid only; then the second optimizer on each
    grid in turn, with an exact refinement (same function, same loss) between levels and fresh
    optimizer state at each level. The second-phase steps are shared out over the levels; a
    level that reaches a loss plateau (see ``ScheduleSpec.plateau_tol``) ends early and leaves
    its unused steps to the later levels; on the last level a plateau three times as long
    ends the run. With a time budget, level i ends at the fraction (i + 1) / n_levels of it.
    Adaptive options act at each level start: ``balance="grad"`` updates the loss weights and
    ``adaptive="rad"`` redraws the interior points where the residual is large.
    A continuation ramp is set at each level start, before the refinement (so its ``refine``
    entry and redrawn points are at the new level's value), as the module docstring says.
    Within the second phase of the last level the model of lowest validation score is kept
    (:meth:`~pinnkan.training.trainer.Trainer.keep_best`), unless training stopped on a
    non-finite loss (then the last finite model is).
    With ``starts`` > 1 the first level begins with that many trial starts (see
    :func:`first_level`); ``new_start(k)`` builds the network of start k.

    At the end of each level the callbacks hear ``on_level_end(trainer, level, used)`` (``used``:
    second-phase iterations so far), where a checkpoint can be written. ``resume``
    ({"level": i, "used": n}, the trainer already restored to the end of level i) goes on with
    level i + 1, as the run that wrote the checkpoint would have.
    """
    o = trainer.schedule
    levels = o.levels
    n = len(levels)
    total = o.second_steps
    phase = trainer.lm if o.optimizer == "lm" else trainer.lbfgs
    budget = o.budget_seconds
    used = 0 if resume is None else int(resume["used"])
    done = -1 if resume is None else int(resume["level"])
    for i, g in enumerate(levels):
        if i <= done:
            continue
        if trainer.stopped or trainer.history.interrupted:
            break
        if n > 1:
            trainer.set_continuation(i, level=i)
        if i > 0:
            trainer.refine(g)
        if budget is not None:
            trainer.budget = budget * (i + 1) / n
        share = (total - used) // (n - i)
        last = i == n - 1
        window = (3 * o.plateau_window if o.optimizer == "lm" else 6) if last else None
        if i == 0:
            used += first_level(trainer, phase, share, window, new_start, track=last)
        else:
            trainer.rebalance()
            if last:
                trainer.track_best()
            used += phase(share, stop_on_plateau=True, window=window)
        if not (trainer.stopped or trainer.history.interrupted):
            trainer.tell("on_level_end", i, used)
    trainer.keep_best()
    trainer.budget = budget


def first_level(trainer: Trainer, phase, share: int, window, new_start, track: bool = False) -> int:
    """Adam, loss balancing and the second optimizer on the first grid; returns its iterations.

    With ``starts`` = K > 1: K starts (start 0 the network already built, start k from
    ``new_start(k)``) each get Adam and ``start_steps`` iterations of the second optimizer on
    the same points (with ``sampling="rad"``, each on the points it redraws after Adam); the one
    of lowest loss under the problem's own weights (without causal weights) goes on with the
    rest of the level, the others are dropped. The final error follows the loss reached on the
    coarsest grid, which varies several-fold between initialisations (docs/performance.md).
    Every trial's steps count in the step total and the time budget (``history.starts`` lists
    the trials); the iterations shared out over the later levels are those of one start.
    ``track``: this is the last level, whose best model in the second phase is kept (from the
    chosen start on).
    """
    o = trainer.schedule

    def begin() -> None:
        continuation_adam(trainer, o.adam_steps, o.adam_lr)
        if trainer.sampling.adaptive == "rad" and not trainer.stopped:
            trainer.data = trainer.resample()
        trainer.rebalance()

    if o.starts <= 1 or new_start is None:
        begin()
        if track:
            trainer.track_best()
        return phase(share, stop_on_plateau=True, window=window)
    trial = min(o.start_steps, share)
    base = dict(trainer.weights)
    kept = []
    for k in range(o.starts):
        if k:
            if trainer.stopped or trainer.out_of_budget():
                break
            trainer.restart(new_start(k), base, f"start {k}")
        begin()
        phase(trial)
        plain = [replace(tp, point_weights=None) for tp in trainer.data]  # causal weights differ per start
        loss, _ = total_loss(trainer.compiled, trainer.model, trainer.engine, plain, base)
        kept.append((trainer.values(loss, {})[0], k, trainer.snapshot()))  # the whole sets' loss
        trainer.history.starts.append({"start": k, "step": trainer.step, "loss": kept[-1][0]})
    loss, k, (model, weights, data) = min(kept, key=lambda c: c[0])
    trainer.data = data
    if track:
        trainer.track_best()
    trainer.restart(model, weights, f"best start {k}")
    trainer.history.starts.append({"chosen": k, "loss": loss})
    return trial + phase(share - trial, stop_on_plateau=True, window=window)


def kan_parameter_count(widths, grid: int, degree: int) -> int:
    """sum over layers of in * out * (grid + degree)."""
    return sum(a * b * (grid + degree) for a, b in zip(widths[:-1], widths[1:]))


def level_summary(history, grids: list[int], sampling=None) -> list[dict]:
    """Per level: its grid, the last logged step, loss and validation errors of that level; with
    ``sampling`` (a SamplingSpec) its point counts (:meth:`SamplingSpec.counts`); with continuation
    the values the level trained at ({name: value}, the last record of that level)."""
    out = []
    for i, g in enumerate(grids):
        idx = [j for j, lv in enumerate(history.level) if lv == i]
        if not idx:
            break
        j = idx[-1]
        out.append({"grid": g, "step": history.step[j], "time_s": history.time[j], "loss": history.loss[j],
                    "rel_l2": {k: v[j] for k, v in history.error.items()}})
        if sampling is not None:
            out[-1]["n_interior"], out[-1]["n_boundary"] = sampling.counts(i, len(grids))
        values = [c["values"] for c in history.continuation if c["level"] == i]
        if values:
            out[-1]["continuation"] = values[-1]
    return out
