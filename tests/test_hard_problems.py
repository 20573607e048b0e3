"""The hard shipped problems and their references: Kuramoto-Sivashinsky and Gray-Scott (spectral
ETDRK4 references: convergence, conservation, the equation by finite differences), the lid-driven
cavity (Ghia et al.'s tables as its reference points) and Poisson on a square with holes."""

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.problem.compile import compile_problem
from pinnkan.reference import gray_scott, kuramoto_sivashinsky
from pinnkan.reference.ghia import (GhiaCavity, U_TABLE, V_TABLE, X_NODES, Y_NODES, centre_line_exact,
                                    reference_points)
from pinnkan.reference.gray_scott import solve_gray_scott
from pinnkan.reference.kuramoto import ALPHA, BETA, GAMMA, initial_condition, solve_kuramoto

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"


# --- Kuramoto-Sivashinsky ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def ks():
    """The default solve saved at t = 0, 0.05, ..., 0.5: (x (256,), V (11, 129))."""
    x, _, V = solve_kuramoto(n_times=11)
    return x, V


def _spectral_x_derivative(V, n, order):
    """d^order/dx^order on the grid of the rfft coefficients V (..., n/2 + 1), period 2 pi."""
    ik = 1j * np.arange(n // 2 + 1)
    if order % 2:
        ik[-1] = 0
    return np.fft.irfft(V * ik**order, n, axis=-1)


def test_ks_conserves_the_mean_and_starts_from_its_initial_data(ks):
    x, V = ks
    # the k = 0 mode never changes (L = 0 and N = 0 there): the mean of u stays that of u0 (zero)
    assert np.abs(V[:, 0] - V[0, 0]).max() < 1e-12
    assert abs(V[0, 0].real) / 256 < 1e-15
    np.testing.assert_allclose(np.fft.irfft(V[0], 256), initial_condition(x), rtol=0, atol=1e-15)
    ref = kuramoto_sivashinsky()
    assert np.abs(ref(x, np.zeros_like(x)) - initial_condition(x)).max() < 1e-12  # grid nodes
    xs = np.random.default_rng(0).uniform(0, 2 * np.pi, 300)
    assert np.abs(ref(xs, np.zeros_like(xs)) - initial_condition(xs)).max() < 1e-7  # between them
    np.testing.assert_allclose(ref(xs + 2 * np.pi, np.full_like(xs, 0.3)), ref(xs, np.full_like(xs, 0.3)), atol=1e-12)


def test_ks_fields_satisfy_the_equation():
    """u_t by centred differences in time of the solver output (step 1e-4, O(dt^2) ~ 1e-6 of the
    largest term), the x-derivatives spectrally: the residual is below 1e-5 of max |u_xxxx term|."""
    h, n = 1e-4, 256
    # the states at t = 0.25 - h, 0.25, 0.25 + h: one solve to 0.25 + h saved every 4 steps of h / 4
    _, t, W = solve_kuramoto(dt=h / 4, t_end=0.25 + h, n_times=2502)
    assert abs(t[-2] - 0.25) < 1e-12
    states = W[-3:]
    ut = (np.fft.irfft(states[2], n) - np.fft.irfft(states[0], n)) / (2 * h)
    u = np.fft.irfft(states[1], n)
    terms = [ALPHA * u * _spectral_x_derivative(states[1], n, 1), BETA * _spectral_x_derivative(states[1], n, 2),
             GAMMA * _spectral_x_derivative(states[1], n, 4)]
    scale = max(np.abs(t).max() for t in terms + [ut])
    assert scale > 10
    assert np.abs(ut + sum(terms)).max() / scale < 1e-5


@pytest.mark.slow
def test_ks_converges_in_modes_and_step(ks):
    """Twice the modes and half the step change the state at t = 0.5 by < 1e-9 of max |u| (measured
    3e-11 and 2e-10: the growth of the unstable modes amplifies rounding)."""
    x, V = ks
    u = np.fft.irfft(V[-1], 256)
    _, _, V2 = solve_kuramoto(n_modes=512, n_times=2)
    _, _, Vh = solve_kuramoto(dt=1.25e-5, n_times=2)
    size = np.abs(u).max()
    assert np.abs(np.fft.irfft(V2[-1], 512)[::2] - u).max() / size < 1e-9
    assert np.abs(np.fft.irfft(Vh[-1], 256) - u).max() / size < 1e-9


# --- Gray-Scott --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gs():
    x, _, W = solve_gray_scott(n_times=11)
    return x, W


@pytest.mark.slow
def test_gray_scott_converges_in_modes_and_step(gs):
    """Twice the modes: 3e-16 measured; half the step: 3e-13 measured; bound 1e-11."""
    x, W = gs
    U = np.fft.irfft(W, 256, axis=-1)
    _, _, W2 = solve_gray_scott(n_modes=512, n_times=11)
    _, _, Wh = solve_gray_scott(dt=1e-3, n_times=11)
    assert np.abs(np.fft.irfft(W2, 512, axis=-1)[..., ::2] - U).max() < 1e-11
    assert np.abs(np.fft.irfft(Wh, 256, axis=-1) - U).max() < 1e-11


def test_gray_scott_evolution_is_the_stated_one(gs):
    """Even in x (so is the data); the pulse grows, consumes u, then splits in two; no mass law
    holds, but u + v obeys (u + v)_t = diffusion + F (1 - u) - (F + kappa) v, checked at x = 0."""
    x, W = gs
    U = np.fft.irfft(W, 256, axis=-1)  # (11, 2, 256) at t = 0, 2, ..., 20
    np.testing.assert_allclose(U[:, :, 1:], U[:, :, 1:][..., ::-1], atol=1e-12)
    u, v = U[:, 0], U[:, 1]
    assert u[5].min() < 0.15 and v[5].max() > 0.65  # t = 10
    peaks = lambda w: int(np.sum((w > np.roll(w, 1)) & (w > np.roll(w, -1)) & (w > 0.05)))
    assert peaks(v[0]) == 1 and peaks(v[10]) == 2
    ref_u, ref_v = gray_scott()
    assert np.abs(ref_u(x, np.zeros_like(x)) - (1 - np.exp(-10 * (1 - np.cos(np.pi * x))) / 2)).max() < 1e-12
    xs = np.random.default_rng(1).uniform(-1, 1, 200)
    ts = np.full_like(xs, 20.0)
    assert np.abs(ref_v(xs, ts) - ref_v(-xs, ts)).max() < 1e-9
    assert np.abs(ref_u(xs + 2, ts) - ref_u(xs, ts)).max() < 1e-12


# --- numerical references: each shipped problem's equation by finite differences ----------------

@pytest.mark.parametrize("name, bound", [("kuramoto_sivashinsky1d", 1e-6), ("gray_scott1d", 1e-9)])
def test_reference_satisfies_its_problem_by_finite_differences(name, bound):
    """The check of tests/test_examples.py (nested 4th-order differences, h = 1e-3, relative to the
    largest term) with tighter bounds: measured 8e-8 (KS, through the quintic spline) and 3e-11."""
    from test_examples import _relative_residual_at_reference

    assert _relative_residual_at_reference(pk.load_problem(PROBLEMS / f"{name}.py")) < bound


# --- Ghia et al. --------------------------------------------------------------------------------

def test_ghia_tables_spot_values_and_nodes():
    # entries away from any symmetry: Table I, Re 100 at y = 0.9766 and 0.4531; Re 1000 at 0.1719
    assert U_TABLE[100][1] == 0.84123 and U_TABLE[100][9] == -0.21090 and U_TABLE[1000][11] == -0.38289
    # Table II, Re 100 at x = 0.8047 and 0.2344; Re 1000 at 0.9688 and 0.9063 (the minimum)
    assert V_TABLE[100][7] == -0.24533 and V_TABLE[100][9] == 0.17527
    assert V_TABLE[1000][1] == -0.21388 and V_TABLE[1000][5] == -0.51550 == V_TABLE[1000].min()
    # the nodes are grid points j / 128, printed to 4 digits (rounded half up)
    printed_y = [1.0, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5, 0.4531, 0.2813, 0.1719,
                 0.1016, 0.0703, 0.0625, 0.0547, 0.0]
    printed_x = [1.0, 0.9688, 0.9609, 0.9531, 0.9453, 0.9063, 0.8594, 0.8047, 0.5, 0.2344, 0.2266, 0.1563,
                 0.0938, 0.0781, 0.0703, 0.0625, 0.0]
    np.testing.assert_array_equal(np.floor(Y_NODES * 1e4 + 0.5) / 1e4, printed_y)
    np.testing.assert_array_equal(np.floor(X_NODES * 1e4 + 0.5) / 1e4, printed_x)
    for re in (100, 1000):  # no-slip walls and the lid, and the shared centre point
        assert U_TABLE[re][0] == 1 and U_TABLE[re][-1] == 0 and V_TABLE[re][0] == 0 == V_TABLE[re][-1]
    with pytest.raises(ValueError, match="Re = 100, 1000"):
        centre_line_exact(*sp.symbols("x y"), 400)


@pytest.mark.parametrize("re", [100, 1000])
def test_cavity_reference_points_read_back_the_tables(re):
    problem = pk.load_problem(PROBLEMS / f"cavity_re{re}.py")
    compiled = compile_problem(problem)
    assert isinstance(problem.domain, GhiaCavity) and list(compiled.field_names) == ["u", "v", "p"]
    points = problem.domain.evaluation_points(1000)
    assert points.shape == (1000, 2) and problem.domain.contains(points).all()
    np.testing.assert_array_equal(points[-33:], reference_points())
    exact = compiled.exact_values(torch.as_tensor(points)).numpy()
    u_ok, v_ok = np.isfinite(exact[:, 0]), np.isfinite(exact[:, 1])
    assert u_ok.sum() == 17 and v_ok.sum() == 17  # the centre (1/2, 1/2) is on both lines
    np.testing.assert_array_equal(exact[-33:-16, 0], U_TABLE[re])
    np.testing.assert_array_equal(exact[-16:, 1], np.delete(V_TABLE[re], 8))
    assert exact[-33 + 8, 1] == V_TABLE[re][8]  # v at the centre, from Table II
    assert compiled.exact.keys() == {0, 1}  # no reference for the pressure
    # the Sobol part is that of the plain unit square
    np.testing.assert_array_equal(points[:-33], pk.Rectangle((0, 0), (1, 1)).evaluation_points(967))


def test_cavity_errors_are_measured_on_the_table_points():
    """A model equal to the table at its points has zero error there; one off by 0.01 in u at every
    point has max error 0.01 and rel_l2 0.01 / rms(table)."""
    from pinnkan.evaluation.metrics import field_errors_and_coverage

    problem = pk.load_problem(PROBLEMS / "cavity_re100.py")
    compiled = compile_problem(problem)
    points = torch.as_tensor(problem.domain.evaluation_points(500))
    exact = compiled.exact_values(points)
    pred = torch.nan_to_num(exact.clone(), nan=0.0)
    pred[:, 0] += 0.01
    rel, mx, coverage = field_errors_and_coverage(compiled, pred, points)
    assert abs(mx["u"] - 0.01) < 1e-12 and mx["v"] == 0.0 and rel["v"] == 0.0
    table = U_TABLE[100]
    assert abs(rel["u"] - 0.01 * np.sqrt(17) / np.linalg.norm(table)) < 1e-12
    assert coverage == {"u": 17 / 500, "v": 17 / 500}


# --- Poisson with holes -----------------------------------------------------------------------

def test_poisson_holes_geometry_and_normals():
    problem = pk.load_problem(PROBLEMS / "poisson_holes.py")
    domain = problem.domain
    pts, normals = domain.sample_boundary(4000, "uniform", np.random.default_rng(0))[:2]
    centres = np.array([[-0.3, -0.3], [-0.3, 0.3], [0.3, -0.3], [0.3, 0.3]])
    d = np.linalg.norm(pts[:, None, :] - centres[None], axis=2)
    on_hole = d.min(axis=1) < 0.1 + 1e-9
    assert on_hole.any() and (~on_hole).any()
    near = centres[d.argmin(axis=1)]
    # on a hole the outward normal of the domain points into the hole: n = -(p - c) / r
    np.testing.assert_allclose(normals[on_hole], -(pts[on_hole] - near[on_hole]) / 0.1, atol=1e-9)
    assert np.allclose(np.abs(pts[~on_hole]).max(axis=1), 0.5)
    inside = domain.sample_interior(2000, "uniform", np.random.default_rng(1))
    assert (np.linalg.norm(inside[:, None, :] - centres[None], axis=2) > 0.1).all()
    compiled = compile_problem(problem)
    assert [t.label for t in compiled.terms] == ["equation 1", "outer square", "hole 1", "hole 2", "hole 3", "hole 4"]


def test_poisson_holes_solves_at_ci_size():
    """A short multilevel KAN run (seed 0, the SHORT case of tests/test_shipped_solves.py):
    measured rel. L2 error 2.24e-4; bound 2e-3."""
    problem = pk.load_problem(PROBLEMS / "poisson_holes.py")
    result = pk.solve(problem, levels=[5, 10], adam_steps=50, lm_steps=30, n_interior=256, n_boundary=32,
                      n_eval=500, seed=0, progress=False)
    assert result.metrics["rel_l2"]["u"] < 2e-3
