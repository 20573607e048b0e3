"""What a training run does, as two frozen specs that check their own values.

- :class:`SamplingSpec`: how collocation points are drawn and redrawn;
- :class:`ScheduleSpec`: the optimizers, their steps, the levels, the budget, loss balancing and
  logging;
- :class:`CausalSpec`: the causal residual weights of a time-dependent problem
  (:mod:`pinnkan.training.causal`), part of the schedule.

:class:`pinnkan.solver.SolveOptions` (the flat surface of ``pk.solve`` and the command line)
fills in the defaults and builds both; :class:`~pinnkan.training.trainer.Trainer` and
:func:`~pinnkan.training.schedule.run_schedule` read only these. Their mutable counterparts
(the loss weights in force, the deadline of the current level) are trainer state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pinnkan.choices import (ADAPTIVE, BALANCE, CAUSAL_EPSILONS, CAUSAL_SLICES, CAUSAL_THRESHOLD, LM_SOLVERS,
                             SAMPLERS, SECOND_OPTIMIZERS, SEED_MAX)
from pinnkan.errors import OptionError


def _at_least(spec, names, low: int) -> None:
    for name in names:
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise OptionError(f"Option {name} must be an integer >= {low}, got {value!r}.")


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise OptionError(f"Unknown {name} {value!r}; choose one of {', '.join(choices)}.")


@dataclass(frozen=True)
class SamplingSpec:
    """Collocation points: ``n_interior`` inside the domain shared by the equations,
    ``n_boundary`` per condition (pairs for periodic ones), drawn by ``method`` from ``seed``;
    redrawn every ``resample_every`` Adam steps (0: never) and after each refinement with
    ``resample_levels``; ``adaptive="rad"`` redraws the interior where the residual is large.
    ``points_growth`` F >= 1: the counts grow by F per level, the given ones on the last level
    (:meth:`counts`), and each refinement redraws the points."""

    n_interior: int
    n_boundary: int
    method: str = "sobol"
    seed: int = 0
    adaptive: str = "none"
    resample_every: int = 0
    resample_levels: bool = False
    equations_on_boundary: bool = False
    points_growth: float = 1.0

    def __post_init__(self):
        _choice("sampler", self.method, SAMPLERS)
        g = self.points_growth
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not (math.isfinite(g) and g >= 1):
            raise OptionError(f"Option points_growth (--points-growth) must be a finite number >= 1 (1: the same "
                              f"points on every level), got {g!r}.")
        _choice("adaptive sampling", self.adaptive, ADAPTIVE)
        _at_least(self, ("n_interior", "n_boundary"), 1)
        _at_least(self, ("resample_every",), 0)
        _at_least(self, ("seed",), 0)
        if self.seed > SEED_MAX:
            raise OptionError(f"Option seed must be between 0 and {SEED_MAX}, got {self.seed}.")


    def counts(self, level: int, n_levels: int) -> tuple[int, int]:
        """(interior, boundary) points of level ``level`` (0-based) of ``n_levels``: each given
        count n as :func:`level_points` (n on the last level, n / F^(n_levels - 1 - level) before)."""
        return (level_points(self.n_interior, self.points_growth, level, n_levels),
                level_points(self.n_boundary, self.points_growth, level, n_levels))


def level_points(n: int, growth: float, level: int, n_levels: int) -> int:
    """n_l = max(1, floor(n * F^-(L - 1 - l) + 1/2)): the count of level l of L that grows by the
    factor F per level up to n on the last level (the last level's index, L - 1, is used for a
    level past it)."""
    steps_left = max(0, n_levels - 1 - level)
    return max(1, math.floor(n * float(growth) ** -steps_left + 0.5))


@dataclass(frozen=True)
class CausalSpec:
    """Causal weights (:mod:`pinnkan.training.causal`): ``slices`` equal time slices; eps climbs
    the increasing ``epsilons`` one rung at a time whenever the smallest slice weight exceeds
    ``threshold`` (in (0, 1))."""

    slices: int = CAUSAL_SLICES
    epsilons: tuple[float, ...] = CAUSAL_EPSILONS
    threshold: float = CAUSAL_THRESHOLD

    def __post_init__(self):
        if isinstance(self.slices, bool) or not isinstance(self.slices, int) or self.slices < 1:
            raise OptionError(f"Option causal_slices must be an integer >= 1, got {self.slices!r}.")
        eps = self.epsilons
        ok = isinstance(eps, (tuple, list)) and len(eps) > 0 and all(
            isinstance(e, (int, float)) and not isinstance(e, bool) and e > 0 and math.isfinite(e) for e in eps)
        if not ok or any(b <= a for a, b in zip(eps, eps[1:])):
            raise OptionError(f"Option causal_epsilons must be increasing positive finite numbers, e.g. "
                              f"{','.join(f'{e:g}' for e in CAUSAL_EPSILONS)}; got {eps!r}.")
        object.__setattr__(self, "epsilons", tuple(float(e) for e in eps))
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1:
            raise OptionError(f"The causal weight threshold must be a number in (0, 1), got {t!r}.")


@dataclass(frozen=True)
class ScheduleSpec:
    """The training schedule: Adam (``adam_steps`` at ``adam_lr``), then ``optimizer`` (``lm``
    for ``lm_steps`` or ``lbfgs`` for ``lbfgs_steps`` iterations) shared out over ``levels``
    (the grids of a multilevel KAN in turn; one entry for a single level). ``starts`` trial starts
    of ``start_steps`` second-phase iterations each on the first grid; ``budget_seconds`` of wall
    clock in all (level i ends at the fraction (i + 1) / len(levels)); a level ends early when its
    loss fell by less than ``plateau_tol`` over ``plateau_window`` logged iterations;
    ``balance="grad"`` updates the condition weights at each level start, starting from
    ``weights`` ({term label: weight}, the others at their problem-file weights); ``causal``: the
    causal residual weights of a time-dependent problem (None: off); ``sparsity``: lambda of the
    KAN sparsity penalty lambda sum_l (|Phi_l|_1 + S(Phi_l)) added to the Adam and L-BFGS loss
    (:func:`pinnkan.evaluation.residuals.sparsity_penalty`)."""

    levels: tuple[int, ...]
    optimizer: str = "lbfgs"
    adam_steps: int = 500
    adam_lr: float = 1e-3
    lbfgs_steps: int = 2000
    lbfgs_history: int = 50
    lm_steps: int = 800
    starts: int = 1
    start_steps: int = 50
    budget_seconds: float | None = None
    balance: str = "none"
    weights: dict = field(default_factory=dict)
    plateau_window: int = 10
    plateau_tol: float = 0.02
    log_every: int = 50
    progress: bool = False
    causal: CausalSpec | None = None
    sparsity: float = 0.0  # lambda of the KAN sparsity penalty added to the loss (0: none)
    lm_solver: str = "auto"  # the damped LM step: dense, cg (matrix-free) or auto (by size)

    def __post_init__(self):
        _choice("optimizer", self.optimizer, SECOND_OPTIMIZERS)
        _choice("Levenberg-Marquardt solver", self.lm_solver, LM_SOLVERS)
        if not (isinstance(self.sparsity, (int, float)) and not isinstance(self.sparsity, bool)
                and self.sparsity >= 0 and math.isfinite(self.sparsity)):
            raise OptionError(f"Option sparsity must be a finite number >= 0, got {self.sparsity!r}.")
        _choice("loss balancing", self.balance, BALANCE)
        _at_least(self, ("adam_steps", "lbfgs_steps", "lm_steps"), 0)
        _at_least(self, ("starts", "start_steps", "log_every", "lbfgs_history", "plateau_window"), 1)
        if not self.levels:
            raise OptionError("A schedule needs at least one level (grid).")
        if not (isinstance(self.adam_lr, (int, float)) and self.adam_lr > 0 and math.isfinite(self.adam_lr)):
            raise OptionError(f"Option adam_lr must be a positive finite number, got {self.adam_lr}.")
        if self.budget_seconds is not None and not (self.budget_seconds > 0 and math.isfinite(self.budget_seconds)):
            raise OptionError(f"Option budget_seconds must be a positive finite number, got {self.budget_seconds}.")
        if self.causal is not None and not isinstance(self.causal, CausalSpec):
            raise OptionError(f"ScheduleSpec(causal=...) takes a CausalSpec or None, got {type(self.causal).__name__}.")
        for label, w in self.weights.items():
            if not (isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 and math.isfinite(w)):
                raise OptionError(f"The loss weight of {label!r} must be a finite number >= 0, got {w!r}.")

    @property
    def second_steps(self) -> int:
        """The iterations of the second phase, over all levels."""
        return self.lm_steps if self.optimizer == "lm" else self.lbfgs_steps
