"""The function library of the symbolic fit and the fit of one edge, y ~ a f(b x + c) + d.

Each library function has a canonical form that leaves no two parameter sets giving the same
curve: x: a x + d; x^2: a (x + c)^2 + d; x^3: a (x + c)^3 + d; sin, cos: a f(b x + c) + d with
b > 0, a > 0, -pi < c <= pi; tanh: a tanh(b x + c) + d with b > 0; exp: a exp(b x) + d; log,
sqrt: a f(s x + c) + d with s = +-1 and s x + c > 0 on the samples; 1/x: a / (x + c) + d with
x + c != 0 on the samples; 0: the constant d.

The fit (as pykan's ``fit_params``): a grid search over the inner parameters (b, c), with the
outer (a, d) by linear least squares at each grid point, then all of (a, b, c, d) refined by
Levenberg-Marquardt (scipy) from the best grid point. Ranking: R^2 = 1 - SS_res / SS_tot and
the complexity C of the function, score = log10(max(1 - R^2, 1e-16)) + C * complexity_weight,
lowest first; the constant 0 only for an edge that is constant on its samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy.optimize import least_squares

R2_FLOOR = 1e-16


@dataclass(frozen=True)
class LibraryFunction:
    """``name``; ``complexity``; ``form``: which of (b, c) are free (see the module docstring);
    ``f`` numpy and ``sym`` sympy versions of the function; ``valid``: where its argument may lie."""

    name: str
    complexity: int
    form: str  # "const", "linear", "quadratic", "shift", "scale", "affine", "reflect"
    f: object = None
    sym: object = None
    valid: str = "all"  # "all", "positive", "nonzero"


LIBRARY = (
    LibraryFunction("0", 0, "const"),
    LibraryFunction("x", 1, "linear", lambda u: u, lambda u: u),
    LibraryFunction("x^2", 2, "quadratic", lambda u: u * u, lambda u: u ** 2),
    LibraryFunction("x^3", 3, "shift", lambda u: u ** 3, lambda u: u ** 3),
    LibraryFunction("sin", 2, "affine", np.sin, sp.sin),
    LibraryFunction("cos", 2, "affine", np.cos, sp.cos),
    LibraryFunction("tanh", 3, "affine", np.tanh, sp.tanh),
    LibraryFunction("exp", 2, "scale", np.exp, sp.exp),
    LibraryFunction("log", 2, "reflect", np.log, sp.log, "positive"),
    LibraryFunction("sqrt", 2, "reflect", np.sqrt, sp.sqrt, "positive"),
    LibraryFunction("1/x", 2, "shift", lambda u: 1.0 / u, lambda u: 1 / u, "nonzero"),
)
NAMES = tuple(fn.name for fn in LIBRARY)


@dataclass
class EdgeFit:
    """One library function fitted to samples: y ~ a f(b x + c) + d; ``r2``, ``rms`` (root mean
    square residual on the samples, sqrt((1 - R^2) var(y))) and ``score`` (lower is better)."""

    function: LibraryFunction
    a: float
    b: float
    c: float
    d: float
    r2: float
    rms: float
    score: float

    @property
    def name(self) -> str:
        return self.function.name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.function.form == "const":
            return np.full_like(np.asarray(x, dtype=np.float64), self.d)
        return self.a * self.function.f(self.b * np.asarray(x, dtype=np.float64) + self.c) + self.d

    def expr(self, var) -> sp.Expr:
        """The fitted function of the sympy expression ``var``."""
        F = sp.Float
        if self.function.form == "const":
            return F(self.d)
        inner = var if (self.b == 1.0 and self.c == 0.0) else F(self.b) * var + F(self.c)
        if self.b == 1.0 and self.c != 0.0:
            inner = var + F(self.c)
        elif self.b == -1.0:
            inner = F(self.c) - var
        return F(self.a) * self.function.sym(inner) + F(self.d)

    def as_dict(self) -> dict:
        return {"function": self.name, "a": self.a, "b": self.b, "c": self.c, "d": self.d, "r2": self.r2,
                "rms": self.rms, "complexity": self.function.complexity}


def _outer(g: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(a, d, SS_res) of the least-squares fit y ~ a g + d."""
    A = np.stack([g, np.ones_like(g)], axis=1)
    (a, d), *_ = np.linalg.lstsq(A, y, rcond=None)
    r = A @ np.array([a, d]) - y
    return float(a), float(d), float(r @ r)


def _valid(fn: LibraryFunction, u: np.ndarray) -> bool:
    if not np.all(np.isfinite(u)):
        return False
    if fn.valid == "positive":
        return bool(u.min() > 0)
    if fn.valid == "nonzero":
        return bool(np.all(u != 0) and (u.min() > 0 or u.max() < 0))
    return True


def _grid(fn: LibraryFunction, x: np.ndarray, n: int) -> list[tuple[float, float]]:
    """The (b, c) grid of a function's inner map over samples x."""
    lo, hi = float(x.min()), float(x.max())
    w = max(hi - lo, 1e-12)
    if fn.form == "affine":
        bs = np.geomspace(0.05 / w, 40.0 / w, n)
        if fn.name == "tanh":
            return [(b, -b * x0) for b in bs for x0 in np.linspace(lo - w, hi + w, n)]
        return [(b, c) for b in bs for c in np.linspace(-math.pi, math.pi, n, endpoint=False)]
    if fn.form == "scale":
        bs = np.geomspace(0.02 / w, 30.0 / w, n)
        return [(s * b, 0.0) for s in (1.0, -1.0) for b in bs]
    if fn.form == "shift":
        if fn.valid == "nonzero":  # pole outside the samples
            gaps = np.geomspace(1e-3 * w, 10 * w, n)
            return [(1.0, -(lo - g)) for g in gaps] + [(1.0, -(hi + g)) for g in gaps]
        return [(1.0, -x0) for x0 in np.linspace(lo - 2 * w, hi + 2 * w, 2 * n)]
    if fn.form == "reflect":
        gaps = np.geomspace(1e-3 * w, 10 * w, n)
        return [(1.0, -lo + g) for g in gaps] + [(-1.0, hi + g) for g in gaps]
    raise ValueError(fn.form)


def _grid_search(fn: LibraryFunction, x, y, grid_size: int):
    """(a, b, c, d, SS_res) at the grid point (b, c) of least residual, the outer (a, d) by linear
    least squares at every grid point at once: a = cov(g, y) / var(g), d = mean(y) - a mean(g)."""
    bc = np.asarray(_grid(fn, x, grid_size), dtype=np.float64)  # (P, 2)
    u = bc[:, :1] * x[None, :] + bc[:, 1:]                      # (P, n)
    ok = np.isfinite(u).all(axis=1)
    if fn.valid == "positive":
        ok &= u.min(axis=1) > 0
    elif fn.valid == "nonzero":
        ok &= (u.min(axis=1) > 0) | (u.max(axis=1) < 0)
    if not ok.any():
        return None
    bc, u = bc[ok], u[ok]
    with np.errstate(all="ignore"):
        g = fn.f(u)
        gm = g.mean(axis=1, keepdims=True)
        gc = g - gm
        var = (gc * gc).sum(axis=1)
        yc = y - y.mean()
        a = (gc @ yc) / var
        ss = float(yc @ yc) - a * a * var
    good = np.isfinite(ss) & np.isfinite(var) & (var > 0)
    if not good.any():
        return None
    k = int(np.flatnonzero(good)[np.argmin(ss[good])])
    a_k = float(a[k])
    d_k = float(y.mean() - a_k * gm[k, 0])
    r = a_k * g[k] + d_k - y
    return a_k, float(bc[k, 0]), float(bc[k, 1]), d_k, float(r @ r)


def _canonical(fn: LibraryFunction, a, b, c, d):
    """The canonical parameters of the same curve (module docstring)."""
    if fn.name in ("sin", "cos", "tanh") and b < 0:
        b, c = -b, -c
        if fn.name in ("sin", "tanh"):
            a = -a
    if fn.name in ("sin", "cos"):
        if a < 0:
            a, c = -a, c + math.pi
        c = math.pi - (math.pi - c) % (2 * math.pi)  # into (-pi, pi]
    return a, b, c, d


def fit_function(fn: LibraryFunction, x: np.ndarray, y: np.ndarray, grid_size: int = 31,
                 complexity_weight: float = 0.5) -> EdgeFit | None:
    """The best fit of ``fn`` to the samples (x (n,), y (n,)), or None where it cannot apply."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if fn.form == "const":
        a, b, c, d, ss = 0.0, 0.0, 0.0, float(y.mean()), ss_tot
    elif fn.form == "linear":
        (a, d, ss), b, c = _outer(x, y), 1.0, 0.0
    elif fn.form == "quadratic":
        A = np.stack([x * x, x, np.ones_like(x)], axis=1)
        q, *_ = np.linalg.lstsq(A, y, rcond=None)
        if q[0] == 0:
            return None
        a, b, c = float(q[0]), 1.0, float(q[1] / (2 * q[0]))
        d = float(q[2] - a * c * c)
        r = A @ q - y
        ss = float(r @ r)
    else:
        best = _grid_search(fn, x, y, grid_size)
        if best is None:
            return None
        a, b, c, d, ss = _refine(fn, x, y, best)
    a, b, c, d = _canonical(fn, a, b, c, d)
    r2 = 1.0 - ss / ss_tot if ss_tot > 0 else 1.0
    if ss_tot <= 1e-30 * max(1.0, float(y @ y)):
        r2 = 1.0
    rms = math.sqrt(max(ss, 0.0) / len(x))
    score = math.log10(max(1.0 - r2, R2_FLOOR)) + complexity_weight * fn.complexity
    if fn.form == "const" and r2 < 1.0:
        score = math.inf  # the constant is chosen for constant edges only (pruning drops small ones)
    return EdgeFit(fn, float(a), float(b), float(c), float(d), float(r2), rms, score)


def _refine(fn: LibraryFunction, x, y, start):
    """Levenberg-Marquardt on the free parameters of ``fn`` from the grid's best ``start``."""
    a, b, c, d, ss = start
    free_b = fn.form in ("affine", "scale")
    free_c = fn.form in ("affine", "shift", "reflect")

    def unpack(p):
        k = 1
        bb = p[k] if free_b else b
        k += free_b
        cc = p[k] if free_c else c
        return p[0], bb, cc, p[-1]

    def residual(p):
        aa, bb, cc, dd = unpack(p)
        with np.errstate(all="ignore"):
            r = aa * fn.f(bb * x + cc) + dd - y
        return np.where(np.isfinite(r), r, 1e150)

    p0 = [a] + ([b] if free_b else []) + ([c] if free_c else []) + [d]
    try:
        sol = least_squares(residual, p0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=400)
    except (ValueError, FloatingPointError):
        return start
    aa, bb, cc, dd = unpack(sol.x)
    if not _valid(fn, bb * x + cc):
        return start
    r = residual(sol.x)
    ss_new = float(r @ r)
    return (aa, bb, cc, dd, ss_new) if ss_new <= ss else start


def fit_edge(x, y, library=LIBRARY, grid_size: int = 31, complexity_weight: float = 0.5) -> list[EdgeFit]:
    """Every function of ``library`` fitted to the samples (x, y), best (lowest score) first."""
    fits = [fit_function(fn, x, y, grid_size, complexity_weight) for fn in library]
    return sorted((f for f in fits if f is not None), key=lambda f: (f.score, f.function.complexity))


def library_of(names) -> tuple[LibraryFunction, ...]:
    """The library functions named (from :data:`NAMES`); "0" is always included."""
    from pinnkan.errors import OptionError

    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise OptionError(f"Unknown library function(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}.")
    return tuple(fn for fn in LIBRARY if fn.name in set(names) | {"0"})
