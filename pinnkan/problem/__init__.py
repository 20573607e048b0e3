"""The problem side: what a user writes and what it compiles to.

- :mod:`~pinnkan.problem.definition`: ``Problem`` and its conditions (plain sympy, checked on
  construction);
- :mod:`~pinnkan.problem.loading`: running a problem file and finding its ``problem``;
- :mod:`~pinnkan.problem.symbolic`: sympy expressions -> torch functions of the field
  derivatives;
- :mod:`~pinnkan.problem.compile`: a ``Problem`` -> loss terms that know the derivatives they
  need;
- :mod:`~pinnkan.problem.tables`: ``Table`` and ``Scattered``, data arrays used as sympy
  functions of the coordinates.
"""

from pinnkan.problem.definition import (Condition, Data, Dirichlet, Equation, Initial, Interface, Neumann, Periodic,
                                        Problem, Robin)

__all__ = ["Condition", "Data", "Dirichlet", "Equation", "Initial", "Interface", "Neumann", "Periodic", "Problem",
           "Robin", "Scattered", "Table"]


def __getattr__(name: str):
    """``Table`` and ``Scattered`` on first use (they need torch; a problem file without
    tables loads without it)."""
    if name in ("Scattered", "Table"):
        from pinnkan.problem import tables

        return getattr(tables, name)
    raise AttributeError(f"module 'pinnkan.problem' has no attribute {name!r}")
