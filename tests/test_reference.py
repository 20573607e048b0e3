"""Reference solutions (pinnkan.reference) and the Kovasznay problem file's exact solution."""

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import pinnkan as pk
from pinnkan.reference import allen_cahn, burgers
from pinnkan.reference.allen_cahn import initial_condition, solve_allen_cahn

NU = 0.01 / np.pi
PROBLEMS = Path(__file__).resolve().parent.parent / "problems"


# --- Burgers -----------------------------------------------------------------------------------

def test_burgers_initial_condition():
    u = burgers(NU)
    x = np.linspace(-1, 1, 101)
    np.testing.assert_array_equal(u(x, np.zeros_like(x)), -np.sin(np.pi * x))
    # continuous at t = 0+: u(x, t) = -sin(pi x) + O(t)
    assert np.abs(u(x, np.full_like(x, 1e-9)) + np.sin(np.pi * x)).max() < 1e-7


def test_burgers_boundary_and_odd_symmetry():
    u = burgers(NU)
    t = np.linspace(0, 1, 11)
    assert np.abs(u(np.ones_like(t), t)).max() < 1e-13
    assert np.abs(u(-np.ones_like(t), t)).max() < 1e-13
    # the problem is invariant under (x, u) -> (-x, -u)
    rng = np.random.default_rng(0)
    x, tt = rng.uniform(-1, 1, 200), rng.uniform(0, 1, 200)
    assert np.abs(u(-x, tt) + u(x, tt)).max() < 1e-13


def test_burgers_pde_residual():
    # centred differences, h = 1e-3, away from the front: truncation O(h^2) ~ 2e-5 of |u_t|
    u = burgers(NU)
    X, T = np.meshgrid([-0.7, -0.4, 0.3, 0.6], [0.1, 0.5, 0.9])
    x, t = X.ravel(), T.ravel()
    h = 1e-3
    ut = (u(x, t + h) - u(x, t - h)) / (2 * h)
    ux = (u(x + h, t) - u(x - h, t)) / (2 * h)
    uxx = (u(x + h, t) - 2 * u(x, t) + u(x - h, t)) / h**2
    residual = ut + u(x, t) * ux - NU * uxx
    assert np.abs(ut).min() > 0.02
    assert np.abs(residual / ut).max() < 1e-4


def test_burgers_maximal_slope_basdevant():
    # Basdevant et al. (1986): the slope at x = 0 is steepest at t = 1.6037/pi, u_x = -152.00516
    u = burgers(NU)
    h = 1e-6

    def slope(t):
        return float((u(np.array([h]), np.array([t])) - u(np.array([-h]), np.array([t])))[0] / (2 * h))

    s = slope(1.6037 / np.pi)
    assert abs(s - (-152.00516)) < 1e-3 * 152.00516
    assert abs(s - (-152.00516)) < 1e-4  # agreement to all the published digits
    assert s < slope(1.59 / np.pi) and s < slope(1.62 / np.pi)
    assert abs(slope(1 / np.pi) - (-34.22629)) < 1e-4


def test_burgers_quadrature_converged():
    # The integrand in s is exp(-s^2) times an entire function: Gauss-Hermite converges faster
    # than any power of n (50 nodes: ~4e-8 at t = 1, 100 nodes: at rounding), so 200 and 400 nodes
    # must agree to rounding (~1e-15 for values O(1)); 1e-12 leaves a wide margin, front included.
    x = np.concatenate([np.linspace(-1, 1, 201), [-1e-3, -1e-4, 1e-4, 1e-3]])
    for t in [0.01, 0.3, 1.6037 / np.pi, 1.0]:
        tt = np.full_like(x, t)
        assert np.abs(burgers(NU, n_nodes=200)(x, tt) - burgers(NU, n_nodes=400)(x, tt)).max() < 1e-12


def test_burgers_shapes_and_chunking():
    rng = np.random.default_rng(1)
    x, t = rng.uniform(-1, 1, (5, 7)), rng.uniform(0, 1, (5, 7))
    a = burgers(NU)(x, t)
    assert a.shape == (5, 7)
    np.testing.assert_allclose(burgers(NU, chunk=3)(x.ravel(), t.ravel()), a.ravel(), rtol=0, atol=1e-15)
    with pytest.raises(ValueError):
        burgers(NU)(np.zeros(2), np.array([0.5, -0.1]))


# --- Allen-Cahn --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ac():
    return allen_cahn()


@pytest.fixture(scope="module")
def ac_fine():
    """Twice the modes of the default, saved at t = 0, 0.1, ..., 1: (x (8192,), V (11, 4097))."""
    x, _, V = solve_allen_cahn(n_modes=8192, dt=1e-3, n_times=11)
    return x, V


def test_allen_cahn_initial_condition(ac):
    m = ac.upsample_factor * ac.n_modes
    x = -1 + 2 * np.arange(m) / m
    assert np.abs(ac(x, np.zeros_like(x)) - x**2 * np.cos(np.pi * x)).max() < 1e-10
    np.testing.assert_allclose(initial_condition(x), x**2 * np.cos(np.pi * x), rtol=0, atol=0)


@pytest.mark.slow
def test_allen_cahn_convergence(ac, ac_fine):
    x = -1 + 2 * np.arange(ac.n_modes) / ac.n_modes
    one = np.ones_like(x)
    ref = ac(x, one)
    # half the step (t = 1 only): changes ~1e-11
    _, _, V = solve_allen_cahn(n_modes=ac.n_modes, dt=ac.dt / 2, n_times=2)
    assert np.abs(np.fft.irfft(V[-1], ac.n_modes) - ref).max() < 1e-9
    # twice the modes: ~1e-10 at t = 1; ~2e-6 at t = 0.1 (the corner of the periodic initial
    # data at x = +-1 is still being resolved there)
    _, Vf = ac_fine
    fine = np.fft.irfft(Vf, 8192, axis=-1)[:, ::2]
    assert np.abs(fine[-1] - ref).max() < 1e-8
    assert np.abs(fine[1] - ac(x, 0.1 * one)).max() < 5e-6


def test_allen_cahn_periodic_and_even(ac):
    rng = np.random.default_rng(2)
    x, t = rng.uniform(-1, 1, 500), rng.uniform(0, 1, 500)
    np.testing.assert_allclose(ac(x + 2, t), ac(x, t), rtol=0, atol=1e-12)
    # the initial data and the equation are even in x, so is the solution
    assert np.abs(ac(-x, t) - ac(x, t)).max() < 1e-12
    # smooth across the seam x = +-1: the slope from the left of x = 1 matches that from the right
    # of x = -1 (finite differences, h = 1e-3, second order)
    for tt in [0.5, 1.0]:
        h, T = 1e-3, np.full(3, tt)
        left = ac(np.array([1 - 2 * h, 1 - h, 1.0]), T)
        right = ac(np.array([-1.0, -1 + h, -1 + 2 * h]), T)
        assert abs((3 * left[2] - 4 * left[1] + left[0]) - (-3 * right[0] + 4 * right[1] - right[2])) / (2 * h) < 1e-4


def test_allen_cahn_end_state(ac, ac_fine):
    x = np.linspace(-1, 1, 2001)
    u1 = ac(x, np.ones_like(x))
    # plateaus: u = -1 near x = +-1 and for 0.6 <= |x|, u near +1 for 0.3 <= |x| <= 0.4 (still rising)
    assert np.abs(u1[np.abs(x) >= 0.6] + 1).max() < 2e-3
    assert np.abs(u1[(np.abs(x) >= 0.3) & (np.abs(x) <= 0.4)] - 1).max() < 1e-2
    assert -1 - 1e-9 < u1.min() and u1.max() < 1
    # x = 0 stays in a narrow dip: linearised there, u(0, t) = 2 d t e^{g t} (from u ~ x^2 at t = 0)
    u0 = float(ac(np.zeros(1), np.ones(1))[0])
    assert abs(u0 - 2e-4 * np.exp(5.0)) < 0.01 * 2e-4 * np.exp(5.0)
    xf, Vf = ac_fine
    assert abs(u0 - np.fft.irfft(Vf[-1], 8192)[4096]) < 1e-8  # x_4096 = 0
    assert xf[4096] == 0.0


def test_allen_cahn_rejects_outside_time(ac):
    with pytest.raises(ValueError):
        ac(np.zeros(1), np.array([1.5]))


# --- Kovasznay problem file --------------------------------------------------------------------

def test_kovasznay_exact_solution_satisfies_equations():
    problem = pk.load_problem(PROBLEMS / "kovasznay.py")
    x, y = problem.coordinates
    assert len(problem.fields) == 3 and len(problem.equations) == 3
    subs = {f: problem.exact[f] for f in problem.fields}
    rng = np.random.default_rng(3)
    px, py = rng.uniform(-0.5, 1.0, 300), rng.uniform(-0.5, 1.5, 300)
    for eq in problem.equations:
        expr = eq.lhs - eq.rhs if isinstance(eq, sp.Eq) else eq
        residual = sp.lambdify((x, y), expr.subs(subs).doit(), "numpy")
        assert np.abs(residual(px, py) * np.ones_like(px)).max() < 1e-10
    # the pressure is pinned on x = 1, where p_exact = (1 - exp(2 lambda)) / 2
    pin = [c for c in problem.conditions if c.field == problem.fields[2]]
    assert len(pin) == 1 and pin[0].on == sp.Eq(x, 1)
    lam = 10 - np.sqrt(100 + 4 * np.pi**2)
    assert abs(float(pin[0].value.subs(x, 1)) - (1 - np.exp(2 * lam)) / 2) < 1e-14
