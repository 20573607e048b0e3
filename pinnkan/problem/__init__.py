"""The problem side: what a user writes and what it compiles to.

- :mod:`~pinnkan.problem.definition`: ``Problem`` and its conditions (plain sympy, checked on
  construction);
- :mod:`~pinnkan.problem.loading`: running a problem file and finding its ``problem``;
- :mod:`~pinnkan.problem.symbolic`: sympy expressions -> torch functions of the field
  derivatives;
- :mod:`~pinnkan.problem.compile`: a ``Problem`` -> loss terms that know the derivatives they
  need.
"""

from pinnkan.problem.definition import (Condition, Data, Dirichlet, Equation, Initial, Interface, Neumann, Periodic,
                                        Problem, Robin)

__all__ = ["Condition", "Data", "Dirichlet", "Equation", "Initial", "Interface", "Neumann", "Periodic", "Problem",
           "Robin"]
