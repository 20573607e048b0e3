"""The figures: what they draw (lines, legends, labels, colour ranges), that titles and labels
do not collide, and the pixel size of the written files."""

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

import pinnkan as pk
from pinnkan.output import plots as P
from pinnkan.output.figures import _display, history_data
from pinnkan.output.timeseries import GIF_DPI, _animation_points, animate, frame_drawer
from pinnkan.training.trainer import History


def _boxes(fig, artists):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [a.get_window_extent(renderer) for a in artists]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _inside_figure(fig, box) -> bool:
    w, h = fig.canvas.get_width_height()
    return box.x0 >= 0 and box.y0 >= 0 and box.x1 <= w and box.y1 <= h


def _pixels(inches: float, dpi: float) -> int:
    """Pixels matplotlib gives ``inches`` at ``dpi``: the product truncated (up to float rounding)."""
    return int(inches * dpi + 1e-6)


def _history() -> dict:
    steps = list(range(0, 60, 5)) + [60, 60, 65, 70, 75, 80, 80, 85, 90]
    level = [0] * 12 + [0, 1, 1, 1, 1, 1, 2, 2, 2]
    eq = [10.0 ** (-s / 30) for s in steps]
    bc = [0.1 * 10.0 ** (-s / 20) for s in steps]
    return {"step": steps, "loss": [e + 30 * b for e, b in zip(eq, bc)],
            "terms": {"equation 1": eq, "Dirichlet 1": bc}, "error": {"u": [0.5 * 10.0 ** (-s / 40) for s in steps]},
            "level": level, "level_starts": [60, 80], "grids": [4, 8, 16], "weight_steps": [60, 80, 80]}


# ---------------------------------------------------------------------------- colour scales
def test_colour_limits_symmetric_when_the_field_changes_sign():
    frames = [np.linspace(-1, 2, 50), np.linspace(-0.5, 1.5, 50)]
    limits, symmetric, per_frame = P.colour_limits(frames)
    assert symmetric and not per_frame
    assert limits == [(-2.0, 2.0), (-2.0, 2.0)]
    assert P.colour_map(symmetric) == "RdBu_r"


def test_colour_limits_per_frame_when_the_amplitude_decays_tenfold():
    base = np.linspace(0.0, 1.0, 30)
    frames = [base * np.exp(-5.0 * t) for t in np.linspace(0, 1, 6)]  # decays by e^5 = 148x
    limits, symmetric, per_frame = P.colour_limits(frames)
    assert per_frame and not symmetric
    for (lo, hi), f in zip(limits, frames):
        assert lo == 0.0 and abs(hi - f.max()) <= 1e-15
    # decay by 5x only: one fixed range; tiny negative noise does not make it symmetric
    frames = [base * np.exp(-np.log(5.0) * t) - 1e-3 for t in np.linspace(0, 1, 6)]
    limits, symmetric, per_frame = P.colour_limits(frames)
    assert not per_frame and not symmetric and set(limits) == {(-1e-3, 1.0 - 1e-3)}
    assert P.colour_map(symmetric) == "viridis"


def test_colour_limits_of_a_constant_is_a_non_empty_interval():
    (lims,), _, _ = P.colour_limits([np.full(10, 3.0)])
    assert lims[0] < 3.0 < lims[1]


# ---------------------------------------------------------------------------- history
def test_history_figure_draws_both_losses_and_labels_the_refinements(tmp_path):
    h = _history()
    fig = P.history_figure(h)
    assert fig.get_layout_engine() is not None and type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    loss_ax, error_ax = fig.axes[:2]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["training loss (weighted)", "PDE loss (unweighted sum of mean squares)",
                      "mean square: equation 1", "mean square: Dirichlet 1", "loss weights updated",
                      "relative L2 error: u"]
    # weighted, unweighted, two terms, weight markers, two refinement lines
    assert len(loss_ax.get_lines()) == 2 + 2 + 1 + 2
    pde = loss_ax.get_lines()[1].get_ydata()
    np.testing.assert_allclose(pde, np.add(h["terms"]["equation 1"], h["terms"]["Dirichlet 1"]), rtol=1e-15)
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_ydata(), h["loss"], rtol=1e-15)
    assert loss_ax.get_lines()[4].get_xdata().tolist() == [60, 80]  # one marker per update step
    refinements = [ln for ln in loss_ax.get_lines() if ln.get_linestyle() == ":" and len(ln.get_xdata()) == 2
                   and ln.get_xdata()[0] == ln.get_xdata()[1]]
    assert [ln.get_xdata()[0] for ln in refinements] == [60, 80]
    for ax in (loss_ax, error_ax):
        assert [t.get_text().strip() for t in ax.texts] == ["grid 8", "grid 16", "grid 4"]
        assert ax.get_xlabel() == "step" and ax.get_yscale() == "log"
    assert loss_ax.get_ylabel() == "loss" and error_ax.get_ylabel() == "relative L2 error"
    boxes = _boxes(fig, [loss_ax.title, error_ax.title, loss_ax.xaxis.label, error_ax.xaxis.label,
                         loss_ax.yaxis.label, error_ax.yaxis.label, fig.legends[0]])
    assert all(_inside_figure(fig, b) for b in boxes)
    assert not _overlap(boxes[6], boxes[2]) and not _overlap(boxes[6], boxes[3])  # legend below the x labels
    path = P.save_figure(fig, tmp_path / "history.png")
    assert imread(path).shape[:2] == (_pixels(5.0, P.DPI), _pixels(11.0, P.DPI))


def test_refinements_at_one_step_share_a_line_and_label():
    fig = P.history_figure({"step": [0, 1, 1, 1, 2], "loss": [5.0, 4.0, 50.0, 50.0, 60.0], "level_starts": [1, 1],
                            "grids": [4, 8, 16]})
    ax = fig.axes[0]
    assert [t.get_text().strip() for t in ax.texts] == ["grid 8 → 16", "grid 4"]
    assert len(ax.get_lines()) == 2  # the loss and one refinement line
    assert all(float(v).is_integer() for v in ax.xaxis.get_major_locator().tick_values(0, 2))
    fig = P.history_figure({"step": [0, 1, 2], "loss": [3.0, 2.0, 1.0], "level_starts": [1]})
    assert [t.get_text().strip() for t in fig.axes[0].texts] == ["level 1"]


def test_history_figure_of_a_bare_loss_has_one_panel():
    fig = P.history_figure({"step": [0, 10, 20], "loss": [1.0, 0.1, -1.0]})
    assert len(fig.axes) == 1 and [t.get_text() for t in fig.legends[0].get_texts()] == ["training loss (weighted)"]
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert y[:2].tolist() == [1.0, 0.1] and np.isnan(y[2])  # non-positive values leave a gap on the log axis


def test_history_data_takes_grids_and_weight_updates_from_the_result():
    h = History(step=[0, 5, 5], loss=[1.0, 0.5, 0.6], terms={"equation 1": [1.0, 0.5, 0.5]}, level=[0, 0, 1],
                level_starts=[5], weights=[{"step": 5, "Dirichlet 1": 3.0}])
    result = SimpleNamespace(history=h, options=SimpleNamespace(levels=[4, 8]))
    data = history_data(result)
    assert data["grids"] == [4, 8] and data["weight_steps"] == [5] and data["terms"] == h.terms
    assert history_data(SimpleNamespace(history=h, options=SimpleNamespace(levels=None)))["grids"] is None


# ---------------------------------------------------------------------------- 2D fields
def test_fields_2d_titles_and_labels_do_not_collide(tmp_path):
    points, cells = pk.Rectangle((0, 0), (2, 1)).mesh(16)
    u = np.sin(np.pi * points[:, 0]) * points[:, 1]  # changes sign
    data = {"u": u + 1e-3, "u_exact": u, "u_abs_error": np.full(len(u), 1e-3)}
    panels, groups = _display(data, ["u"], "KAN")
    assert list(panels) == ["u (KAN)", "u exact", "|u − u exact|"] and groups == [("u (KAN)", "u exact")]
    fig = P.fields_2d_figure(points, None, panels, title="heat2d at t = 0.5", labels=("x", "y"), same_scale=groups)
    axes, bars = fig.axes[:3], fig.axes[3:]
    assert len(bars) == 3 and type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    assert [ax.get_title() for ax in axes] == list(panels)
    assert all(ax.get_xlabel() == "x" and ax.get_ylabel() == "y" for ax in axes)
    # field and exact solution share one symmetric range; the error has its own
    clims = [ax.collections[0].get_clim() for ax in axes]
    a = max(np.abs(u + 1e-3).max(), np.abs(u).max())
    assert clims[0] == clims[1] == (-a, a) and axes[0].collections[0].get_cmap().name == "RdBu_r"
    assert axes[2].collections[0].get_cmap().name == "viridis"
    titles = _boxes(fig, [fig._suptitle] + [ax.title for ax in axes])
    for box in titles[1:]:
        assert not _overlap(titles[0], box) and titles[0].y0 >= box.y1
    renderer = fig.canvas.get_renderer()
    for ax in axes:
        assert _inside_figure(fig, ax.xaxis.label.get_window_extent(renderer))
        assert _inside_figure(fig, ax.yaxis.label.get_window_extent(renderer))
    for bar, ax in zip(bars[:-1], axes[1:]):  # a panel's y label clears the colourbar to its left
        assert not _overlap(bar.get_tightbbox(renderer), ax.yaxis.label.get_window_extent(renderer))
    w, h = fig.get_size_inches()
    path = P.save_figure(fig, tmp_path / "fields.png")
    assert imread(path).shape[:2] == (_pixels(h, P.DPI), _pixels(w, P.DPI))


def test_colourbars_of_small_values_sit_beside_their_panels():
    points, _ = pk.Rectangle((0, 0), (1, 1)).mesh(8)
    u = points[:, 0] + points[:, 1]
    fig = P.fields_2d_figure(points, None, {"a": u, "b": -u, "c": 4e-6 * u})
    fig.canvas.draw()
    axes, bars = fig.axes[:3], fig.axes[3:]
    gaps = [bar.get_position().x0 - ax.get_position().x1 for ax, bar in zip(axes, bars)]
    assert max(gaps) - min(gaps) < 1e-3  # no offset text ("1e-6") pushes the last bar away
    assert all(bar.yaxis.get_offset_text().get_text() == "" for bar in bars)
    labels = [t.get_text() for t in bars[2].get_yticklabels()]
    assert "4e\u221206" in labels or "8e\u221206" in labels
    assert any(t.get_text().startswith("\u2212") for t in bars[1].get_yticklabels())


def test_fields_2d_blanks_undefined_values():
    points, cells = pk.Disk((0, 0), 1).mesh(10)
    tri = next(c for kind, c in cells if kind == "triangle")
    v = points[:, 0].copy()
    v[points[:, 0] < 0] = np.nan
    fig = P.fields_2d_figure(points, tri, {"u": v})
    image = fig.axes[0].collections[0]
    assert image._triangulation.mask.tolist() == np.isnan(v)[tri].any(axis=1).tolist()
    assert image.get_clim() == (np.nanmin(v), np.nanmax(v))


# ---------------------------------------------------------------------------- 1D profiles
def test_profile_figure_has_a_log_error_panel(tmp_path):
    x = np.linspace(0, 1, 50)
    fig = P.profile_1d_figure(x, {"u (KAN)": np.sin(x) + 1e-3, "u exact": np.sin(x)}, title="p",
                              errors={"|u − u exact|": np.full(50, 1e-3)}, xlabel="x", ylabel="u")
    left, right = fig.axes
    assert [ln.get_linestyle() for ln in left.get_lines()] == ["-", "--"]
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["u (KAN)", "u exact"]
    assert left.get_ylabel() == "u" and right.get_ylabel() == "absolute error" and right.get_yscale() == "log"
    assert fig._suptitle.get_text() == "p"
    path = P.save_figure(fig, tmp_path / "p.png")
    assert imread(path).shape[:2] == (_pixels(4.2, P.DPI), _pixels(11.0, P.DPI))


# ---------------------------------------------------------------------------- error vs time
def test_error_vs_time_draws_each_seed_and_the_mean(tmp_path):
    t = np.linspace(0, 10, 21)
    series = {"KAN": [(t, np.exp(-t), 0), (t, np.exp(-0.5 * t), 1)],
              "MLP": [(t, np.exp(-0.2 * t), 0), (t + 1, np.exp(-0.1 * t), 1)]}
    fig = P.error_vs_time_figure(series, title="toy")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 6
    assert [x.get_text() for x in fig.legends[0].get_texts()] == [
        "KAN: seed 0", "KAN: seed 1", "KAN: mean of 2 seeds", "MLP: seed 0", "MLP: seed 1", "MLP: mean of 2 seeds"]
    lines = ax.get_lines()
    assert lines[0].get_color() == lines[1].get_color() == lines[2].get_color() != lines[3].get_color()
    assert lines[2].get_linewidth() > lines[0].get_linewidth()
    mean_t, mean_e = lines[2].get_xdata(), lines[2].get_ydata()
    np.testing.assert_allclose(mean_e, 0.5 * (np.exp(-mean_t) + np.exp(-0.5 * mean_t)), rtol=1e-12)
    mlp_t = lines[5].get_xdata()
    assert mlp_t[0] == 1.0 and mlp_t[-1] == 10.0  # the interval both MLP runs cover
    assert ax.get_xlabel() == "wall time [s]" and ax.get_yscale() == "log"
    path = P.save_figure(fig, tmp_path / "compare.png")
    assert imread(path).shape[:2] == (_pixels(5.2, P.DPI), _pixels(7.5, P.DPI))


def test_error_vs_time_accepts_runs_without_seeds():
    t = np.linspace(0, 1, 5)
    fig = P.error_vs_time_figure({"KAN": [(t, np.exp(-t)), (t, np.exp(-2 * t))], "MLP": [(t, np.exp(-t))]})
    assert [x.get_text() for x in fig.legends[0].get_texts()] == [
        "KAN: run 1", "KAN: run 2", "KAN: mean of 2 runs", "MLP: run 1"]
    assert P.mean_over_runs([(t, np.exp(-t)), (t[:1], [1.0])]) is None


# ---------------------------------------------------------------------------- animations
def _fake_result(space, name="toy"):
    """A Result-like object whose field u = x0 exp(-5 t) (exact) + 1e-3 (network)."""
    domain = pk.SpaceTime(space, 0.0, 1.0)
    coords = ["x", "y"][: space.dim] + ["t"]

    def fields_on(points, residuals=False):
        exact = points[:, 0] * np.exp(-5.0 * points[:, -1])
        return {"u": exact + 1e-3, "u_exact": exact, "u_abs_error": np.full(len(points), 1e-3)}

    return SimpleNamespace(problem=SimpleNamespace(name=name, domain=domain, time=("t", 0.0, 1.0)),
                           compiled=SimpleNamespace(coordinates=coords), field_names=["u"], fields_on=fields_on)


def test_map_frames_have_colourbars_labels_and_per_frame_ranges():
    points, cells = pk.Disk((0, 0), 1).mesh(8)
    tri = next(c for kind, c in cells if kind == "triangle")
    times = np.linspace(0, 1, 4)
    frames = [_fake_result(pk.Disk((0, 0), 1)).fields_on(np.hstack([points, np.full((len(points), 1), t)]))
              for t in times]
    fig, draw = frame_drawer(points, tri, times, frames, "u", ["x", "y", "t"], "toy")
    panels, bars = fig.axes[:2], fig.axes[2:]
    assert len(bars) == 2 and type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    assert [ax.get_title() for ax in panels] == ["u", "|u − u exact|"]
    assert all(ax.get_xlabel() == "x" and ax.get_ylabel() == "y" for ax in panels)
    # u changes sign (x in [-1, 1]) and decays by e^5: symmetric range, per frame, named on the bar
    assert bars[0].get_ylabel() == "u, range of this frame" and bars[1].get_ylabel() == "|u − u exact|"
    for k in (0, 3):
        draw(k)
        a = np.abs(frames[k]["u"]).max()
        assert panels[0].collections[0].get_clim() == pytest.approx((-a, a), rel=1e-14)
        assert bars[0].get_ylim() == pytest.approx((-a, a), rel=1e-14)  # the colourbar shows that range
        assert fig._suptitle.get_text() == f"toy:  t = {times[k]:.3f}"
    boxes = _boxes(fig, [fig._suptitle] + [ax.title for ax in panels])
    assert all(boxes[0].y0 >= b.y1 for b in boxes[1:])


def test_profile_frames_rescale_the_y_axis_when_the_amplitude_decays():
    x = np.linspace(0, 1, 30)
    times = np.linspace(0, 1, 3)
    frames = [{"u": x * np.exp(-5 * t), "u_exact": x * np.exp(-5 * t)} for t in times]
    fig, draw = frame_drawer(x[:, None], None, times, frames, "u", ["x", "t"], "toy")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "u (axis range per frame)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["u", "u exact"]
    draw(2)
    hi = np.exp(-5.0)
    assert ax.get_ylim() == pytest.approx((-0.05 * hi, 1.05 * hi), rel=1e-12)


@pytest.mark.parametrize("space", [pk.Interval(0, 1), pk.Rectangle((-1, -1), (1, 1))], ids=["1d", "2d"])
def test_animate_writes_the_frames_at_the_figure_size(tmp_path, space):
    path = animate(_fake_result(space), tmp_path / "solution.gif", n_frames=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["solution.gif"]
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
        width, height = gif.size
    if space.dim == 1:
        assert (width, height) == (_pixels(6.0, 80), _pixels(4.2, 80))
    else:
        square = np.array([[0.0, 0.0], [1.0, 1.0]])
        assert (width, height) == (_pixels(2 * P.PANEL_WIDTH, 80), _pixels(P.panel_height(square, True, "t"), 80))


def test_gif_frames_show_both_colourbars_in_their_own_colours(tmp_path):
    result = _fake_result(pk.Rectangle((-1, -1), (1, 1)))
    path = animate(result, tmp_path / "solution.gif", n_frames=3)
    # the same figure drawn here tells where the colourbars are and what they look like
    space, times = result.problem.domain.space, result.problem.domain.times(3)
    points, triangles = _animation_points(space)
    frames = [result.fields_on(np.hstack([points, np.full((len(points), 1), t)])) for t in times]
    fig, draw = frame_drawer(points, triangles, times, frames, "u", ["x", "y", "t"], "toy")
    fig.set_dpi(GIF_DPI)
    draw(2)
    fig.canvas.draw()
    rendered = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)
    with Image.open(path) as gif:
        gif.seek(2)
        shown = np.asarray(gif.convert("RGB"), dtype=float)
    assert shown.shape == rendered.shape
    height = shown.shape[0]
    for bar in fig.axes[2:]:
        box = bar.get_window_extent()
        rows = slice(int(height - box.y1) + 2, int(height - box.y0) - 2)
        cols = slice(int(box.x0) + 2, int(box.x1) - 2)
        strip = shown[rows, cols]
        assert np.ptp(strip.mean(axis=1), axis=0).max() > 100  # a colour ramp, top to bottom
        assert np.abs(strip - rendered[rows, cols]).max() <= 16  # in the colour map's own colours
