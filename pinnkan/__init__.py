"""pinnkan: solve PDEs written in sympy with physics-informed Kolmogorov-Arnold Networks.

    import pinnkan as pk
    problem = pk.load_problem("problems/poisson2d.py")
    result = pk.solve(problem, model="kan")
    print(result.metrics["rel_l2"]); result.export("solution.vtu")
"""

from .errors import OptionError, PinnkanError, ProblemError, TrainingError
from .geometry import Box, Disk, Domain, Interval, Rectangle
from .loading import load_problem
from .networks import KAN, MLP
from .problem import Condition, Dirichlet, Neumann, Problem
from .result import Result, load_model
from .solver import SolveOptions, solve

__version__ = "0.1.0"

__all__ = [
    "Box", "Condition", "Dirichlet", "Disk", "Domain", "Interval", "KAN", "MLP", "Neumann",
    "OptionError", "PinnkanError", "Problem", "ProblemError", "Rectangle", "Result",
    "SolveOptions", "TrainingError", "load_model", "load_problem", "solve",
]
