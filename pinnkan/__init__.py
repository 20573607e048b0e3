"""pinnkan: solve PDEs written in sympy with physics-informed Kolmogorov-Arnold Networks.

    import pinnkan as pk
    problem = pk.load_problem("problems/poisson2d.py")
    result = pk.solve(problem, model="kan")
    print(result.metrics["rel_l2"]); result.export("solution.vtu")
"""

from pinnkan.errors import OptionError, PinnkanError, ProblemError, TrainingError
from pinnkan.geometry import Box, Disk, Domain, Interval, MeshDomain, Polygon, Rectangle
from pinnkan.problem.loading import load_problem
from pinnkan.networks import KAN, MLP
from pinnkan.geometry.spacetime import SpaceTime
from pinnkan.problem.definition import (Condition, Data, Dirichlet, Equation, Initial, Interface, Neumann, Periodic, Problem,
                      Robin)
from pinnkan.output.model_file import load_model
from pinnkan.output.result import Result
from pinnkan.solver import SolveOptions, check_options, solve

__version__ = "0.1.0"

__all__ = [
    "Box", "Condition", "Data", "Dirichlet", "Disk", "Domain", "Equation", "Initial", "Interface", "Interval", "KAN", "MLP", "MeshDomain",
    "Neumann", "OptionError", "Periodic", "PinnkanError", "Polygon", "Problem", "ProblemError", "Rectangle",
    "Result", "Robin", "SolveOptions", "SpaceTime", "TrainingError", "check_options", "load_model",
    "load_problem", "solve",
]
