"""Networks from plain data: the one place that turns a network description into a module.

A description is a dict of plain values (what ``model.pt`` stores and
:func:`pinnkan.solver.SolveOptions` fills in)::

    {"model": "kan" | "mlp", "widths": [d, ..., n_fields], "grid": G, "degree": k,
     "spline_basis": "bspline" | "relu", "free_knots": bool, "activation": "tanh", ...}
"""

from __future__ import annotations

import torch

from pinnkan.errors import OptionError
from pinnkan.networks.kan import KAN
from pinnkan.networks.mlp import MLP

NETWORK_KEYS = ("model", "widths", "grid", "degree", "spline_basis", "free_knots", "activation")


def build_network(spec: dict, bounds, dtype: torch.dtype, device: torch.device):
    """The network of description ``spec`` (see module docstring), inputs normalised from the
    domain box ``bounds`` = (lo, hi), each of length d."""
    if spec["model"] == "kan":
        net = KAN(spec["widths"], grid=spec["grid"], degree=spec["degree"], bounds=bounds, dtype=dtype,
                  spline_basis=spec.get("spline_basis", "bspline"), free_knots=bool(spec.get("free_knots", False)))
    else:
        net = MLP(spec["widths"], activation=spec.get("activation", "tanh"), bounds=bounds, dtype=dtype)
    return net.to(device)


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
