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

from dataclasses import dataclass, field
from typing import Any, Sequence

import sympy as sp

from pinnkan.errors import ProblemError


def _as_field(f: Any, what: str) -> sp.Expr:
    if not (isinstance(f, sp.Expr) and isinstance(getattr(f, "func", None), sp.core.function.UndefinedFunction)):
        raise ProblemError(
            f"{what} must be a field, i.e. an applied sympy function such as "
            f"u = sp.Function('u')(x, y); got {f!r}."
        )
    return f


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
        self.weight = float(weight)
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
        self.value = sp.sympify(value)


class Robin(Condition):
    """``a * field + b * grad(field) . n = g`` on the selected boundary (a, b, g numbers or sympy)."""

    kind = "Robin"

    def __init__(self, field, a, b, g=0, on=None, weight=1.0, label=None):
        super().__init__(field, on=on, weight=weight, label=label)
        self.a, self.b, self.g = sp.sympify(a), sp.sympify(b), sp.sympify(g)
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
        fields = [a for a in sp.sympify(expr).atoms(sp.core.function.AppliedUndef)]
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
        self.value = sp.sympify(value)

    def describe(self) -> str:
        return self.label or f"Initial({self.expr})"


class Periodic(Condition):
    """``field`` periodic in ``coordinate``: values and first derivatives along it match on
    the two opposite faces of a box-shaped (space) domain."""

    kind = "Periodic"

    def __init__(self, field, coordinate, weight=1.0, label=None):
        super().__init__(field, on=None, weight=weight, label=label)
        if not isinstance(coordinate, sp.Symbol):
            raise ProblemError(f"Periodic(field, coordinate) needs a coordinate symbol such as x, got {coordinate!r}.")
        self.coordinate = coordinate

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
        self.eq, self.on, self.weight, self.label = eq, on, float(weight), label

    def __repr__(self) -> str:
        return f"Equation({self.eq}, on={self.on})"


class Interface(Condition):
    """``residual = 0`` on an interior surface ``on = sp.Eq(coordinate, value)`` such as x = 0:
    continuity ``u1 - u2`` or flux balance ``k1 * u1.diff(x) - k2 * u2.diff(x)`` between the
    fields of two subdomains. ``residual`` is an expression or sp.Eq of fields and derivatives."""

    kind = "Interface"

    def __init__(self, residual, on, weight=1.0, label=None):
        expr = residual.lhs - residual.rhs if isinstance(residual, sp.Eq) else sp.sympify(residual)
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
        self.flux = sp.sympify(flux)


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
        self.fields = [_as_field(f, "each entry of Problem(fields=...)") for f in self.fields]
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
