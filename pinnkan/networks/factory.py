"""Networks from plain data: the one place that turns a network description into a module.

A description is a dict of plain values (what ``model.pt`` stores and
:func:`pinnkan.solver.SolveOptions` fills in)::

    {"model": "kan" | "mlp", "widths": [d, ..., n_fields], "grid": G, "degree": k,
     "spline_basis": "bspline" | "relu", "free_knots": bool, "activation": "tanh", ...}
"""

from __future__ import annotations

import torch

from pinnkan.errors import OptionError
from pinnkan.networks.constraints import embedded_bounds, embedded_width, wrap
from pinnkan.networks.kan import KAN
from pinnkan.networks.mlp import MLP

NETWORK_KEYS = ("model", "widths", "grid", "degree", "spline_basis", "free_knots", "activation")


def build_network(spec: dict, bounds, dtype: torch.dtype, device: torch.device, constraint: dict | None = None):
    """The network of description ``spec`` (see module docstring), inputs normalised from the
    domain box ``bounds`` = (lo, hi), each of length d. ``constraint``: a description of
    :class:`pinnkan.networks.constraints.ConstrainedNetwork` (conditions imposed exactly), whose
    periodic embedding gives the inner network d + n_periodic inputs on the embedded box."""
    if constraint:
        periodic = constraint.get("periodic", [])
        widths = [embedded_width(len(bounds[0]), periodic), *list(spec["widths"])[1:]]
        inner = build_network({**spec, "widths": widths}, embedded_bounds(bounds, periodic), dtype, device)
        return wrap(inner, constraint)
    if spec["model"] == "kan":
        net = KAN(spec["widths"], grid=spec["grid"], degree=spec["degree"], bounds=bounds, dtype=dtype,
                  spline_basis=spec.get("spline_basis", "bspline"), free_knots=bool(spec.get("free_knots", False)))
    else:
        net = MLP(spec["widths"], activation=spec.get("activation", "tanh"), bounds=bounds, dtype=dtype)
    return net.to(device)


def check_network(spec: dict, dim: int, n_fields: int, levels=None) -> None:
    """The checks of a network description that need no construction: widths from ``dim``
    inputs to ``n_fields`` outputs, a spline degree 1..7, and multilevel ``levels`` positive,
    increasing and nested (each grid a multiple of the one before). Raises OptionError."""
    widths = spec["widths"]
    if widths[0] != dim or widths[-1] != n_fields:
        raise OptionError(
            f"Network widths {widths} must start with the number of coordinates ({dim}) and end "
            f"with the number of fields ({n_fields}); e.g. {[dim, 10, n_fields]}."
        )
    if any(w < 1 for w in widths) or len(widths) < 2:
        raise OptionError(f"Network widths {widths} must be at least two positive integers.")
    if levels is not None:
        if any(g < 1 for g in levels) or any(b <= a for a, b in zip(levels, levels[1:])):
            raise OptionError(f"Levels {list(levels)} must be positive and strictly increasing, e.g. 4,8,16.")
        bad = [(a, b) for a, b in zip(levels, levels[1:]) if b % a]
        if bad:
            raise OptionError(
                f"Level grid {bad[0][1]} is not a refinement of grid {bad[0][0]}: each grid must be a "
                "multiple of the previous one (e.g. 4,8,16) so that the knots are nested."
            )
    if spec["grid"] < 1:
        raise OptionError(f"Option grid must be >= 1, got {spec['grid']}.")
    if not 1 <= spec["degree"] <= 7:
        raise OptionError(f"Spline degree must be between 1 and 7, got {spec['degree']}.")


def n_parameters(net) -> int:
    """Trainable scalars of ``net``: its ``n_params`` (KAN, MLP), else the count of its
    parameters that require gradients (a user's own module)."""
    return int(getattr(net, "n_params", sum(p.numel() for p in net.parameters() if p.requires_grad)))


def attach_parameters(net, parameters: dict, dtype, device) -> None:
    """Give ``net`` the unknown constants of an inverse problem as trainable parameters
    ``net.problem_parameters[name]`` (shape (1,)), initialised to their guesses."""
    if parameters:
        net.problem_parameters = torch.nn.ParameterDict({
            k: torch.nn.Parameter(torch.tensor([v], dtype=dtype, device=device)) for k, v in parameters.items()})


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (``cuda:N``) or ``auto`` (cuda when available, else cpu)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise OptionError(f"Unknown device {name!r}; use cpu, cuda, cuda:N or auto.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OptionError(
            f"Device {name!r} was asked for but torch finds no CUDA GPU here; use --device cpu "
            "(or auto), or install a CUDA build of torch on a machine with a GPU."
        )
    if device.type not in ("cpu", "cuda"):
        raise OptionError(f"Unsupported device {name!r}; use cpu, cuda or auto.")
    return device
