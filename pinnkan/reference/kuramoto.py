"""Reference solution of the Kuramoto-Sivashinsky benchmark (the setup of jaxpi).

    u_t + alpha u u_x + beta u_xx + gamma u_xxxx = 0,   x in [0, 2 pi] periodic, t in [0, 0.5],
    u(x, 0) = cos(x) (1 + sin(x)),   alpha = 100/16, beta = 100/16^2, gamma = 100/16^4.

Method of lines: Fourier pseudo-spectral in x on n equispaced points x_j = 2 pi j / n
(wavenumbers k = 0..n/2), so in Fourier space

    v_t = L v + N(v),   L = beta k^2 - gamma k^4,   N(v) = -(alpha / 2) i k F[(F^-1 v)^2]

(u u_x = (u^2)_x / 2; the first derivative of the Nyquist mode is set to 0), integrated by
ETDRK4 with contour-integral coefficients (:mod:`pinnkan.reference.spectral`). Modes
k < 16 grow (beta k^2 > gamma k^4; fastest, e^(25 t), at k^2 = 128); the solution steepens into
travelling cells but stays smooth on t in [0, 0.5].

Accuracy (tests/test_hard_problems.py): with the defaults (n = 256, dt = 2.5e-5; max |u| is
about 2.6 on [0, 0.5]) the solution at t = 0.5 agrees with n = 512 to 3e-11 and with dt / 2 to
2e-10 relative to max |u| (the growth e^(25 t) of the unstable modes amplifies rounding); the
spline (quintic in x, so that its fourth x-derivative is continuous, cubic in t; ``n_times`` =
1001 times on ``upsample_factor * n`` = 2048 points) adds at most about 1e-7 between the stored
points, and the reference satisfies the equation by finite differences to about 1e-7 relative
to its largest term. The mean of u is conserved exactly (k = 0 never changes).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.interpolate import RectBivariateSpline

from pinnkan.reference.spectral import etdrk4, periodic_spline, steps_between_saves, upsample

ALPHA = 100.0 / 16
BETA = 100.0 / 16**2
GAMMA = 100.0 / 16**4
T_END = 0.5
PERIOD = 2 * np.pi


def initial_condition(x) -> np.ndarray:
    """u(x, 0) = cos(x) (1 + sin(x)), x of any shape."""
    x = np.asarray(x, dtype=np.float64)
    return np.cos(x) * (1 + np.sin(x))


def solve_kuramoto(n_modes: int = 256, dt: float = 2.5e-5, n_times: int = 1001, t_end: float = T_END,
                   alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA):
    """Integrate the benchmark; returns the grid x (n_modes,) = 2 pi j / n_modes, the times
    t (n_times,) = linspace(0, t_end, n_times) and the rfft coefficients V (n_times, n_modes/2 + 1)
    of u(x_j, t_i). ``t_end / dt`` must be a multiple of ``n_times - 1``; ``n_modes`` even."""
    if n_modes < 4 or n_modes % 2:
        raise ValueError(f"kuramoto: n_modes must be even and >= 4, got {n_modes}.")
    n_steps, every = steps_between_saves(t_end, dt, n_times, "kuramoto")
    x = PERIOD * np.arange(n_modes) / n_modes
    k = np.arange(n_modes // 2 + 1, dtype=np.float64)
    ik = 1j * k
    ik[-1] = 0.0  # the Nyquist mode is a cosine: its first derivative on the grid is 0

    def nonlinear(v):
        return -0.5 * alpha * ik * np.fft.rfft(np.fft.irfft(v, n_modes) ** 2)

    V = etdrk4(np.fft.rfft(initial_condition(x)), beta * k**2 - gamma * k**4, nonlinear, dt, n_steps, every)
    return x, np.linspace(0.0, t_end, n_times), V


@lru_cache(maxsize=4)
def _spline(n_modes: int, dt: float, n_times: int, upsample_factor: int) -> RectBivariateSpline:
    _, t, V = solve_kuramoto(n_modes, dt, n_times)
    m = upsample_factor * n_modes
    return periodic_spline(upsample(V, n_modes, m), 0.0, PERIOD, t, kx=5)


class KuramotoSolution:
    """The callable ``u(x, t)``: x, t broadcastable float arrays, t in [0, 0.5], x any real
    (period 2 pi) -> array of their broadcast shape. Solved on first call (a few seconds),
    cached per process."""

    def __init__(self, n_modes: int = 256, dt: float = 2.5e-5, n_times: int = 1001, upsample_factor: int = 8):
        self.n_modes, self.dt, self.n_times, self.upsample_factor = int(n_modes), float(dt), int(n_times), int(upsample_factor)

    def __repr__(self) -> str:
        return f"kuramoto_sivashinsky(n_modes={self.n_modes}, dt={self.dt}, n_times={self.n_times})"

    def spline(self) -> RectBivariateSpline:
        """The interpolating spline in (x, t)."""
        return _spline(self.n_modes, self.dt, self.n_times, self.upsample_factor)

    def __call__(self, x, t) -> np.ndarray:
        x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
        if not (np.all(np.isfinite(x)) and np.all(t >= 0) and np.all(t <= T_END)):
            raise ValueError(f"kuramoto: the reference solution covers finite x and t in [0, {T_END}] only.")
        return self.spline().ev(np.mod(x, PERIOD).ravel(), t.ravel()).reshape(x.shape)


def kuramoto_sivashinsky(n_modes: int = 256, dt: float = 2.5e-5, n_times: int = 1001,
                         upsample_factor: int = 8) -> KuramotoSolution:
    """Reference ``u(x, t)`` of u_t + (100/16) u u_x + (100/16^2) u_xx + (100/16^4) u_xxxx = 0,
    x in [0, 2 pi] periodic, t in [0, 0.5], u(x, 0) = cos(x) (1 + sin(x)): spectral (``n_modes``
    points) + ETDRK4 (step ``dt``), stored at ``n_times`` times on ``upsample_factor * n_modes``
    points, spline quintic in x and cubic in t. x, t of shape (N,) give (N,); nothing is computed before the first call."""
    return KuramotoSolution(n_modes, dt, n_times, upsample_factor)
