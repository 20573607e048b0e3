"""Optimisation loop: Adam then L-BFGS on the physics-informed loss, with a history and guards.

The :class:`Trainer` owns one model and its collocation points and runs *phases*
(``adam(steps, lr)``, ``lbfgs(steps)``); a multilevel schedule is a sequence of phases with a
model refinement in between. Guards:

- a non-finite loss or parameter stops training, restores the last parameters whose loss was
  finite, and records the reason in ``history.stopped``;
- a wall-clock budget (``budget_seconds``) ends any phase once spent.
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from pinnkan.training.memory import rss_mib
from pinnkan.evaluation.residuals import TermPoints, sample_points, total_loss


@dataclass
class History:
    """What happened during training, one entry per logged step."""

    step: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)
    error: dict[str, list[float]] = field(default_factory=dict)
    phase: list[str] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    level_starts: list[int] = field(default_factory=list)
    stopped: str | None = None
    weights: list[dict] = field(default_factory=list)  # {"step": s, **weights} at each balance update
    rss_mib: list[float] = field(default_factory=list)  # resident memory at each logged step
    starts: list[dict] = field(default_factory=list)  # {"start", "step", "loss"} per trial start; see schedule

    def as_dict(self) -> dict:
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items()}


@dataclass
class TrainConfig:
    """Training options (see docs/cli.md for their command-line names)."""

    adam_steps: int = 1000
    adam_lr: float = 1e-2
    lbfgs_steps: int = 1000
    lbfgs_history: int = 50
    n_interior: int = 1024
    n_boundary: int = 256
    sampler: str = "sobol"
    resample_every: int = 0
    log_every: int = 50
    budget_seconds: float | None = None
    n_validation: int = 2000
    resample_levels: bool = False
    plateau_window: int = 10
    plateau_tol: float = 0.02
    progress: bool = False
    weights: dict = field(default_factory=dict)
    sampling: str = "uniform"  # "rad": residual-based resampling at each resample (adaptive.py)
    balance: str = "none"  # "grad": learning-rate-annealing loss weights at each level start
    equations_on_boundary: bool = False  # equations also at n_boundary points of the boundary


def plateaued(losses: list[float], window: int, tol: float) -> bool:
    """True when the loss fell by less than the fraction ``tol`` over the last ``window`` entries."""
    if len(losses) <= window:
        return False
    return losses[-1] > (1.0 - tol) * losses[-1 - window]


class Trainer:
    """Train ``model`` on ``compiled`` with the derivative ``engine``.

    sampler: a :class:`~pinnkan.geometry.sampling.CollocationSampler`; validation: points (M, d) tensor
    for the error history (used when the problem has an exact solution).
    """

    def __init__(self, compiled, model, engine, sampler, config: TrainConfig, validation=None):
        self.compiled, self.model, self.engine = compiled, model, engine
        self.sampler, self.config = sampler, config
        p = next(model.parameters())
        self.dtype, self.device = p.dtype, p.device
        self.data: list[TermPoints] = self._sample(adaptive=False)
        self.history = History()
        self.step = 0
        self.level = 0
        self.start = time.perf_counter()
        self.elapsed_before = 0.0
        self.validation = validation
        self.exact = compiled.exact_values(validation) if validation is not None else None
        self._good_state = copy.deepcopy(model.state_dict())
        self._bar = None

    # ------------------------------------------------------------------ helpers
    def _sample(self, adaptive: bool = True) -> list[TermPoints]:
        """New collocation points; with ``sampling="rad"`` (and a model to rate) the interior
        points are drawn where the current residual is large."""
        c = self.config
        interior = None
        if adaptive and c.sampling == "rad":
            from pinnkan.training.adaptive import rad_interior

            interior = rad_interior(self.compiled, self.model, self.engine, self.sampler, c.n_interior,
                                    self.dtype, self.device)
        return sample_points(self.compiled, self.sampler, c.n_interior, c.n_boundary, self.dtype, self.device,
                             interior=interior, equations_on_boundary=c.equations_on_boundary)

    def rebalance(self) -> None:
        """Update the condition weights by learning-rate annealing (``balance="grad"``)."""
        if self.config.balance != "grad" or self.stopped:
            return
        from pinnkan.training.adaptive import balance_weights

        self.config.weights = balance_weights(self.compiled, self.model, self.engine, self.data, self.config.weights)
        self.history.weights.append({"step": self.step, **self.config.weights})

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out_of_budget(self) -> bool:
        b = self.config.budget_seconds
        return b is not None and self.elapsed() >= b

    def loss(self):
        return total_loss(self.compiled, self.model, self.engine, self.data, self.config.weights)

    def errors(self) -> dict[str, float]:
        """Relative L2 error per field on the validation points (fields with an exact solution)."""
        if self.exact is None:
            return {}
        with torch.no_grad():
            pred = self.model(self.validation)
        out = {}
        for f in self.compiled.exact:
            ok = torch.isfinite(self.exact[:, f])
            e = self.exact[ok, f]
            out[self.compiled.field_names[f]] = float(torch.linalg.norm(pred[ok, f] - e) / torch.linalg.norm(e).clamp_min(1e-300))
        return out

    def _finite(self, loss_value: float) -> bool:
        if not math.isfinite(loss_value):
            return False
        return all(torch.isfinite(p).all() for p in self.model.parameters())

    def _stop(self, reason: str) -> None:
        self.model.load_state_dict(self._good_state)
        self.history.stopped = reason

    def _log(self, phase: str, loss_value: float, parts: dict) -> None:
        h = self.history
        h.step.append(self.step)
        h.time.append(self.elapsed())
        h.loss.append(loss_value)
        h.phase.append(phase)
        h.level.append(self.level)
        h.rss_mib.append(rss_mib())
        for k, v in parts.items():
            h.terms.setdefault(k, []).append(float(v.detach()) if torch.is_tensor(v) else float(v))
        errs = self.errors()
        for k, v in errs.items():
            h.error.setdefault(k, []).append(v)
        if self._bar is not None:
            post = {"loss": f"{loss_value:.2e}"}
            post.update({f"err_{k}": f"{v:.1e}" for k, v in errs.items()})
            self._bar.set_postfix(post, refresh=False)

    @contextmanager
    def _progress_bar(self, total: int, desc: str):
        """A tqdm bar for one phase (when ``config.progress``), held in ``self._bar`` meanwhile."""
        if self.config.progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
        try:
            yield
        finally:
            if self._bar is not None:
                self._bar.close()
            self._bar = None

    def _advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def refine(self, new_grid: int) -> None:
        """Start the next level: replace the KAN by its exact refinement on ``new_grid``.

        The refined model computes the same function (knot insertion), so the loss is unchanged
        at the level change (logged as a "refine" entry); optimizer state is not carried over
        (each phase builds its own). With ``resample_levels`` the next level then trains on
        freshly drawn collocation points, which keeps the finer levels from fitting the points
        instead of the PDE.
        """
        self.model = self.model.refine(new_grid)
        self._good_state = copy.deepcopy(self.model.state_dict())
        self.level += 1
        self.history.level_starts.append(self.step)
        loss, parts = self.loss()
        self._log("refine", float(loss.detach()), parts)
        if self.config.resample_levels or self.config.sampling == "rad":
            self.data = self._sample()

    def snapshot(self) -> tuple:
        """What a trial start leaves behind: (model, loss weights, collocation points)."""
        return self.model, dict(self.config.weights), self.data

    def restart(self, model, weights: dict, phase: str) -> None:
        """Continue with ``model`` (a fresh start or a kept snapshot's) and ``weights``."""
        self.model = model
        self.config.weights = dict(weights)
        self._good_state = copy.deepcopy(model.state_dict())
        loss, parts = self.loss()
        self._log(phase, float(loss.detach()), parts)

    @property
    def stopped(self) -> bool:
        return self.history.stopped is not None

    # ------------------------------------------------------------------ phases
    def adam(self, steps: int, lr: float, warmup: int = 0) -> None:
        """``steps`` Adam steps at learning rate ``lr`` (linear ramp over ``warmup`` steps)."""
        if steps <= 0 or self.stopped or self.out_of_budget():
            return
        opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        c = self.config
        with self._progress_bar(steps, f"adam L{self.level}"):
            for i in range(steps):
                if warmup:
                    for g in opt.param_groups:
                        g["lr"] = lr * min(1.0, (i + 1) / warmup)
                if c.resample_every and i and i % c.resample_every == 0:
                    self.data = self._sample()
                opt.zero_grad(set_to_none=True)
                loss, parts = self.loss()
                value = float(loss.detach())
                if not math.isfinite(value):
                    self._stop(f"non-finite loss ({value}) at step {self.step} (adam); kept the last finite model")
                    return
                self._good_state = copy.deepcopy(self.model.state_dict())
                if i % c.log_every == 0:
                    self._log("adam", value, parts)
                loss.backward()
                opt.step()
                self.step += 1
                self._advance(1)
                if self.out_of_budget():
                    break
            self._log_current("adam")

    def lbfgs(self, steps: int, stop_on_plateau: bool = False, window: int | None = None) -> int:
        """``steps`` L-BFGS iterations (strong Wolfe line search) on fixed collocation points.

        Iterations run in chunks of ``log_every`` inside one ``optimizer.step`` call, so no
        function evaluation is repeated between iterations; the budget, the log and the
        non-finite guard act between chunks.
        """
        if steps <= 0 or self.stopped or self.out_of_budget():
            return 0
        c = self.config
        chunk = max(1, min(c.log_every, steps))
        opt = torch.optim.LBFGS(
            self.model.parameters(), lr=1.0, max_iter=chunk, max_eval=int(chunk * 1.5) + 5,
            history_size=c.lbfgs_history, line_search_fn="strong_wolfe",
            tolerance_grad=1e-14, tolerance_change=1e-16,
        )

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, _ = self.loss()
            loss.backward()
            return loss

        done = 0
        losses = []
        with self._progress_bar(steps, f"lbfgs L{self.level}"):
            while done < steps and not self.out_of_budget():
                for g in opt.param_groups:
                    g["max_iter"] = min(chunk, steps - done)
                before = opt.state[opt._params[0]].get("n_iter", 0)
                self._good_state = copy.deepcopy(self.model.state_dict())
                opt.step(closure)
                taken = opt.state[opt._params[0]].get("n_iter", 0) - before
                loss, parts = self.loss()
                value = float(loss.detach())
                if not self._finite(value):
                    self._stop(f"non-finite loss ({value}) at step {self.step} (lbfgs); kept the last finite model")
                    return done
                self.step += taken
                done += taken
                self._advance(taken)
                self._log("lbfgs", value, parts)
                losses.append(value)
                if taken == 0:
                    break  # converged to the tolerances: no further progress possible
                if stop_on_plateau and plateaued(losses, window or 2, c.plateau_tol):
                    break
        return done

    def lm(self, steps: int, stop_on_plateau: bool = False, window: int | None = None) -> int:
        """Up to ``steps`` Levenberg-Marquardt iterations on fixed collocation points
        (:mod:`pinnkan.training.levenberg`). Stops early when no step lowers the loss even at
        the largest damping, or, with ``stop_on_plateau``, when the loss fell by less than
        ``plateau_tol`` over the last ``window`` (default ``plateau_window``) iterations.
        Returns the iterations taken."""
        from pinnkan.training.levenberg import LevenbergMarquardt, check_supported

        if steps <= 0 or self.stopped or self.out_of_budget():
            return 0
        check_supported(self.model, self.compiled)
        opt = LevenbergMarquardt()
        c = self.config
        losses, taken = [], 0
        with self._progress_bar(steps, f"lm L{self.level}"):
            for i in range(steps):
                self._good_state = copy.deepcopy(self.model.state_dict())
                value, accepted = opt.step(self.model, self.compiled, self.data, c.weights)
                if not self._finite(value):
                    self._stop(f"non-finite loss ({value}) at step {self.step} (lm); kept the last finite model")
                    return taken
                self.step += 1
                taken += 1
                losses.append(value)
                self._advance(1)
                plateau = stop_on_plateau and plateaued(losses, window or c.plateau_window, c.plateau_tol)
                given_up = not accepted and opt.lam >= opt.lam_max  # no damping lowers the loss
                last = i == steps - 1 or given_up or plateau or self.out_of_budget()
                if i % max(1, c.log_every // 10) == 0 or last:
                    self._log_current("lm")
                if last:
                    break
        return taken

    def _log_current(self, phase: str) -> None:
        if self.history.step and self.history.step[-1] == self.step:
            return
        loss, parts = self.loss()
        value = float(loss.detach())
        if self._finite(value):
            self._log(phase, value, parts)
        else:
            self._stop(f"non-finite loss ({value}) at step {self.step} ({phase}); kept the last finite model")
