"""Reference solution of a 1-D periodic Gray-Scott reaction-diffusion benchmark.

    u_t = Du u_xx - u v^2 + F (1 - u),
    v_t = Dv v_xx + u v^2 - (F + kappa) v,      x in [-1, 1] periodic, t in [0, 20],
    u(x, 0) = 1 - b(x) / 2,  v(x, 0) = b(x) / 2,  b(x) = exp(-10 (1 - cos(pi x))),
    Du = 1e-3, Dv = 5e-4, F = 0.04, kappa = 0.06.

b is a smooth periodic bump of width about 0.1 at x = 0. The v pulse first grows (max v 0.5 ->
0.7 near t = 10) while it consumes u (min u 0.5 -> 0.12), then splits into two pulses that move
apart (two maxima of v from t ~ 15 on); everything stays smooth.

Method of lines: Fourier pseudo-spectral in x on n points x_j = -1 + 2 j / n (k = pi m), per
field L_u = -Du k^2 - F, L_v = -Dv k^2 - (F + kappa) and N(u, v) = F[(-u v^2 + F, u v^2)],
integrated by ETDRK4 with contour-integral coefficients (:mod:`pinnkan.reference.spectral`).

Accuracy (tests/test_hard_problems.py): the data are analytic and the spectrum at n = 256 decays to
rounding; the defaults (n = 256, dt = 2e-3) agree with n = 512 to rounding (3e-16) and with dt / 2
to about 3e-13; the spline (``n_times`` = 1001 times on ``upsample_factor * n`` points) adds at
most about 1e-10 between the stored points.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.interpolate import RectBivariateSpline

from pinnkan.reference.spectral import etdrk4, periodic_spline, steps_between_saves, upsample

DU = 1e-3
DV = 5e-4
F = 0.04
KAPPA = 0.06
T_END = 20.0


def bump(x) -> np.ndarray:
    """b(x) = exp(-10 (1 - cos(pi x))), x of any shape."""
    return np.exp(-10 * (1 - np.cos(np.pi * np.asarray(x, dtype=np.float64))))


def initial_condition(x) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) at t = 0: 1 - b(x) / 2 and b(x) / 2."""
    b = bump(x)
    return 1 - b / 2, b / 2


def solve_gray_scott(n_modes: int = 256, dt: float = 2e-3, n_times: int = 1001, t_end: float = T_END,
                     du: float = DU, dv: float = DV, f: float = F, kappa: float = KAPPA):
    """Integrate the benchmark; returns x (n_modes,) = -1 + 2 j / n_modes, t (n_times,) and the rfft
    coefficients W (n_times, 2, n_modes/2 + 1) of (u, v)(x_j, t_i)."""
    if n_modes < 4 or n_modes % 2:
        raise ValueError(f"gray_scott: n_modes must be even and >= 4, got {n_modes}.")
    n_steps, every = steps_between_saves(t_end, dt, n_times, "gray_scott")
    x = -1.0 + 2.0 * np.arange(n_modes) / n_modes
    k = np.pi * np.arange(n_modes // 2 + 1)
    L = np.stack([-du * k**2 - f, -dv * k**2 - (f + kappa)])

    def nonlinear(w):
        u, v = np.fft.irfft(w, n_modes, axis=-1)
        r = u * v * v
        return np.fft.rfft(np.stack([f - r, r]), axis=-1)

    W = etdrk4(np.fft.rfft(np.stack(initial_condition(x)), axis=-1), L, nonlinear, dt, n_steps, every)
    return x, np.linspace(0.0, t_end, n_times), W


@lru_cache(maxsize=4)
def _splines(n_modes: int, dt: float, n_times: int, upsample_factor: int) -> tuple[RectBivariateSpline, ...]:
    _, t, W = solve_gray_scott(n_modes, dt, n_times)
    m = upsample_factor * n_modes
    return tuple(periodic_spline(upsample(W[:, i], n_modes, m), -1.0, 2.0, t) for i in range(2))


class GrayScottField:
    """The callable of one field (``component`` 0: u, 1: v): ``f(x, t)``, t in [0, 20], x any real
    (period 2), broadcast arrays -> array of their shape. Solved on first call, cached per process."""

    def __init__(self, component: int, n_modes: int = 256, dt: float = 2e-3, n_times: int = 1001,
                 upsample_factor: int = 8):
        self.component = int(component)
        self.n_modes, self.dt, self.n_times, self.upsample_factor = int(n_modes), float(dt), int(n_times), int(upsample_factor)

    def __repr__(self) -> str:
        return f"gray_scott({'uv'[self.component]}, n_modes={self.n_modes}, dt={self.dt}, n_times={self.n_times})"

    def spline(self) -> RectBivariateSpline:
        return _splines(self.n_modes, self.dt, self.n_times, self.upsample_factor)[self.component]

    def __call__(self, x, t) -> np.ndarray:
        x, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(t, dtype=np.float64))
        if not (np.all(np.isfinite(x)) and np.all(t >= 0) and np.all(t <= T_END)):
            raise ValueError(f"gray_scott: the reference solution covers finite x and t in [0, {T_END:g}] only.")
        xr = np.mod(x + 1.0, 2.0) - 1.0
        return self.spline().ev(xr.ravel(), t.ravel()).reshape(x.shape)


def gray_scott(**kwargs) -> tuple[GrayScottField, GrayScottField]:
    """Reference ``(u(x, t), v(x, t))`` of the Gray-Scott benchmark above (keywords: n_modes, dt,
    n_times, upsample_factor); x, t of shape (N,) give (N,); both share one solve, done on first call."""
    return GrayScottField(0, **kwargs), GrayScottField(1, **kwargs)
