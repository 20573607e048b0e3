"""Accuracy metrics of a trained model on a dense evaluation set.

For each field u with an exact solution u*, on M evaluation points independent of the
collocation points:

    rel_l2(u)        = ||u - u*||_2 / ||u*||_2
    max_abs_error(u) = max_i |u(x_i) - u*(x_i)|

and for each equation the root-mean-square PDE residual on the same points.
"""

from __future__ import annotations

import math

import torch

from pinnkan.evaluation.residuals import TermPoints, residual


def field_errors(compiled, pred: torch.Tensor, points: torch.Tensor) -> tuple[dict, dict]:
    """(rel_l2, max_abs_error) per field name; pred and points are (M, F) and (M, d).
    Points where a field's exact solution is nan (off its subdomain) are left out."""
    exact = compiled.exact_values(points)
    rel, mx = {}, {}
    if exact is None:
        return rel, mx
    for f in compiled.exact:
        ok = torch.isfinite(exact[:, f])  # an exact solution may be undefined (nan) off its subdomain
        diff = pred[ok, f] - exact[ok, f]
        norm = float(torch.linalg.norm(exact[ok, f]))
        name = compiled.field_names[f]
        rel[name] = float(torch.linalg.norm(diff)) / norm if norm > 0 else float(torch.linalg.norm(diff))
        mx[name] = float(diff.abs().max())
    return rel, mx


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
    rel, mx = field_errors(compiled, pred, points)
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
    if not all(math.isfinite(v) for v in rms):
        out["note"] = "non-finite residuals on the evaluation set"
    return out
