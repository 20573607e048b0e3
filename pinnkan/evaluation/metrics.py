"""Accuracy metrics of a trained model on a dense evaluation set.

For each field u with an exact solution u*, on M evaluation points independent of the
collocation points:

    rel_l2(u)        = ||u - u*||_2 / ||u*||_2
    max_abs_error(u) = max_i |u(x_i) - u*(x_i)|

and for each equation the root-mean-square PDE residual on the same points. An exact solution
may be nan off its support (a field's subdomain, a ``pk.Scattered`` reference outside its hull):
the errors are then taken where it is finite, ``error_coverage`` gives that fraction of the M
points per field (reported when some fraction is below 1), and a warning is issued below 0.5
(except for a field written nan off its own subdomain).
"""

from __future__ import annotations

import math
import warnings

import torch

from pinnkan.evaluation.residuals import TermPoints, residual

MIN_COVERAGE = 0.5  # below this fraction of the evaluation points with a reference, warn


def field_errors(compiled, pred: torch.Tensor, points: torch.Tensor) -> tuple[dict, dict]:
    """(rel_l2, max_abs_error) per field name; pred and points are (M, F) and (M, d).
    Points where a field's exact solution is nan (off its subdomain) are left out."""
    rel, mx, _ = field_errors_and_coverage(compiled, pred, points)
    return rel, mx


def field_errors_and_coverage(compiled, pred: torch.Tensor, points: torch.Tensor) -> tuple[dict, dict, dict]:
    """(rel_l2, max_abs_error, coverage) per field name: errors over the points where the exact
    solution is finite, and the fraction of the M points where it is. A field whose exact
    solution is nowhere finite gets coverage 0 and no errors."""
    exact = compiled.exact_values(points)
    rel, mx, coverage = {}, {}, {}
    if exact is None:
        return rel, mx, coverage
    for f in compiled.exact:
        ok = torch.isfinite(exact[:, f])  # an exact solution may be undefined (nan) off its subdomain
        name = compiled.field_names[f]
        coverage[name] = float(ok.double().mean()) if ok.numel() else 0.0
        if not bool(ok.any()):
            continue
        diff = pred[ok, f] - exact[ok, f]
        norm = float(torch.linalg.norm(exact[ok, f]))
        rel[name] = float(torch.linalg.norm(diff)) / norm if norm > 0 else float(torch.linalg.norm(diff))
        mx[name] = float(diff.abs().max())
    return rel, mx, coverage


def coverage_warnings(coverage: dict) -> list[str]:
    """One message per field whose errors were measured on less than half the points."""
    return [
        f"the exact solution of {name} is defined (finite) on only {100 * frac:.0f}% of the evaluation points, "
        "so its errors describe that part of the domain only"
        for name, frac in coverage.items() if frac < MIN_COVERAGE
    ]


def _unknown_support(compiled, coverage: dict) -> dict:
    """The coverage of the fields whose reference is not nan by design: a field written nan off
    its subdomain (``sp.nan`` in its exact solution, without a table) is left out."""
    by_design = {compiled.field_names[f] for f in
                 set(getattr(compiled, "partial_exact", ())) - set(getattr(compiled, "tabulated_exact", ()))}
    return {name: frac for name, frac in coverage.items() if name not in by_design}


def equation_residuals(compiled, model, engine, points: torch.Tensor) -> torch.Tensor:
    """Residual of every equation at ``points`` (M, d), shape (M, n_equations)."""
    cols = []
    for term in compiled.equations:
        r = residual(compiled, model, engine, TermPoints(term, points), create_graph=False).detach()
        if term.select is not None:  # an equation of a subdomain: zero outside it
            mask = torch.as_tensor(term.select(points.detach().cpu().numpy()), device=r.device)
            r = torch.where(mask, r, torch.zeros_like(r))
        cols.append(r)
    return torch.stack(cols, dim=1)


def evaluate(compiled, model, engine, points: torch.Tensor) -> dict:
    """All metrics at evaluation ``points`` (M, d) as a JSON-ready dict."""
    with torch.no_grad():
        pred = model(points)
    rel, mx, coverage = field_errors_and_coverage(compiled, pred, points)
    res = equation_residuals(compiled, model, engine, points)
    rms = [float(torch.sqrt((res[:, i] ** 2).mean())) for i in range(res.shape[1])]
    out = {
        "residual_rms": {t.label: v for t, v in zip(compiled.equations, rms)},
        "mean_residual": float(res.abs().mean()),
        "n_eval_points": int(points.shape[0]),
    }
    if rel:
        out["rel_l2"] = rel
        out["max_abs_error"] = mx
    if any(frac < 1 for frac in coverage.values()):
        out["error_coverage"] = coverage
    for message in coverage_warnings(_unknown_support(compiled, coverage)):
        warnings.warn(message, stacklevel=2)
    if not all(math.isfinite(v) for v in rms):
        out["note"] = "non-finite residuals on the evaluation set"
    return out
