"""Time marching: window edges, the joined piecewise-in-time module (values, both derivative
engines, saving), the initial data each later window takes from the one before, the options,
and a short two-window solve of the heat equation."""

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from helpers import poisson1d, run_main
from pinnkan.derivatives.engines import AutoEngine, AutogradEngine, JetEngine
from pinnkan.errors import OptionError
from pinnkan.evaluation.residuals import residual, sample_points
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.kan import KAN
from pinnkan.networks.mlp import MLP
from pinnkan.networks.windowed import WindowedModel, scatter_pieces, window_box, window_index, with_input_box
from pinnkan.output.model_file import load_model, read_model_file, save_model
from pinnkan.problem.compile import compile_problem
from pinnkan.problem.loading import load_problem
from pinnkan.training.causal import CausalWeights
from pinnkan.training.callbacks import Callback
from pinnkan.training.marching import (PreviousWindowTerm, join_histories, window_compiled, window_deadline,
                                       window_edges, window_seed)
from pinnkan.training.spec import CausalSpec
from pinnkan.training.trainer import History

torch.set_num_threads(1)

PROBLEMS = __import__("pathlib").Path(__file__).resolve().parents[1] / "problems"
EDGES = [0.0, 0.25, 0.5, 1.0]
BOX = ([0.0, 0.0], [1.0, 1.0])
KEYS = {(0, (0, 0)), (0, (1, 0)), (0, (0, 1)), (0, (2, 0)), (0, (1, 1)), (0, (0, 2))}


def windowed(kind: str = "kan") -> WindowedModel:
    """Three random networks on the windows of EDGES (time is column 1), seeded."""
    torch.manual_seed(3)
    nets = []
    for a, b in zip(EDGES[:-1], EDGES[1:]):
        bounds = window_box(BOX, 1, a, b)
        nets.append(KAN([2, 4, 1], grid=6, bounds=bounds) if kind == "kan" else MLP([2, 8, 1], bounds=bounds))
    for net in nets:  # away from the linear initialisation, so that derivatives are not trivial
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return WindowedModel(nets, EDGES, axis=1)


def points(times) -> torch.Tensor:
    t = torch.as_tensor(times, dtype=torch.float64)
    x = torch.linspace(0.05, 0.95, len(t), dtype=torch.float64)
    return torch.stack([x, t], dim=1)


def test_window_edges_are_equal_parts_ending_exactly_at_t1():
    assert window_edges(0.0, 1.0, 4) == [0.0, 0.25, 0.5, 0.75, 1.0]
    edges = window_edges(0.1, 0.7, 3)
    assert edges[-1] == 0.7 and len(edges) == 4
    assert np.allclose(np.diff(edges), 0.2, rtol=0, atol=1e-15)
    assert window_seed(7, 0) == 7 and window_seed(7, 1) != window_seed(7, 2)


def test_budget_is_shared_over_the_windows_left():
    """100 s over 4 windows: the first ends at 25 s; a window starting at 40 s with 2 left ends
    at 70 s; one starting after the budget is spent gets 1 ms."""
    assert window_deadline(100.0, 0.0, 4) == 25.0
    assert window_deadline(100.0, 40.0, 2) == 70.0
    assert window_deadline(100.0, 120.0, 1) == pytest.approx(120.001, abs=1e-12)


def test_window_index_gives_edges_to_the_later_window_and_t1_to_the_last():
    edges = torch.tensor(EDGES, dtype=torch.float64)
    t = torch.tensor([-0.1, 0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 1.0, 1.2], dtype=torch.float64)
    assert window_index(t, edges).tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]


@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_joined_module_is_window_k_network_on_window_k_points(kind):
    model = windowed(kind)
    x = points([0.0, 0.1, 0.25, 0.3, 0.49, 0.5, 0.8, 1.0])
    owner = [0, 0, 1, 1, 1, 2, 2, 2]
    with torch.no_grad():
        out = model(x)
        for k, net in enumerate(model.windows):
            rows = [i for i, o in enumerate(owner) if o == k]
            assert torch.equal(out[rows], net(x[rows]))
    assert model.n_params == sum(n.n_params for n in model.windows)
    assert model.describe().endswith(", 3 time windows")


def test_scatter_pieces_puts_each_value_back_on_its_row():
    rows = [torch.tensor([2, 0]), torch.tensor([1, 3])]
    values = [{"a": torch.tensor([20.0, 0.0])}, {"a": torch.tensor([10.0, 30.0])}]
    joined = scatter_pieces(list(zip(rows, values)), 4)
    assert joined["a"].tolist() == [0.0, 10.0, 20.0, 30.0]


@pytest.mark.parametrize("kind", ["kan", "mlp"])
@pytest.mark.parametrize("engine", [JetEngine, AutoEngine])
def test_jet_and_auto_engines_on_the_joined_module_match_autograd(kind, engine):
    """Away from the edges (within a window) every derivative up to order 2 agrees to 1e-10;
    autograd through the joined forward is the reference."""
    model = windowed(kind)
    x = points(np.linspace(0.02, 0.98, 40)[np.abs(np.linspace(0.02, 0.98, 40)[:, None] - EDGES).min(1) > 1e-3])
    ref = AutogradEngine()(model, x, KEYS, create_graph=False)
    got = engine()(model, x, KEYS, create_graph=False)
    for key in KEYS:
        assert torch.allclose(got[key], ref[key], rtol=0, atol=1e-10), key


def test_jet_engine_gradients_through_the_joined_module_reach_every_window():
    model = windowed("kan")
    x = points(np.linspace(0.05, 0.95, 30))
    u_xx = JetEngine()(model, x, {(0, (2, 0))})[(0, (2, 0))]
    (u_xx ** 2).sum().backward()
    for net in model.windows:
        assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in net.parameters())


def test_with_input_box_moves_the_function_in_time():
    """The copy on [t_k + D, ...] at time t + D equals the original at t, to 1e-12."""
    torch.manual_seed(0)
    net = KAN([2, 4, 1], grid=5, bounds=window_box(BOX, 1, 0.0, 0.5))
    moved = with_input_box(net, window_box(BOX, 1, 0.5, 1.0))
    x = points(np.linspace(0.0, 0.5, 11))
    shifted = x.clone()
    shifted[:, 1] += 0.5
    with torch.no_grad():
        assert torch.allclose(moved(shifted), net(x), rtol=0, atol=1e-12)
        assert not torch.equal(moved(x), net(x))
    assert all(p is not q for p, q in zip(moved.parameters(), net.parameters()))


def test_with_input_box_moves_a_periodically_embedded_network_in_time():
    """Inside a constrained network (x periodic on [0, 1], embedded as cos and sin) the inner
    network's time box moves: the copy at t + 0.5 equals the original at t, to 1e-12."""
    from pinnkan.networks.factory import build_network

    torch.manual_seed(0)
    spec = {"model": "kan", "widths": [2, 4, 1], "grid": 5, "degree": 3}
    constraint = {"coordinates": ["x", "t"], "periodic": [[0, 0.0, 1.0]], "fields": []}
    net = build_network(spec, window_box(BOX, 1, 0.0, 0.5), torch.float64, torch.device("cpu"), constraint)
    moved = with_input_box(net, window_box(BOX, 1, 0.5, 1.0))
    x = points(np.linspace(0.0, 0.5, 11))
    shifted = x.clone()
    shifted[:, 1] += 0.5
    with torch.no_grad():
        assert torch.allclose(moved(shifted), net(x), rtol=0, atol=1e-12)
        assert not torch.equal(moved(x), net(x))


def test_saved_windowed_model_loads_and_predicts_the_same(tmp_path):
    model = windowed("kan")
    options = {"model": "kan", "widths": [2, 4, 1], "grid": 6, "degree": 3, "spline_basis": "bspline",
               "free_knots": False, "activation": "tanh", "dtype": "float64"}
    path = save_model(tmp_path / "model.pt", model, options, BOX, model.describe())
    saved = read_model_file(path)
    assert saved["version"] == 3 and saved["windows"] == {"edges": EDGES, "axis": 1}
    loaded = load_model(path)
    assert isinstance(loaded, WindowedModel) and loaded.n_windows == 3
    x = points(np.linspace(0.0, 1.0, 57))
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), rtol=0, atol=1e-12)


def _window_points(compiled, a, b, previous, seed=1):
    sub = window_compiled(compiled, a, b, previous=previous, engine=AutogradEngine())
    sampler = CollocationSampler(sub.problem.domain, seed=seed)
    return sub, sample_points(sub, sampler, 64, 16, torch.float64, torch.device("cpu"))


def test_next_window_takes_the_previous_network_at_t_k_as_initial_data():
    """heat1d, window [0.5, 1]: the initial points lie at t = 0.5 exactly, the target plus the
    problem's data g = sin(pi x) equals the previous network there to 1e-12, so the residual of
    the previous network itself is 0 there; the other terms and the time interval follow."""
    compiled = compile_problem(load_problem(PROBLEMS / "heat1d.py"))
    torch.manual_seed(1)
    previous = KAN([2, 5, 1], grid=5, bounds=window_box(BOX, 1, 0.0, 0.5))
    sub, data = _window_points(compiled, 0.5, 1.0, previous)
    assert sub.problem.time[1:] == (0.5, 1.0) and tuple(sub.problem.domain.bounds[0]) == (0.0, 0.5)
    assert [t.label for t in sub.terms] == [t.label for t in compiled.terms]
    (tp,) = [tp for tp in data if isinstance(tp.term, PreviousWindowTerm)]
    assert torch.all(tp.points[:, 1] == 0.5)
    with torch.no_grad():
        prev = previous(tp.points)[:, 0]
    g = torch.sin(torch.pi * tp.points[:, 0])
    assert torch.allclose(tp.observed + g, prev, rtol=0, atol=1e-12)
    assert torch.allclose(residual(sub, previous, AutogradEngine(), tp), torch.zeros_like(g), rtol=0, atol=1e-12)
    eq = next(d for d in data if d.term.is_equation)
    assert float(eq.points[:, 1].min()) >= 0.5 and float(eq.points[:, 1].max()) <= 1.0


def test_second_order_problem_carries_u_and_u_t_to_the_next_window():
    """wave1d: both Initial terms of window [0.5, 1] hold the previous network's u and u_t at
    t = 0.5 (from autograd on the previous network), to 1e-12."""
    compiled = compile_problem(load_problem(PROBLEMS / "wave1d.py"))
    torch.manual_seed(2)
    previous = MLP([2, 8, 1], bounds=window_box(BOX, 1, 0.0, 0.5))
    sub, data = _window_points(compiled, 0.5, 1.0, previous)
    terms = [tp for tp in data if isinstance(tp.term, PreviousWindowTerm)]
    assert len(terms) == 2
    u_term, ut_term = sorted(terms, key=lambda tp: sum(a[1] for _, a in tp.term.derivatives))
    x = u_term.points
    g = torch.sin(torch.pi * x[:, 0]) + torch.sin(4 * torch.pi * x[:, 0]) / 2
    with torch.no_grad():
        assert torch.allclose(u_term.observed + g, previous(x)[:, 0], rtol=0, atol=1e-12)
    y = ut_term.points.clone().requires_grad_(True)
    (du,) = torch.autograd.grad(previous(y)[:, 0].sum(), y)
    assert torch.all(ut_term.points[:, 1] == 0.5)
    assert torch.allclose(ut_term.observed, du[:, 1], rtol=0, atol=1e-12)


def test_first_window_keeps_the_problems_own_initial_conditions():
    compiled = compile_problem(load_problem(PROBLEMS / "heat1d.py"))
    sub = window_compiled(compiled, 0.0, 0.5)
    assert not any(isinstance(t, PreviousWindowTerm) for t in sub.terms)
    assert [type(t) for t in sub.terms] == [type(t) for t in compiled.terms]


def test_causal_weights_of_a_window_slice_its_own_interval():
    compiled = compile_problem(load_problem(PROBLEMS / "burgers1d.py"))
    sub = window_compiled(compiled, 0.5, 0.75, previous=MLP([2, 4, 1], bounds=([-1.0, 0.0], [1.0, 1.0])),
                          engine=AutogradEngine())
    causal = CausalWeights(CausalSpec(slices=4), sub)
    assert (causal.axis, causal.t0, causal.t1) == (1, 0.5, 0.75)


def test_data_terms_keep_the_observations_of_their_window():
    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    obs = np.array([[0.5, 0.1], [0.5, 0.4], [0.5, 0.9]])
    problem = pk.Problem(name="obs", domain=pk.Interval(0, 1), time=(t, 0, 1), fields=[u],
                         equations=[sp.Eq(u.diff(t), u.diff(x, 2))],
                         conditions=[pk.Dirichlet(u, 0), pk.Initial(u, sp.sin(sp.pi * x)),
                                     pk.Data(u, obs, np.array([1.0, 2.0, 3.0]))])
    compiled = compile_problem(problem)
    late = window_compiled(compiled, 0.5, 1.0, previous=MLP([2, 4, 1], bounds=BOX), engine=AutogradEngine())
    (data,) = [term for term in late.terms if term.kind == "data"]
    assert data.observed[1].tolist() == [3.0]
    early = window_compiled(compiled, 0.0, 0.05)
    assert not any(term.kind == "data" for term in early.terms)


def test_join_histories_counts_on_and_pads_missing_terms():
    a = History(step=[0, 5], time=[0.0, 1.0], loss=[1.0, 0.5], terms={"e": [1.0, 0.5], "d": [2.0, 1.0]},
                phase=["adam", "lm"], level=[0, 1], rss_mib=[1.0, 1.0], level_starts=[3])
    b = History(step=[5, 9], time=[1.0, 2.0], loss=[0.4, 0.2], terms={"e": [0.4, 0.2]}, phase=["adam", "lm"],
                level=[0, 0], rss_mib=[1.0, 1.0], stopped="non-finite loss")
    h = join_histories([a, b], level_offset=1, n_windows=2)
    assert h.step == [0, 5, 5, 9] and h.level == [0, 1, 1, 1] and h.window_starts == [5]
    assert h.terms["e"] == [1.0, 0.5, 0.4, 0.2] and h.terms["d"][:2] == [2.0, 1.0]
    assert all(v != v for v in h.terms["d"][2:])
    assert h.level_starts == [3] and h.stopped == "time window 2 of 2: non-finite loss"


FAST = dict(levels=[5, 10], adam_steps=100, lm_steps=40, n_interior=256, n_boundary=64, n_eval=2000)


@pytest.fixture(scope="module")
def heat_two_windows():
    return pk.solve(load_problem(PROBLEMS / "heat1d.py"), time_windows=2, **FAST)


@pytest.mark.slow
def test_two_window_heat_solve_reaches_its_error_bound(heat_two_windows):
    """Measured 6.6e-5 in 180 steps (one window with the same options: 4.1e-5 in 140)."""
    r = heat_two_windows
    assert r.metrics["rel_l2"]["u"] < 5e-4
    assert isinstance(r.model, WindowedModel) and r.model.n_windows == 2
    assert r.metrics["architecture"].endswith("2 time windows, levels 5,10")
    windows = r.metrics["windows"]
    assert [(w["t0"], w["t1"]) for w in windows] == [(0.0, 0.5), (0.5, 1.0)]
    h = r.history
    assert h.window_starts == [windows[1]["first_step"]] and r.metrics["steps"] == h.step[-1]
    assert sum(w["steps"] for w in windows) == r.metrics["steps"]
    assert all(b >= a for a, b in zip(h.step, h.step[1:])) and all(b >= a for a, b in zip(h.time, h.time[1:]))
    assert len(h.loss) == len(h.level) == len(h.terms["equation 1"])


@pytest.mark.slow
def test_two_window_run_folder_round_trip(heat_two_windows, tmp_path):
    """The run folder's model.pt loads as the joined model, predicting the same to 1e-12; the
    .pvd time series has its 21 frames."""
    r = heat_two_windows
    paths = r.save(tmp_path, plots=False, resolution=10)
    loaded = load_model(paths["model"])
    x = points(np.linspace(0.0, 1.0, 41))
    with torch.no_grad():
        assert torch.allclose(loaded(x), r.model(x), rtol=0, atol=1e-12)
    assert len(list((tmp_path / "solution").glob("solution_*.vtu"))) == 21


def test_time_windows_must_be_a_positive_integer():
    problem = load_problem(PROBLEMS / "heat1d.py")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(OptionError, match="time_windows .*must be an integer >= 1"):
            pk.check_options(problem, time_windows=bad)
    assert pk.check_options(problem, time_windows=3).time_windows == 3


def test_time_windows_on_a_steady_problem_is_refused_naming_the_problem():
    with pytest.raises(OptionError, match=r"problem 'p1'.* has no time"):
        pk.check_options(poisson1d(), time_windows=2)
    assert pk.check_options(poisson1d(), time_windows=1).time_windows == 1


def test_time_windows_on_an_inverse_problem_is_refused():
    with pytest.raises(OptionError, match="unknown parameters .*inverse problem"):
        pk.check_options(load_problem(PROBLEMS / "inverse_heat1d.py"), time_windows=2)


def test_time_windows_with_resume_or_own_network_is_refused():
    problem = load_problem(PROBLEMS / "heat1d.py")
    with pytest.raises(OptionError, match="cannot go on from a checkpoint"):
        pk.solve(problem, time_windows=2, net=MLP([2, 4, 1], bounds=BOX), **FAST)
    with pytest.raises(OptionError, match="cannot go on from a checkpoint"):
        pk.solve(problem, time_windows=2, resume={"state": {}}, **FAST)


def test_command_line_rejects_zero_windows_and_windows_on_a_steady_problem(tmp_path):
    status, _, err = run_main(["solve", PROBLEMS / "heat1d.py", "--time-windows", "0", "--out", tmp_path / "a"])
    assert status == 2 and "--time-windows" in err
    status, _, err = run_main(["solve", PROBLEMS / "poisson2d.py", "--time-windows", "2", "--out", tmp_path / "b"])
    assert status != 0 and "has no time" in err
    assert not (tmp_path / "b").exists()


def test_window_compiled_keeps_equations_and_sampling_inside_the_window():
    compiled = compile_problem(load_problem(PROBLEMS / "heat1d.py"))
    sub = window_compiled(compiled, 0.25, 0.5, previous=MLP([2, 4, 1], bounds=BOX), engine=AutogradEngine())
    assert compiled.problem.time[1:] == (0.0, 1.0)  # the whole problem is left as it was
    assert sub.problem.domain.t0 == 0.25 and sub.problem.domain.t1 == 0.5
    assert replace(sub, problem=compiled.problem).equations == compiled.equations


class _StopInWindow(Callback):
    """Interrupts training as soon as the window starting at ``t0`` begins its first phase."""

    def __init__(self, t0):
        self.t0 = t0

    def on_phase_start(self, trainer, name, total):
        if trainer.compiled.problem.time[1] == self.t0:
            trainer.interrupt("SIGINT")


def test_an_interrupted_window_ends_the_marching_with_the_windows_so_far():
    """3 windows, interrupted in the second: the joined model holds two windows, the second
    reaching to T = 1; the history names the signal."""
    r = pk.solve(load_problem(PROBLEMS / "heat1d.py"), time_windows=3, callbacks=[_StopInWindow(1 / 3)], grid=5,
                 adam_steps=20, lm_steps=5, n_interior=64, n_boundary=16, n_eval=500)
    assert r.model.n_windows == 2 and r.model.edges.tolist() == [0.0, 1 / 3, 1.0]
    assert r.metrics["interrupted"] == "SIGINT" and len(r.metrics["windows"]) == 2
    with torch.no_grad():
        x = points([0.9, 1.0])
        assert torch.equal(r.model(x), r.model.windows[1](x))
