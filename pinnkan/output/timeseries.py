"""Time series of a time-dependent solution: a ParaView .pvd collection and an animated GIF.

The .pvd file lists one .vtu file per time (the spatial mesh with the fields at that time), so
ParaView opens the whole series as one animated dataset. Every file is written atomically; the
.pvd is written last, so it never points at a missing frame.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from pinnkan.output.atomic import atomic_path
from pinnkan.output.vtu import write_vtu

SPACE_RESOLUTION = {1: 400, 2: 80, 3: 24}
GIF_DPI = 80


def write_pvd(path, entries) -> Path:
    """Write a VTK collection file listing ``entries`` = [(time, file name relative to path)]."""
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">', "  <Collection>"]
    for t, name in entries:
        lines.append(f'    <DataSet timestep="{float(t)!r}" group="" part="0" file={quoteattr(str(name))}/>')
    lines += ["  </Collection>", "</VTKFile>"]
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def read_pvd(path) -> list[tuple[float, Path]]:
    """[(time, absolute path of the .vtu)] listed in a .pvd collection."""
    import xml.etree.ElementTree as ET

    path = Path(path)
    root = ET.parse(path).getroot()
    return [(float(d.get("timestep")), path.parent / d.get("file")) for d in root.iter("DataSet")]


def _at_time(points: np.ndarray, t: float) -> np.ndarray:
    return np.hstack([points, np.full((len(points), 1), t)])


def export_time_series(result, path, n_times: int = 21, resolution: int | None = None, mesh=None) -> Path:
    """Write ``path`` (.pvd) and ``n_times`` frames ``<stem>/<stem>_NNNN.vtu`` beside it.

    Each frame holds a mesh of space (the problem's own at ``resolution``, or ``mesh`` =
    (points (P, d), cells)) with every field, its exact solution and error, and the PDE
    residuals at that time (:meth:`Result.fields_on`).
    """
    domain = result.problem.domain
    space = domain.space
    points, cells = mesh if mesh is not None else space.mesh(resolution or SPACE_RESOLUTION.get(space.dim, 24))
    path = Path(path)
    folder = path.parent / path.stem
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for k, t in enumerate(domain.times(n_times)):
        name = f"{path.stem}_{k:04d}.vtu"
        write_vtu(folder / name, points, cells, result.fields_on(_at_time(points, t)),
                  allow_nonfinite=result.allow_nonfinite)
        entries.append((t, f"{folder.name}/{name}"))
    return write_pvd(path, entries)


def animate(result, path, n_frames: int = 41, fps: int = 8) -> Path:
    """Animated GIF of the first field over ``n_frames`` times of the problem's interval.

    1D space: the profile with the exact solution dashed; 2D space: a colour map of the field
    and, when the problem has an exact solution, of the absolute error, each with a colourbar.
    Colour (or y) ranges follow :func:`pinnkan.output.plots.colour_limits`: symmetric when the
    field changes sign, per frame (shown on the colourbar) when its amplitude changes by more
    than 10x over time, else fixed.
    """
    domain = result.problem.domain
    space = domain.space
    if space.dim not in (1, 2):
        raise ValueError("animations are drawn for 1D and 2D space only")
    times = domain.times(n_frames)
    points, triangles = _animation_points(space)
    frames = [result.fields_on(_at_time(points, t), residuals=False) for t in times]
    fig, draw = frame_drawer(points, triangles, times, frames, result.field_names[0],
                             [str(c) for c in result.compiled.coordinates], result.problem.name)
    try:
        fig.set_dpi(GIF_DPI)
        images = [_gif_frame(fig, draw, k) for k in range(len(times))]
    finally:
        fig.clear()
    path = Path(path)
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path


def _gif_frame(fig, draw, k: int):
    """Frame k as a 256-colour image. Its palette is chosen to cover all the colours drawn
    (maximum coverage), so two colour maps side by side keep their own colours; GIF's default
    quantisation lets one map's colours leak into the other's colourbar."""
    from PIL import Image

    draw(k)
    fig.canvas.draw()
    rgba = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba())
    return rgba.convert("RGB").quantize(colors=256, method=Image.Quantize.MAXCOVERAGE)


def _animation_points(space):
    """Points (P, d) of space to draw on and, in 2D, their triangles (T, 3) (None: Delaunay)."""
    if space.dim == 1:
        lo, hi = space.bounds
        return np.linspace(lo[0], hi[0], 400)[:, None], None
    points, cells = space.mesh(48)
    return points, next((c for kind, c in cells if kind == "triangle"), None)  # keeps notches and holes


def frame_drawer(points, triangles, times, frames: list[dict], name: str, coords, title: str):
    """(figure, draw) for an animation of field ``name``: ``draw(k)`` shows frame k.

    points (P, d) with d = 1 or 2; frames[k] = {key: (P,)} at times[k] (``name`` and optionally
    ``name_exact``, ``name_abs_error``, as from :meth:`Result.fields_on`); ``coords`` are the
    coordinate names, time last.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[1] == 1:
        return _profile_drawer(pts[:, 0], times, frames, name, coords, title)
    return _map_drawer(pts, triangles, times, frames, name, coords, title)


def _frame_title(title: str, coords, t: float) -> str:
    return f"{title}:  {coords[-1]} = {t:.3f}"


def _profile_drawer(x, times, frames, name, coords, title):
    """1D space: the field against x with the exact solution dashed; y range per colour_limits."""
    from pinnkan.output.plots import colour_limits, figure_title, new_figure

    order = np.argsort(x)
    pred = [np.asarray(f[name], dtype=np.float64)[order] for f in frames]
    exact = None
    if f"{name}_exact" in frames[0]:
        exact = [np.asarray(f[f"{name}_exact"], dtype=np.float64)[order] for f in frames]
    limits, _, per_frame = colour_limits([np.concatenate([p, e]) for p, e in zip(pred, exact)] if exact else pred)
    fig = new_figure(6.0, 4.2)
    ax = fig.add_subplot()
    (line,) = ax.plot(x[order], pred[0], color="C0", linewidth=2.2, label=name)
    ref = ax.plot(x[order], exact[0], "k--", linewidth=1.2, label=f"{name} exact")[0] if exact else None
    ax.set_xlabel(coords[0])
    ax.set_ylabel(f"{name} (axis range per frame)" if per_frame else name)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")
    heading = figure_title(fig, _frame_title(title, coords, times[0]))

    def draw(k: int) -> None:
        line.set_ydata(pred[k])
        if ref is not None:
            ref.set_ydata(exact[k])
        lo, hi = limits[k]
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        heading.set_text(_frame_title(title, coords, times[k]))

    draw(0)
    return fig, draw


def _map_drawer(points, triangles, times, frames, name, coords, title):
    """2D space: colour maps of the field (and of its absolute error), a colourbar each."""
    from matplotlib.tri import Triangulation

    from pinnkan.output.plots import (PANEL_WIDTH, colour_limits, colour_map, colourbar, figure_title, new_figure,
                                      panel_height)

    keys = [k for k in (name, f"{name}_abs_error") if k in frames[0]]
    heads = {name: name, f"{name}_abs_error": f"|{name} − {name} exact|"}
    values = {k: [np.asarray(f[k], dtype=np.float64) for f in frames] for k in keys}
    bad = np.zeros(len(points), dtype=bool)
    for series in values.values():
        for v in series:
            bad |= ~np.isfinite(v)
    tri = Triangulation(points[:, 0], points[:, 1], None if triangles is None else np.asarray(triangles))
    if bad.any():  # blank the triangles touching an undefined value
        tri.set_mask(bad[tri.triangles].any(axis=1))
    fig = new_figure(PANEL_WIDTH * len(keys), panel_height(points, True, title))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    panels = []
    for ax, k in zip(axes, keys):
        limits, symmetric, per_frame = colour_limits(values[k])
        image = ax.tripcolor(tri, np.where(bad, 0.0, values[k][0]), shading="gouraud", cmap=colour_map(symmetric),
                             vmin=limits[0][0], vmax=limits[0][1])
        colourbar(fig, image, ax, f"{heads[k]}, range of this frame" if per_frame else heads[k])
        ax.set_title(heads[k])
        ax.set_aspect("equal")
        ax.set_xlabel(coords[0])
        ax.set_ylabel(coords[1])
        panels.append((image, values[k], limits))
    heading = figure_title(fig, _frame_title(title, coords, times[0]))

    def draw(k: int) -> None:
        for image, series, limits in panels:
            image.set_array(np.where(bad, 0.0, series[k]))
            image.set_clim(*limits[k])
        heading.set_text(_frame_title(title, coords, times[k]))

    draw(0)
    return fig, draw
