"""The training schedule: Adam, then a second-order phase, level by level for a multilevel KAN."""

from __future__ import annotations

from .trainer import Trainer


def split(total: int, parts: int) -> list[int]:
    """Split ``total`` steps into ``parts`` near-equal shares (earlier shares get the remainder)."""
    q, r = divmod(total, parts)
    return [q + (i < r) for i in range(parts)]


def run_schedule(trainer: Trainer, o) -> None:  # o: pinnkan.solver.SolveOptions
    """Adam, then the second-phase optimizer (L-BFGS or Levenberg-Marquardt).

    Multilevel (``o.levels``): Adam on the coarsest grid only; then the second optimizer on each
    grid in turn, with an exact refinement (same function, same loss) between levels and fresh
    optimizer state at each level. The second-phase steps are shared out over the levels; a
    level that reaches a loss plateau (see ``TrainConfig.plateau_tol``) ends early and leaves
    its unused steps to the later levels; on the last level a plateau three times as long
    ends the run. With a time budget, level i ends at the fraction (i + 1) / n_levels of it.
    Adaptive options act at each level start: ``balance="grad"`` updates the loss weights and
    ``sampling="rad"`` redraws the interior points where the residual is large.
    """
    levels = o.levels or [o.grid]
    n = len(levels)
    total = o.lm_steps if o.optimizer == "lm" else o.lbfgs_steps
    phase = trainer.lm if o.optimizer == "lm" else trainer.lbfgs
    budget = o.budget_seconds
    used = 0
    for i, g in enumerate(levels):
        if trainer.stopped:
            break
        if i > 0:
            trainer.refine(g)
        if budget is not None:
            trainer.config.budget_seconds = budget * (i + 1) / n
        if i == 0:
            trainer.adam(o.adam_steps, o.adam_lr)
            if trainer.config.sampling == "rad" and not trainer.stopped:
                trainer.data = trainer._sample()
        trainer.rebalance()
        share = (total - used) // (n - i)
        last = i == n - 1
        window = (3 * trainer.config.plateau_window if o.optimizer == "lm" else 6) if last else None
        used += phase(share, stop_on_plateau=True, window=window)
    trainer.config.budget_seconds = budget


def kan_parameter_count(widths, grid: int, degree: int) -> int:
    """sum over layers of in * out * (grid + degree)."""
    return sum(a * b * (grid + degree) for a, b in zip(widths[:-1], widths[1:]))


def level_summary(history, grids: list[int]) -> list[dict]:
    """Per level: its grid, the last logged step, loss and validation errors of that level."""
    out = []
    for i, g in enumerate(grids):
        idx = [j for j, lv in enumerate(history.level) if lv == i]
        if not idx:
            break
        j = idx[-1]
        out.append({"grid": g, "step": history.step[j], "time_s": history.time[j], "loss": history.loss[j],
                    "rel_l2": {k: v[j] for k, v in history.error.items()}})
    return out
