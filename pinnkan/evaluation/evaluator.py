"""One object for the residuals, losses and metrics of (compiled problem, model, engine).

Training, the outputs and the metrics evaluate through an :class:`Evaluator` instead of passing
the triple around; it is also the one place where a distributed run would split the points of
each term among processes.
"""

from __future__ import annotations

import torch

from pinnkan.evaluation import metrics as _metrics
from pinnkan.evaluation.residuals import TermPoints, residual, total_loss


class Evaluator:
    """Evaluates ``model`` on ``compiled`` with the derivative ``engine``.

    - :meth:`residual`: one term's residual (N,) at its points;
    - :meth:`loss`: (sum_t w_t mean_i r_t(x_i)^2, {term label: mean square});
    - :meth:`equation_residuals`: every equation at points (M, d) -> (M, n_equations);
    - :meth:`metrics`: the error metrics of :func:`pinnkan.evaluation.metrics.evaluate`.
    """

    def __init__(self, compiled, model, engine):
        self.compiled, self.model, self.engine = compiled, model, engine

    def residual(self, tp: TermPoints, create_graph: bool = True) -> torch.Tensor:
        return residual(self.compiled, self.model, self.engine, tp, create_graph=create_graph)

    def loss(self, data: list[TermPoints], weights: dict | None = None):
        return total_loss(self.compiled, self.model, self.engine, data, weights)

    def equation_residuals(self, points: torch.Tensor) -> torch.Tensor:
        return _metrics.equation_residuals(self.compiled, self.model, self.engine, points)

    def metrics(self, points: torch.Tensor) -> dict:
        return _metrics.evaluate(self.compiled, self.model, self.engine, points)
