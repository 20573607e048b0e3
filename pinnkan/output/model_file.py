"""``model.pt``: a trained network saved as plain data and loaded without running code.

The file is a ``torch.save`` of a dict of tensors and plain values only::

    {"format": "pinnkan-model", "version": 3,
     "network": {"model", "widths", "grid", "degree", ...},   # see pinnkan.networks.factory
     "dtype": "float64", "bounds": ([lo...], [hi...]), "parameters": [names],
     "architecture": str, "options": {...}, "state_dict": {name: tensor}}

A model joined from time windows (:class:`~pinnkan.networks.windowed.WindowedModel`, new in
version 3) also has ``"windows": {"edges": [t_0, ..., t_K], "axis": time column}``: K networks
of the one description, window k's on the domain box with time in [t_k, t_{k+1}].

A network with conditions imposed exactly
(:class:`~pinnkan.networks.constraints.ConstrainedNetwork`: periodic embedding, hard Dirichlet
and exact initial values) is stored as version 3 with ``"constraint": {...}``, its plain-data
description (sympy expressions as nested lists of names and numbers).

so :func:`load_model` reads it with ``torch.load(weights_only=True)``: a file that holds
anything else (a pickled object, which could run code on loading) is refused. Files of
version 1 (options only, no ``network`` entry) and 2 (no time windows) load too.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch

from pinnkan.errors import PinnkanError
from pinnkan.networks.constraints import ConstrainedNetwork
from pinnkan.networks.factory import NETWORK_KEYS, attach_parameters, build_network, resolve_device
from pinnkan.networks.windowed import WindowedModel, window_box
from pinnkan.output.atomic import atomic_path, plain

FORMAT = "pinnkan-model"
VERSION = 3
_PREFIX = "problem_parameters."


def save_model(path, model, options: dict, bounds, architecture: str) -> Path:
    """Write ``model`` (its state dict) with its description to ``path``, atomically.

    ``options``: the completed solve options as a dict of plain values; the network of the last
    level is described by ``options["grid"]``. ``bounds``: the domain box (lo, hi)."""
    lo, hi = bounds
    network = {k: options[k] for k in NETWORK_KEYS if k in options}
    saved = {"format": FORMAT, "version": VERSION, "network": plain(network), "dtype": options.get("dtype", "float64"),
             "bounds": (list(map(float, lo)), list(map(float, hi))),
             "parameters": sorted(k[len(_PREFIX):] for k in model.state_dict() if k.startswith(_PREFIX)),
             "architecture": architecture, "options": plain(options), "state_dict": model.state_dict()}
    if isinstance(model, WindowedModel):
        saved.update(windows={"edges": [float(e) for e in model.edges], "axis": model.axis})
    constraint = _constraint_of(model)
    if constraint is not None:
        saved.update(version=3, constraint=plain(constraint))
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(saved, tmp)
    return path


def _constraint_of(model) -> dict | None:
    """The exact-constraint description of ``model`` (of its first window when windowed), or None."""
    if isinstance(model, WindowedModel):
        model = model.windows[0]
    return model.description if isinstance(model, ConstrainedNetwork) else None


def load_plain_file(path: Path, error: type[Exception], what: str, remedy: str):
    """``torch.load(path, weights_only=True)``: tensors and plain data only, nothing run.

    A file that holds another Python object (which could run code when unpickled) is refused,
    and one that cannot be read (truncated, not a torch file) is reported: both as ``error``
    naming the ``what`` and the file, followed by ``remedy``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found is not None:
            raise error(
                f"The {what} {path} was refused: it holds a Python object ({found.group(1)}) besides tensors and "
                f"plain data, which could run code when loaded, so nothing in it was run. {remedy}"
            ) from None
        detail = "it is not a torch file"
    except Exception as exc:  # truncated file, not a torch file, ...
        detail = f"{type(exc).__name__}: {exc}"
    raise error(f"The {what} {path} could not be read ({detail}); it is not a complete {what} written by "
                f"pinnkan. {remedy}")


def read_model_file(path) -> dict:
    """The dict stored in ``path`` by :func:`save_model`, read with ``weights_only=True``.
    Raises :class:`PinnkanError` naming the file when it is missing, not a model file, or holds
    objects other than tensors and plain data (nothing in it is run)."""
    path = Path(path)
    if not path.is_file():
        raise PinnkanError(f"The model file {path} does not exist; give the model.pt of a run folder.")
    saved = load_plain_file(path, PinnkanError, "model file",
                            "Load only model files written by pinnkan, or ask whoever sent it for the run folder.")
    if not isinstance(saved, dict) or "state_dict" not in saved or not ("network" in saved or "options" in saved):
        raise PinnkanError(f"The model file {path} is not a pinnkan model file (no network description).")
    if saved.get("version", 1) > VERSION:
        raise PinnkanError(f"The model file {path} has format version {saved['version']}; this pinnkan reads "
                           f"versions up to {VERSION}. Update pinnkan to load it.")
    return saved


def load_model(path, device: str = "cpu"):
    """Rebuild the trained network saved as ``model.pt`` by :meth:`Result.save`."""
    saved = read_model_file(path)
    network = saved.get("network") or {k: saved["options"][k] for k in NETWORK_KEYS if k in saved["options"]}
    dtype_name = saved.get("dtype") or saved["options"].get("dtype", "float64")
    dtype = torch.float64 if dtype_name == "float64" else torch.float32
    dev = resolve_device(device)
    windows = saved.get("windows")
    if windows is not None:
        edges, axis = windows["edges"], int(windows["axis"])
        nets = [build_network(network, window_box(saved["bounds"], axis, a, b), dtype, dev, saved.get("constraint"))
                for a, b in zip(edges[:-1], edges[1:])]
        net = WindowedModel(nets, edges, axis)
    else:
        net = build_network(network, saved["bounds"], dtype, dev, saved.get("constraint"))
    names = saved.get("parameters")
    if names is None:
        names = [k[len(_PREFIX):] for k in saved["state_dict"] if k.startswith(_PREFIX)]
    attach_parameters(net, {k: 0.0 for k in names}, dtype, dev)
    net.load_state_dict(saved["state_dict"])
    return net
