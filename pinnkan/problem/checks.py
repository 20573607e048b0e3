"""Checks of a whole problem on points of its domain, run once before training.

Each check is a pure function of a :class:`~pinnkan.problem.definition.Problem`: it draws a
fixed (seeded) point set of the domain, changes nothing, and raises a
:class:`~pinnkan.errors.ProblemError` naming the problem file and what to fix.

- :func:`check_conflicting_conditions`: two Dirichlet conditions on the same field (or two
  initial conditions on the same field and time-derivative order) whose selections share
  boundary points must prescribe the same value there.
- :func:`check_piecewise_coverage`: a ``sp.Piecewise`` without a default piece ``(value, True)``
  must have a piece that applies at every point where it is used (elsewhere it is nan).

Both expect a problem that :func:`~pinnkan.problem.compile.compile_problem` accepts; parts
that cannot be evaluated on coordinates alone (values holding fields or unknown parameters)
are skipped.
"""

from __future__ import annotations

import warnings

import numpy as np
import sympy as sp
import torch

from pinnkan.errors import ProblemError
from pinnkan.problem.compile import selection, where
from pinnkan.problem.definition import Condition, Dirichlet, Equation, Initial, Neumann, Problem, Robin
from pinnkan.problem.symbolic import compile_expression, compile_relation

N_POINTS = 2048  # boundary / initial-slice / interior points each check draws
MIN_CONFLICTS = 3  # fewer disagreeing points is a corner or an edge, where data may jump
RTOL = 1e-6  # values agree where |a - b| <= RTOL * max(1, |a|, |b|)


def check_conflicting_conditions(problem: Problem, n: int = N_POINTS, seed: int = 0) -> None:
    """Raise ProblemError if two value conditions of one field contradict each other.

    Dirichlet conditions are compared on ``n`` boundary points (the lateral surface of a
    space-time domain), initial conditions of the same expression (u, u.diff(t), ...) on ``n``
    points of the initial slice. Conditions a and b conflict when, at MIN_CONFLICTS or more
    points selected by both, ``|a - b| > RTOL * max(1, |a|, |b|)``. Neumann, Robin and the
    other kinds are never compared.
    """
    rng = np.random.default_rng(seed)
    groups = {}
    for j, c in enumerate(problem.conditions):
        if type(c) is Dirichlet:
            groups.setdefault(("boundary", c.field), []).append(j)
        elif type(c) is Initial:
            groups.setdefault(("initial", c.expr), []).append(j)
    boundary = initial = None
    for (kind, _), members in groups.items():
        if len(members) < 2:
            continue
        if kind == "boundary":
            boundary = problem.domain.sample_boundary(n, "sobol", rng)[0] if boundary is None else boundary
            points = boundary
        else:
            if not hasattr(problem.domain, "sample_initial"):
                continue  # an initial condition without time: compile_problem reports it
            initial = problem.domain.sample_initial(n, "sobol", rng) if initial is None else initial
            points = initial
        _check_group(problem, members, points, kind)


def _check_group(problem: Problem, members: list[int], points: np.ndarray, kind: str) -> None:
    """Compare every pair of the conditions ``members`` (indices) on ``points`` (n, d)."""
    evaluated = [(j, _evaluate_condition(problem, problem.conditions[j], points)) for j in members]
    evaluated = [(j, e) for j, e in evaluated if e is not None]
    for a in range(len(evaluated)):
        for b in range(a + 1, len(evaluated)):
            (i, (sel_i, val_i)), (j, (sel_j, val_j)) = evaluated[a], evaluated[b]
            scale = np.maximum(1.0, np.maximum(np.abs(val_i), np.abs(val_j)))
            with np.errstate(invalid="ignore"):
                bad = sel_i & sel_j & np.isfinite(val_i) & np.isfinite(val_j) & (np.abs(val_i - val_j) > RTOL * scale)
            if int(bad.sum()) >= MIN_CONFLICTS:
                k = int(np.flatnonzero(bad)[0])
                raise ProblemError(_conflict_message(problem, i, j, kind, points[k], val_i[k], val_j[k],
                                                     int(bad.sum()), len(points)))


def _conflict_message(problem, i, j, kind, point, vi, vj, count, total) -> str:
    a, b = problem.conditions[i], problem.conditions[j]
    names = [c.name for c in problem.coordinates]
    at = {n: float(f"{v:.6g}") for n, v in zip(names, point.tolist())}
    what = a.field.func.__name__ if kind == "boundary" else str(a.expr).replace(str(a.field), a.field.func.__name__)
    place = "boundary points" if kind == "boundary" else "points of the initial slice"
    fix = ("restrict one of them with on=... so that their selections do not overlap, or make the values agree"
           if kind == "boundary" else "keep one of them, or make the values agree")
    return (
        f"In {where(problem)}, conditions {i + 1} ({a.describe()}) and {j + 1} ({b.describe()}) prescribe "
        f"different values of {what} on the same {place}: {what} = {vi:.6g} and {what} = {vj:.6g} at {at} "
        f"({count} of {total} sampled {place} disagree), and a field has one value at each point, so "
        f"training would satisfy neither; {fix}."
    )


def _evaluate_condition(problem: Problem, cond: Condition, points: np.ndarray):
    """(selected bool (n,), value float (n,)) of a Dirichlet or Initial condition at ``points``,
    or None when the value or the selection is not a function of the coordinates alone."""
    names = [c.name for c in problem.coordinates]
    value = cond.value
    if value.atoms(sp.core.function.AppliedUndef) or any(s.name not in names for s in value.free_symbols):
        return None
    try:
        select = selection(cond.on, names, problem.domain, "selection")
    except ProblemError:
        return None  # compile_problem reports a bad selection (or the '==' mistake), naming the condition
    selected = np.ones(len(points), dtype=bool) if select is None else select(points)
    try:
        values = compile_expression(value, set(names))(_env(names, points)).numpy()
    except ProblemError:
        return None
    return selected, values


def _env(names, points: np.ndarray) -> dict:
    pts = torch.as_tensor(points, dtype=torch.float64)
    return {n: pts[:, i] for i, n in enumerate(names)}


# ---------------------------------------------------------------------------- Piecewise
def check_piecewise_coverage(problem: Problem, n: int = N_POINTS, seed: int = 0) -> None:
    """Raise ProblemError if a Piecewise without a default piece has no piece at some point.

    Equations are tested on interior points (within their ``on`` region), boundary conditions
    on boundary points within their selection, initial conditions on the initial slice, exact
    solutions on the domain's evaluation points. A Piecewise whose conditions hold fields or
    unknown parameters cannot be tested before training: it gets a warning.
    """
    names = [c.name for c in problem.coordinates]
    sets = _point_sets(problem, n, seed)
    for what, expr, kind, on in _piecewise_uses(problem):
        for pw in expr.atoms(sp.Piecewise):
            if pw.args[-1].cond is sp.true:
                continue
            cover = sp.Or(*[c for _, c in pw.args])
            if cover.atoms(sp.core.function.AppliedUndef) or any(s.name not in names for s in cover.free_symbols):
                warnings.warn(
                    f"In {where(problem)}, {what} holds {pw}, which has no default piece (value, True) and "
                    "whose conditions depend on the fields or parameters, so pinnkan cannot check before "
                    "training that a piece applies everywhere; where none does its value is nan. Add a last "
                    "piece (value, True).", stacklevel=2)
                continue
            points = _restrict(sets[kind], on, names, problem)
            if not len(points):
                continue
            env = _env(names, points)
            covered = compile_relation(cover, set(names), 0.0, f"conditions of a Piecewise in {what}")(env).numpy()
            if not covered.all():
                _raise_uncovered(problem, what, pw, kind, points[~covered][0], names)


def _raise_uncovered(problem, what, pw, kind, point, names):
    at = {n: float(f"{v:.6g}") for n, v in zip(names, point.tolist())}
    undefined = ", or (sp.nan, True) to mark the exact solution undefined there" if kind == "exact" else ""
    raise ProblemError(
        f"In {where(problem)}, {what} holds {pw}, which has no default piece, and none of its conditions "
        f"holds at {at}, so it has no value there (nan, as in sympy); add a last piece (value, True), "
        f"e.g. sp.Piecewise(..., (0, True)){undefined}, or widen the conditions to cover the domain."
    )


def _point_sets(problem: Problem, n: int, seed: int) -> dict:
    """{"interior", "boundary", "initial", "exact": (m, d) points}, drawn once each."""
    domain, rng = problem.domain, np.random.default_rng(seed)
    interior = domain.evaluation_points(n)
    sets = {"interior": interior, "exact": interior, "boundary": domain.sample_boundary(n, "sobol", rng)[0]}
    sets["initial"] = domain.sample_initial(n, "sobol", rng) if hasattr(domain, "sample_initial") else interior[:0]
    return sets


def _piecewise_uses(problem: Problem):
    """(description, expression, point set name, selection or None) of every expression."""
    for i, eq in enumerate(problem.equations):
        inner, on = (eq.eq, eq.on) if isinstance(eq, Equation) else (eq, None)
        if isinstance(inner, sp.Basic):
            yield f"equation {i + 1}", inner, "interior", on
    for j, c in enumerate(problem.conditions):
        what = f"condition {j + 1} ({c.describe()})"
        if isinstance(c, Initial):
            yield what, c.value, "initial", None
        elif isinstance(c, (Dirichlet, Neumann, Robin)):
            for part in ("value", "flux", "a", "b", "g"):
                if isinstance(getattr(c, part, None), sp.Basic):
                    yield what, getattr(c, part), "boundary", c.on
    for key, value in (problem.exact or {}).items():
        if isinstance(value, sp.Basic):
            yield f"the exact solution of {key}", value, "exact", None


def _restrict(points: np.ndarray, on, names, problem: Problem) -> np.ndarray:
    """The rows of ``points`` where the selection ``on`` holds (all when None or unusable)."""
    try:
        select = selection(on, names, problem.domain, "selection")
    except ProblemError:
        return points
    return points if select is None else points[select(points)]
