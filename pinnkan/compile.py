"""Compile a :class:`~pinnkan.problem.Problem` into loss terms that torch can evaluate.

Each equation and condition becomes a :class:`Term`: a residual expression in which every
field value and field derivative is replaced by a placeholder symbol. The placeholders that a
term uses are exactly the derivatives the network must supply, so the set of derivatives is read
off the expressions themselves (nothing is declared by hand). A residual is then evaluated as::

    values = engine(model, points, term.derivatives)      # {(field, alpha): (N,)}
    r = term.residual(env(points, values, normals))        # (N,)

Problems are checked here, before any training: field arguments against the domain, unknown
symbols and functions, boundary selections that match nothing, non-finite boundary values and
exact solutions. Every failure is a :class:`~pinnkan.errors.ProblemError` naming the problem
file and what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp
import torch

from .derivatives import Key
from .errors import ProblemError
from .problem import Condition, Dirichlet, Neumann, Problem
from .symbolic import compile_expression, compile_relation


@dataclass
class Term:
    """One loss term: ``weight * mean(residual**2)`` over its points.

    kind: ``"interior"`` (collocation points inside the domain) or ``"boundary"``.
    derivatives: keys the residual needs from the derivative engine.
    residual: ``f(env) -> (N,)`` with env holding coordinate, placeholder and normal tensors.
    select: for boundary terms, ``f(points (m, d) ndarray) -> bool (m,)`` choosing the part.
    data: for boundary terms, the prescribed value/flux ``f(env of coordinates) -> (N,)``.
    """

    label: str
    kind: str
    weight: float
    derivatives: set[Key]
    residual: Callable
    expression: sp.Expr
    select: Callable | None = None
    needs_normals: bool = False
    data: Callable | None = None


@dataclass
class CompiledProblem:
    problem: Problem
    coordinates: tuple[str, ...]
    field_names: list[str]
    terms: list[Term]
    exact: dict[int, Callable] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return len(self.coordinates)

    @property
    def equations(self) -> list[Term]:
        return [t for t in self.terms if t.kind == "interior"]

    @property
    def conditions(self) -> list[Term]:
        return [t for t in self.terms if t.kind == "boundary"]

    def env(self, points: torch.Tensor, values: dict, normals: torch.Tensor | None = None) -> dict:
        """Name -> tensor map for residual evaluation. points: (N, d); values from an engine."""
        env = {c: points[:, i] for i, c in enumerate(self.coordinates)}
        for key, v in values.items():
            env[placeholder_name(self.field_names, key)] = v
        if normals is not None:
            for i in range(self.dim):
                env[f"_n{i}"] = normals[:, i]
        return env

    def exact_values(self, points: torch.Tensor) -> torch.Tensor | None:
        """Exact solution at points (N, d) as (N, n_fields), NaN for fields without one."""
        if not self.exact:
            return None
        env = {c: points[:, i] for i, c in enumerate(self.coordinates)}
        cols = []
        for f in range(len(self.field_names)):
            cols.append(self.exact[f](env) if f in self.exact else torch.full_like(points[:, 0], float("nan")))
        return torch.stack(cols, dim=1)


def placeholder_name(field_names, key: Key) -> str:
    f, alpha = key
    return f"_d_{field_names[f]}_" + "_".join(str(a) for a in alpha)


def where(problem: Problem) -> str:
    src = getattr(problem, "source", None)
    return f"problem '{problem.name}'" + (f" ({src})" if src else "")


def compile_problem(problem: Problem, sample_points: Callable | None = None) -> CompiledProblem:
    """Check ``problem`` and compile its equations, conditions and exact solution.

    ``sample_points(term) -> (points, normals)`` is used, when given, to check that boundary
    selections match and that boundary values are finite; :func:`pinnkan.solver.solve` passes
    the collocation sampler here.
    """
    loc = where(problem)
    coords = _check_coordinates(problem, loc)
    names = [c.name for c in coords]
    field_names = problem.field_names
    fields = {f.func: i for i, f in enumerate(problem.fields)}
    terms: list[Term] = []

    weights = problem.equation_weights or [1.0] * len(problem.equations)
    for i, eq in enumerate(problem.equations):
        what = f"equation {i + 1} of {loc}"
        expr = _residual(eq, what)
        res, keys = _substitute(expr, coords, fields, field_names, what)
        allowed = set(names) | {placeholder_name(field_names, k) for k in keys}
        fn = compile_expression(res, allowed, what)
        terms.append(Term(f"equation {i + 1}", "interior", float(weights[i]), keys, fn, expr))

    for j, cond in enumerate(problem.conditions):
        what = f"condition {j + 1} ({cond.kind} on {cond.field}) of {loc}"
        expr, normals = _condition_residual(cond, coords, what)
        res, keys = _substitute(expr, coords, fields, field_names, what)
        allowed = set(names) | {placeholder_name(field_names, k) for k in keys}
        allowed |= {f"_n{i}" for i in range(len(coords))}
        fn = compile_expression(res, allowed, what)
        select = _selection(cond, names, problem.domain, what)
        label = cond.label or f"{cond.kind} {j + 1}"
        data = compile_expression(_condition_data(cond), set(names), f"prescribed value of {what}")
        terms.append(Term(label, "boundary", cond.weight, keys, fn, expr, select, normals, data))

    exact = {}
    for f, value in (problem.exact or {}).items():
        idx = _field_index(f, problem, loc)
        exact[idx] = compile_expression(value, set(names), f"exact solution of {field_names[idx]} in {loc}")
    compiled = CompiledProblem(problem, tuple(names), field_names, terms, exact)
    _check_finite(compiled, loc)
    return compiled


def _check_coordinates(problem: Problem, loc: str) -> tuple[sp.Symbol, ...]:
    coords = problem.coordinates
    dim = problem.domain.dim
    for f in problem.fields:
        if tuple(f.args) != coords:
            raise ProblemError(
                f"In {loc}, the field {f} has arguments {tuple(f.args)} but {problem.fields[0]} has "
                f"{coords}; all fields must take the same coordinates in the same order."
            )
    if not all(isinstance(c, sp.Symbol) for c in coords) or len(set(coords)) != len(coords):
        raise ProblemError(
            f"In {loc}, the field {problem.fields[0]} must take distinct coordinate symbols, e.g. "
            "u = sp.Function('u')(x, y)."
        )
    if len(coords) != dim:
        raise ProblemError(
            f"In {loc}, the fields take {len(coords)} coordinate(s) {coords} but the domain "
            f"{problem.domain!r} is {dim}-dimensional; give each field one argument per dimension."
        )
    return coords


def _field_index(f, problem: Problem, loc: str) -> int:
    for i, g in enumerate(problem.fields):
        if f == g or f == g.func or (isinstance(f, str) and f == g.func.__name__):
            return i
    raise ProblemError(
        f"In {loc}, exact={{...}} names {f}, which is not one of the fields "
        f"{', '.join(map(str, problem.fields))}; key the exact solution by a field."
    )


def _residual(eq, what: str) -> sp.Expr:
    if isinstance(eq, bool) or eq in (sp.true, sp.false):
        raise ProblemError(
            f"The {what} evaluated to {eq}: it was probably written with '==' which Python "
            "evaluates at once; write sp.Eq(lhs, rhs) instead."
        )
    if isinstance(eq, sp.Eq):
        return (eq.lhs - eq.rhs).doit()
    try:
        return sp.sympify(eq).doit()
    except (sp.SympifyError, TypeError) as exc:
        raise ProblemError(f"The {what} is not a sympy expression or Eq: {eq!r}.") from exc


def _condition_residual(cond: Condition, coords, what: str):
    """Residual expression of a condition and whether it needs outward normals."""
    u = cond.field
    if isinstance(cond, Dirichlet):
        return u - cond.value, False
    if isinstance(cond, Neumann):
        normals = sp.symbols(f"_n0:{len(coords)}")
        flux = sum(n * u.diff(c) for n, c in zip(normals, coords))
        return flux - cond.flux, True
    raise ProblemError(f"The {what} is of an unsupported kind {type(cond).__name__}.")


def _condition_data(cond: Condition) -> sp.Expr:
    return cond.value if isinstance(cond, Dirichlet) else cond.flux


def _substitute(expr: sp.Expr, coords, fields: dict, field_names, what: str):
    """Replace field values and derivatives by placeholder symbols; return (expr, keys)."""
    repl, keys = {}, set()
    for d in expr.atoms(sp.Derivative):
        base = d.expr
        if base.func not in fields:
            raise ProblemError(
                f"The {what} differentiates {base}, which is not a field of the problem; declare it "
                f"in fields=[...] or differentiate a field ({', '.join(field_names)})."
            )
        alpha = [0] * len(coords)
        for var, count in d.variable_count:
            if var not in coords:
                raise ProblemError(f"The {what} differentiates with respect to {var}, which is not a coordinate.")
            alpha[coords.index(var)] += int(count)
        key = (fields[base.func], tuple(alpha))
        keys.add(key)
        repl[d] = sp.Symbol(placeholder_name(field_names, key))
    expr = expr.xreplace(repl)
    for app in expr.atoms(sp.core.function.AppliedUndef):
        if app.func not in fields:
            raise ProblemError(
                f"The {what} uses the function {app}, which is neither a field nor a coordinate; "
                f"add it to fields=[...] or replace it by an expression of {', '.join(map(str, coords))}."
            )
        if tuple(app.args) != tuple(coords):
            raise ProblemError(
                f"The {what} evaluates the field {app.func.__name__} at {app.args}; fields can only "
                f"appear with their own coordinates {tuple(coords)}."
            )
        key = (fields[app.func], (0,) * len(coords))
        keys.add(key)
        repl[app] = sp.Symbol(placeholder_name(field_names, key))
    return expr.xreplace(repl), keys


def _selection(cond: Condition, names, domain, what: str):
    if cond.on is None:
        return None
    if isinstance(cond.on, bool):
        raise ProblemError(
            f"The boundary selection of {what} is the Python value {cond.on}: it was probably "
            "written with '=='; write on=sp.Eq(x, -1) (or an inequality such as on=(y > 0))."
        )
    tol = 1e-7 * float(domain.diameter)
    rel = compile_relation(cond.on, set(names), tol, f"boundary selection of {what}")

    def select(points: np.ndarray) -> np.ndarray:
        pts = torch.as_tensor(points, dtype=torch.float64)
        env = {n: pts[:, i] for i, n in enumerate(names)}
        return rel(env).cpu().numpy()

    return select


def _check_finite(compiled: CompiledProblem, loc: str) -> None:
    """Evaluate exact solutions and boundary data on deterministic points; reject non-finite."""
    domain = compiled.problem.domain
    mesh_points = domain.mesh(20)[0]  # 21 points per side: hits centres and mid-lines too
    pts = torch.as_tensor(np.concatenate([domain.evaluation_points(400), mesh_points]), dtype=torch.float64)
    ex = compiled.exact_values(pts)
    if ex is not None:
        for f in compiled.exact:
            at = _first_nonfinite(compiled, ex[:, f], pts)
            if at is not None:
                raise ProblemError(
                    f"In {loc}, the exact solution of {compiled.field_names[f]} is not finite at "
                    f"{at}; fix the expression (division by zero, log of a non-positive number, ...) "
                    "or leave exact= out."
                )


def _first_nonfinite(compiled: CompiledProblem, values: torch.Tensor, pts: torch.Tensor) -> dict | None:
    """{coordinate: value} of the first point where ``values`` (N,) is not finite, else None."""
    bad = ~torch.isfinite(values)
    if not bad.any():
        return None
    return dict(zip(compiled.coordinates, pts[bad.nonzero()[0, 0]].tolist()))


def check_boundary_data(compiled: CompiledProblem, term: Term, points: np.ndarray) -> None:
    """Reject a boundary value or flux that is not finite at the sampled points (m, d)."""
    pts = torch.as_tensor(points, dtype=torch.float64)
    env = {c: pts[:, i] for i, c in enumerate(compiled.coordinates)}
    at = _first_nonfinite(compiled, term.data(env), pts)
    if at is not None:
        raise ProblemError(
            f"In {where(compiled.problem)}, the prescribed value of {term.label} is not finite at "
            f"{at}; fix the expression or restrict the condition with on=... so that it avoids "
            "that point."
        )
