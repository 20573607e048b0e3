"""A formula as a torch module, its constants refined on the PDE loss, and its simplification.

The numbers of a sympy formula u(x) become trainable parameters theta (``FormulaModel``), so the
PDE loss L(theta) = sum_t w_t mean_i r_t(x_i)^2 of the compiled problem can be minimised over
them by L-BFGS, exactly as for a network. Simplification: sympy's ``simplify`` on formulas of
modest size, then each constant snapped to a nearby simple number (a small-denominator
fraction, or such a fraction times pi) when within ``tolerance`` of it; the snapped formula is
kept only when it stays as close to the reference values as the unsnapped one (within a
factor 2, or 1e-12 absolute).
"""

from __future__ import annotations

import math

import sympy as sp
import torch
from torch import nn

from pinnkan.problem.symbolic import compile_expression


class FormulaModel(nn.Module):
    """u(x) (N, d) -> (N, n_fields) of the sympy ``formulas`` in the ``coordinates``, every
    Float constant a parameter ``theta`` (float64 unless ``dtype``)."""

    def __init__(self, formulas, coordinates, dtype=torch.float64, device="cpu"):
        super().__init__()
        self.names = [str(c) for c in coordinates]
        floats = sorted({f for e in formulas for f in e.atoms(sp.Float)}, key=lambda f: (float(f), str(f)))
        self.symbols = [sp.Symbol(f"_theta{k}") for k in range(len(floats))]
        swap = dict(zip(floats, self.symbols))
        self.templates = [e.xreplace(swap) for e in formulas]
        self.theta = nn.Parameter(torch.tensor([float(f) for f in floats], dtype=dtype, device=device))
        names = set(self.names) | {s.name for s in self.symbols}
        self._fns = [compile_expression(e, names, "formula") for e in self.templates]

    def forward(self, x):
        env = {n: x[:, i] for i, n in enumerate(self.names)}
        n = x.shape[0]
        for k, s in enumerate(self.symbols):
            env[s.name] = self.theta[k].expand(n)
        out = [f(env) if f is not None else torch.zeros(n, dtype=x.dtype, device=x.device) for f in self._fns]
        return torch.stack([o.expand(n) if o.dim() == 0 else o for o in out], dim=1)

    def formulas(self) -> list[sp.Expr]:
        """The formulas with the current constants."""
        values = {s: sp.Float(float(v)) for s, v in zip(self.symbols, self.theta.detach().cpu())}
        return [e.xreplace(values) for e in self.templates]


def refine_constants(formulas, coordinates, compiled, engine, domain, steps: int = 200, n_interior: int = 1024,
                     n_boundary: int = 256, seed: int = 0):
    """The ``formulas`` with their constants refined by ``steps`` L-BFGS iterations on the PDE
    loss of ``compiled`` at collocation points of ``domain``; returns (formulas, loss before,
    loss after). The loss is computed by the problem's own residuals through ``engine``."""
    from pinnkan.evaluation.residuals import sample_points, total_loss
    from pinnkan.geometry.sampling import CollocationSampler

    model = FormulaModel(formulas, coordinates)
    if model.theta.numel() == 0 or steps <= 0:
        return list(formulas), None, None
    sampler = CollocationSampler(domain, method="sobol", seed=seed)
    data = sample_points(compiled, sampler, n_interior, n_boundary, model.theta.dtype, model.theta.device)

    def loss():
        return total_loss(compiled, model, engine, data)[0]

    before = float(loss().detach())
    best = (before, model.theta.detach().clone())
    opt = torch.optim.LBFGS([model.theta], lr=1.0, max_iter=steps, history_size=50, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-15, tolerance_change=1e-18)

    def closure():
        opt.zero_grad(set_to_none=True)
        value = loss()
        value.backward()
        return value

    try:
        opt.step(closure)
    except RuntimeError:
        pass
    after = float(loss().detach())
    if not (math.isfinite(after) and after <= best[0]):
        with torch.no_grad():
            model.theta.copy_(best[1])
        after = before
    return model.formulas(), before, after


def snap_number(value: float, tolerance: float = 1e-6, max_denominator: int = 12) -> sp.Expr | None:
    """A simple number p/q or p/q * pi (q <= ``max_denominator``) within ``tolerance`` (relative,
    absolute below 1) of ``value``, or None."""
    if not math.isfinite(value):
        return None
    tol = tolerance * max(1.0, abs(value))
    for unit, sym in ((1.0, sp.Integer(1)), (math.pi, sp.pi)):
        for q in range(1, max_denominator + 1):
            p = round(value * q / unit)
            if abs(p * unit / q - value) <= tol:
                return sp.Rational(p, q) * sym
    return None


def snapped(expr: sp.Expr, tolerance: float = 1e-6) -> sp.Expr:
    """``expr`` with every Float replaced by :func:`snap_number` where one is close enough."""
    swap = {}
    for f in expr.atoms(sp.Float):
        s = snap_number(float(f), tolerance)
        if s is not None:
            swap[f] = s
    return expr.xreplace(swap)


def simplify_formula(expr: sp.Expr, max_ops: int = 400) -> sp.Expr:
    """sympy's ``simplify`` when the formula has at most ``max_ops`` operations, else expanded
    sums merged (``sympy.Add`` flattening only)."""
    if sp.count_ops(expr) <= max_ops:
        try:
            return sp.simplify(expr)
        except (RecursionError, TypeError, ValueError):
            return expr
    return expr
