"""Shared pieces of the Fourier pseudo-spectral / ETDRK4 references on a periodic interval.

A semilinear periodic problem u_t = L u + N(u) in Fourier space (one rfft coefficient vector
per field, L diagonal and real) is integrated by ETDRK4 (Cox & Matthews, J. Comput. Phys. 176
(2002) 430-455): with E = exp(dt L), E2 = exp(dt L / 2) and the phi-function coefficients Q,
f1, f2, f3 of :func:`pinnkan.reference.allen_cahn._etdrk4_coefficients` (contour integrals,
Kassam & Trefethen, SIAM J. Sci. Comput. 26 (2005) 1214-1233),

    a = E2 v + Q N(v),   b = E2 v + Q N(a),   c = E2 a + Q (2 N(b) - N(v)),
    v <- E v + f1 N(v) + 2 f2 (N(a) + N(b)) + f3 N(c).

The stored solution is evaluated at any (x, t) by an interpolating spline (cubic in t; cubic or quintic in x) on the grid
extended periodically by :data:`PAD` points on each side (as for Allen-Cahn).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.interpolate import RectBivariateSpline

from pinnkan.reference.allen_cahn import _etdrk4_coefficients, upsample

__all__ = ["PAD", "etdrk4", "periodic_spline", "steps_between_saves", "upsample"]

PAD = 16


def steps_between_saves(t_end: float, dt: float, n_times: int, what: str) -> tuple[int, int]:
    """(n_steps, every): ``t_end = n_steps dt`` and ``n_steps = every (n_times - 1)``, else ValueError."""
    if n_times < 2:
        raise ValueError(f"{what}: n_times must be >= 2, got {n_times}.")
    n_steps = int(round(t_end / dt))
    every = n_steps // (n_times - 1)
    if n_steps < 1 or abs(n_steps * dt - t_end) > 1e-9 * t_end or every * (n_times - 1) != n_steps:
        raise ValueError(f"{what}: t_end / dt = {t_end / dt} must be an integer multiple of n_times - 1 = {n_times - 1}.")
    return n_steps, every


def etdrk4(v0: np.ndarray, L: np.ndarray, nonlinear: Callable[[np.ndarray], np.ndarray], dt: float,
           n_steps: int, every: int) -> np.ndarray:
    """Integrate v_t = L v + N(v) from v0 (any shape, complex; L real of the same shape) for
    ``n_steps`` steps of ``dt``; returns the states every ``every`` steps, row 0 = v0:
    shape (n_steps // every + 1,) + v0.shape."""
    E, E2, Q, f1, f2, f3 = (c.reshape(L.shape) for c in _etdrk4_coefficients(np.asarray(L, float).ravel(), dt))
    v = np.array(v0, dtype=np.complex128)
    out = np.empty((n_steps // every + 1,) + v.shape, dtype=np.complex128)
    out[0] = v
    nv = nonlinear(v)
    for step in range(1, n_steps + 1):
        a = E2 * v + Q * nv
        na = nonlinear(a)
        b = E2 * v + Q * na
        nb = nonlinear(b)
        c = E2 * a + Q * (2 * nb - nv)
        nc = nonlinear(c)
        v = E * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        nv = nonlinear(v)
        if step % every == 0:
            out[step // every] = v
    return out


def periodic_spline(U: np.ndarray, a: float, period: float, t: np.ndarray, kx: int = 3) -> RectBivariateSpline:
    """Interpolating spline in (x, t) of U (n_times, m), the values at x_j = a + period j / m and
    times t (n_times,), on the grid extended periodically by PAD points each side: degree ``kx``
    in x (3, or 5 where fourth x-derivatives of the interpolant are used), cubic in t."""
    m = U.shape[1]
    xg = a + period * np.arange(m) / m
    xp = np.concatenate([xg[-PAD:] - period, xg, xg[:PAD] + period])
    Up = np.concatenate([U[:, -PAD:], U, U[:, :PAD]], axis=1)
    return RectBivariateSpline(xp, t, Up.T, kx=kx, ky=3, s=0)
