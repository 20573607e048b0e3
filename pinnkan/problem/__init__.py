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
from pinnkan.problem.tables import Scattered, Table

__all__ = ["Condition", "Data", "Dirichlet", "Equation", "Initial", "Interface", "Neumann", "Periodic", "Problem",
           "Robin", "Scattered", "Table"]
