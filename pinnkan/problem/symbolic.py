"""Compile sympy expressions into torch functions.

:func:`compile_expression` walks a sympy expression tree once and returns a closure that
evaluates it on tensors: ``f(env) -> Tensor``, where ``env`` maps symbol names to tensors of a
common shape (e.g. ``(N,)`` for N points). Constants are broadcast to that shape. Every sympy
node is mapped to one torch operation, so the result is differentiable by autograd and runs on
any device and dtype. Unsupported functions raise :class:`~pinnkan.errors.ProblemError` at
compile time, naming the function.

:func:`compile_relation` does the same for a boolean (relations, And/Or/Not), comparing with a
tolerance: it selects boundary parts such as ``sp.Eq(x, -1)`` or ``y > 0``.

Tabulated functions (:mod:`pinnkan.problem.tables`: ``pk.Table``, ``pk.Scattered``) and their
derivatives are evaluated by their interpolant on the (N,) tensors of their arguments.
"""

from __future__ import annotations

from typing import Callable, Mapping

import sympy as sp
import torch

from pinnkan.errors import ProblemError
from pinnkan.problem.tables import TabulatedFunction

Env = Mapping[str, torch.Tensor]
TensorFn = Callable[[Env], torch.Tensor]

_UNARY = {
    sp.sin: torch.sin, sp.cos: torch.cos, sp.tan: torch.tan,
    sp.asin: torch.asin, sp.acos: torch.acos, sp.atan: torch.atan,
    sp.sinh: torch.sinh, sp.cosh: torch.cosh, sp.tanh: torch.tanh,
    sp.asinh: torch.asinh, sp.acosh: torch.acosh, sp.atanh: torch.atanh,
    sp.exp: torch.exp, sp.log: torch.log, sp.Abs: torch.abs, sp.sign: torch.sign,
    sp.erf: torch.special.erf, sp.floor: torch.floor, sp.ceiling: torch.ceil,
    sp.sec: lambda a: 1 / torch.cos(a), sp.csc: lambda a: 1 / torch.sin(a),
    sp.cot: lambda a: 1 / torch.tan(a),
}


def _reference(env: Env) -> torch.Tensor:
    for value in env.values():
        return value
    raise ValueError("cannot evaluate a constant expression without any input tensor")


def _as_tensor(value, env: Env) -> torch.Tensor:
    """Broadcast a float or tensor to the shape, dtype and device of the inputs in ``env``."""
    ref = _reference(env)
    if isinstance(value, torch.Tensor):
        if value.shape == ref.shape:
            return value
        return value.to(ref.dtype).expand(ref.shape).clone()
    return torch.full_like(ref, float(value))


def compile_expression(expr, names: set[str] | None = None, what: str = "expression") -> TensorFn:
    """Compile ``expr`` into ``f(env) -> Tensor`` with the shape of the tensors in ``env``.

    ``names``, when given, is the set of symbol names ``env`` will provide; a free symbol outside
    it raises :class:`ProblemError` (``what`` names the expression in the message).
    """
    expr = sp.sympify(expr)
    if names is not None:
        unknown = sorted(str(s) for s in expr.free_symbols if s.name not in names)
        if unknown:
            raise ProblemError(
                f"The {what} uses the symbol(s) {', '.join(unknown)}, which are neither coordinates "
                f"nor fields (the coordinates are {', '.join(sorted(n for n in names if not n.startswith('_')))}). "
                "Use only the coordinates and fields of the problem, or give the symbol a numeric value."
            )
    node = _compile(expr, what, tol=0.0)
    return lambda env: _as_tensor(node(env), env)


def compile_relation(rel, names: set[str], tol: float, what: str) -> TensorFn:
    """Compile a sympy boolean into ``f(env) -> bool Tensor``.

    Comparisons use the tolerance ``tol``: ``Eq(a, b)`` is ``|a - b| <= tol``, ``a >= b`` is
    ``a - b >= -tol``, ``a > b`` is ``a - b > tol`` (and likewise ``<=``, ``<``).
    """
    rel = sp.sympify(rel)
    if isinstance(rel, sp.Symbol) or not isinstance(rel, (sp.logic.boolalg.Boolean, sp.Rel)):
        raise ProblemError(
            f"The {what} is {rel!r}, which is not a relation or boolean of the coordinates; "
            "write e.g. on=sp.Eq(x, -1) or on=(y > 0)."
        )
    unknown = sorted(str(s) for s in rel.free_symbols if s.name not in names)
    if unknown:
        raise ProblemError(
            f"The {what} uses the symbol(s) {', '.join(unknown)}, which are not coordinates "
            f"({', '.join(sorted(names))}); select boundary parts with the coordinates only."
        )
    node = _compile(rel, what, tol=tol)

    def evaluate(env: Env) -> torch.Tensor:
        value = node(env)
        if isinstance(value, torch.Tensor):
            return value.expand(_reference(env).shape)
        return torch.full(_reference(env).shape, bool(value), dtype=torch.bool)

    return evaluate


def _compile(expr, what: str, tol: float):
    """Return ``node(env)`` giving a tensor or a Python scalar for ``expr``."""
    if expr is sp.true or expr is sp.false:
        value = bool(expr)
        return lambda env: value
    if expr in (sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise ProblemError(f"The {what} contains the non-finite constant {expr}; fix the expression.")
    if isinstance(expr, sp.Symbol):
        name = expr.name
        return lambda env: env[name]
    if expr.is_Number or isinstance(expr, sp.NumberSymbol):
        if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            raise ProblemError(f"The {what} contains the non-finite constant {expr}; fix the expression.")
        value = float(expr)
        return lambda env: value
    if isinstance(expr, sp.Piecewise):
        return _piecewise(expr, what, tol)
    args = [_compile(a, what, tol) for a in expr.args]
    if isinstance(expr, sp.Add):
        def add(env):
            total = args[0](env)
            for a in args[1:]:
                total = total + a(env)
            return total
        return add
    if isinstance(expr, sp.Mul):
        def mul(env):
            total = args[0](env)
            for a in args[1:]:
                total = total * a(env)
            return total
        return mul
    if isinstance(expr, sp.Pow):
        base, exponent = args
        e = expr.exp
        if e == sp.Rational(1, 2):
            return lambda env: torch.sqrt(_tensorize(base(env), env))
        if e.is_Integer:
            n = int(e)
            return lambda env: base(env) ** n
        return lambda env: torch.pow(_tensorize(base(env), env), exponent(env))
    if isinstance(expr, TabulatedFunction):
        return _tabulated(expr, args)
    func = type(expr)
    if func in _UNARY:
        op = _UNARY[func]
        (a,) = args
        return lambda env: op(_tensorize(a(env), env))
    if func is sp.atan2:
        a, b = args
        return lambda env: torch.atan2(_tensorize(a(env), env), _tensorize(b(env), env))
    if func in (sp.Min, sp.Max):
        return _fold(args, torch.minimum if func is sp.Min else torch.maximum, _tensorize)
    if func is sp.Heaviside:
        a = args[0]
        half = float(expr.args[1]) if len(expr.args) > 1 else 0.5
        return lambda env: torch.heaviside(_tensorize(a(env), env), torch.tensor(half, dtype=_reference(env).dtype, device=_reference(env).device))
    if isinstance(expr, sp.Rel):
        a, b = args
        ops = {
            sp.Eq: lambda d: d.abs() <= tol,
            sp.Ne: lambda d: d.abs() > tol,
            sp.Ge: lambda d: d >= -tol,
            sp.Gt: lambda d: d > tol,
            sp.Le: lambda d: d <= tol,
            sp.Lt: lambda d: d < -tol,
        }
        op = ops[func]
        return lambda env: op(_tensorize(a(env), env) - _tensorize(b(env), env))
    if isinstance(expr, (sp.And, sp.Or)):
        return _fold(args, torch.logical_and if isinstance(expr, sp.And) else torch.logical_or, _tensorize_bool)
    if isinstance(expr, sp.Not):
        return lambda env: torch.logical_not(_tensorize_bool(args[0](env), env))
    raise ProblemError(
        f"The {what} uses {func.__name__}, which pinnkan cannot evaluate on tensors. Supported: "
        "+, -, *, /, powers, sqrt, exp, log, trigonometric (also sec, csc, cot, atan2) and "
        "hyperbolic functions and their inverses, Abs, sign, erf, floor, ceiling, Min, Max, "
        "Heaviside, Piecewise and tables (pk.Table, pk.Scattered); rewrite the expression with these."
    )


def _tabulated(expr: TabulatedFunction, args):
    """A table (or one of its derivatives) at its arguments, each broadcast to (N,)."""
    table, alpha = expr.table, expr.alpha

    def tabulated(env):
        return table.evaluate([_as_tensor(a(env), env) for a in args], alpha)

    return tabulated


def _fold(args, op, convert):
    """node(env) = op(...op(op(a0, a1), a2)..., an), each argument converted to a tensor."""

    def fold(env):
        out = convert(args[0](env), env)
        for a in args[1:]:
            out = op(out, convert(a(env), env))
        return out

    return fold


def _piecewise(expr, what: str, tol: float):
    """Piecewise((e1, c1), (e2, c2), ...): the first piece whose condition holds, by torch.where.

    Where no condition holds the value is nan, as in sympy (a Piecewise whose last condition is
    True, its default piece, has a value everywhere).
    """
    pieces = [(_compile(e, what, tol), _compile(c, what, tol)) for e, c in expr.args]
    has_default = expr.args[-1].cond is sp.true

    def piecewise(env):
        out = None if has_default else _as_tensor(float("nan"), env)
        for value, cond in reversed(pieces):
            v = _tensorize(value(env), env)
            if out is None:
                out = v  # the default piece
            else:
                out = torch.where(_tensorize_bool(cond(env), env), v, out)
        return out

    return piecewise


def _tensorize(value, env: Env) -> torch.Tensor:
    return value if isinstance(value, torch.Tensor) else _as_tensor(value, env)


def _tensorize_bool(value, env: Env) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.full(_reference(env).shape, bool(value), dtype=torch.bool, device=_reference(env).device)
