"""Reading a trained KAN: the network picture, pruning, and the symbolic formula.

``explain(model, problem=...)`` (:mod:`pinnkan.explain.pipeline`) and ``explain_run(run_dir)``
(:mod:`pinnkan.explain.run`); the pieces: edge and node scores (:mod:`.scores`), the picture
(:mod:`.picture`), pruning and fine-tuning (:mod:`.prune`), the function library and edge fits
(:mod:`.library`), the composed formula (:mod:`.symbolic`), constant refinement and
simplification (:mod:`.refine`) and formula.txt / formula.json (:mod:`.report`).
"""

from pinnkan.explain.pipeline import Explanation, explain
from pinnkan.explain.report import read_formulas
from pinnkan.explain.run import explain_run, read_run

__all__ = ["Explanation", "explain", "explain_run", "read_formulas", "read_run"]
