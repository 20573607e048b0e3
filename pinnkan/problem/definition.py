"""The problem-file contract: :class:`Problem` and its boundary conditions.

A problem file is a Python module that defines a module-level ``problem``::

    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    problem = pk.Problem(
        name="poisson2d",
        domain=pk.Rectangle((-1, -1), (1, 1)),
        fields=[u],
        equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), f)],
        conditions=[pk.Dirichlet(u, 0)],
        exact={u: u_exact},
    )

These classes only hold what the user wrote, checked for shape; turning it into torch functions
is the job of :mod:`pinnkan.problem.compile`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Sequence

import numpy as np
import sympy as sp

from pinnkan.errors import ProblemError


def _as_field(f: Any, what: str) -> sp.Expr:
    if not (isinstance(f, sp.Expr) and isinstance(getattr(f, "func", None), sp.core.function.UndefinedFunction)):
        raise ProblemError(
            f"{what} must be a field, i.e. an applied sympy function such as "
            f"u = sp.Function('u')(x, y); got {f!r}."
        )
    return f


def _shown(value) -> str:
    """A short description of a wrong value for an error message."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (sp.Rel, sp.logic.boolalg.Boolean)):
        return f"the relation {value}"
    return f"{value!r} (a {type(value).__name__})"


def _as_value(value, what: str) -> sp.Expr:
    """``value`` (a real number or a sympy expression) as a sympy expression, else ProblemError.

    ``what`` names the value in the message, e.g. "Dirichlet(u(x, y), value): the value".
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, sp.Expr):
        return value
    if isinstance(value, Real) and not isinstance(value, bool):
        return sp.sympify(value)
    hint = " (sympy parses text with its own symbols, not the problem's)" if isinstance(value, str) else ""
    raise ProblemError(
        f"{what} is {_shown(value)}, which is neither a number nor a sympy expression{hint}; give a "
        "number such as 0 or an expression of the coordinates such as sp.sin(sp.pi * x)."
    )


def _as_weight(weight, what: str) -> float:
    """``weight`` as a finite float >= 0, else ProblemError naming ``what``."""
    if isinstance(weight, Real) and not isinstance(weight, bool) and math.isfinite(weight) and weight >= 0:
        return float(weight)
    raise ProblemError(f"{what}: the weight is {_shown(weight)}; give a finite number >= 0 such as weight=10.")


_RAMP_EXAMPLE = ("e.g. continuation={nu: [0.1, 0.03, 0.01 / sp.pi]} with nu = sp.Symbol('nu') in the equations, "
                 "the last value the problem's own")


def _ramp_value(value) -> float | None:
    """A continuation value as a float (inf or nan when not finite), or None when it is not a
    real number (a string, a bool, an expression with free symbols, a complex number)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool):
        return None
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, sp.Expr) and value.is_number:
        if value.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            return math.inf
        try:
            return float(value)
        except TypeError:  # a complex number
            return None
    return None


def continuation_ramps(continuation, name: str) -> dict:
    """``Problem(continuation=...)`` checked: {sympy symbol: (v_0, ..., v_{K-1})}, K >= 1, every
    v_k a finite real number (v_{K-1} the problem's own value); else ProblemError."""
    what = f"Problem(continuation=...) of problem '{name}'"
    if not isinstance(continuation, dict) or not continuation:
        raise ProblemError(f"{what} must be a non-empty dict {{symbol: [value, ..., final value]}}, got "
                           f"{_shown(continuation)}; {_RAMP_EXAMPLE}.")
    ramps = {}
    for key, values in continuation.items():
        if not isinstance(key, sp.Symbol):
            raise ProblemError(f"{what} is keyed by {_shown(key)}, which is not a sympy symbol; key each ramp by the "
                               f"symbol the equations use, {_RAMP_EXAMPLE}.")
        if not (isinstance(values, (list, tuple)) or (isinstance(values, np.ndarray) and values.ndim == 1)):
            raise ProblemError(f"{what}: the values of {key} are {_shown(values)}, not a list; give a list of numbers, "
                               f"{_RAMP_EXAMPLE}.")
        if len(values) == 0:
            raise ProblemError(f"{what}: the list of values of {key} is empty; give at least its final value, "
                               f"{_RAMP_EXAMPLE}.")
        ramp = []
        for i, value in enumerate(values):
            number = _ramp_value(value)
            if number is None:
                shown = f"{value} (an expression of {', '.join(sorted(map(str, value.free_symbols)))})" \
                    if isinstance(value, sp.Expr) and value.free_symbols else _shown(value)
                raise ProblemError(f"{what}: value {i + 1} of {key} is {shown}, which is not a real number; "
                                   f"give numbers such as 0.1 or 0.01 / sp.pi, {_RAMP_EXAMPLE}.")
            if not math.isfinite(number):
                raise ProblemError(f"{what}: value {i + 1} of {key} is {value}, which is not finite; give finite "
                                   f"numbers, {_RAMP_EXAMPLE}.")
            ramp.append(number)
        ramps[key] = tuple(ramp)
    return ramps


class Condition:
    """Base class of the conditions: a residual that must vanish on part of the boundary.

    ``on`` is ``None`` (the whole boundary) or a sympy relation / boolean of the coordinates that
    selects part of it (``sp.Eq(x, -1)``, ``y > 0``, ``sp.And(x > 0, y < 0)``). Equalities are
    tested with a tolerance relative to the domain size. ``weight`` scales the condition's term
    in the loss; ``label`` names it in reports and error messages.
    """

    kind = "condition"

    def __init__(self, field, on=None, weight=1.0, label=None):
        self.field = _as_field(field, f"{self.kind}'s field")
        self.on = on
        self.weight = _as_weight(weight, f"{self.kind}({self.field}, ...)")
        self.label = label

    def describe(self) -> str:
        where = "whole boundary" if self.on is None else str(self.on)
        return self.label or f"{self.kind}({self.field}) on {where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class Dirichlet(Condition):
    """``field = value`` on the selected boundary; ``value`` is a number or sympy expression."""

    kind = "Dirichlet"

    def __init__(self, field, value=0, on=None, weight=1.0, label=None):
        super().__init__(field, on=on, weight=weight, label=label)
        self.value = _as_value(value, f"Dirichlet({self.field}, value): the value")


class Robin(Condition):
    """``a * field + b * grad(field) . n = g`` on the selected boundary (a, b, g numbers or sympy)."""

    kind = "Robin"

    def __init__(self, field, a, b, g=0, on=None, weight=1.0, label=None):
        super().__init__(field, on=on, weight=weight, label=label)
        self.a, self.b, self.g = (_as_value(c, f"Robin({self.field}, a, b, g): {name}")
                                  for name, c in (("a", a), ("b", b), ("g", g)))
        for name, c in (("a", self.a), ("b", self.b)):
            if c.atoms(sp.core.function.AppliedUndef):
                raise ProblemError(
                    f"Robin({field}, a, b, g): the coefficient {name} = {c} holds a field; a and b must "
                    "be numbers or expressions of the coordinates."
                )


class Initial(Condition):
    """``expr = value`` at the initial time t0 of a time-dependent problem.

    ``expr`` is a field ``u`` or one of its time derivatives ``u.diff(t)`` (second order in time
    needs both). ``value`` is a number or a sympy expression of the space coordinates.
    """

    kind = "Initial"

    def __init__(self, expr, value=0, weight=1.0, label=None):
        if not isinstance(expr, sp.Expr):
            raise ProblemError(f"Initial(...) takes a field u or a time derivative u.diff(t), got {_shown(expr)}.")
        fields = [a for a in expr.atoms(sp.core.function.AppliedUndef)]
        if isinstance(expr, sp.Derivative):
            base = expr.expr
        else:
            base = expr
        if len(fields) != 1 or not (base == fields[0]):
            raise ProblemError(
                f"Initial(...) takes a field u or a time derivative u.diff(t), got {expr!r}."
            )
        super().__init__(fields[0], on=None, weight=weight, label=label)
        self.expr = expr
        self.value = _as_value(value, f"Initial({expr}, value): the value")

    def describe(self) -> str:
        return self.label or f"Initial({self.expr})"


class Periodic(Condition):
    """``field`` periodic in ``coordinate``: the derivatives d^j field / d coordinate^j for
    j = 0..order match on the two opposite faces of a box-shaped (space) domain.

    ``order=None`` (the default) is max(1, m - 1), m the highest order of derivatives of the
    field along the coordinate in the equations: values and first derivatives for a second-order
    equation, orders 0 to 3 for a fourth-order one (Kuramoto-Sivashinsky).
    """

    kind = "Periodic"

    def __init__(self, field, coordinate, weight=1.0, label=None, *, order=None):
        super().__init__(field, on=None, weight=weight, label=label)
        if not isinstance(coordinate, sp.Symbol):
            raise ProblemError(f"Periodic(field, coordinate) needs a coordinate symbol such as x, got {coordinate!r}.")
        if order is not None and not (isinstance(order, (int, np.integer)) and not isinstance(order, bool) and order >= 0):
            raise ProblemError(
                f"Periodic({self.field}, {coordinate}, order={order!r}): order must be a whole number >= 0 (the highest "
                "derivative order matched across the period), or left out for the default."
            )
        self.coordinate = coordinate
        self.order = None if order is None else int(order)

    def describe(self) -> str:
        return self.label or f"Periodic({self.field} in {self.coordinate})"


class Data(Condition):
    """Observations ``field(points[i]) = values[i]``: points (n, d) in the field's coordinate
    order (time last), values (n,). Used to fit an inverse problem's unknown parameters."""

    kind = "Data"

    def __init__(self, field, points, values, weight=1.0, label=None):
        super().__init__(field, on=None, weight=weight, label=label)
        import numpy as np

        try:
            self.points = np.asarray(points, dtype=np.float64)
            self.values = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"Data({field}, points, values): points and values must be numeric arrays ({exc}).") from None
        if self.points.ndim == 1:
            self.points = self.points[:, None]
        if self.points.ndim != 2 or len(self.points) != len(self.values) or not len(self.values):
            raise ProblemError(
                f"Data({field}, points, values): points must have shape (n, d) and values shape (n,) "
                f"with n >= 1, got {self.points.shape} and {self.values.shape}."
            )
        if not (np.all(np.isfinite(self.points)) and np.all(np.isfinite(self.values))):
            raise ProblemError(f"Data({field}, points, values) holds non-finite numbers; remove or fix them.")

    def describe(self) -> str:
        return self.label or f"Data({self.field}, {len(self.values)} points)"


class Equation:
    """An equation ``eq`` (sp.Eq or an expression meaning expr = 0) enforced only on the part of
    the domain where the sympy relation ``on`` holds (e.g. ``x < 0``), for problems split into
    subdomains with one field per subdomain."""

    def __init__(self, eq, on, weight=1.0, label=None):
        if isinstance(on, bool) or on is None:
            raise ProblemError(f"Equation(eq, on=...) needs a sympy relation such as x < 0, got {on!r}.")
        self.eq, self.on, self.label = eq, on, label
        self.weight = _as_weight(weight, f"Equation({eq}, on={on})")

    def __repr__(self) -> str:
        return f"Equation({self.eq}, on={self.on})"


class Interface(Condition):
    """``residual = 0`` on an interior surface ``on = sp.Eq(coordinate, value)`` such as x = 0:
    continuity ``u1 - u2`` or flux balance ``k1 * u1.diff(x) - k2 * u2.diff(x)`` between the
    fields of two subdomains. ``residual`` is an expression or sp.Eq of fields and derivatives."""

    kind = "Interface"

    def __init__(self, residual, on, weight=1.0, label=None):
        if not isinstance(residual, (sp.Eq, sp.Expr)):
            raise ProblemError(
                f"Interface(residual, on=...) needs a sympy expression or sp.Eq of the fields, got {_shown(residual)}; "
                "write e.g. Interface(u1 - u2, on=sp.Eq(x, 0))."
            )
        expr = residual.lhs - residual.rhs if isinstance(residual, sp.Eq) else residual
        fields = sorted(expr.atoms(sp.core.function.AppliedUndef), key=str)
        if not fields:
            raise ProblemError(f"Interface({residual}) holds no field; write e.g. Interface(u1 - u2, on=sp.Eq(x, 0)).")
        if not (isinstance(on, sp.Eq) and isinstance(on.lhs, sp.Symbol) and on.rhs.is_number):
            raise ProblemError(
                f"Interface(..., on={on!r}) needs a plane written sp.Eq(coordinate, number), e.g. sp.Eq(x, 0)."
            )
        super().__init__(fields[0], on=on, weight=weight, label=label)
        self.expr = expr

    def describe(self) -> str:
        return self.label or f"Interface({self.expr} on {self.on})"


class Neumann(Condition):
    """``grad(field) . n = flux`` on the selected boundary, ``n`` the unit outward normal."""

    kind = "Neumann"

    def __init__(self, field, flux=0, on=None, weight=1.0, label=None):
        super().__init__(field, on=on, weight=weight, label=label)
        self.flux = _as_value(flux, f"Neumann({self.field}, flux): the flux")


@dataclass
class Problem:
    """A PDE problem: domain, fields, equations, conditions and optionally the exact solution.

    Attributes
    ----------
    name: short identifier used in file names and reports.
    domain: a :class:`pinnkan.geometry.Domain` (Interval, Rectangle, Box, Disk).
    fields: applied sympy functions of the coordinates, e.g. ``u(x, y)``; all share the same
        arguments, which are the coordinates in order.
    equations: sympy ``Eq(lhs, rhs)`` or expressions meaning ``expr = 0``, enforced in the interior.
    conditions: boundary conditions (:class:`Dirichlet`, :class:`Neumann`).
    exact: optional ``{field: expression}`` used for error metrics and export.
    equation_weights: optional loss weight per equation (default 1 each).
    description: free text shown in reports.
    time: optional ``(t, t0, t1)``: the problem is time-dependent, the fields take time as their
        last argument, and ``domain`` (the spatial domain) becomes ``SpaceTime(domain, t0, t1)``.
    parameters: optional ``{symbol: initial guess}`` of unknown constants learned with the network
        (inverse problems); ``exact`` may hold their true values for the report.
    vectors: optional ``{name: (field, field[, field])}``: fields exported together as one vector
        array (e.g. ``{"velocity": (u, v)}``), besides each field on its own.
    continuation: optional ``{symbol: [v_0, ..., v_{K-1}]}``: a parameter ramp. The symbol (a
        viscosity, a Reynolds number) appears in the equations or conditions; training takes it
        through v_0, ..., v_{K-1} (level l of a multilevel schedule at v_min(l, K-1), see
        :func:`pinnkan.training.schedule.run_schedule`), and v_{K-1} is the problem's own value,
        the one the exact solution and the final metrics are for.
    source: the problem file it was loaded from (set by :func:`pinnkan.load_problem`).
    """

    name: str
    domain: Any
    fields: Sequence[sp.Expr]
    equations: Sequence[Any]
    conditions: Sequence[Condition] = field(default_factory=list)
    exact: dict | None = None
    equation_weights: Sequence[float] | None = None
    description: str = ""
    source: str | None = None
    time: tuple | None = None
    parameters: dict | None = None
    vectors: dict | None = None
    continuation: dict | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ProblemError("Problem(name=...) must be a non-empty string.")
        if isinstance(self.fields, sp.Expr):
            self.fields = [self.fields]
        if isinstance(self.equations, bool) or self.equations in (sp.true, sp.false):
            raise ProblemError(
                f"Problem(equations=...) is the Python value {self.equations}: the equation was "
                "probably written with '==', which Python evaluates at once; write sp.Eq(lhs, rhs)."
            )
        if isinstance(self.equations, (sp.Expr, sp.Eq, Equation)):
            self.equations = [self.equations]
        if isinstance(self.conditions, Condition):
            self.conditions = [self.conditions]
        if self.conditions is None:
            self.conditions = []
        for what, value in (("fields", self.fields), ("equations", self.equations), ("conditions", self.conditions)):
            if not isinstance(value, (list, tuple)):
                raise ProblemError(f"Problem({what}=...) must be a list, got {_shown(value)}.")
        self.fields = [_as_field(f, "each entry of Problem(fields=...)") for f in self.fields]
        self._check_distinct_fields()
        if self.time is not None:
            self._set_time()
        if self.vectors is not None:
            self._check_vectors()
        if self.parameters is not None:
            if not isinstance(self.parameters, dict) or not all(isinstance(k, sp.Symbol) for k in self.parameters):
                raise ProblemError("Problem(parameters=...) must be a dict {sympy symbol: initial guess}.")
            try:
                self.parameters = {k: float(v) for k, v in self.parameters.items()}
            except (TypeError, ValueError):
                raise ProblemError("Problem(parameters=...): each initial guess must be a number.") from None
        if self.continuation is not None:
            self.continuation = continuation_ramps(self.continuation, self.name)
        self.equations = list(self.equations)
        self.conditions = list(self.conditions)
        if not self.fields:
            raise ProblemError("Problem(fields=...) is empty: give at least one field such as u(x, y).")
        if not self.equations:
            raise ProblemError("Problem(equations=...) is empty: give at least one equation.")
        for c in self.conditions:
            if not isinstance(c, Condition):
                raise ProblemError(
                    f"Problem(conditions=...) holds {c!r}, which is not a condition; use "
                    "pk.Dirichlet(field, value, on=...) or pk.Neumann(field, flux, on=...)."
                )
        if self.exact is not None and not isinstance(self.exact, dict):
            raise ProblemError("Problem(exact=...) must be a dict {field: sympy expression}.")
        if self.equation_weights is not None and len(self.equation_weights) != len(self.equations):
            raise ProblemError(
                f"Problem(equation_weights=...) has {len(self.equation_weights)} entries for "
                f"{len(self.equations)} equations; give one weight per equation."
            )
        if self.equation_weights is not None:
            self.equation_weights = [_as_weight(w, f"Problem(equation_weights=...) entry {i + 1}")
                                     for i, w in enumerate(self.equation_weights)]
        for i, eq in enumerate(self.equations):
            self._check_equation(eq, i)
        self._check_exact_values()
        self._check_derivative_variables()

    def _check_distinct_fields(self):
        names = [f.func.__name__ for f in self.fields]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ProblemError(
                f"Problem(fields=...) lists the field {', '.join(twice)} more than once "
                f"({', '.join(map(str, self.fields))}); each field is one output of the network, so list each "
                "field once."
            )

    def _check_equation(self, eq, i: int):
        """Equation i (0-based) must be sp.Eq, an expression or an :class:`Equation` holding a field.

        A Python or sympy boolean is left to the compiler, which explains the '==' mistake.
        """
        what = f"Equation {i + 1} of problem '{self.name}'"
        inner = eq.eq if isinstance(eq, Equation) else eq
        if isinstance(inner, bool) or inner is sp.true or inner is sp.false:
            return
        if isinstance(inner, Real) or (isinstance(inner, sp.Expr) and inner.is_number):
            raise ProblemError(
                f"{what} is the number {inner}, which holds no field, so nothing can satisfy it; write the "
                "equation with the fields, e.g. sp.Eq(-u.diff(x, 2) - u.diff(y, 2), f). A derivative with "
                "respect to a symbol the fields do not take (u.diff(z)) is also the number 0."
            )
        if isinstance(inner, sp.Rel) and not isinstance(inner, sp.Eq):
            raise ProblemError(
                f"{what} is the inequality {inner}; an equation is sp.Eq(lhs, rhs) or an expression meaning "
                "expression = 0. To enforce it on part of the domain only, use pk.Equation(eq, on=...)."
            )
        if not isinstance(inner, (sp.Eq, sp.Expr)):
            raise ProblemError(
                f"{what} is {_shown(inner)}, which is not an equation; write sp.Eq(lhs, rhs) or an expression "
                "meaning expression = 0, built from the fields and coordinates with sympy."
            )
        if not inner.atoms(sp.core.function.AppliedUndef):
            raise ProblemError(
                f"{what} is {inner}, which holds no field, so the network cannot satisfy it; write the "
                f"equation with the fields {', '.join(map(str, self.fields))}."
            )

    def _check_exact_values(self):
        for key, value in (self.exact or {}).items():
            if isinstance(value, np.ndarray) and value.ndim == 0:
                value = value.item()
            number = isinstance(value, Real) and not isinstance(value, bool)
            if not (isinstance(value, sp.Expr) or callable(value) or number):
                raise ProblemError(
                    f"Problem(exact={{{key}: ...}}) is {_shown(value)}; give a sympy expression of the "
                    "coordinates (or a Python function of the coordinate arrays returning an array)."
                )

    def _expressions(self):
        """(description, sympy expression) for every equation, condition value and exact solution."""
        for i, eq in enumerate(self.equations):
            inner = eq.eq if isinstance(eq, Equation) else eq
            if isinstance(inner, sp.Basic):
                yield f"Equation {i + 1} of problem '{self.name}'", inner
        for j, c in enumerate(self.conditions):
            what = f"Condition {j + 1} ({c.describe()}) of problem '{self.name}'"
            for name in ("expr", "value", "flux", "a", "b", "g"):
                if isinstance(getattr(c, name, None), sp.Basic):
                    yield what, getattr(c, name)
        for key, value in (self.exact or {}).items():
            if isinstance(value, sp.Basic):
                yield f"The exact solution of {key} in problem '{self.name}'", value

    def _check_derivative_variables(self):
        """Every derivative is taken with respect to a coordinate (sympy makes others 0)."""
        coords = list(dict.fromkeys(a for f in self.fields for a in f.args))
        for what, expr in self._expressions():
            for d in expr.atoms(sp.Derivative):
                bad = [v for v in d.variables if v not in coords]
                if bad:
                    raise ProblemError(
                        f"{what} differentiates {d.expr} with respect to {bad[0]}, which is not a coordinate "
                        f"of the problem ({', '.join(map(str, coords))}), so the derivative would silently "
                        f"be 0; differentiate with respect to a coordinate, or add {bad[0]} to the fields' "
                        "arguments."
                    )

    def _check_vectors(self):
        if not isinstance(self.vectors, dict):
            raise ProblemError("Problem(vectors=...) must be a dict {name: (field, field, ...)}.")
        for name, parts in self.vectors.items():
            if not isinstance(name, str) or not name:
                raise ProblemError(f"Problem(vectors=...): the name {name!r} must be a non-empty string.")
            parts = tuple(parts) if isinstance(parts, (tuple, list)) else (parts,)
            if not 2 <= len(parts) <= 3 or any(p not in self.fields for p in parts):
                raise ProblemError(
                    f"Problem(vectors={{{name!r}: ...}}) must list 2 or 3 of the problem's fields "
                    f"{', '.join(map(str, self.fields))}, e.g. (u, v); got {parts!r}."
                )
            self.vectors[name] = parts

    def _set_time(self):
        from pinnkan.geometry.domain import Domain
        from pinnkan.geometry.spacetime import SpaceTime

        if not (isinstance(self.time, (tuple, list)) and len(self.time) == 3 and isinstance(self.time[0], sp.Symbol)):
            raise ProblemError("Problem(time=...) must be (t, t0, t1) with t a sympy symbol, e.g. time=(t, 0, 1).")
        t = self.time[0]
        try:
            t0, t1 = float(self.time[1]), float(self.time[2])
        except (TypeError, ValueError):
            raise ProblemError(f"Problem(time=...): t0 and t1 must be numbers, got {self.time[1:]!r}.") from None
        if self.fields[0].args[-1:] != (t,):
            raise ProblemError(
                f"Problem(time=({t}, ...)): the fields must take time as their last argument, e.g. "
                f"u = sp.Function('u')(x, {t}); got {self.fields[0]}."
            )
        if isinstance(self.domain, SpaceTime) and (self.domain.t0, self.domain.t1) != (t0, t1):
            raise ProblemError(
                f"Problem(time=({t}, {t0:g}, {t1:g})) disagrees with the domain {self.domain!r}; give the "
                "spatial domain and let time=... build the space-time cylinder."
            )
        if not isinstance(self.domain, SpaceTime):
            if not isinstance(self.domain, Domain):
                raise ProblemError(f"Problem(domain=...) must be a pinnkan domain, got {self.domain!r}.")
            self.domain = SpaceTime(self.domain, t0, t1)
        self.time = (t, t0, t1)

    @property
    def time_symbol(self) -> sp.Symbol | None:
        return self.time[0] if self.time else None

    @property
    def spatial_domain(self):
        """The domain in space (the domain itself for a steady problem)."""
        return self.domain.space if self.time else self.domain

    @property
    def coordinates(self) -> tuple[sp.Symbol, ...]:
        """The coordinate symbols: the arguments of the first field, in order."""
        return tuple(self.fields[0].args)

    @property
    def field_names(self) -> list[str]:
        return [f.func.__name__ for f in self.fields]
