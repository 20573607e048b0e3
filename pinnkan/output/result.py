"""The outcome of :func:`pinnkan.solve`: the trained model, its metrics and history, ``predict``.

The files of a run are written by :mod:`pinnkan.output.run_folder` (JSON, model.pt, VTU, PVD)
and :mod:`pinnkan.output.figures` (PNG, GIF); none is ever left half written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pinnkan.errors import OptionError
from pinnkan.evaluation.evaluator import Evaluator
from pinnkan.output.vtu import write_vtu

DEFAULT_RESOLUTION = {1: 1000, 2: 100, 3: 32}


class Result:
    """A trained physics-informed network and what was measured about it.

    Attributes: ``problem``, ``compiled``, ``model`` (the torch module), ``history``
    (:class:`~pinnkan.training.History`), ``metrics`` (dict, as written to metrics.json),
    ``options`` (the completed :class:`~pinnkan.solver.SolveOptions`).
    """

    def __init__(self, problem, compiled, model, engine, history, metrics, options):
        self.problem, self.compiled, self.model, self.engine = problem, compiled, model, engine
        self.history, self.metrics, self.options = history, metrics, options

    @property
    def evaluator(self) -> Evaluator:
        """The :class:`~pinnkan.evaluation.evaluator.Evaluator` of this result's model."""
        return Evaluator(self.compiled, self.model, self.engine)

    @property
    def field_names(self) -> list[str]:
        return self.compiled.field_names

    def _tensor(self, points) -> torch.Tensor:
        p = next(self.model.parameters())
        pts = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=p.dtype, device=p.device)
        if pts.ndim == 1 and self.compiled.dim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[1] != self.compiled.dim:
            raise OptionError(f"predict() needs points of shape (n, {self.compiled.dim}), got {tuple(pts.shape)}.")
        return pts

    def predict(self, points) -> np.ndarray:
        """Network prediction at ``points`` (n, d) as a float64 array (n, n_fields)."""
        with torch.no_grad():
            return self.model(self._tensor(points)).double().cpu().numpy()

    @property
    def allow_nonfinite(self) -> bool:
        """Whether exported point data may hold nan: after a run stopped by a non-finite loss, or
        where an exact solution is undefined (nan) off its field's subdomain."""
        return bool(self.metrics.get("stopped")) or bool(self.compiled.partial_exact)

    def fields_on(self, points, residuals: bool = True) -> dict[str, np.ndarray]:
        """Point data at ``points`` (n, d): each field, its exact solution and absolute error, and
        (unless ``residuals`` is False: they need the derivatives) the PDE residual of each
        equation (``residual`` or ``residual_1``, ``residual_2``, ...)."""
        pts = self._tensor(points)
        with torch.no_grad():
            pred = self.model(pts)
        data = {}
        exact = self.compiled.exact_values(pts)
        for f, name in enumerate(self.field_names):
            data[name] = pred[:, f].double().cpu().numpy()
            if exact is not None and f in self.compiled.exact:
                e = exact[:, f].double().cpu().numpy()
                data[f"{name}_exact"] = e
                data[f"{name}_abs_error"] = np.abs(data[name] - e)
        for vname, parts in (self.problem.vectors or {}).items():  # (P, 2 or 3) vector arrays
            data[vname] = np.stack([data[p.func.__name__] for p in parts], axis=1)
        if not residuals:
            return data
        res = self.evaluator.equation_residuals(pts).double().cpu().numpy()
        if res.shape[1] == 1:
            data["residual"] = res[:, 0]
        else:
            for i in range(res.shape[1]):
                data[f"residual_{i + 1}"] = res[:, i]
        return data

    def export(self, path, resolution: int | None = None) -> Path:
        """Write the solution on a mesh of the domain to ``path`` (.vtu) for ParaView.

        Non-finite values are an error, except for a run stopped by a non-finite loss, whose
        residual may legitimately be NaN somewhere: that is written as it is."""
        domain = self.problem.domain
        points, cells = domain.mesh(resolution or DEFAULT_RESOLUTION.get(domain.dim, 32))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return write_vtu(path, points, cells, self.fields_on(points), allow_nonfinite=self.allow_nonfinite)

    def export_time_series(self, path, n_times: int = 21, resolution: int | None = None) -> Path:
        """Time-dependent problems: ``path`` (.pvd, one animated dataset in ParaView) and one
        .vtu per time in the folder ``path.stem`` beside it. See :mod:`pinnkan.output.timeseries`."""
        from pinnkan.output.timeseries import export_time_series

        if self.problem.time is None:
            raise OptionError(f"Problem '{self.problem.name}' has no time; use export() for a single .vtu.")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return export_time_series(self, path, n_times, resolution)

    def summary(self) -> str:
        """One line: problem, model, errors, time."""
        m = self.metrics
        errs = ", ".join(f"rel_l2[{k}]={v:.2e}" for k, v in m.get("rel_l2", {}).items())
        parts = [f"{m['problem']}: {m['architecture']} ({m['n_params']} params)", errs or None,
                 f"residual={m['mean_residual']:.2e}", f"{m['wall_time_s']:.1f}s", f"{m['steps']} steps"]
        for k, v in m.get("parameters", {}).items():
            err = m.get("parameter_rel_error", {}).get(k)
            parts.append(f"{k}={v:.6g}" + (f" (rel error {err:.1e})" if err is not None else ""))
        best = m.get("best")
        if best and best["step"] != m["steps"]:
            parts.append(f"(model of step {best['step']}, lowest {best['by']})")
        if m.get("stopped"):
            parts.append(f"STOPPED: {m['stopped']}")
        if m.get("diverged"):
            parts.append(f"DIVERGED: {m['diverged']}")
        if m.get("interrupted"):
            parts.append(f"INTERRUPTED ({m['interrupted']}): the model of the last step taken")
        return "  ".join(p for p in parts if p)

    def explain(self, out_dir=None, **options):
        """The picture, the pruned network and the symbolic formula of this result's KAN
        (:func:`pinnkan.explain.explain` with this problem and options); files into ``out_dir``
        when given."""
        from pinnkan.explain import explain

        return explain(self.model, problem=self.problem, out_dir=out_dir, options=_plain_options(self.options),
                       **options)

    def save(self, out_dir, plots: bool = True, resolution: int | None = None) -> dict[str, Path]:
        """Write the run folder ``out_dir``: see :func:`pinnkan.output.run_folder.write_run`."""
        from pinnkan.output.run_folder import write_run

        return write_run(self, out_dir, plots=plots, resolution=resolution)


def _plain_options(options) -> dict | None:
    """The completed solve options as a dict (None when there are none)."""
    from dataclasses import asdict, is_dataclass

    return asdict(options) if is_dataclass(options) else (dict(options) if options else None)
