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
    """Animated GIF of the first field over time (1D space: profiles with the exact solution
    dashed; 2D space: colour maps on a fixed colour scale)."""
    from matplotlib.animation import PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    domain = result.problem.domain
    space = domain.space
    name = result.field_names[0]
    times = domain.times(n_frames)
    fig = Figure(figsize=(5.5, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if space.dim == 1:
        lo, hi = space.bounds
        x = np.linspace(lo[0], hi[0], 400)[:, None]
        frames = [result.fields_on(_at_time(x, t), residuals=False) for t in times]
    elif space.dim == 2:
        x, cells = space.mesh(60)
        frames = [result.fields_on(_at_time(x, t), residuals=False) for t in times]
    else:
        raise ValueError("animations are drawn for 1D and 2D space only")
    values = np.concatenate([f[name] for f in frames])
    vmin, vmax = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.05 * (vmax - vmin or 1.0)
    path = Path(path)
    writer = PillowWriter(fps=fps)
    with atomic_path(path) as tmp:
        with writer.saving(fig, str(tmp), dpi=80):
            for t, f in zip(times, frames):
                ax.clear()
                if space.dim == 1:
                    ax.plot(x[:, 0], f[name], label=name)
                    if f"{name}_exact" in f:
                        ax.plot(x[:, 0], f[f"{name}_exact"], "--", label="exact")
                    ax.set_ylim(vmin - pad, vmax + pad)
                    ax.set_xlabel(str(result.compiled.coordinates[0]))
                    ax.legend(loc="upper right")
                else:
                    ax.tripcolor(x[:, 0], x[:, 1], f[name], shading="gouraud", vmin=vmin, vmax=vmax)
                    ax.set_aspect("equal")
                ax.set_title(f"{result.problem.name}: {name} at t = {t:.3g}")
                writer.grab_frame()
    fig.clear()
    return path
