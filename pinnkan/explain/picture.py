"""The picture of a KAN: nodes in rows (inputs at the bottom, outputs at the top), and between two
rows one small box per edge showing its function phi_lji over the range its input actually
takes on the points read; lines run from node i up to the box and on to node j. The opacity of
an edge (box, curve and lines) is its L1 score over the largest score of its layer, so
unimportant edges fade out; pruned (zero) edges are not drawn. Any depth and width.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pinnkan.evaluation.residuals import kan_layer_inputs
from pinnkan.explain.scores import as_points, check_kan, edge_scores
from pinnkan.explain.symbolic import _single_edge
from pinnkan.output.atomic import atomic_path

DEFAULT_SIZE = (1600, 1000)  # pixels (width, height)


def edge_curves(model, points, n: int = 60) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer: (t (in, n), phi (out, in, n)) with t spanning the range of each input of the
    layer on ``points`` and phi the edge functions there."""
    out = []
    with torch.no_grad():
        inputs = kan_layer_inputs(model, as_points(model, points))
        for layer, z in zip(model.layers, inputs):
            lo, hi = z.min(0).values, z.max(0).values
            u = torch.linspace(0, 1, n, dtype=z.dtype, device=z.device)
            t = lo[:, None] + (hi - lo)[:, None] * u  # (in, n)
            phi = torch.stack([torch.stack([_single_edge(layer, j, i, t[i]) for i in range(layer.in_features)])
                               for j in range(layer.out_features)])
            out.append((t.double().cpu().numpy(), phi.double().cpu().numpy()))
    return out


def network_figure(model, points, input_names=None, output_names=None, size=DEFAULT_SIZE, dpi: int = 100,
                   title: str | None = None) -> Figure:
    """The picture (module docstring) as a matplotlib Figure of ``size`` = (width, height) pixels."""
    check_kan(model, "the network picture")
    widths = model.widths
    scores = edge_scores(model, points)
    curves = edge_curves(model, points)
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.92 if title else 0.98))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.04, 1.04)
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    n_layers = len(widths) - 1
    row_y = np.linspace(0.0, 1.0, n_layers + 1)
    node_x = [(np.arange(w) + 0.5) / w for w in widths]
    names = {0: input_names or [f"x{i + 1}" for i in range(widths[0])],
             n_layers: output_names or [f"u{j + 1}" for j in range(widths[-1])]}
    for l, (ys, xs) in enumerate(zip(row_y, node_x)):
        ax.scatter(xs, np.full_like(xs, ys), s=30, c="black", zorder=3)
        for k, label in enumerate(names.get(l, [])):
            ax.annotate(str(label), (xs[k], ys), xytext=(0, -12 if l == 0 else 8), textcoords="offset points",
                        ha="center", va="top" if l == 0 else "bottom", fontsize=9)
    for l in range(n_layers):
        n_in, n_out = widths[l], widths[l + 1]
        s = scores[l]
        top = s.max() if s.max() > 0 else 1.0
        t, phi = curves[l]
        box_w = min(0.9 / (n_in * n_out), 0.08)
        gap = row_y[l + 1] - row_y[l]
        box_h = min(gap * 0.3, box_w * 1.6 * size[0] / size[1])
        by = row_y[l] + 0.5 * gap
        centres = (np.arange(n_in * n_out) + 0.5) / (n_in * n_out)
        for j in range(n_out):
            for i in range(n_in):
                if s[j, i] == 0:
                    continue
                alpha = float(np.clip(s[j, i] / top, 0.0, 1.0))
                bx = centres[j * n_in + i]
                kw = dict(color="tab:blue", alpha=alpha, lw=0.6)
                ax.plot([node_x[l][i], bx], [row_y[l], by - box_h / 2], **kw)
                ax.plot([bx, node_x[l + 1][j]], [by + box_h / 2, row_y[l + 1]], **kw)
                ax.add_patch(_box(bx - box_w / 2, by - box_h / 2, box_w, box_h, alpha))
                curve = phi[j, i]
                span = np.ptp(curve)
                v = (curve - curve.min()) / span if span > 0 else np.full_like(curve, 0.5)
                u = (t[i] - t[i].min()) / max(np.ptp(t[i]), 1e-300)
                ax.plot(bx - box_w / 2 + box_w * (0.1 + 0.8 * u), by - box_h / 2 + box_h * (0.1 + 0.8 * v),
                        color="black", alpha=alpha, lw=0.8)
    return fig


def _box(x, y, w, h, alpha):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, edgecolor="black", lw=0.5, alpha=alpha)


def draw_network(model, points, path, input_names=None, output_names=None, size=DEFAULT_SIZE, dpi: int = 100,
                 title: str | None = None) -> Path:
    """Write the picture of ``model`` read on ``points`` (N, d) to ``path`` (.png, exactly
    ``size`` = (width, height) pixels), atomically."""
    fig = network_figure(model, points, input_names, output_names, size, dpi, title)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return path
