"""Residuals, losses and metrics of a (compiled problem, model, derivative engine).

- :mod:`~pinnkan.evaluation.residuals`: the points of each loss term, their residuals and the
  weighted loss, and :class:`~pinnkan.evaluation.residuals.Evaluator`, which holds the triple;
- :mod:`~pinnkan.evaluation.metrics`: errors against the exact solution and PDE residuals on an
  evaluation set.

Training (:mod:`pinnkan.training`) and the outputs (:mod:`pinnkan.output`) both evaluate
through here; nothing here imports either.
"""
