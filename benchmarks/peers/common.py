"""What every runner of the peer suite shares: the problems, the collocation points of the peers,
the evaluation grid, the error, the clock and the machine description.

Each problem is given here a second time, independently of its pinnkan problem file, as plain
torch / numpy functions, so that pykan and DeepXDE are fed the same equation without importing
pinnkan:

- ``poisson2d``:   -u_xx - u_yy = 2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2, u = 0 on the boundary;
                   u = sin(pi x) sin(pi y).
- ``helmholtz2d``: -u_xx - u_yy - k^2 u = (17 pi^2 - k^2) sin(pi x) sin(4 pi y) on [-1, 1]^2, k = 1,
                   u = 0 on the boundary; u = sin(pi x) sin(4 pi y).
- ``heat1d``:      u_t = alpha u_xx on x in [0, 1], t in [0, 1], alpha = 0.1, u(0, t) = u(1, t) = 0,
                   u(x, 0) = sin(pi x); u = exp(-alpha pi^2 t) sin(pi x).

Coordinates are the columns of an (N, 2) array: (x, y) for the 2D problems, (x, t) for heat1d.
Every tool is scored on the same 100 x 100 uniform grid of the domain (boundary included):
relative L2 error = ||u - u*||_2 / ||u*||_2.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PROBLEM_NAMES = ("poisson2d", "helmholtz2d", "heat1d")
EVAL_N = 100  # evaluation grid: EVAL_N x EVAL_N
HEAT_ALPHA = 0.1
HELMHOLTZ_K = 1.0


@dataclass(frozen=True)
class Spec:
    """One benchmark problem, for the peers.

    exact(lib, X): the exact solution, ``lib`` numpy or torch, X (N, 2) -> (N,).
    residual(X, u, u_a, u_b, u_aa, u_bb): the PDE residual (torch), from the value and the first and
    pure second derivatives in the two coordinates a, b (x, y or x, t), each (N,).
    time_dependent: the second coordinate is time: the boundary is x = lo, x = hi (all t) and the
    initial line t = lo; otherwise it is the whole boundary of the rectangle.
    uses_value: the residual needs u itself (otherwise ``u`` may be passed as None).
    """

    name: str
    lo: tuple[float, float]
    hi: tuple[float, float]
    exact: Callable
    residual: Callable
    time_dependent: bool = False
    uses_value: bool = False
    pde_text: str = ""


def _poisson_exact(lib, X):
    return lib.sin(math.pi * X[:, 0]) * lib.sin(math.pi * X[:, 1])


def _poisson_residual(X, u, ux, uy, uxx, uyy):
    import torch

    f = 2 * math.pi**2 * torch.sin(math.pi * X[:, 0]) * torch.sin(math.pi * X[:, 1])
    return -uxx - uyy - f


def _helmholtz_exact(lib, X):
    return lib.sin(math.pi * X[:, 0]) * lib.sin(4 * math.pi * X[:, 1])


def _helmholtz_residual(X, u, ux, uy, uxx, uyy):
    import torch

    k2 = HELMHOLTZ_K**2
    f = (17 * math.pi**2 - k2) * torch.sin(math.pi * X[:, 0]) * torch.sin(4 * math.pi * X[:, 1])
    return -uxx - uyy - k2 * u - f


def _heat_exact(lib, X):
    return lib.exp(-HEAT_ALPHA * math.pi**2 * X[:, 1]) * lib.sin(math.pi * X[:, 0])


def _heat_residual(X, u, ux, ut, uxx, utt):
    return ut - HEAT_ALPHA * uxx


SPECS = {
    "poisson2d": Spec("poisson2d", (-1.0, -1.0), (1.0, 1.0), _poisson_exact, _poisson_residual,
                      pde_text="-lap u = 2 pi^2 sin(pi x) sin(pi y) on [-1,1]^2, u = 0 on the boundary"),
    "helmholtz2d": Spec("helmholtz2d", (-1.0, -1.0), (1.0, 1.0), _helmholtz_exact, _helmholtz_residual, uses_value=True,
                        pde_text="-lap u - u = f on [-1,1]^2, u = sin(pi x) sin(4 pi y), u = 0 on the boundary"),
    "heat1d": Spec("heat1d", (0.0, 0.0), (1.0, 1.0), _heat_exact, _heat_residual, time_dependent=True,
                   pde_text="u_t = 0.1 u_xx on [0,1] x [0,1], u(0,t) = u(1,t) = 0, u(x,0) = sin(pi x)"),
}


def spec(name: str) -> Spec:
    if name not in SPECS:
        raise ValueError(f"Unknown problem {name!r}; choose from {', '.join(SPECS)}.")
    return SPECS[name]


# --------------------------------------------------------------------------- points
def interior_points(s: Spec, n: int, seed: int) -> np.ndarray:
    """n uniformly random points in the open rectangle (as in pykan's PDE example, 'random' mode)."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array(s.lo), np.array(s.hi)
    return lo + (hi - lo) * rng.random((n, 2))


def _line(a, b, n):
    """n evenly spaced points from a to b, b left out (so that the sides of a polygon do not repeat corners)."""
    s = np.arange(n) / n
    return np.asarray(a)[None, :] + s[:, None] * (np.asarray(b) - np.asarray(a))[None, :]


def boundary_points(s: Spec, n: int) -> list[np.ndarray]:
    """The boundary points of ``s``, one array per condition, ``n`` points each.

    Steady problem: one condition, n points evenly spaced around the perimeter. Time-dependent
    problem: the boundary condition (n points, half on x = lo, half on x = hi) and the initial
    condition (n points on t = lo)."""
    (x0, y0), (x1, y1) = s.lo, s.hi
    if not s.time_dependent:
        per = [n // 4 + (i < n % 4) for i in range(4)]
        corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        return [np.concatenate([_line(corners[i], corners[i + 1], per[i]) for i in range(4)])]
    a, b = n // 2 + n % 2, n // 2
    ta = np.linspace(y0, y1, a)
    tb = np.linspace(y0, y1, b)
    sides = np.concatenate([np.stack([np.full(a, x0), ta], 1), np.stack([np.full(b, x1), tb], 1)])
    initial = np.stack([np.linspace(x0, x1, n), np.full(n, y0)], 1)
    return [sides, initial]


# --------------------------------------------------------------------------- scoring
def evaluation_grid(s: Spec, n: int = EVAL_N) -> np.ndarray:
    """(n * n, 2) points of the uniform n x n grid of the domain, boundary included."""
    a = np.linspace(s.lo[0], s.hi[0], n)
    b = np.linspace(s.lo[1], s.hi[1], n)
    A, B = np.meshgrid(a, b, indexing="ij")
    return np.stack([A.ravel(), B.ravel()], 1)


def rel_l2(s: Spec, pred) -> float:
    """Relative L2 error of ``pred`` (values at evaluation_grid(s), any shape with n*n entries)."""
    X = evaluation_grid(s)
    exact = s.exact(np, X)
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    return float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))


# --------------------------------------------------------------------------- time and machine
def ratio(a, b):
    """a / b, or None when either is missing or b is 0 (seconds per step of a run with no step,
    a ratio to a peer that failed)."""
    return a / b if (a is not None and b not in (None, 0)) else None


class Clock:
    """Wall clock that waits for the GPU before reading the time on a CUDA device."""

    def __init__(self, device: str):
        self.cuda = str(device).startswith("cuda")
        self.start = None

    def sync(self):
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def reset(self):
        self.sync()
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        self.sync()
        return time.perf_counter() - self.start


def median_seconds(fn, repeat: int, device: str) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls after one warm-up call."""
    clock = Clock(device)
    fn()
    times = []
    for _ in range(repeat):
        clock.reset()
        fn()
        times.append(clock.elapsed())
    return float(np.median(times))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "cpu") -> dict:
    """CPU model, core count, Python and torch versions, torch threads, GPU name (on CUDA)."""
    import torch

    out = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
    return out
