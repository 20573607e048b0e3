"""Optimisation loop: Adam then L-BFGS on the physics-informed loss, with a history and guards.

The :class:`Trainer` owns one model and its collocation points and runs *phases*
(``adam(steps, lr)``, ``lbfgs(steps)``); a multilevel schedule is a sequence of phases with a
model refinement in between. Guards:

- a non-finite loss or parameter stops training, restores the last parameters whose loss was
  finite, and records the reason in ``history.stopped``;
- a wall-clock budget (``budget_seconds``) ends any phase once spent.

With ``schedule.causal`` (a time-dependent problem) the equation points carry the causal
weights of :mod:`pinnkan.training.causal`, updated from the current residuals before every
Adam step, every L-BFGS chunk and every Levenberg-Marquardt iteration (constants within each);
a level's loss plateau counts only once the weights have settled (the last eps, all weights
above the threshold), since before that the weighted loss rises as later times are let in.

What happens during training is told to the trainer's callbacks
(:class:`~pinnkan.training.callbacks.Callback`): the progress bar, the progress log and
anything a user adds.
"""

from __future__ import annotations

import copy
import json
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from pinnkan.evaluation.residuals import TermPoints, sample_points, sparsity_penalty, total_loss
from pinnkan.training import distributed
from pinnkan.training.memory import rss_mib
from pinnkan.training.spec import SamplingSpec, ScheduleSpec


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
    window_starts: list[int] = field(default_factory=list)  # first step of each later time window (marching)
    stopped: str | None = None
    interrupted: str | None = None  # the signal that ended training early (SIGINT, SIGTERM)
    best: dict | None = None  # {"step", "score", "by"}: the kept model of the last level, see Trainer.keep_best
    weights: list[dict] = field(default_factory=list)  # {"step": s, **weights} at each balance update
    rss_mib: list[float] = field(default_factory=list)  # resident memory at each logged step
    starts: list[dict] = field(default_factory=list)  # {"start", "step", "loss"} per trial start; see schedule
    causal: list[dict] = field(default_factory=list)  # {"step", "eps", "min_weight"} per causal weight update
    continuation: list[dict] = field(default_factory=list)  # {"step", "level", "stage", "values"}: Trainer.set_continuation

    def as_dict(self) -> dict:
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items()}


def plateaued(losses: list[float], window: int, tol: float) -> bool:
    """True when the loss fell by less than the fraction ``tol`` over the last ``window`` entries."""
    if len(losses) <= window:
        return False
    return losses[-1] > (1.0 - tol) * losses[-1 - window]


class Trainer:
    """Train ``model`` on ``compiled`` with the derivative ``engine``.

    sampler: a :class:`~pinnkan.geometry.sampling.CollocationSampler`; ``schedule`` and
    ``sampling``: the specs of :mod:`pinnkan.training.spec`; validation: points (M, d) tensor
    for the error history (used when the problem has an exact solution); ``callbacks``:
    :class:`~pinnkan.training.callbacks.Callback` objects told of each phase, step, log entry,
    level and stop.

    State besides the model: ``data`` (the collocation points of each term), ``weights`` (the
    loss weights in force, {term label: weight}), ``budget`` (the wall-clock seconds the current
    level may run up to, or None), ``causal`` (the
    :class:`~pinnkan.training.causal.CausalWeights` of ``schedule.causal``, or None), ``step``,
    ``level`` and ``history``.
    """

    def __init__(self, compiled, model, engine, sampler, schedule: ScheduleSpec, sampling: SamplingSpec,
                 validation=None, callbacks=()):
        self.compiled, self.model, self.engine = compiled, model, engine
        self.sampler, self.schedule, self.sampling = sampler, schedule, sampling
        self.callbacks = list(callbacks)
        p = next(model.parameters())
        self.dtype, self.device = p.dtype, p.device
        distributed.broadcast_parameters(model)  # data-parallel: every rank starts from rank 0's model
        self.level = 0  # before the first draw: the point counts may grow with the level
        self.data: list[TermPoints] = self.resample(adaptive=False)
        self.causal = None
        if schedule.causal is not None:
            from pinnkan.training.causal import CausalWeights

            self.causal = CausalWeights(schedule.causal, compiled)
        self.weights: dict = dict(schedule.weights)
        self.budget: float | None = schedule.budget_seconds
        self.history = History()
        self.step = 0
        self.start = time.perf_counter()
        self.validation = validation
        self.exact = compiled.exact_values(validation) if validation is not None else None
        self._good_state = copy.deepcopy(model.state_dict())
        self._best = None  # (score, step, state dict, what the score is) once track_best() is called

    # ------------------------------------------------------------------ helpers
    def tell(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(self, *args)

    def resample(self, adaptive: bool = True) -> list[TermPoints]:
        """New collocation points (returned; the caller stores them in ``data``); with
        ``sampling.adaptive="rad"`` (and a model to rate) the interior points are drawn where the
        current residual is large. The counts are those of the current level
        (:meth:`~pinnkan.training.spec.SamplingSpec.counts`)."""
        c = self.sampling
        n_interior, n_boundary = c.counts(self.level, len(self.schedule.levels))
        interior = None
        if adaptive and c.adaptive == "rad":
            from pinnkan.training.adaptive import rad_interior

            interior = rad_interior(self.compiled, self.model, self.engine, self.sampler, n_interior,
                                    self.dtype, self.device)
        whole = sample_points(self.compiled, self.sampler, n_interior, n_boundary, self.dtype, self.device,
                              interior=interior, equations_on_boundary=c.equations_on_boundary)
        return distributed.shard_points(whole)  # data-parallel: this rank's share of every term

    @property
    def grid(self) -> int:
        """The grid of the current level."""
        return self.schedule.levels[min(self.level, len(self.schedule.levels) - 1)]

    def rebalance(self) -> None:
        """Update the condition weights by learning-rate annealing (``balance="grad"``)."""
        if self.schedule.balance != "grad" or self.stopped:
            return
        from pinnkan.training.adaptive import balance_weights

        self.weights = balance_weights(self.compiled, self.model, self.engine, self.data, self.weights)
        self.history.weights.append({"step": self.step, **self.weights})

    def set_continuation(self, stage: int | None, level: int | None = None) -> None:
        """Put the problem's continuation parameters at ``stage``
        (:meth:`~pinnkan.problem.compile.CompiledProblem.set_continuation`; None: the problem's
        own values) and record ``{"step", "level", "stage", "values"}`` in
        ``history.continuation`` (``level`` defaults to the current one; a repeat of the last
        record's level and values is not recorded). Nothing without continuation."""
        if not self.compiled.continuation:
            return
        values = self.compiled.set_continuation(stage)
        level = self.level if level is None else level
        last = self.history.continuation[-1] if self.history.continuation else None
        if last is None or (last["level"], last["values"]) != (level, values):
            self.history.continuation.append({"step": self.step, "level": level, "stage": stage, "values": values})

    def update_causal(self) -> None:
        """Recompute the causal weights of the equation points from the current residuals (and
        climb the eps ladder when they allow); nothing without ``schedule.causal``."""
        if self.causal is None:
            return
        self.data = self.causal.update(self.model, self.engine, self.data)
        self.history.causal.append(self.causal.record(self.step))

    def plateau_losses(self, losses: list[float]) -> list[float]:
        """``losses`` as a plateau test may read them: emptied while causal weights have not
        settled (the weighted loss then says nothing of convergence)."""
        if self.causal is not None and not self.causal.settled:
            losses.clear()
        return losses

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out_of_budget(self) -> bool:
        """True once the current level's time is spent, or an interrupt asked training to end
        (every phase checks this between steps)."""
        spent = self.history.interrupted is not None or (self.budget is not None and self.elapsed() >= self.budget)
        return distributed.any_rank(spent)  # data-parallel: all ranks end the phase at the same step

    def out_of_memory(self, reason: str) -> None:
        """Training ran out of memory: go back to the last good model and record ``reason``."""
        self._stop(reason)

    def interrupt(self, reason: str) -> None:
        """Ask training to end at the next step (safe to call from a signal handler): the model
        of that step is kept and ``history.interrupted`` says why."""
        if self.history.interrupted is None:
            self.history.interrupted = reason

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Everything training needs to go on from here, as tensors and plain data: the model's
        state dict and grid, the loss weights, the collocation points, the history, the step and
        level, the elapsed time and the random states (sampler and torch)."""
        return {"model": copy.deepcopy(self.model.state_dict()), "grid": self.grid, "level": self.level,
                "step": self.step, "elapsed_s": self.elapsed(), "weights": dict(self.weights),
                "data": [{"points": tp.points.cpu(), "normals": None if tp.normals is None else tp.normals.cpu(),
                          "observed": None if tp.observed is None else tp.observed.cpu(),
                          **({} if tp.point_weights is None else {"point_weights": tp.point_weights.cpu()})}
                         for tp in distributed.unshard_points(self.data)],  # the whole sets (collective)
                "history": self.history.as_dict(), "sampler_rng": json.dumps(self.sampler.rng.bit_generator.state),
                "torch_rng": torch.get_rng_state(), **self._causal_state()}

    def _causal_state(self) -> dict:
        """The rung of the eps ladder reached and the smallest weight, with causal weights ({}
        without; the point weights are in ``data``)."""
        return {} if self.causal is None else {"causal_rung": self.causal.rung,
                                               "causal_min_weight": self.causal.min_weight}

    def restore(self, state: dict) -> None:
        """Go on from ``state`` (of :meth:`state`); the model must already be the network of
        ``state["grid"]``."""
        self.model.load_state_dict(state["model"])
        self._good_state = copy.deepcopy(self.model.state_dict())
        self.level, self.step = int(state["level"]), int(state["step"])
        self.start = time.perf_counter() - float(state["elapsed_s"])
        self.weights = dict(state["weights"])
        on = lambda t: None if t is None else t.to(dtype=self.dtype, device=self.device)
        self.data = distributed.shard_points([TermPoints(tp.term, on(d["points"]), on(d["normals"]), on(d["observed"]),
                                                         on(d.get("point_weights")))
                                              for tp, d in zip(self.data, state["data"])])
        self.history = History(**copy.deepcopy(state["history"]))
        if self.causal is not None and "causal_rung" in state:
            self.causal.rung, self.causal.min_weight = int(state["causal_rung"]), float(state["causal_min_weight"])
        self.history.interrupted = None
        self._best = None
        self.sampler.rng.bit_generator.state = json.loads(state["sampler_rng"])
        torch.set_rng_state(state["torch_rng"])

    def loss(self):
        """(weighted PDE loss [+ sparsity lambda * the KAN sparsity penalty on the first equation's
        points], {term label: mean square residual})."""
        loss, parts = total_loss(self.compiled, self.model, self.engine, self.data, self.weights)
        if self.schedule.sparsity:
            points = next(tp.points for tp in self.data if tp.term.is_equation)
            # data-parallel: each rank's penalty on its share, averaged (the penalty is no sum over points)
            loss = loss + self.schedule.sparsity * sparsity_penalty(self.model, points) / distributed.world_size()
        return loss, parts

    def values(self, loss, parts: dict) -> tuple[float, dict]:
        """(loss, {label: mean square}) of the whole point sets as floats: this process's values,
        or with data-parallel training the sums over the ranks' shares (one all-reduce)."""
        return distributed.global_values(loss, parts)

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

    def validation_score(self, errors: dict) -> tuple[float, str]:
        """(score, what it is) of the current model: the sum over fields of the relative L2
        errors on the validation points when there is an exact solution, else the mean square
        PDE residual there (held-out points: not the collocation points)."""
        if errors:
            return sum(errors.values()), "validation error"
        from pinnkan.evaluation.metrics import equation_residuals

        r = equation_residuals(self.compiled, self.model, self.engine, self.validation)
        return float((r * r).mean()), "validation residual"

    def track_best(self) -> None:
        """From now on, remember the model of lowest :meth:`validation_score` at each logged step
        (the schedule calls this before the second phase of the last level)."""
        if self.validation is not None:
            self._best = (math.inf, None, None, "")

    def keep_best(self) -> None:
        """Go back to the remembered model of lowest score, when it is not the current one, and
        record its step in ``history.best``."""
        if self._best is None or self._best[2] is None or self.stopped:
            self._best = None
            return
        score, step, state, by = self._best
        self._best = None
        self.history.best = {"step": step, "score": score, "by": by}
        if step != self.step:
            self.model.load_state_dict(state)

    def _finite(self, loss_value: float) -> bool:
        if not math.isfinite(loss_value):
            return False
        return all(torch.isfinite(p).all() for p in self.model.parameters())

    def _stop(self, reason: str) -> None:
        self.model.load_state_dict(self._good_state)
        self.history.stopped = reason
        self.tell("on_stop", reason)

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
        if self._best is not None and math.isfinite(loss_value):
            score, by = self.validation_score(errs)
            if score < self._best[0]:
                self._best = (score, self.step, copy.deepcopy(self.model.state_dict()), by)
        self.tell("on_log", {"phase": phase, "level": self.level, "grid": self.grid, "step": self.step,
                              "elapsed_s": h.time[-1], "loss": loss_value, "rel_l2": errs,
                              "continuation": self.compiled.continuation_values()})

    @contextmanager
    def _phase(self, name: str, total: int):
        """Tell the callbacks that phase ``name`` of up to ``total`` steps begins, and that it
        ended when the block exits (also by an exception)."""
        self.tell("on_phase_start", name, total)
        try:
            yield
        finally:
            self.tell("on_phase_end", name)

    def _advance(self, n: int) -> None:
        self.tell("on_steps", n)

    def refine(self, new_grid: int) -> None:
        """Start the next level: replace the KAN by its exact refinement on ``new_grid``.

        The refined model computes the same function (knot insertion), so the loss is unchanged
        at the level change (logged as a "refine" entry); optimizer state is not carried over
        (each phase builds its own). With ``resample_levels`` the next level then trains on
        freshly drawn collocation points, which keeps the finer levels from fitting the points
        instead of the PDE; with ``points_growth`` != 1 on freshly drawn points of its own counts.
        """
        self.model = self.model.refine(new_grid)
        self._good_state = copy.deepcopy(self.model.state_dict())
        self.level += 1
        self.history.level_starts.append(self.step)
        self.tell("on_level", self.level, new_grid)
        loss, parts = self.loss()
        self._log("refine", *self.values(loss, parts))
        if self.sampling.resample_levels or self.sampling.adaptive == "rad" or self.sampling.points_growth != 1:
            self.data = self.resample()  # with points_growth: this level's counts

    def snapshot(self) -> tuple:
        """What a trial start leaves behind: (model, loss weights, collocation points)."""
        return self.model, dict(self.weights), self.data

    def restart(self, model, weights: dict, phase: str) -> None:
        """Continue with ``model`` (a fresh start or a kept snapshot's) and ``weights``."""
        self.model = model
        distributed.broadcast_parameters(model)
        self.weights = dict(weights)
        self._good_state = copy.deepcopy(model.state_dict())
        if self.causal is not None:
            self.causal.reset()
            self.update_causal()
        loss, parts = self.loss()
        self._log(phase, *self.values(loss, parts))

    @property
    def stopped(self) -> bool:
        return self.history.stopped is not None

    # ------------------------------------------------------------------ phases
    def adam(self, steps: int, lr: float, warmup: int = 0) -> None:
        """``steps`` Adam steps at learning rate ``lr`` (linear ramp over ``warmup`` steps)."""
        if steps <= 0 or self.stopped or self.out_of_budget():
            return
        opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        every, log_every = self.sampling.resample_every, self.schedule.log_every
        with self._phase("adam", steps):
            for i in range(steps):
                if warmup:
                    for g in opt.param_groups:
                        g["lr"] = lr * min(1.0, (i + 1) / warmup)
                if every and i and i % every == 0:
                    self.data = self.resample()
                self.update_causal()
                opt.zero_grad(set_to_none=True)
                loss, parts = self.loss()
                value, parts = self.values(loss, parts)
                if not math.isfinite(value):
                    self._stop(f"non-finite loss ({value}) at step {self.step} (adam); kept the last finite model")
                    return
                self._good_state = copy.deepcopy(self.model.state_dict())
                if i % log_every == 0:
                    self._log("adam", value, parts)
                loss.backward()
                distributed.all_reduce_gradients(self.model.parameters())
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
        c = self.schedule
        chunk = max(1, min(c.log_every, steps))
        params = list(self.model.parameters())
        opt = torch.optim.LBFGS(
            params, lr=1.0, max_iter=chunk, max_eval=int(chunk * 1.5) + 5,
            history_size=c.lbfgs_history, line_search_fn="strong_wolfe",
            tolerance_grad=1e-14, tolerance_change=1e-16,
        )

        def closure():
            opt.zero_grad(set_to_none=True)
            loss, _ = self.loss()
            loss.backward()
            distributed.all_reduce_gradients(params)
            return distributed.all_reduce_sum(loss.detach())  # the line search reads the whole loss

        done = 0
        losses = []
        with self._phase("lbfgs", steps):
            while done < steps and not self.out_of_budget():
                for g in opt.param_groups:
                    g["max_iter"] = min(chunk, steps - done)
                before = opt.state[params[0]].get("n_iter", 0)
                self._good_state = copy.deepcopy(self.model.state_dict())
                self.update_causal()
                opt.step(closure)
                taken = opt.state[params[0]].get("n_iter", 0) - before
                value, parts = self.values(*self.loss())
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
                if stop_on_plateau and plateaued(self.plateau_losses(losses), window or 2, c.plateau_tol):
                    break
        return done

    def lm(self, steps: int, stop_on_plateau: bool = False, window: int | None = None) -> int:
        """Up to ``steps`` Levenberg-Marquardt iterations on fixed collocation points
        (:mod:`pinnkan.training.levenberg`). Stops early when no step lowers the loss even at
        the largest damping, or, with ``stop_on_plateau``, when the loss fell by less than
        ``plateau_tol`` over the last ``window`` (default ``plateau_window``) iterations.
        The damped step is solved densely or matrix-free by CG (:mod:`pinnkan.training.gauss_newton`)
        as ``schedule.lm_solver`` and the network's parameter count say. Returns the iterations taken."""
        from pinnkan.training.gauss_newton import MatrixFreeLevenbergMarquardt, choose_solver
        from pinnkan.training.levenberg import LevenbergMarquardt, check_supported

        if steps <= 0 or self.stopped or self.out_of_budget():
            return 0
        check_supported(self.model, self.compiled)
        n_params = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        cg = choose_solver(self.schedule.lm_solver, n_params) == "cg"
        opt = MatrixFreeLevenbergMarquardt() if cg else LevenbergMarquardt()
        c = self.schedule
        losses, taken = [], 0
        with self._phase("lm", steps):
            for i in range(steps):
                self._good_state = copy.deepcopy(self.model.state_dict())
                self.update_causal()
                value, accepted = opt.step(self.model, self.compiled, self.data, self.weights)
                if not self._finite(value):
                    self._stop(f"non-finite loss ({value}) at step {self.step} (lm); kept the last finite model")
                    return taken
                self.step += 1
                taken += 1
                losses.append(value)
                self._advance(1)
                plateau = stop_on_plateau and plateaued(self.plateau_losses(losses), window or c.plateau_window,
                                                        c.plateau_tol)
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
        value, parts = self.values(*self.loss())
        if self._finite(value):
            self._log(phase, value, parts)
        else:
            self._stop(f"non-finite loss ({value}) at step {self.step} ({phase}); kept the last finite model")
