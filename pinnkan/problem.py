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
is the job of :mod:`pinnkan.compile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import sympy as sp

from .errors import ProblemError


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
        if isinstance(self.equations, (sp.Expr, sp.Eq)):
            self.equations = [self.equations]
        if isinstance(self.conditions, Condition):
            self.conditions = [self.conditions]
        self.fields = [_as_field(f, "each entry of Problem(fields=...)") for f in self.fields]
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

    @property
    def coordinates(self) -> tuple[sp.Symbol, ...]:
        """The coordinate symbols: the arguments of the first field, in order."""
        return tuple(self.fields[0].args)

    @property
    def field_names(self) -> list[str]:
        return [f.func.__name__ for f in self.fields]
