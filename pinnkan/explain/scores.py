"""Importance scores of a KAN's edges and nodes (Liu et al. 2024, section 2.5.1).

The L1 norm of edge (l, j, i) over the points x_s that the network is read on,
|phi_lji|_1 = mean_s |phi_lji(z_li(x_s))|, z_l the inputs of layer l; node i of layer l
(l = 0 the inputs, L the outputs) has the incoming score I_li = max_k |phi_{l-1,i,k}|_1 and the
outgoing score O_li = max_j |phi_{l,j,i}|_1 (undefined: None for inputs and outputs
respectively); a hidden node matters when both are above a threshold.
"""

from __future__ import annotations

import numpy as np
import torch

from pinnkan.errors import OptionError
from pinnkan.evaluation.residuals import kan_edge_l1


def is_kan(model) -> bool:
    """Whether ``model`` is a pinnkan KAN (layers of spline edges behind an input normalisation)."""
    layers = getattr(model, "layers", None)
    return (hasattr(model, "normalize") and layers is not None and len(layers) > 0
            and all(hasattr(layer, "coef") and hasattr(layer, "basis") for layer in layers))


def check_kan(model, what: str = "explain") -> None:
    """OptionError unless ``model`` is a KAN."""
    if not is_kan(model):
        raise OptionError(f"{what} reads the edges of a KAN; this network is a {type(model).__name__} "
                          f"({getattr(model, 'describe', lambda: '')()}), which has no edge functions to read. "
                          "Train a KAN (--model kan) to explain it.")


def as_points(model, points) -> torch.Tensor:
    """``points`` (N, d) as a tensor of the model's dtype and device."""
    p = next(model.parameters())
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64), dtype=p.dtype, device=p.device)
    if pts.ndim != 2 or pts.shape[1] != model.widths[0]:
        raise OptionError(f"The points to read the KAN on must have shape (n, {model.widths[0]}), "
                          f"got {tuple(pts.shape)}.")
    return pts


def edge_scores(model, points) -> list[np.ndarray]:
    """|phi_lji|_1 over ``points`` (N, d): one array (out, in) per layer."""
    check_kan(model)
    with torch.no_grad():
        return [a.double().cpu().numpy() for a in kan_edge_l1(model, as_points(model, points))]


def node_scores(scores: list[np.ndarray]) -> list[dict]:
    """Per node layer l = 0..L: {"in": I_l (n_l,) or None, "out": O_l (n_l,) or None,
    "score": min of the defined ones} from the edge scores of :func:`edge_scores`."""
    out = []
    for l in range(len(scores) + 1):
        incoming = scores[l - 1].max(axis=1) if l > 0 else None
        outgoing = scores[l].max(axis=0) if l < len(scores) else None
        both = [s for s in (incoming, outgoing) if s is not None]
        out.append({"in": incoming, "out": outgoing, "score": np.minimum.reduce(both)})
    return out
