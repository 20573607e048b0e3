"""Figures: training history, 2D fields, 1D profiles and error against wall time.

Figures are built as standalone :class:`matplotlib.figure.Figure` objects with constrained
layout, rendered by the Agg canvas, so pyplot's global state and backend are left alone and no
window is opened. Each ``*_figure`` function builds and returns the Figure; each ``plot_*``
function builds it, writes it atomically (the format follows the file suffix, e.g. ``.png``,
at :data:`DPI` dots per inch, so a W x H inch figure is 110 W x 110 H pixels), releases it and
returns the written path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.tri import Triangulation

from pinnkan.output.atomic import atomic_path

DPI = 110
SIGN_TOL = 5e-2  # a field "changes sign" when both signs reach this fraction of its amplitude
DECAY_RATIO = 10.0  # amplitudes spanning more than this factor get a colour range per frame
PANEL_WIDTH = 4.3  # inches per 2D panel, colourbar included
AXES_WIDTH = 2.6  # inches of that left to the axes box (ticks, labels and colourbar take the rest)


def new_figure(width: float, height: float) -> Figure:
    """An empty width x height inch Figure with constrained layout on an Agg canvas."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` atomically to ``path`` at :data:`DPI`, then release it."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=DPI)
    finally:
        fig.clear()
    return path


def figure_title(fig: Figure, text: str):
    """Bold figure title (returned), kept clear of the panel titles below it (constrained
    layout pads the panels by 0.1 inch vertically; its default 1/24 inch lets the two touch)."""
    fig.get_layout_engine().set(h_pad=0.1)
    return fig.suptitle(text, fontweight="bold")


def _positive(values) -> np.ndarray:
    """Float array with non-positive and non-finite entries replaced by NaN (gaps on log axes)."""
    a = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


# ---------------------------------------------------------------------------- colour scales
def colour_limits(frames) -> tuple[list[tuple[float, float]], bool, bool]:
    """Colour limits for a sequence of arrays (one per frame or panel).

    With a_k = max |v_k| the amplitude of frame k: the scale is symmetric, [-a, a], when some
    frame reaches both signs beyond ``SIGN_TOL * a_k``; it is per frame (a = a_k, or
    [min v_k, max v_k]) when max a_k > ``DECAY_RATIO`` * min a_k, else one range for all frames.
    Returns (limits per frame, symmetric, per_frame). NaN entries are ignored.
    """
    vals = [np.asarray(v, dtype=np.float64) for v in frames]
    lo = np.array([_nan_or(np.nanmin, v, 0.0) for v in vals])
    hi = np.array([_nan_or(np.nanmax, v, 0.0) for v in vals])
    amp = np.maximum(np.abs(lo), np.abs(hi))
    symmetric = bool(np.any((lo < -SIGN_TOL * amp) & (hi > SIGN_TOL * amp)))
    per_frame = bool(amp.max() > DECAY_RATIO * amp.min()) if len(vals) > 1 else False
    if symmetric:
        a = amp if per_frame else np.full_like(amp, amp.max())
        pairs = [(-x, x) for x in a]
    elif per_frame:
        pairs = list(zip(lo, hi))
    else:
        pairs = [(lo.min(), hi.max())] * len(vals)
    return [_widen(float(a), float(b)) for a, b in pairs], symmetric, per_frame


def _nan_or(reduce, v: np.ndarray, default: float) -> float:
    finite = v[np.isfinite(v)]
    return float(reduce(finite)) if finite.size else default


def _widen(lo: float, hi: float) -> tuple[float, float]:
    """A non-empty interval: [lo, hi] itself, or padded around a constant value."""
    if hi > lo:
        return lo, hi
    pad = 0.05 * abs(lo) or 1.0
    return lo - pad, hi + pad


def colourbar(fig: Figure, image, ax, label: str | None = None):
    """A colourbar beside ``ax`` whose ticks carry their own scale ("%.3g": 0.25, 4e-06), so no
    offset text ("1e-6" above the bar) widens it and pushes it away from its panel."""
    bar = fig.colorbar(image, ax=ax, shrink=0.9, format=FuncFormatter(_tick))
    if label:
        bar.set_label(label)
    return bar


def _tick(value: float, _pos=None) -> str:
    """Colourbar tick label: 3 significant digits, a true minus sign."""
    return f"{value:.3g}".replace("-", "\u2212")


def colour_map(symmetric: bool) -> str:
    """Diverging map for a sign-changing (symmetric) scale, sequential otherwise."""
    return "RdBu_r" if symmetric else "viridis"


# ---------------------------------------------------------------------------- history
def history_figure(history: dict) -> Figure:
    """Losses (and, if given, the error per field) against step on log axes.

    ``history`` has "step" (list[int]) and "loss" (list[float], the weighted training loss);
    optional: "terms" ({term label: per-step mean square}, drawn thin, and their sum, the
    unweighted PDE loss, which an exact refinement leaves unchanged), "error" ({field: per-step
    relative L2 error}), "level_starts" (steps where a new level starts, dotted lines), "grids"
    (grid of each level, labelling those lines) and "weight_steps" (steps where the loss weights
    were updated, marked on the loss axis).
    """
    steps = np.asarray(history["step"])
    errors = {k: v for k, v in (history.get("error") or {}).items() if len(v) == len(steps)}
    fig = new_figure(11.0 if errors else 7.0, 5.0)
    axes = fig.subplots(1, 2 if errors else 1, squeeze=False)[0]
    _draw_losses(axes[0], steps, history)
    for i, (name, values) in enumerate(errors.items()):
        axes[1].plot(steps, _positive(values), color=f"C{i + 3}", label=f"relative L2 error: {name}")
    if errors:
        axes[1].set_title("validation error")
        axes[1].set_ylabel("relative L2 error")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, which="major", alpha=0.3)
        _draw_levels(ax, history.get("level_starts") or [], history.get("grids"))
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize="small")
    return fig


def _draw_losses(ax, steps: np.ndarray, history: dict) -> None:
    """Weighted loss, unweighted PDE loss (sum of the terms) and each term's mean square."""
    terms = {k: v for k, v in (history.get("terms") or {}).items() if len(v) == len(steps)}
    ax.plot(steps, _positive(history["loss"]), color="C0", linewidth=1.8, label="training loss (weighted)")
    if terms:
        pde = np.sum([np.asarray(v, dtype=np.float64) for v in terms.values()], axis=0)
        ax.plot(steps, _positive(pde), color="C1", linewidth=1.8,
                label="PDE loss (unweighted sum of mean squares)")
        for i, (name, values) in enumerate(terms.items()):
            ax.plot(steps, _positive(values), color="0.55", linewidth=0.8, linestyle=("--", ":", "-.")[i % 3],
                    label=f"mean square: {name}")
    ws = sorted(set(history.get("weight_steps") or []))
    if ws:
        ax.plot(ws, [1.0] * len(ws), linestyle="none", marker="v", color="C0", markersize=6, clip_on=False,
                transform=ax.get_xaxis_transform(), label="loss weights updated")
    ax.set_title("loss")
    ax.set_ylabel("loss")


def _draw_levels(ax, level_starts, grids) -> None:
    """A dotted vertical line at each refinement, labelled by the grid(s) it starts (levels that
    start at the same step, e.g. when the time budget ran out, share one line and label)."""
    names = [str(grids[i + 1]) if grids is not None and i + 1 < len(grids) else f"level {i + 1}"
             for i in range(len(level_starts))]
    at: dict = {}
    for s, name in zip(level_starts, names):
        at.setdefault(s, []).append(name)
    for s, group in at.items():
        label = ("grid " if grids else "") + " → ".join(group)
        ax.axvline(s, color="0.35", linestyle=":", linewidth=1.0)
        ax.text(s, 0.02, f" {label}", transform=ax.get_xaxis_transform(), rotation=90, ha="right", va="bottom",
                fontsize="small", color="0.25")
    if level_starts and grids:
        ax.text(0.01, 0.02, f"grid {grids[0]}", transform=ax.transAxes, ha="left", va="bottom",
                fontsize="small", color="0.25")


def plot_history(history: dict, path) -> Path:
    """Write :func:`history_figure` to ``path``."""
    return save_figure(history_figure(history), path)


# ---------------------------------------------------------------------------- 2D fields
def fields_2d_figure(points, triangles, fields: dict, title: str | None = None,
                     labels: tuple[str, str] = ("x", "y"), same_scale=()) -> Figure:
    """One coloured panel with a colourbar per field on the 2D points (P, 2).

    ``triangles`` is an int array (T, 3) of point indices, or None to triangulate the points
    (Delaunay). Each field has shape (P,); ``labels`` name the two axes (equal scales when they
    are both space, "x" and "y"). ``same_scale``: groups (tuples) of field names drawn on one
    colour range, e.g. a field and its exact solution. A field that changes sign gets a
    symmetric diverging scale. Non-finite values (a field's exact solution off its subdomain)
    are left blank.
    """
    pts = np.asarray(points, dtype=np.float64)
    tri = Triangulation(pts[:, 0], pts[:, 1], None if triangles is None else np.asarray(triangles))
    equal = tuple(labels) == ("x", "y")
    n = max(len(fields), 1)
    fig = new_figure(PANEL_WIDTH * n, panel_height(pts, equal, title))
    axes = fig.subplots(1, n, squeeze=False)[0]
    scales = _shared_scales(fields, same_scale)
    for ax, (name, values) in zip(axes, fields.items()):
        (lo, hi), symmetric = scales[name]
        image = _tripcolor(ax, tri, np.asarray(values, dtype=np.float64), lo, hi, colour_map(symmetric))
        colourbar(fig, image, ax)
        ax.set_title(name)
        ax.set_aspect("equal" if equal else "auto")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    if title:
        figure_title(fig, title)
    return fig


def panel_height(pts: np.ndarray, equal: bool, title: str | None) -> float:
    """Figure height (inches) holding an axes box AXES_WIDTH wide at the data's aspect, its
    title and x label, and the figure title."""
    aspect = np.ptp(pts[:, 1]) / max(np.ptp(pts[:, 0]), 1e-300) if equal else 0.8
    return float(np.clip(AXES_WIDTH * aspect, 1.6, 5.5)) + 0.9 + (0.35 if title else 0.0)


def _shared_scales(fields: dict, same_scale) -> dict:
    """{name: ((lo, hi), symmetric)}: one colour range per group of ``same_scale``, else per field."""
    groups = [tuple(g) for g in same_scale if all(k in fields for k in g)]
    grouped = {k for g in groups for k in g}
    groups += [(k,) for k in fields if k not in grouped]
    out = {}
    for g in groups:
        pooled = np.concatenate([np.asarray(fields[k], dtype=np.float64).ravel() for k in g])
        (lims,), symmetric, _ = colour_limits([pooled])
        out.update({k: (lims, symmetric) for k in g})
    return out


def _tripcolor(ax, tri: Triangulation, v: np.ndarray, lo: float, hi: float, cmap: str):
    """Gouraud-shaded colour map of v (P,) on ``tri``; triangles touching a non-finite value are masked."""
    bad = ~np.isfinite(v)
    if bad.any():
        tri = Triangulation(tri.x, tri.y, tri.triangles, mask=bad[tri.triangles].any(axis=1))
        v = np.where(bad, 0.0, v)
    return ax.tripcolor(tri, v, shading="gouraud", cmap=cmap, vmin=lo, vmax=hi)


def plot_fields_2d(points, triangles, fields: dict, path, title: str | None = None,
                   labels: tuple[str, str] = ("x", "y"), same_scale=()) -> Path:
    """Write :func:`fields_2d_figure` to ``path``."""
    return save_figure(fields_2d_figure(points, triangles, fields, title, labels, same_scale), path)


# ---------------------------------------------------------------------------- 1D profiles
def profile_1d_figure(x, curves: dict, title: str | None = None, errors: dict | None = None,
                      xlabel: str = "x", ylabel: str | None = None) -> Figure:
    """Curves (each of shape (P,)) against x (P,), one line each, sorted by x; a curve whose name
    ends in "exact" is drawn dashed black over the (coloured, solid) curve before it. With ``errors``
    ({name: (P,)}) a second panel draws those on a log axis."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x)
    fig = new_figure(11.0 if errors else 6.0, 4.2)
    axes = fig.subplots(1, 2 if errors else 1, squeeze=False)[0]
    colour = -1
    for name, values in curves.items():
        exact = str(name).endswith("exact")
        colour += 0 if exact and colour >= 0 else 1
        y = np.asarray(values, dtype=np.float64).ravel()[order]
        axes[0].plot(x[order], y, color="k" if exact else f"C{colour}", linestyle="--" if exact else "-",
                     linewidth=1.2 if exact else 2.2, label=name)
    axes[0].set_ylabel(ylabel or ", ".join(curves))
    if errors:
        axes[0].set_title("solution")
    for i, (name, values) in enumerate((errors or {}).items()):
        axes[1].plot(x[order], _positive(np.asarray(values).ravel()[order]), color=f"C{i + 3}", label=name)
    if errors:
        axes[1].set_yscale("log")
        axes[1].set_ylabel("absolute error")
        axes[1].set_title("error")
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        if errors:
            figure_title(fig, title)
        else:
            axes[0].set_title(title)
    return fig


def plot_profile_1d(x, curves: dict, path, title: str | None = None, errors: dict | None = None,
                    xlabel: str = "x", ylabel: str | None = None) -> Path:
    """Write :func:`profile_1d_figure` to ``path``."""
    return save_figure(profile_1d_figure(x, curves, title, errors, xlabel, ylabel), path)


# ---------------------------------------------------------------------------- error vs time
def error_vs_time_figure(series: dict, title: str | None = None) -> Figure:
    """Error against wall time on a log-y axis: per label (model) one colour, a thin line per
    seed and, for several seeds, their mean as a thick line.

    ``series`` maps a label to a list of runs, one per seed: (times, errors) or
    (times, errors, seed). A run without its seed is named by its position (run 1, 2, ...).
    The mean is taken on the time interval all of a label's runs cover, each run interpolated
    linearly in log(error) (as drawn on the log axis), then averaged arithmetically.
    """
    fig = new_figure(7.5, 5.2)
    ax = fig.subplots()
    styles = ("--", ":", "-.", (0, (5, 1, 1, 1)))
    for i, (label, runs) in enumerate(series.items()):
        for j, run in enumerate(runs):
            name = f"seed {run[2]}" if len(run) > 2 else f"run {j + 1}"
            ax.plot(np.asarray(run[0], dtype=np.float64), _positive(run[1]), color=f"C{i}", alpha=0.75,
                    linewidth=1.0, linestyle=styles[j % len(styles)], label=f"{label}: {name}")
        mean = mean_over_runs(runs) if len(runs) > 1 else None
        if mean is not None:
            kind = "seeds" if all(len(run) > 2 for run in runs) else "runs"
            ax.plot(*mean, color=f"C{i}", linewidth=2.4, label=f"{label}: mean of {len(runs)} {kind}")
    ax.set_yscale("log")
    ax.set_xlabel("wall time [s]")
    ax.set_ylabel("relative L2 error (worst field)")
    ax.grid(True, which="major", alpha=0.3)
    if series:
        fig.legend(loc="outside lower center", fontsize="small", ncols=min(2, len(series)))
    if title:
        ax.set_title(title)
    return fig


def mean_over_runs(runs, n: int = 200) -> tuple[np.ndarray, np.ndarray] | None:
    """(times (n,), mean error (n,)) of the runs [(times, errors, ...)] on the interval they all
    cover; None when they share no interval. Each run is interpolated linearly in log(error)
    over its positive finite points."""
    curves = []
    for run in runs:
        t, e = np.asarray(run[0], dtype=np.float64), _positive(run[1])
        ok = np.isfinite(t) & np.isfinite(e)
        if ok.sum() < 2:
            return None
        order = np.argsort(t[ok])
        curves.append((t[ok][order], np.log(e[ok][order])))
    start, stop = max(c[0][0] for c in curves), min(c[0][-1] for c in curves)
    if not stop > start:
        return None
    grid = np.linspace(start, stop, n)
    return grid, np.mean([np.exp(np.interp(grid, t, le)) for t, le in curves], axis=0)


def plot_error_vs_time(series: dict, path, title: str | None = None) -> Path:
    """Write :func:`error_vs_time_figure` to ``path``."""
    return save_figure(error_vs_time_figure(series, title), path)
