"""pinnkan: solve PDEs written in sympy with physics-informed Kolmogorov-Arnold Networks.

    import pinnkan as pk
    problem = pk.load_problem("problems/poisson2d.py")
    result = pk.solve(problem, model="kan")
    print(result.metrics["rel_l2"]); result.export("solution.vtu")

The names below are imported on first use, so that ``import pinnkan`` (and ``pinnkan --help``)
does not wait for torch, sympy and scipy.
"""

from importlib import import_module

__version__ = "0.1.0"

_WHERE = {  # public name -> module that defines it
    **dict.fromkeys(["OptionError", "PinnkanError", "ProblemError"], "pinnkan.errors"),
    **dict.fromkeys(["Ball", "Box", "Cylinder", "Disk", "Domain", "Ellipse", "Interval", "MeshDomain", "Polygon",
                     "Rectangle", "Sphere"], "pinnkan.geometry"),
    "SpaceTime": "pinnkan.geometry.spacetime",
    "load_problem": "pinnkan.problem.loading",
    **dict.fromkeys(["Scattered", "Table"], "pinnkan.problem.tables"),
    **dict.fromkeys(["Condition", "Data", "Dirichlet", "Equation", "Initial", "Interface", "Neumann", "Periodic",
                     "Problem", "Robin"], "pinnkan.problem.definition"),
    **dict.fromkeys(["KAN", "MLP"], "pinnkan.networks"),
    "load_model": "pinnkan.output.model_file",
    "explain": "pinnkan.explain",
    "Result": "pinnkan.output.result",
    **dict.fromkeys(["SolveOptions", "check_options", "solve"], "pinnkan.solver"),
    "Callback": "pinnkan.training.callbacks",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'pinnkan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
