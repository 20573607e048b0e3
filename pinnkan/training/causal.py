"""Causal training of time-dependent problems: residual weights that follow time.

Wang, Sankaran & Perdikaris, "Respecting causality is all you need for training
physics-informed neural networks" (arXiv:2203.07404, CMAME 2024). The time interval [t0, t1]
is split into M equal slices; with L_k the mean square equation residual of slice k (summed
over the equations, each over its own points in that slice; 0 for a slice without points),
slice i gets the weight

    w_0 = 1,    w_i = exp(-eps * sum_{k<i} L_k),

so 1 = w_0 >= w_1 >= ... >= w_{M-1} > 0: a later slice counts only once the earlier ones are
resolved. The weights are constants of each optimizer step (no gradient flows through them);
an equation point x of slice i carries w_i, and its term's mean square becomes
mean(w(x) r(x)^2) (a Levenberg-Marquardt row is scaled by sqrt(w(x))). ``eps`` climbs a
ladder (e.g. 1e-2, 1e-1, 1, 10, 100) by one rung whenever min_i w_i exceeds a threshold (e.g.
0.99): the causality is tightened as training resolves it. Conditions keep their points'
weight 1.
"""

from __future__ import annotations

import math
from dataclasses import replace

import sympy as sp
import torch
from sympy.core.function import AppliedUndef

from pinnkan.errors import OptionError
from pinnkan.evaluation.residuals import TermPoints, residual
from pinnkan.training.distributed import all_reduce_sum
from pinnkan.training.spec import CausalSpec


def slice_index(t: torch.Tensor, t0: float, t1: float, slices: int) -> torch.Tensor:
    """The slice of each time t (N,): floor(M (t - t0) / (t1 - t0)), clamped to 0 .. M - 1 (t = t1
    belongs to the last slice). Long tensor (N,)."""
    i = torch.floor((t - t0) * (slices / (t1 - t0))).to(torch.long)
    return i.clamp_(0, slices - 1)


def slice_losses(r2: torch.Tensor, index: torch.Tensor, slices: int) -> torch.Tensor:
    """L_k = mean of ``r2`` (N,) over the points of slice k (``index`` (N,)); 0 for an empty
    slice. Shape (M,)."""
    sums, counts = slice_sums(r2, index, slices)
    return sums / counts.clamp_min(1)


def slice_sums(r2: torch.Tensor, index: torch.Tensor, slices: int) -> torch.Tensor:
    """(sum of ``r2`` (N,) over the points of slice k, the number of those points), each (M,):
    a (2, M) tensor, which adds up over the shares of a point set."""
    sums = torch.zeros(slices, dtype=r2.dtype, device=r2.device).index_add_(0, index, r2)
    counts = torch.bincount(index, minlength=slices).to(r2.dtype)
    return torch.stack([sums, counts])


def causal_weights(losses: torch.Tensor, eps: float) -> torch.Tensor:
    """w_i = exp(-eps * sum_{k<i} L_k) of the slice losses (M,); w_0 = 1. Shape (M,)."""
    before = torch.cumsum(losses, 0) - losses
    before[0] = 0.0
    return torch.exp(-eps * before)


def time_axis(compiled) -> tuple[int, float, float]:
    """(column of time in the points, t0, t1) of a time-dependent problem; OptionError for a
    steady one."""
    problem = compiled.problem
    if getattr(problem, "time", None) is None:
        raise OptionError(
            f"Causal training (causal='on', --causal on) weights the equations by time slices, but "
            f"{compiled.location} has no time; add time=(t, t0, t1) to its Problem or use --causal off."
        )
    t, t0, t1 = problem.time
    return compiled.coordinates.index(str(t)), float(t0), float(t1)


def causal_mode(mode: str, compiled) -> str:
    """``"on"`` or ``"off"`` for the option value ``mode`` ("auto", "on", "off") on ``compiled``.

    auto: on for a time-dependent problem whose equations are first order in time and nonlinear
    in the fields (Allen-Cahn, Burgers: a nonlinear evolution from the initial slice), off
    otherwise: steady problems, linear evolutions (heat: no gain measured, so the plain loss is
    kept) and equations of higher order in time (wave: much worse); measurements in
    docs/cli.md, Causal training. "on" for a steady problem is an OptionError (see
    :func:`time_axis`).
    """
    if mode == "on":
        time_axis(compiled)
        return "on"
    if mode == "off" or getattr(compiled.problem, "time", None) is None:
        return "off"
    return "on" if time_order(compiled) == 1 and nonlinear(compiled) else "off"


def time_order(compiled) -> int:
    """The highest order of a time derivative in the equations (0 when none)."""
    axis, _, _ = time_axis(compiled)
    return max((alpha[axis] for term in compiled.equations for _, alpha in term.derivatives), default=0)


def nonlinear(compiled) -> bool:
    """Whether some equation is not affine in the fields and their derivatives: with every field
    and derivative f replaced by lam * s_f, d^2 expression / d lam^2 is not identically 0."""
    lam = sp.Dummy("lam")
    for term in compiled.equations:
        e = term.expression
        derivatives = sorted(e.atoms(sp.Derivative), key=sp.count_ops, reverse=True)
        e = e.xreplace({d: lam * sp.Dummy() for d in derivatives})
        e = e.xreplace({f: lam * sp.Dummy() for f in e.atoms(AppliedUndef)})
        if sp.simplify(sp.diff(e, lam, 2)) != 0:
            return True
    return False


class CausalWeights:
    """The causal weights of one training run: the rung of the eps ladder reached and the
    weights of the last update.

    ``update(model, engine, data)`` evaluates the equation residuals on ``data`` (a list of
    :class:`TermPoints`), computes the slice weights at the current eps, climbs one rung when
    min w > threshold, and returns ``data`` with ``point_weights`` set on the equation terms.
    """

    def __init__(self, spec: CausalSpec, compiled):
        self.spec, self.compiled = spec, compiled
        self.axis, self.t0, self.t1 = time_axis(compiled)
        self.rung = 0
        self.min_weight = math.nan
        self.slice_weights = None  # (M,) of the last update

    @property
    def eps(self) -> float:
        return float(self.spec.epsilons[self.rung])

    @property
    def settled(self) -> bool:
        """The last rung is reached and all its weights exceed the threshold: the loss is then
        (nearly) the plain one and may be watched for a plateau."""
        return self.rung == len(self.spec.epsilons) - 1 and self.min_weight > self.spec.threshold

    def reset(self) -> None:
        """Back to the first rung (a fresh network)."""
        self.rung, self.min_weight, self.slice_weights = 0, math.nan, None

    def index(self, tp: TermPoints) -> torch.Tensor:
        return slice_index(tp.points[:, self.axis], self.t0, self.t1, self.spec.slices)

    def losses(self, model, engine, data: list[TermPoints]) -> torch.Tensor:
        """L_k (M,): the sum over the equations of their mean square residual in slice k."""
        M = self.spec.slices
        total = None
        for tp in data:
            if not tp.term.is_equation:
                continue
            r = residual(self.compiled, model, engine, replace(tp, point_weights=None), create_graph=False).detach()
            sums, counts = all_reduce_sum(slice_sums(r * r, self.index(tp), M))  # data-parallel: whole set's
            L = sums / counts.clamp_min(1)
            total = L if total is None else total + L
        if total is None:
            return torch.zeros(M, dtype=data[0].points.dtype, device=data[0].points.device)
        return total

    def update(self, model, engine, data: list[TermPoints]) -> list[TermPoints]:
        L = self.losses(model, engine, data)
        w = causal_weights(L, self.eps)
        if float(w.min()) > self.spec.threshold and self.rung < len(self.spec.epsilons) - 1:
            self.rung += 1
            w = causal_weights(L, self.eps)
        self.slice_weights = w
        self.min_weight = float(w.min())
        return [replace(tp, point_weights=w[self.index(tp)]) if tp.term.is_equation else tp for tp in data]

    def record(self, step: int) -> dict:
        return {"step": step, "eps": self.eps, "min_weight": self.min_weight}
