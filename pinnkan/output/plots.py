"""Figures: training history, 2D fields, 1D profiles and error against wall time.

Figures are built as standalone :class:`matplotlib.figure.Figure` objects rendered by the Agg
canvas, so pyplot's global state and backend are left alone and no window is opened; each
figure is written atomically (the format follows the file suffix, e.g. ``.png``) and then
released. Every function returns the written path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation

from pinnkan.output.atomic import atomic_path


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        fig.clear()
    return path


def _positive(values) -> np.ndarray:
    """Float array with non-positive and non-finite entries replaced by NaN (gaps on log axes)."""
    a = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)


def plot_history(history: dict, path) -> Path:
    """Loss (and, if given, error per field) against step on log axes.

    ``history`` has "step" (list[int]) and "loss" (list[float]); optional "error"
    (dict field -> list[float], one value per step) and "level_starts" (steps where a new
    level starts, drawn as dotted vertical lines).
    """
    steps = np.asarray(history["step"])
    errors = history.get("error") or {}
    fig = _figure(11.0 if errors else 6.0, 4.0)
    axes = fig.subplots(1, 2 if errors else 1, squeeze=False)[0]
    axes[0].plot(steps, _positive(history["loss"]), color="C0", label="loss")
    axes[0].set_title("training loss")
    for i, (name, values) in enumerate(errors.items()):
        axes[1].plot(steps, _positive(values), color=f"C{i + 1}", label=name)
    if errors:
        axes[1].set_title("relative L2 error")
    for ax in axes:
        for s in history.get("level_starts") or []:
            ax.axvline(s, color="0.4", linestyle=":", linewidth=1.0)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    return _save(fig, path)


def plot_fields_2d(points, triangles, fields: dict, path, title: str | None = None,
                   labels: tuple[str, str] = ("x", "y")) -> Path:
    """One coloured panel with a colorbar per field on the 2D points (P, 2).

    ``triangles`` is an int array (T, 3) of point indices, or None to triangulate the points
    (Delaunay). Each field has shape (P,); ``labels`` name the two axes. Non-finite values
    (a field's exact solution off its subdomain) are left blank.
    """
    pts = np.asarray(points, dtype=np.float64)
    tri = Triangulation(pts[:, 0], pts[:, 1], None if triangles is None else np.asarray(triangles))
    aspect = np.ptp(pts[:, 1]) / max(np.ptp(pts[:, 0]), 1e-300)
    height = float(np.clip(3.6 * aspect, 2.0, 6.0)) + (0.4 if title else 0.0)
    fig = _figure(4.6 * max(len(fields), 1), height)
    axes = fig.subplots(1, max(len(fields), 1), squeeze=False)[0]
    for ax, (name, values) in zip(axes, fields.items()):
        v = np.asarray(values, dtype=np.float64)
        bad = ~np.isfinite(v)
        t = tri
        if bad.any():
            t = Triangulation(tri.x, tri.y, tri.triangles, mask=bad[tri.triangles].any(axis=1))
            v = np.where(bad, 0.0, v)
        image = ax.tripcolor(t, v, shading="gouraud", cmap="viridis")
        fig.colorbar(image, ax=ax)
        ax.set_title(name)
        ax.set_aspect("equal" if labels == ("x", "y") else "auto")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_profile_1d(x, curves: dict, path, title: str | None = None) -> Path:
    """Curves (each of shape (P,)) against x (P,), one line each, sorted by x."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x)
    fig = _figure(6.0, 4.0)
    ax = fig.subplots()
    for i, (name, values) in enumerate(curves.items()):
        y = np.asarray(values, dtype=np.float64).ravel()[order]
        ax.plot(x[order], y, color=f"C{i}", linestyle="-" if i == 0 else "--", label=name)
    ax.set_xlabel("x")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_error_vs_time(series: dict, path, title: str | None = None) -> Path:
    """Error against wall time on a log-y axis: one colour per label, one line per seed.

    ``series`` maps a label to a list of (times, errors) pairs, one pair per seed.
    """
    fig = _figure(6.5, 4.2)
    ax = fig.subplots()
    for i, (label, runs) in enumerate(series.items()):
        for j, (times, errors) in enumerate(runs):
            ax.plot(np.asarray(times, dtype=np.float64), _positive(errors), color=f"C{i}",
                    alpha=0.85, linewidth=1.2, label=label if j == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("wall time [s]")
    ax.set_ylabel("relative L2 error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return _save(fig, path)
