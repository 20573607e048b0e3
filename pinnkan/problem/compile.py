"""Compile a :class:`~pinnkan.problem.definition.Problem` into loss terms that torch can evaluate.

Each equation and condition becomes a term of its kind (:mod:`pinnkan.problem.terms`): a
residual expression in which every field value and field derivative is replaced by a placeholder
symbol. The placeholders that a term uses are exactly the derivatives the network must supply,
so the set of derivatives is read off the expressions themselves (nothing is declared by hand). A residual is then evaluated as::

    values = engine(model, points, term.derivatives)      # {(field, alpha): (N,)}
    r = term.residual(env(points, values, normals))        # (N,)

A continuation parameter (``Problem(continuation={nu: [v_0, ..., v_{K-1}]})``) is compiled as a
symbol read from ``env``: :meth:`CompiledProblem.env` puts its current value there, a 0-dim
tensor in :attr:`CompiledProblem.constants` that :meth:`CompiledProblem.set_continuation`
changes in place between levels, without compiling again. It starts, and ends after training,
at v_{K-1}, the problem's own value; exact solutions are compiled at that value.

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

from pinnkan.problem.terms import Key
from pinnkan.errors import ProblemError
from pinnkan.problem.definition import Condition, Data, Dirichlet, Equation, Initial, Interface, Neumann, Periodic, Problem, Robin
from pinnkan.problem.symbolic import compile_expression, compile_relation
from pinnkan.problem.tables import tabulated_in
from pinnkan.problem.terms import (BoundaryTerm, DataTerm, EquationTerm, InitialTerm, InterfaceTerm, PeriodicTerm, Term,
                                   TermPoints)

__all__ = ["BoundaryTerm", "CompiledProblem", "DataTerm", "EquationTerm", "InitialTerm", "InterfaceTerm", "PeriodicTerm",
           "Term", "TermPoints", "check_boundary_data", "compile_problem", "continuation_value", "parameter_names",
           "parameters_of", "periodic_order", "placeholder_name", "where"]


@dataclass
class CompiledProblem:
    problem: Problem
    coordinates: tuple[str, ...]
    field_names: list[str]
    terms: list[Term]
    exact: dict[int, Callable] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)
    exact_parameters: dict[str, float] = field(default_factory=dict)
    partial_exact: set = field(default_factory=set)  # fields whose exact solution is nan somewhere
    tabulated_exact: set = field(default_factory=set)  # fields whose exact solution holds a table that may be nan
    continuation: dict[str, tuple[float, ...]] = field(default_factory=dict)  # {name: (v_0, ..., v_{K-1})}
    constants: dict[str, torch.Tensor] = field(default_factory=dict)  # {name: current value, 0-dim float64}

    @property
    def dim(self) -> int:
        return len(self.coordinates)

    @property
    def equations(self) -> list[Term]:
        return [t for t in self.terms if t.is_equation]

    @property
    def conditions(self) -> list[Term]:
        return [t for t in self.terms if not t.is_equation]

    @property
    def location(self) -> str:
        """The problem as error messages name it (see :func:`where`)."""
        return where(self.problem)

    def check_data(self, term: Term, points: np.ndarray) -> None:
        """Reject prescribed values of ``term`` that are not finite at ``points`` (m, d)."""
        check_boundary_data(self, term, points)

    def set_continuation(self, stage: int | None) -> dict[str, float]:
        """Set every continuation parameter, in place, to its value at ``stage``
        (:func:`continuation_value`; None: the problem's own value); the compiled terms read it
        at their next evaluation. Returns {name: value now in force}."""
        for name, ramp in self.continuation.items():
            self.constants[name].fill_(continuation_value(ramp, stage))
        return self.continuation_values()

    def continuation_values(self) -> dict[str, float]:
        """{continuation parameter name: its value now in force} ({} without continuation)."""
        return {name: float(value) for name, value in self.constants.items()}

    def env(self, points: torch.Tensor, values: dict, normals: torch.Tensor | None = None,
            params: dict | None = None) -> dict:
        """Name -> tensor map for residual evaluation. points: (N, d); values from an engine;
        params: {parameter name: 0-dim tensor} of an inverse problem (see :func:`parameters_of`);
        the continuation parameters at their current values, 0-dim in the points' dtype and device."""
        env = {c: points[:, i] for i, c in enumerate(self.coordinates)}
        for name, value in self.constants.items():
            env[name] = value.to(points, copy=True)  # a copy: set_continuation never touches a saved graph
        if params:
            env.update(params)
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
        env["_nan"] = float("nan")
        cols = []
        for f in range(len(self.field_names)):
            cols.append(self.exact[f](env) if f in self.exact else torch.full_like(points[:, 0], float("nan")))
        return torch.stack(cols, dim=1)


def parameters_of(model) -> dict:
    """{name: 0-dim tensor} of the unknown problem parameters a model carries (may be empty)."""
    holder = getattr(model, "problem_parameters", None)
    return {k: v[0] for k, v in holder.items()} if holder is not None else {}


def parameter_names(model) -> dict:
    """{problem parameter name: the name of its (1,) tensor in ``model.named_parameters()``}."""
    holder = getattr(model, "problem_parameters", None)
    if holder is None:
        return {}
    qualified = {id(p): n for n, p in model.named_parameters()}
    return {k: qualified[id(v)] for k, v in holder.items()}


def placeholder_name(field_names, key: Key) -> str:
    f, alpha = key
    return f"_d_{field_names[f]}_" + "_".join(str(a) for a in alpha)


def continuation_value(ramp: tuple[float, ...], stage: int | None) -> float:
    """The value of a ramp (v_0, ..., v_{K-1}) at stage s >= 0: v_min(s, K-1); at None: v_{K-1},
    the problem's own value."""
    return ramp[-1] if stage is None else ramp[min(stage, len(ramp) - 1)]


def where(problem: Problem) -> str:
    src = getattr(problem, "source", None)
    return f"problem '{problem.name}'" + (f" ({src})" if src else "")


def compile_problem(problem: Problem) -> CompiledProblem:
    """Check ``problem`` and compile its equations, conditions and exact solution into terms.

    Whether boundary selections match and boundary values are finite is only known from the
    sampled points: :meth:`~pinnkan.problem.terms.Term.draw` checks that when it draws them.
    """
    loc = where(problem)
    coords = _check_coordinates(problem, loc)
    names = [c.name for c in coords]
    field_names = problem.field_names
    fields = {f.func: i for i, f in enumerate(problem.fields)}
    params = {k.name: v for k, v in (problem.parameters or {}).items()}
    _check_parameter_names(params, names, field_names, loc)
    ramps = {k.name: v for k, v in (problem.continuation or {}).items()}
    _check_continuation_names(ramps, params, names, field_names, loc)
    _check_continuation_used(ramps, problem, loc)  # before the terms: a misnamed ramp is the likelier mistake
    symbols = set(names) | set(params) | set(ramps)
    terms: list[Term] = []

    def build(expr, what, extra=()):
        res, keys = _substitute(expr, coords, fields, field_names, what)
        allowed = symbols | {placeholder_name(field_names, k) for k in keys} | set(extra)
        return compile_expression(res, allowed, what), keys

    weights = problem.equation_weights or [1.0] * len(problem.equations)
    for i, eq in enumerate(problem.equations):
        what = f"equation {i + 1} of {loc}"
        region = eq if isinstance(eq, Equation) else None
        expr = _residual(region.eq if region else eq, what)
        fn, keys = build(expr, what)
        label = (region.label if region else None) or f"equation {i + 1}"
        weight = float(weights[i]) * (region.weight if region else 1.0)
        select = selection(region.on, names, problem.domain, what) if region else None
        terms.append(EquationTerm(label, weight, keys, fn, expr, select=select))

    for j, cond in enumerate(problem.conditions):
        what = f"condition {j + 1} ({cond.kind} on {cond.field}) of {loc}"
        label = cond.label or f"{cond.kind} {j + 1}"
        if isinstance(cond, Periodic):
            terms.extend(_periodic_terms(cond, problem, coords, build, label, what, terms))
            continue
        if isinstance(cond, Data):
            terms.append(_data_term(cond, problem, coords, build, label, what))
            continue
        if isinstance(cond, Interface):
            terms.append(_interface_term(cond, problem, coords, build, label, what))
            continue
        if isinstance(cond, Initial):
            _check_initial(cond, problem, what)
        expr, normals = _condition_residual(cond, coords, what)
        fn, keys = build(expr, what, {f"_n{i}" for i in range(len(coords))})
        data = compile_expression(_condition_data(cond), symbols, f"prescribed value of {what}")
        if isinstance(cond, Initial):
            terms.append(InitialTerm(label, cond.weight, keys, fn, expr, data=data))
        else:
            select = selection(cond.on, names, problem.domain, what)
            terms.append(BoundaryTerm(label, cond.weight, keys, fn, expr, select=select, needs_normals=normals, data=data))

    exact, exact_params, partial, tabulated = {}, {}, set(), set()
    for f, value in (problem.exact or {}).items():
        if isinstance(f, sp.Symbol) and f.name in params:
            exact_params[f.name] = float(value)
            continue
        idx = _field_index(f, problem, loc)
        what = f"exact solution of {field_names[idx]} in {loc}"
        if isinstance(value, sp.Basic) and value.has(sp.nan):  # undefined off the field's subdomain
            partial.add(idx)
            value = value.xreplace({sp.nan: sp.Symbol("_nan")})
        if isinstance(value, sp.Basic) and problem.continuation:  # the reference is for the final values
            value = value.xreplace({k: sp.Float(v[-1], 17) for k, v in problem.continuation.items()})
        if any(app.table.may_be_undefined for app in tabulated_in(value)):  # nan outside its grid or hull
            tabulated.add(idx)
        exact[idx] = _callable_exact(value, names, what) if _is_callable(value) \
            else compile_expression(value, set(names) | {"_nan"}, what)
    _check_time_derivatives(problem, terms, field_names, loc)
    _check_parameters_used(params, terms, loc)
    compiled = CompiledProblem(problem, tuple(names), field_names, terms, exact, params, exact_params, partial,
                               tabulated, ramps, {k: torch.tensor(v[-1], dtype=torch.float64) for k, v in ramps.items()})
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
    if isinstance(cond, Initial):
        return cond.expr - cond.value, False
    normals = sp.symbols(f"_n0:{len(coords)}")
    flux = sum(n * u.diff(c) for n, c in zip(normals, coords))
    if isinstance(cond, Neumann):
        return flux - cond.flux, True
    if isinstance(cond, Robin):
        return cond.a * u + cond.b * flux - cond.g, True
    raise ProblemError(f"The {what} is of an unsupported kind {type(cond).__name__}.")


def _condition_data(cond: Condition) -> sp.Expr:
    if isinstance(cond, (Dirichlet, Initial)):
        return cond.value
    return cond.g if isinstance(cond, Robin) else cond.flux


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


def selection(on, names, domain, what: str):
    """The ``on=`` relation of a condition or an equation region as ``select(points (n, d)) ->
    bool (n,)`` (within 1e-7 of the domain's diameter), or None without one. A Python bool
    (``on=(x == 1)``) or a relation that is not one of the coordinates raises ProblemError."""
    if on is None:
        return None
    if isinstance(on, bool):
        raise ProblemError(
            f"The boundary selection of {what} is the Python value {on}: it was probably "
            "written with '=='; write on=sp.Eq(x, -1) (or an inequality such as on=(y > 0))."
        )
    tol = 1e-7 * float(domain.diameter)
    rel = compile_relation(on, set(names), tol, f"boundary selection of {what}")

    def select(points: np.ndarray) -> np.ndarray:
        pts = torch.as_tensor(points, dtype=torch.float64)
        env = {n: pts[:, i] for i, n in enumerate(names)}
        return rel(env).cpu().numpy()

    return select


def _check_finite(compiled: CompiledProblem, loc: str) -> None:
    """Evaluate exact solutions and boundary data on deterministic points; reject non-finite."""
    domain = compiled.problem.domain
    try:
        mesh_points = domain.mesh(20)[0]  # 21 points per side: hits centres and mid-lines too
    except ProblemError:  # no single mesh (space-time over 3D)
        mesh_points = np.zeros((0, domain.dim))
    pts = torch.as_tensor(np.concatenate([domain.evaluation_points(400), mesh_points]), dtype=torch.float64)
    _check_tables_defined(compiled, pts, loc)
    ex = compiled.exact_values(pts)
    if ex is not None:
        for f in compiled.exact:
            if f in compiled.partial_exact or f in compiled.tabulated_exact:
                if not bool(torch.isfinite(ex[:, f]).any()):
                    raise ProblemError(
                        f"In {loc}, the exact solution of {compiled.field_names[f]} is undefined (nan) "
                        "everywhere; give it a value on the part of the domain where the field lives"
                        + (" (its table's grid or points must overlap the domain)." if f in compiled.tabulated_exact
                           else ".")
                    )
                if not bool(torch.isfinite(ex[:, f]).all()):  # a table's reference: errors where it is defined
                    compiled.partial_exact.add(f)
                continue
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
    env.update({k: torch.tensor(v, dtype=torch.float64) for k, v in compiled.parameters.items()})  # at the guesses
    env.update({k: v.to(pts) for k, v in compiled.constants.items()})  # continuation values now in force
    at = _first_nonfinite(compiled, term.data(env), pts)
    if at is not None:
        tables = tabulated_in(term.expression)
        hint = (f" A table is nan outside its grid or the hull of its points ({_table_support(tables)}): cover the "
                "boundary with it, or pass extrapolate=True to pk.Table or fill='nearest' to pk.Scattered." if tables else "")
        raise ProblemError(
            f"In {where(compiled.problem)}, the prescribed value of {term.label} is not finite at "
            f"{at}; fix the expression or restrict the condition with on=... so that it avoids "
            f"that point.{hint}"
        )


def _table_support(apps) -> str:
    tables = list(dict.fromkeys(app.table for app in apps))
    return "; ".join(f"{t.name}: {t.describe_support()}" for t in tables)


def _check_tables_defined(compiled: CompiledProblem, pts: torch.Tensor, loc: str) -> None:
    """Reject a table in an equation that is nan (outside its grid or hull) at a check point
    (N, d) where the equation holds; tables of the fields (a(u)) are not checked."""
    names = set(compiled.coordinates)
    env = {c: pts[:, i] for i, c in enumerate(compiled.coordinates)}
    for term in compiled.equations:
        apps = [a for a in tabulated_in(term.expression)
                if {s.name for s in a.free_symbols} <= names and not a.atoms(sp.core.function.AppliedUndef)]
        keep = torch.ones(pts.shape[0], dtype=torch.bool) if term.select is None else \
            torch.as_tensor(np.asarray(term.select(pts.numpy()), dtype=bool))
        for app in apps:
            values = compile_expression(app, names, f"table {app} of {term.label}")(env)
            at = _first_nonfinite(compiled, torch.where(keep, values, torch.zeros_like(values)), pts)
            if at is not None:
                raise ProblemError(
                    f"In {loc}, {term.label} uses the table {app.table.name}, which is undefined (nan) at {at}: "
                    f"outside its grid or the hull of its points ({_table_support([app])}); give data that "
                    "covers the domain, or pass extrapolate=True to pk.Table or fill='nearest' to pk.Scattered."
                )


def _check_parameter_names(params: dict, names, field_names, loc: str) -> None:
    clash = set(params) & (set(names) | set(field_names))
    if clash:
        raise ProblemError(
            f"In {loc}, the parameter(s) {', '.join(sorted(clash))} have the name of a coordinate or "
            "a field; give unknown parameters their own symbols."
        )


def _check_parameters_used(params: dict, terms: list[Term], loc: str) -> None:
    used = set().union(*(t.expression.free_symbols for t in terms)) if terms else set()
    unused = [p for p in params if sp.Symbol(p) not in used]
    if unused:
        raise ProblemError(
            f"In {loc}, the parameter(s) {', '.join(unused)} appear in no equation or condition, so "
            "nothing can determine them; use each in an equation or remove it from parameters={...}."
        )


def _check_continuation_names(ramps: dict, params: dict, names, field_names, loc: str) -> None:
    """A continuation symbol is neither a coordinate, nor a field, nor an unknown parameter."""
    for name in ramps:
        kind = ("a coordinate" if name in names else "a field" if name in field_names
                else "an unknown parameter (parameters={...})" if name in params else None)
        if kind:
            raise ProblemError(
                f"In {loc}, continuation={{{name}: [...]}} names {name}, which is {kind}; a continuation ramps a "
                "constant of the equations, such as a viscosity nu = sp.Symbol('nu'): give it its own symbol."
            )


def _check_continuation_used(ramps: dict, problem: Problem, loc: str) -> None:
    """Each continuation symbol appears in an equation or a condition."""
    exprs = [eq.eq if isinstance(eq, Equation) else eq for eq in problem.equations]
    exprs += [getattr(c, part, None) for c in problem.conditions for part in ("expr", "value", "flux", "a", "b", "g")]
    used = {s.name for e in exprs if isinstance(e, sp.Basic) for s in e.free_symbols}
    unused = [name for name in ramps if name not in used]
    if unused:
        raise ProblemError(
            f"In {loc}, continuation={{...}} ramps {', '.join(unused)}, which "
            f"{'appears' if len(unused) == 1 else 'appear'} in no equation or condition, "
            "so the ramp would change nothing; use the same sympy symbol in the equations (e.g. nu * u.diff(x, 2) "
            "with nu = sp.Symbol('nu')), or remove it from continuation={...}."
        )


def _check_initial(cond: Initial, problem: Problem, what: str) -> None:
    t = problem.time_symbol
    if t is None:
        raise ProblemError(
            f"The {what} is an initial condition, but the problem has no time; add "
            "time=(t, t0, t1) to Problem(...) and make t the fields' last argument."
        )
    if isinstance(cond.expr, sp.Derivative) and any(v != t for v, _ in cond.expr.variable_count):
        raise ProblemError(
            f"The {what} prescribes {cond.expr}; an initial condition can hold the field or its time "
            f"derivatives only (e.g. {cond.field}.diff({t}))."
        )


def _check_time_derivatives(problem: Problem, terms: list[Term], field_names, loc: str) -> None:
    """Each field whose equations hold d^k/dt^k needs initial conditions on orders 0 .. k-1."""
    if problem.time is None:
        return
    t = problem.time_symbol
    need: dict[int, int] = {}
    for term in terms:
        if term.is_equation:
            for f, alpha in term.derivatives:
                need[f] = max(need.get(f, 0), alpha[-1])
    given: dict[int, set] = {}
    for c in problem.conditions:
        if isinstance(c, Initial):
            f = field_names.index(c.field.func.__name__)
            k = sum(n for v, n in c.expr.variable_count) if isinstance(c.expr, sp.Derivative) else 0
            given.setdefault(f, set()).add(k)
    for f, k in need.items():
        missing = [o for o in range(k) if o not in given.get(f, set())]
        if missing:
            u = f"{field_names[f]}"
            which = " and ".join(f"pk.Initial({u}, ...)" if o == 0 else
                                 f"pk.Initial({u}.diff({t}{', ' + str(o) if o > 1 else ''}), ...)" for o in missing)
            raise ProblemError(
                f"In {loc}, the field {u} has a time derivative of order {k} in the equations but no "
                f"initial condition for order {', '.join(map(str, missing))}; add {which} to conditions."
            )


def _periodic_terms(cond: Periodic, problem: Problem, coords, build, label, what, terms) -> list[PeriodicTerm]:
    """One paired term per matched derivative order j = 0..k along the coordinate: d^j u / dx^j
    agrees on the two opposite faces. k is ``cond.order``, by default :func:`periodic_order`."""
    space = problem.spatial_domain
    if cond.coordinate not in coords or (problem.time and cond.coordinate == problem.time_symbol):
        raise ProblemError(
            f"The {what} is periodic in {cond.coordinate}, which is not a space coordinate of the "
            f"fields {tuple(coords)}; name one of them."
        )
    if not hasattr(space, "lengths"):
        raise ProblemError(
            f"The {what} needs a box-shaped domain (Interval, Rectangle or Box) so that opposite "
            f"faces can be matched, but the domain is {space!r}; drop the Periodic condition or use a box."
        )
    axis = coords.index(cond.coordinate)
    if cond.field not in problem.fields:
        build(cond.field, what)  # raises: not a field of the problem
    field_index = problem.fields.index(cond.field)
    order = periodic_order(terms, field_index, axis) if cond.order is None else cond.order
    out = []
    for j in range(order + 1):
        expr = cond.field.diff(cond.coordinate, j) if j else cond.field
        part = "value" if j == 0 else "derivative" if j == 1 else f"derivative {j}"
        g, keys = build(expr, what)
        out.append(PeriodicTerm(f"{label} ({part})", cond.weight, keys, g, expr, axis=axis, order=j))
    return out


def periodic_order(terms, field_index: int, axis: int) -> int:
    """Default highest derivative order a Periodic condition matches: max(1, m - 1), m the highest
    order of derivatives of the field along ``axis`` in the equation ``terms`` (m = 2: value and
    first derivative; Kuramoto-Sivashinsky, m = 4: orders 0 to 3)."""
    m = max((alpha[axis] for t in terms if t.is_equation for f, alpha in t.derivatives if f == field_index), default=0)
    return max(1, m - 1)


def _data_term(cond: Data, problem: Problem, coords, build, label, what) -> DataTerm:
    """Residual field(x_i) - value_i at the observation points; env["_obs"] holds the values."""
    pts = cond.points
    if pts.shape[1] != len(coords):
        raise ProblemError(
            f"The {what} has observation points with {pts.shape[1]} coordinate(s); the fields take "
            f"{len(coords)} {tuple(coords)}, so give points of shape (n, {len(coords)})."
        )
    inside = problem.domain.contains(pts, 1e-7 * problem.domain.diameter)
    if not inside.all():
        bad = pts[~inside][0]
        raise ProblemError(
            f"The {what} has {int((~inside).sum())} observation point(s) outside the domain "
            f"{problem.domain!r}, e.g. {dict(zip([c.name for c in coords], bad.tolist()))}; remove them "
            "or fix their coordinates."
        )
    expr = cond.field - sp.Symbol("_obs")
    fn, keys = build(expr, what, {"_obs"})
    return DataTerm(label, cond.weight, keys, fn, expr, observed=(pts, cond.values))


def _is_callable(value) -> bool:
    return callable(value) and not isinstance(value, sp.Basic)


def _callable_exact(fn, names, what: str):
    """Wrap a Python exact solution f(x, y, ..., t) -> (N,) ndarray as env -> tensor."""
    def evaluate(env):
        first = env[names[0]]
        args = [env[n].detach().cpu().double().numpy() for n in names]
        try:
            values = np.asarray(fn(*args), dtype=np.float64)
            values = np.broadcast_to(values, args[0].shape)
        except Exception as exc:  # a user function: report whatever went wrong in it
            raise ProblemError(f"The {what} (a Python function) failed on {len(args[0])} points: {exc}") from None
        return torch.as_tensor(values.copy(), dtype=first.dtype, device=first.device)

    return evaluate


def _interface_term(cond: Interface, problem: Problem, coords, build, label, what) -> InterfaceTerm:
    """Residual on the plane coordinate = value, inside the domain."""
    coord, value = cond.on.lhs, float(cond.on.rhs)
    if coord not in coords:
        raise ProblemError(f"The {what} lies on {cond.on}, but {coord} is not a coordinate {tuple(coords)}.")
    axis = coords.index(coord)
    lo, hi = problem.domain.bounds
    if not lo[axis] < value < hi[axis]:
        raise ProblemError(
            f"The {what} lies on {cond.on}, which does not cut the domain {problem.domain!r} "
            f"({coord} ranges over [{lo[axis]:g}, {hi[axis]:g}]); move the interface inside the domain."
        )
    fn, keys = build(cond.expr, what)
    return InterfaceTerm(label, cond.weight, keys, fn, cond.expr, plane=(axis, value))
