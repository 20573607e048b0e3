"""``explain``: the picture, the pruned network and the symbolic formula of a trained KAN.

In order: the network is read on points of its domain (the problem's evaluation points, else
points of its input box); the picture is drawn; edges with L1 score below ``threshold`` and the
nodes left without edges are pruned (:mod:`pinnkan.explain.prune`) and, with a problem, the
pruned network is fine-tuned on the PDE loss with the pruned edges held at zero; every edge of
the pruned network is fitted by the function library and the formula of the network composed
(:mod:`pinnkan.explain.symbolic`); with a problem its constants are refined on the PDE loss
(:mod:`pinnkan.explain.refine`); it is simplified; and its relative L2 error
||f - g||_2 / ||g||_2 is measured on the points against the network and against the exact
solution when the problem has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp
import torch

from pinnkan.explain.library import LIBRARY, library_of
from pinnkan.explain.picture import DEFAULT_SIZE, draw_network
from pinnkan.explain.prune import Pruned, fine_tune, prune
from pinnkan.explain.refine import FormulaModel, refine_constants, simplify_formula, snapped
from pinnkan.explain.report import formula_text, write_formulas
from pinnkan.explain.scores import as_points, check_kan, edge_scores, node_scores
from pinnkan.explain.symbolic import SymbolicEdge, compose, coordinate_symbols, fit_edges
from pinnkan.output.atomic import write_json

N_POINTS = 4096


@dataclass
class Explanation:
    """What :func:`explain` found: ``scores`` (edge L1 scores per layer of the trained network),
    ``pruned`` (:class:`~pinnkan.explain.prune.Pruned`), ``edges`` (the fit of each edge of the
    pruned network), ``formulas`` ({field: sympy expression}, simplified), ``report`` (plain
    data, as in formula.json) and ``paths`` (the files written)."""

    scores: list
    pruned: Pruned
    edges: list[SymbolicEdge]
    formulas: dict
    report: dict
    paths: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return formula_text(self.report)


def box_of(model) -> tuple[np.ndarray, np.ndarray]:
    """The input box (lo, hi) of a KAN's normalisation z = scale x + shift onto [-1, 1]."""
    n = model.normalize
    d = model.widths[0]
    if not getattr(n, "active", False):
        return -np.ones(d), np.ones(d)
    scale, shift = n.scale.double().cpu().numpy(), n.shift.double().cpu().numpy()
    return (-1.0 - shift) / scale, (1.0 - shift) / scale


def reading_points(model, problem=None, n: int = N_POINTS) -> np.ndarray:
    """Points (n, d) to read the network on: the evaluation points of the problem's domain, else
    seeded uniform points of the network's input box."""
    if problem is not None:
        return np.asarray(problem.domain.evaluation_points(n), dtype=np.float64)
    lo, hi = box_of(model)
    return np.random.default_rng(0).uniform(lo, hi, size=(n, len(lo)))


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b||_2 / ||b||_2 over the finite entries of b (a, b (N,))."""
    ok = torch.isfinite(b)
    return float(torch.linalg.norm(a[ok] - b[ok]) / torch.linalg.norm(b[ok]).clamp_min(1e-300))


def network_description(model, options: dict | None = None) -> dict:
    """The options of a model file for the KAN ``model`` (plain data), from ``options`` when given."""
    o = dict(options or {})
    o.update({"model": "kan", "widths": list(model.widths), "grid": int(model.grid), "degree": int(model.degree),
              "spline_basis": model.spline_basis, "free_knots": bool(model.free_knots)})
    o.pop("levels", None)
    return o


def explain(model, problem=None, points=None, out_dir=None, threshold: float = 1e-2, fine_tune_steps: int = 100,
            refine_steps: int = 100, library=None, picture: bool = True, size=DEFAULT_SIZE, options: dict | None = None,
            snap_tolerance: float = 1e-6, n_samples: int = 201, verbose: bool = False) -> Explanation:
    """Explain the trained KAN ``model`` (see the module docstring).

    ``problem``: the :class:`~pinnkan.Problem` it was trained on (for the fine-tune, the refined
    constants, the names and the exact solution; without it only the network itself is read).
    ``points`` (N, d): where to read it (default :func:`reading_points`). ``out_dir``: when given,
    network.png, pruned.png, model_pruned.pt, formula.txt, formula.json and explain.json are
    written there. ``library``: names of library functions (default all). ``options``: the run's
    options, stored in model_pruned.pt. ``model`` itself is not changed.
    """
    check_kan(model)
    lib = LIBRARY if library is None else library_of(library)
    compiled = engine = None
    if problem is not None:
        from pinnkan.derivatives.engines import get_engine
        from pinnkan.problem.compile import compile_problem

        compiled = compile_problem(problem)
        engine = get_engine("auto")
    pts = reading_points(model, problem) if points is None else np.asarray(points, dtype=np.float64)
    x = as_points(model, pts)
    coords = coordinate_symbols(compiled.coordinates if compiled else None, model.widths[0])
    fields = compiled.field_names if compiled else [f"u{j + 1}" if model.widths[-1] > 1 else "u"
                                                    for j in range(model.widths[-1])]
    out = Path(out_dir) if out_dir is not None else None
    paths = {}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)

    scores = edge_scores(model, pts)
    if out is not None and picture:
        paths["network_png"] = draw_network(model, pts, out / "network.png", [str(c) for c in coords], fields, size,
                                            title=f"{getattr(model, 'describe', lambda: 'KAN')()}: edges by L1 score")
    with torch.no_grad():
        reference = model(x)
    pruned = prune(model, pts, threshold)
    net = pruned.model
    with torch.no_grad():
        pruned_error = [rel_l2(net(x)[:, f], reference[:, f]) for f in range(len(fields))]
    say(f"pruned at threshold {threshold:g}: {pruned.removed_edges} edges and {pruned.removed_nodes} nodes removed, "
        f"widths {model.widths} -> {net.widths}, rel L2 against the trained network {max(pruned_error):.2e}")
    tuned = None
    if compiled is not None and fine_tune_steps > 0 and pruned.removed_edges > 0:
        history = fine_tune(net, pruned.masks, compiled, engine, problem.domain, fine_tune_steps)
        tuned = history.loss[-1] if history.loss else None
        say(f"fine-tuned the pruned network: {fine_tune_steps} L-BFGS steps, loss {tuned}")
    with torch.no_grad():
        net_values = net(x)
    exact = compiled.exact_values(x) if compiled is not None else None
    if out is not None:
        from pinnkan.output.model_file import save_model

        lo, hi = box_of(net)
        paths["model_pruned"] = save_model(out / "model_pruned.pt", net, network_description(net, options),
                                           (lo, hi), net.describe() + ", pruned")
        if picture and pruned.removed_edges:
            paths["pruned_png"] = draw_network(net, pts, out / "pruned.png", [str(c) for c in coords], fields, size,
                                               title=f"pruned: {net.describe()}")

    edges = fit_edges(net, pts, lib, n_samples)
    fitted = compose(net, edges, coords)
    loss_before = loss_after = None
    current = fitted
    if compiled is not None and refine_steps > 0:
        current, loss_before, loss_after = refine_constants(fitted, coords, compiled, get_autograd(),
                                                            problem.domain, refine_steps)
    formulas, field_reports = {}, {}
    for f, name in enumerate(fields):
        expr = simplify_formula(current[f])
        base_err = _formula_error(expr, coords, x, net_values[:, f])
        snap = snapped(expr, snap_tolerance)
        if snap != expr:
            snap = simplify_formula(snap)
            if _formula_error(snap, coords, x, net_values[:, f]) <= 2 * base_err + 1e-12:
                expr = snap
        formulas[name] = expr
        values = FormulaModel([expr], coords)(x)[:, 0].detach()
        rep = {"formula": str(expr), "srepr": sp.srepr(expr), "fitted": str(fitted[f]),
               "rel_l2_vs_network": rel_l2(values, net_values[:, f])}
        if exact is not None and torch.isfinite(exact[:, f]).any():
            rep["rel_l2_vs_exact"] = rel_l2(values, exact[:, f])
            rep["network_rel_l2_vs_exact"] = rel_l2(net_values[:, f], exact[:, f])
            rep["exact"] = str(problem.exact[problem.fields[f]]) if problem.exact.get(problem.fields[f]) is not None \
                else None
        field_reports[name] = rep
    report = {"fields": field_reports, "threshold": threshold, "widths": list(model.widths),
              "pruned_widths": list(net.widths), "removed_edges": pruned.removed_edges,
              "removed_nodes": pruned.removed_nodes, "pruned_rel_l2_vs_network": max(pruned_error),
              "fine_tune_steps": fine_tune_steps if tuned is not None else 0, "fine_tuned_loss": tuned,
              "loss_before_refinement": loss_before, "loss_after_refinement": loss_after,
              "edges": [e.as_dict() for e in edges],
              "edge_scores": [s.tolist() for s in scores],
              "node_scores": [n["score"].tolist() for n in node_scores(scores)]}
    if out is not None:
        paths.update(write_formulas(out, report))
        paths["explain_json"] = write_json(out / "explain.json", {k: v for k, v in report.items() if k != "fields"})
    return Explanation(scores, pruned, edges, formulas, report, paths)


def get_autograd():
    from pinnkan.derivatives.engines import get_engine

    return get_engine("autograd")


def _formula_error(expr, coords, x, ref) -> float:
    with torch.no_grad():
        values = FormulaModel([expr], coords, x.dtype, x.device)(x)[:, 0]
    return rel_l2(values, ref)
