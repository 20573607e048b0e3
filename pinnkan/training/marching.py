"""Time marching: the time interval [t_0, T] in K windows, trained one after the other.

The edges are t_k = t_0 + k (T - t_0) / K (k = 0 .. K). Window k trains a network u_k on
Omega x [t_k, t_{k+1}] with the problem's equations and boundary conditions there (its own
collocation points, its own causal weights) and, as its initial condition at t = t_k:

- window 0: the problem's own ``Initial`` conditions;
- window k >= 1: each ``Initial(e, g)`` of the problem (e = u, or u_t for a problem second
  order in time) becomes e(u_k)(x, t_k) = e(u_{k-1})(x, t_k): the residual is
  r = (e(u_k) - g) - (e(u_{k-1}) - g), where the second part is a target tensor computed from
  the previous window's trained network (frozen, no parameters) at the drawn points.

Network u_0 is built on window 0's box and runs the whole schedule (Adam, the second
optimizer over all multilevel grids); u_k (k >= 1) starts from u_{k-1} moved onto window k's
box (:func:`~pinnkan.networks.windowed.with_input_box`: the previous solution shifted by one
window in time) and runs the second optimizer on the last grid alone: no Adam from that warm
start (wave1d, 2 windows, levels 5,10,20, 150 Levenberg-Marquardt steps: rel. L2 9.3e-3
without Adam against 3.2e-2 with 200 Adam steps; heat1d, 4 windows: 4.2e-5 against 4.5e-5 in
half the steps). The step counts are per window;
a time budget is shared: window k may run until the fraction of the budget left at its start,
divided by the windows left, is spent. The windows join into one
:class:`~pinnkan.networks.windowed.WindowedModel` and one history (steps and times counted from
the first window's start; ``history.window_starts`` the first step of each later window).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from pinnkan.choices import VALIDATION_POINTS
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.windowed import WindowedModel, with_input_box
from pinnkan.problem.terms import DataTerm, InitialTerm, TermPoints
from pinnkan.training.schedule import run_schedule
from pinnkan.training.spec import SamplingSpec, ScheduleSpec
from pinnkan.training.trainer import History, Trainer


def window_edges(t0: float, t1: float, n_windows: int) -> list[float]:
    """t_k = t0 + k (t1 - t0) / K for k = 0 .. K (the last exactly t1). K + 1 floats."""
    return [t0 + (t1 - t0) * k / n_windows for k in range(n_windows)] + [float(t1)]


def window_problem(problem, t0: float, t1: float):
    """A copy of the time-dependent ``problem`` restricted to the time window [t0, t1]: its
    ``time`` is (t, t0, t1) and its domain the space-time cylinder over [t0, t1]."""
    out = copy.copy(problem)
    out.time = (problem.time[0], float(t0), float(t1))
    out.domain = problem.domain.window(t0, t1)
    return out


@dataclass
class PreviousWindowTerm(InitialTerm):
    """The initial condition of a later window: ``value`` is the compiled residual e(u) - g of
    one ``Initial(e, g)`` of the problem and ``state(points (n, d)) -> (n,)`` the same residual
    of the previous window's network (no graph); r = value - state, read from the points'
    ``observed`` values. Points on the window's initial slice t = t_k, like
    :class:`~pinnkan.problem.terms.InitialTerm`."""

    state: Callable | None = None

    def residual(self, env: dict) -> torch.Tensor:
        return self.value(env) - env["_obs"]

    def draw(self, compiled, sampler, interior, n_boundary, as_tensor) -> TermPoints:
        points = as_tensor(sampler.initial(n_boundary))
        return TermPoints(self, points, observed=self.state(points))


def previous_state(term, compiled, net, engine) -> Callable:
    """``state(points (n, d)) -> (n,)``: the residual of ``term`` (an Initial condition's
    e(u) - g) for a frozen copy of ``net``, detached."""
    frozen = copy.deepcopy(net).requires_grad_(False)

    def state(points: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():  # the autograd engine needs a graph in x for e = u_t
            values = engine(frozen, points, term.derivatives, create_graph=False)
        env = compiled.env(points, {k: v.detach() for k, v in values.items()})
        return term.value(env).detach()

    return state


def window_compiled(compiled, t0: float, t1: float, previous=None, engine=None):
    """``compiled`` restricted to the window [t0, t1]: the same equations and boundary
    conditions, the observations of data terms in the window (a data term without any is left
    out), and the initial conditions at t0: the problem's own (``previous`` None, the first
    window) or those of :class:`PreviousWindowTerm`, from the network ``previous`` through
    ``engine``."""
    axis = compiled.coordinates.index(str(compiled.problem.time[0]))
    terms = []
    for term in compiled.terms:
        if isinstance(term, InitialTerm) and previous is not None:
            terms.append(PreviousWindowTerm(term.label, term.weight, term.derivatives, term.value, term.expression,
                                            data=term.data, state=previous_state(term, compiled, previous, engine)))
        elif isinstance(term, DataTerm):
            points, values = term.observed
            keep = (points[:, axis] >= t0) & (points[:, axis] <= t1)
            if keep.any():
                terms.append(replace(term, observed=(points[keep], values[keep])))
        else:
            terms.append(term)
    return replace(compiled, problem=window_problem(compiled.problem, t0, t1), terms=terms)


def window_schedule(schedule: ScheduleSpec, k: int, budget: float | None) -> ScheduleSpec:
    """The schedule of window k: the whole ``schedule`` for window 0; for the later ones the
    second optimizer alone (no Adam), on the last grid, one start; ``budget``: the seconds since
    the first window's start at which this window ends (None: no budget)."""
    if k == 0:
        return replace(schedule, budget_seconds=budget)
    return replace(schedule, levels=schedule.levels[-1:], starts=1, adam_steps=0, budget_seconds=budget)


def window_deadline(total: float, used: float, windows_left: int) -> float:
    """When the next window ends, in seconds since the first window's start: used + (total -
    used) / windows_left, with at least 1 ms for the window when the budget is spent."""
    return used + max(total - used, 1e-3) / windows_left


def window_seed(seed: int, k: int) -> int:
    """The sampler seed of window k: ``seed`` for window 0, one drawn from (seed, k) after."""
    return seed if k == 0 else int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


@dataclass
class Marched:
    """The outcome of :class:`TimeMarching`: the joined ``model``, the one ``history``, the total
    ``step`` count and per window {"t0", "t1", "first_step", "steps", "time_s", "loss",
    "rel_l2", "best"} in ``windows`` (the attributes :func:`pinnkan.solve` reads of a trainer)."""

    model: WindowedModel
    history: History
    step: int
    windows: list[dict] = field(default_factory=list)


class TimeMarching:
    """Train ``n_windows`` windows of the time-dependent ``compiled`` problem in turn (see the
    module docstring) with ``engine``, ``schedule``, ``sampling`` and ``callbacks``; ``run()``
    trains, ``joined()`` gives the :class:`Marched` outcome.

    ``build(bounds)``: a new network on the box ``bounds`` = (lo, hi) on the first grid of the
    schedule (window 0, and the extra trial starts of ``schedule.starts``). Training stops at
    the first window that stops on a non-finite loss or is interrupted; the joined model then
    holds the windows trained so far, the last reaching to T. ``trainer`` is the window being
    trained (an error while training, e.g. running out of memory, is handled on it; ``joined``
    then includes it)."""

    def __init__(self, compiled, build: Callable, engine, schedule: ScheduleSpec, sampling: SamplingSpec,
                 n_windows: int, callbacks=(), n_validation: int = VALIDATION_POINTS):
        self.compiled, self.build, self.engine = compiled, build, engine
        self.schedule, self.sampling, self.callbacks = schedule, sampling, list(callbacks)
        self.n_windows, self.n_validation = n_windows, n_validation
        time_symbol, t0, t1 = compiled.problem.time
        self.axis = compiled.coordinates.index(str(time_symbol))
        self.edges = window_edges(t0, t1, n_windows)
        self.trainer: Trainer | None = None
        self.first_step = 0  # the step count at the start of the window being trained
        self.done: list[tuple[Trainer, dict]] = []  # (trainer, summary) of each window trained

    def window_trainer(self, k: int, begin: float) -> Trainer:
        """The trainer of window k: its sub-problem, starting network, points and schedule, with
        steps and clock going on from the windows before (``begin``: the first one's start)."""
        a, b = self.edges[k], self.edges[k + 1]
        previous = self.done[-1][0].model if self.done else None
        sub = window_compiled(self.compiled, a, b, previous=previous, engine=self.engine)
        bounds = sub.problem.domain.bounds
        start = self.build(bounds) if previous is None else with_input_box(previous, bounds)
        p = next(start.parameters())
        total = self.schedule.budget_seconds
        budget = None if total is None else window_deadline(total, time.perf_counter() - begin, self.n_windows - k)
        sampler = CollocationSampler(sub.problem.domain, method=self.sampling.method,
                                     seed=window_seed(self.sampling.seed, k))
        validation = torch.as_tensor(sub.problem.domain.evaluation_points(self.n_validation), dtype=p.dtype,
                                     device=p.device)
        trainer = Trainer(sub, start, self.engine, sampler, window_schedule(self.schedule, k, budget), self.sampling,
                          validation, self.callbacks)
        trainer.start, trainer.step = begin, (self.done[-1][0].step if self.done else 0)
        self.first_step = trainer.step
        return trainer

    def run(self) -> None:
        begin = time.perf_counter()
        for k in range(self.n_windows):
            self.trainer = self.window_trainer(k, begin)
            bounds = self.trainer.compiled.problem.domain.bounds

            def new_start(j: int, bounds=bounds):
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(np.random.SeedSequence([self.sampling.seed, j]).generate_state(1)[0]))
                    return self.build(bounds)

            run_schedule(self.trainer, new_start if k == 0 else None)
            self.finish()
            h = self.done[-1][0].history
            if h.stopped or h.interrupted:
                break

    @property
    def step(self) -> int:
        """The steps taken so far, over all windows."""
        current = self.trainer or (self.done[-1][0] if self.done else None)
        return current.step if current is not None else 0

    def out_of_memory(self, reason: str) -> None:
        """Training ran out of memory: the window being trained goes back to its last good model
        and stops with ``reason`` (no window trained yet: MemoryError)."""
        if self.trainer is not None:
            self.trainer.out_of_memory(reason)
        elif self.done:
            self.done[-1][0].history.stopped = reason
        else:
            raise MemoryError(reason)

    def finish(self) -> None:
        """Record the window being trained as done (its model as it is now)."""
        t, k = self.trainer, len(self.done)
        if t is None:
            return
        self.trainer = None
        h = t.history
        first = self.first_step
        self.done.append((t, {"t0": self.edges[k], "t1": self.edges[k + 1], "first_step": first,
                              "steps": t.step - first, "time_s": (h.time[-1] - h.time[0]) if h.time else 0.0,
                              "loss": h.loss[-1] if h.loss else None,
                              "rel_l2": {f: v[-1] for f, v in h.error.items() if v}, "best": h.best}))

    def joined(self) -> Marched:
        """The windows trained so far (and the one being trained) as one model and history."""
        self.finish()
        trainers = [t for t, _ in self.done]
        history = join_histories([t.history for t in trainers], len(self.schedule.levels) - 1, self.n_windows,
                                 [w["first_step"] for _, w in self.done])
        model = WindowedModel([t.model for t in trainers], self.edges[:len(trainers)] + [self.edges[-1]], self.axis)
        return Marched(model, history, trainers[-1].step, [w for _, w in self.done])


def join_histories(histories: list[History], level_offset: int, n_windows: int, first_steps=None) -> History:
    """One history from the windows' (steps and times already counted from the first window):
    the lists end to end, a later window's levels counted as the last level of the first
    (+ ``level_offset``), terms or errors missing in a window padded with nan, ``window_starts``
    the first step of each later window (``first_steps`` of every window, default: the first
    logged); stops and interruptions name their window (of
    ``n_windows``), ``best`` is the last window's."""
    out = History()
    labels = list(dict.fromkeys(k for h in histories for k in h.terms))
    fields = list(dict.fromkeys(k for h in histories for k in h.error))
    for k, h in enumerate(histories):
        n = len(h.step)
        if k:
            first = first_steps[k] if first_steps is not None else (h.step[0] if h.step else out.step[-1])
            out.window_starts.append(first)
        out.step += h.step
        out.time += h.time
        out.loss += h.loss
        out.phase += h.phase
        out.rss_mib += h.rss_mib
        out.level += [lv + (level_offset if k else 0) for lv in h.level]
        for name, src, dst in [(x, h.terms, out.terms) for x in labels] + [(x, h.error, out.error) for x in fields]:
            dst.setdefault(name, []).extend(src.get(name, [math.nan] * n))
        out.weights += h.weights
        out.causal += h.causal
        if k == 0:
            out.level_starts, out.starts = list(h.level_starts), list(h.starts)
        where = f"time window {k + 1} of {n_windows}"
        if h.stopped:
            out.stopped = f"{where}: {h.stopped}"
        if h.interrupted:
            out.interrupted = h.interrupted
        out.best = h.best
    return out
