"""Tabulated functions: data given as arrays, used in problem files as sympy functions.

``a = pk.Table(A, grid=(xs, ys))`` interpolates the values ``A[i, j]`` given at the nodes
``(xs[i], ys[j])`` of a regular (tensor-product, not necessarily uniform) grid;
``c = pk.Scattered(points, values)`` interpolates values at scattered points. Both are called
like sympy functions, ``a(x, y)``, and the result is a sympy expression usable in equations,
condition values, initial data and exact solutions. sympy differentiates it by the chain rule:
``a(x, y).diff(x)`` is the applied function of the derivative of the interpolant, so
``(a(x, y) * u.diff(x)).diff(x)`` holds ``a_x * u_x + a * u_xx`` with the exact derivative of
the interpolant. :mod:`pinnkan.problem.symbolic` evaluates any of them in torch on a batch of
points (one (N,) tensor per argument, any dtype and device), differentiably by autograd.

Interpolation:

- ``Table(method="linear")``: multilinear in each grid cell; error O(h^2) for a smooth
  function, O(h) for its first derivatives (piecewise constant); second and higher derivatives
  along one axis are 0 (the interpolant is linear along each axis inside a cell).
- ``Table(method="cubic")``: the tensor product of not-a-knot cubic splines along each axis
  (``scipy.interpolate.CubicSpline``): C2, error O(h^4), first derivatives O(h^3); derivatives
  of order 4 and more along one axis are 0. Needs at least 4 nodes per axis.
- ``Scattered``: linear on the Delaunay triangulation of the points (``scipy.spatial.Delaunay``),
  NaN outside their convex hull (or, with ``fill="nearest"``, the value of the nearest point,
  with derivative 0); the gradient is constant on each simplex, second derivatives are 0. In 1D
  the points are sorted and joined by straight lines.

Outside its grid (beyond a relative tolerance of 1e-9) a Table is NaN, unless
``extrapolate=True`` continues the polynomial of the edge cell.

Files: ``Table.from_file(path, ...)`` and ``Scattered.from_file(path, ...)`` read ``.npy``,
``.npz`` and ``.csv`` files. A relative path is resolved against the folder of the problem
file being loaded by pinnkan, else against the folder of the file that calls ``from_file``
(its ``__file__``), else against the current directory (see :func:`resolve_path`).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import sympy as sp
import torch

from pinnkan.errors import ProblemError
from pinnkan.problem.data_files import problem_folder, resolve_path  # noqa: F401 (re-exported)

__all__ = ["Scattered", "Table", "Tabulated", "TabulatedFunction", "problem_folder", "resolve_path"]

_NAMES: dict[str, int] = {}  # name -> how many tables took it (later ones get a suffix)


_CACHED_RESULTS = 32  # results kept per table (point sets x derivatives)


def _cache_key(coords, alpha):
    """A key identifying the values of ``coords`` while they are held, or None (no caching:
    gradients needed, or tensors without plain storage, e.g. inside torch.func transforms)."""
    try:
        if torch.is_grad_enabled() and any(c.requires_grad for c in coords):
            return None
        return alpha + tuple((c.data_ptr(), c.storage_offset(), tuple(c.shape), c.stride(), c._version, c.dtype, c.device)
                             for c in coords)
    except (RuntimeError, NotImplementedError, AttributeError):
        return None


def _unique_name(name: str) -> str:
    """``name``, or ``name_2``, ``name_3``, ... when an earlier table took it (names key the
    numeric implementation in ``sp.lambdify``)."""
    if not (isinstance(name, str) and name.isidentifier()):
        raise ProblemError(f"A table's name must be a Python identifier such as 'a' or 'kappa', got {name!r}.")
    n = _NAMES.get(name, 0) + 1
    _NAMES[name] = n
    return name if n == 1 else f"{name}_{n}"


class TabulatedFunction(sp.Function):
    """An applied tabulated function or one of its partial derivatives: ``a(x, y)``.

    Each table makes one subclass per derivative multi-index ``alpha`` (class attributes
    ``table`` and ``alpha``); ``fdiff`` returns the class of ``alpha + e_k`` applied to the same
    arguments, so sympy's chain rule never leaves an unevaluated ``Derivative`` of a table.
    ``_imp_`` lets ``sp.lambdify`` evaluate it with numpy.
    """

    table = None
    alpha: tuple = ()

    @classmethod
    def eval(cls, *args):
        return None

    def fdiff(self, argindex=1):
        alpha = list(self.alpha)
        alpha[argindex - 1] += 1
        return self.table.function(tuple(alpha))(*self.args)

    def _eval_evalf(self, prec):
        if not all(a.is_number for a in self.args):
            return None
        values = self.table.numpy(*[np.array([float(a)]) for a in self.args], alpha=self.alpha)
        return sp.Float(float(values[0]))


class Tabulated:
    """Base of :class:`Table` and :class:`Scattered`: a numeric function of ``dim`` arguments.

    Subclasses implement :meth:`evaluate`. Calling the object with ``dim`` sympy expressions
    gives the applied sympy function.
    """

    dim: int = 0
    name: str = "table"
    kind = "table"

    def __init__(self, name: str):
        self.name = _unique_name(name)
        self._classes: dict[tuple, type] = {}
        self._cache: dict = {}
        self._results: dict = {}

    @property
    def may_be_undefined(self) -> bool:
        """Whether the function is NaN somewhere (outside its grid or hull)."""
        return True

    def function(self, alpha: tuple | None = None) -> type:
        """The sympy function class of the derivative ``alpha`` (a multi-index, default 0)."""
        alpha = tuple(alpha) if alpha is not None else (0,) * self.dim
        cls = self._classes.get(alpha)
        if cls is None:
            suffix = "" if not any(alpha) else "_d" + "_".join(map(str, alpha))
            table = self

            def imp(*arrays, _alpha=alpha):
                return table.numpy(*arrays, alpha=_alpha)

            cls = type(self.name + suffix, (TabulatedFunction,),
                       {"table": self, "alpha": alpha, "nargs": self.dim, "_imp_": staticmethod(imp),
                        "__module__": __name__})
            self._classes[alpha] = cls
        return cls

    def __call__(self, *args) -> sp.Expr:
        if len(args) != self.dim:
            raise ProblemError(
                f"The {self.kind} {self.name} takes {self.dim} argument(s) (one per axis of its data), got "
                f"{len(args)}: {', '.join(map(str, args))}; call it as {self.name}({', '.join('xyzw'[:self.dim])})."
            )
        return self.function()(*[sp.sympify(a) for a in args])

    def evaluate(self, coords: list[torch.Tensor], alpha: tuple) -> torch.Tensor:
        """The derivative ``alpha`` of the interpolant at points given as ``dim`` tensors (N,).

        Results at coordinates that need no gradient are kept for the last few point sets (the
        collocation points are evaluated at every step): found by the coordinates' storage and
        shape, used only when a kept copy of the coordinates equals them.
        """
        alpha = tuple(int(a) for a in alpha)
        key = _cache_key(coords, alpha)
        if key is not None:
            hit = self._results.get(key)
            if hit is not None and all(torch.equal(a, b) for a, b in zip(hit[0], coords)):
                return hit[1]
        out = self._evaluate(coords, alpha)
        if key is not None:
            if len(self._results) >= _CACHED_RESULTS:
                self._results.pop(next(iter(self._results)))
            self._results[key] = ([c.detach().clone() for c in coords], out)
        return out

    def _evaluate(self, coords: list[torch.Tensor], alpha: tuple) -> torch.Tensor:
        raise NotImplementedError

    def numpy(self, *arrays, alpha: tuple | None = None) -> np.ndarray:
        """:meth:`evaluate` on float64 numpy arrays (broadcast together), returned as an array."""
        alpha = tuple(alpha) if alpha is not None else (0,) * self.dim
        arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arrays])
        shape = arrays[0].shape
        coords = [torch.as_tensor(a.reshape(-1).copy()) for a in arrays]
        return self.evaluate(coords, alpha).detach().cpu().numpy().reshape(shape)

    def describe_support(self) -> str:
        """Where the function is defined, for error messages."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.describe_support()})"


def _as_array(values, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{what} must be a numeric array ({exc}).") from None
    return arr


class Table(Tabulated):
    """Interpolation of ``values`` (shape (n_1, ..., n_d)) on the regular grid
    ``grid = (nodes_1, ..., nodes_d)``, each strictly increasing of length n_k.

    ``method``: ``"linear"`` (multilinear) or ``"cubic"`` (tensor-product not-a-knot cubic
    splines). ``extrapolate``: outside the grid, continue the edge cells instead of NaN.
    ``name`` is how sympy prints it. In 1D, ``grid`` may be the node array itself.
    """

    kind = "table"

    def __init__(self, values, grid, method: str = "linear", name: str = "table", extrapolate: bool = False):
        super().__init__(name)
        vals = _as_array(values, f"Table({self.name}): the values")
        if vals.ndim == 0:
            raise ProblemError(f"Table({self.name}): the values must be an array with one axis per coordinate, got a scalar.")
        grid = self._as_grid(grid, vals.ndim)
        if method not in ("linear", "cubic"):
            raise ProblemError(f"Table({self.name}, method={method!r}): method must be 'linear' or 'cubic'.")
        least = 2 if method == "linear" else 4
        for k, nodes in enumerate(grid):
            if nodes.shape != (vals.shape[k],):
                raise ProblemError(
                    f"Table({self.name}): axis {k + 1} of the values has {vals.shape[k]} entries but its grid has "
                    f"{nodes.size} nodes; give one node per entry (values of shape {tuple(n.size for n in grid)})."
                )
            if nodes.size < least:
                raise ProblemError(
                    f"Table({self.name}): axis {k + 1} has {nodes.size} node(s); method={method!r} needs at least {least}."
                )
            if not (np.all(np.isfinite(nodes)) and np.all(np.diff(nodes) > 0)):
                raise ProblemError(f"Table({self.name}): the nodes of axis {k + 1} must be finite and strictly increasing.")
        if not np.all(np.isfinite(vals)):
            raise ProblemError(
                f"Table({self.name}) holds {int((~np.isfinite(vals)).sum())} non-finite value(s); fill or remove them."
            )
        self.values, self.grid, self.method, self.extrapolate = vals, grid, method, bool(extrapolate)
        self.dim = vals.ndim
        self.coefficients = self._coefficients()

    @staticmethod
    def _as_grid(grid, ndim: int) -> tuple[np.ndarray, ...]:
        if ndim == 1 and np.ndim(grid) == 1 and not isinstance(grid[0], (list, tuple, np.ndarray)):
            grid = (grid,)
        try:
            grid = tuple(np.asarray(g, dtype=np.float64) for g in grid)
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"Table(values, grid=...): grid must be a tuple of node arrays, one per axis ({exc}).") from None
        if len(grid) != ndim or any(g.ndim != 1 for g in grid):
            raise ProblemError(
                f"Table(values, grid=...): the values have {ndim} axes, so grid must hold {ndim} one-dimensional node "
                f"arrays, got {len(grid)} of shapes {[g.shape for g in grid]}."
            )
        return grid

    @property
    def may_be_undefined(self) -> bool:
        return not self.extrapolate

    def _coefficients(self) -> np.ndarray:
        """(S,)*d + values.shape: entry s holds the values with the nodal second derivative taken
        along each axis k where s_k = 1 (S = 1 for linear, 2 for cubic)."""
        if self.method == "linear":
            return self.values[(None,) * self.dim]
        from scipy.interpolate import CubicSpline

        out = np.empty((2,) * self.dim + self.values.shape)
        for s in itertools.product((0, 1), repeat=self.dim):
            arr = self.values
            for k, sk in enumerate(s):
                if sk:
                    arr = CubicSpline(self.grid[k], arr, axis=k, bc_type="not-a-knot")(self.grid[k], 2)
            out[s] = arr
        return out

    def _tensors(self, device, dtype):
        key = (device, dtype)
        if key not in self._cache:
            nodes = [torch.as_tensor(g, dtype=dtype, device=device) for g in self.grid]
            coef = torch.as_tensor(self.coefficients, dtype=dtype, device=device)
            self._cache[key] = (nodes, coef.reshape(coef.shape[:self.dim].numel(), -1))
        return self._cache[key]

    def _evaluate(self, coords, alpha):
        """sum over channels s and cell corners c of prod_k basis_k(s_k, c_k) * coef[s][i + c]."""
        ref = coords[0]
        nodes, coef = self._tensors(ref.device, ref.dtype)
        S = 1 if self.method == "linear" else 2
        strides = np.cumprod((1,) + self.values.shape[::-1])[:-1][::-1].tolist()
        bases, index, outside = [], [], torch.zeros_like(ref, dtype=torch.bool)
        for k, x in enumerate(coords):
            g = nodes[k]
            i = (torch.searchsorted(g, x.detach().contiguous(), right=True) - 1).clamp(0, g.numel() - 2)
            lo, hi = g[i], g[i + 1]
            h = hi - lo
            a = (hi - x) / h
            bases.append(_basis(a, h, alpha[k], S))
            index.append(i * strides[k])
            tol = 1e-9 * float(g[-1] - g[0])
            outside = outside | (x < g[0] - tol) | (x > g[-1] + tol)
        total = torch.zeros_like(ref)
        for s in itertools.product(range(S), repeat=self.dim):
            row = coef[int(np.ravel_multi_index(s, (S,) * self.dim))]
            for c in itertools.product((0, 1), repeat=self.dim):
                w = None
                for k in range(self.dim):
                    b = bases[k][s[k]][c[k]]
                    if b is None:
                        w = None
                        break
                    w = b if w is None else w * b
                else:
                    flat = sum(index[k] + c[k] * strides[k] for k in range(self.dim))
                    total = total + w * row[flat]
        if not self.extrapolate:
            total = torch.where(outside, torch.full_like(total, math.nan), total)
        return total

    def describe_support(self) -> str:
        return ", ".join(f"axis {k + 1} in [{g[0]:g}, {g[-1]:g}]" for k, g in enumerate(self.grid))

    @classmethod
    def from_file(cls, path, grid=None, method: str = "linear", name: str | None = None, extrapolate: bool = False,
                  values: str = "values", axes=None) -> "Table":
        """A Table read from ``path`` (relative paths: see :func:`resolve_path`).

        - ``.npy``: the values array; ``grid`` is required.
        - ``.npz``: the array named ``values`` and the node arrays named in ``axes`` (default:
          the file's other arrays, in the order they were saved), e.g. ``np.savez(f, x=xs,
          y=ys, values=A)``.
        - ``.csv``: one row per grid node, columns ``x_1, ..., x_d, value`` (a header line is
          skipped), nodes in any order; the grid is the sorted distinct coordinates. With
          ``grid`` given, the file is instead the values array itself (2D: rows along axis 1).
        """
        file = resolve_path(path)
        name = name or _stem_name(file)
        if grid is not None:
            arr = _read_array(file)
            return cls(arr, grid, method=method, name=name, extrapolate=extrapolate)
        if file.suffix == ".npz":
            data = _read_npz(file)
            keys = list(data)
            if values not in keys:
                raise ProblemError(f"Table file {file} holds no array named {values!r} (it holds {', '.join(keys)}).")
            axes = [k for k in keys if k != values] if axes is None else list(axes)
            missing = [a for a in axes if a not in keys]
            if missing:
                raise ProblemError(f"Table file {file} holds no node array named {', '.join(missing)} (it holds {', '.join(keys)}).")
            return cls(data[values], tuple(data[a] for a in axes), method=method, name=name, extrapolate=extrapolate)
        if file.suffix == ".csv":
            rows = _read_array(file)
            return cls(*_grid_from_rows(rows, file), method=method, name=name, extrapolate=extrapolate)
        raise ProblemError(f"Table.from_file({file}): a .npy file holds only values; pass grid=(nodes, ...) too.")


def _basis(a: torch.Tensor, h: torch.Tensor, m: int, S: int):
    """[[channel s][corner c]] basis functions (their m-th derivative in x) of one axis; None is 0.

    With A = (x_{i+1} - x) / h and B = 1 - A on the cell [x_i, x_{i+1}] of width h, the value
    channel has A, B and the second-derivative channel (A^3 - A) h^2 / 6, (B^3 - B) h^2 / 6.
    """
    b = 1 - a
    value = {0: (a, b), 1: (-1 / h, 1 / h)}.get(m, (None, None))
    out = [list(value)]
    if S == 2:
        curv = {0: ((a ** 3 - a) * h ** 2 / 6, (b ** 3 - b) * h ** 2 / 6),
                1: (-(3 * a ** 2 - 1) * h / 6, (3 * b ** 2 - 1) * h / 6),
                2: (a, b), 3: (-1 / h, 1 / h)}.get(m, (None, None))
        out.append(list(curv))
    return out


def _stem_name(file: Path) -> str:
    stem = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in file.stem)
    return stem if stem.isidentifier() else f"t_{stem}"


def _read_npz(file: Path) -> dict:
    """The arrays of an .npz file by name, in the order they were saved."""
    _check_exists(file)
    try:
        with np.load(file) as data:
            return {k: data[k] for k in data.keys()}
    except (OSError, ValueError) as exc:
        raise ProblemError(f"Data file {file} could not be read as an .npz archive: {exc}.") from None


def _check_exists(file: Path) -> None:
    if not file.is_file():
        raise ProblemError(f"Data file {file} does not exist; give its path relative to the problem file or an absolute path.")


def _read_array(file: Path) -> np.ndarray:
    """The numeric array in a .npy or .csv file (.csv: comma-separated, a header line skipped)."""
    _check_exists(file)
    try:
        if file.suffix == ".npy":
            return np.load(file)
        if file.suffix == ".csv":
            try:
                return np.loadtxt(file, delimiter=",", ndmin=2)
            except ValueError:
                return np.loadtxt(file, delimiter=",", ndmin=2, skiprows=1)
    except (OSError, ValueError) as exc:
        raise ProblemError(f"Data file {file} could not be read as numbers: {exc}.") from None
    raise ProblemError(f"Data file {file} has the suffix {file.suffix!r}; pinnkan reads .npy, .npz and .csv.")


def _grid_from_rows(rows: np.ndarray, file: Path):
    """(values, grid) from rows ``x_1, ..., x_d, value`` covering a full regular grid."""
    d = rows.shape[1] - 1
    if d < 1:
        raise ProblemError(f"Table file {file} needs columns x_1, ..., x_d, value; it has {rows.shape[1]} column.")
    grid = tuple(np.unique(rows[:, k]) for k in range(d))
    shape = tuple(g.size for g in grid)
    if rows.shape[0] != int(np.prod(shape)):
        raise ProblemError(
            f"Table file {file} has {rows.shape[0]} rows, but its distinct coordinates make a grid of "
            f"{' x '.join(map(str, shape))} = {int(np.prod(shape))} nodes; give every node once (or use pk.Scattered)."
        )
    idx = tuple(np.searchsorted(g, rows[:, k]) for k, g in enumerate(grid))
    values = np.full(shape, np.nan)
    values[idx] = rows[:, d]
    if np.isnan(values).any():
        raise ProblemError(f"Table file {file} lists some grid node twice and misses another; give every node once.")
    return values, grid


class Scattered(Tabulated):
    """Linear interpolation of ``values`` (n,) at scattered ``points`` (n, d) on their Delaunay
    triangulation; NaN outside the convex hull, or with ``fill="nearest"`` the value of the
    nearest point there."""

    kind = "scattered table"

    def __init__(self, points, values, name: str = "scattered", fill: str = "nan"):
        super().__init__(name)
        pts = _as_array(points, f"Scattered({self.name}): the points")
        vals = _as_array(values, f"Scattered({self.name}): the values").reshape(-1)
        if pts.ndim == 1:
            pts = pts[:, None]
        if pts.ndim != 2 or pts.shape[0] != vals.size:
            raise ProblemError(
                f"Scattered({self.name}): points must have shape (n, d) and values shape (n,), got {pts.shape} "
                f"and {vals.shape}."
            )
        if not (np.all(np.isfinite(pts)) and np.all(np.isfinite(vals))):
            raise ProblemError(f"Scattered({self.name}) holds non-finite points or values; remove them.")
        if fill not in ("nan", "nearest"):
            raise ProblemError(f"Scattered({self.name}, fill={fill!r}): fill must be 'nan' or 'nearest'.")
        self.points, self.values, self.fill, self.dim = pts, vals, fill, pts.shape[1]
        if pts.shape[0] < self.dim + 1:
            raise ProblemError(f"Scattered({self.name}) needs at least {self.dim + 1} points in {self.dim}D, got {pts.shape[0]}.")
        self._triangulate()

    @property
    def may_be_undefined(self) -> bool:
        return self.fill == "nan"

    def _triangulate(self) -> None:
        """Per simplex: vertex indices (m, d+1), barycentric transform (m, d+1, d), gradient (m, d)."""
        d = self.dim
        if d == 1:
            order = np.argsort(self.points[:, 0], kind="stable")
            x = self.points[order, 0]
            if np.any(np.diff(x) <= 0):
                raise ProblemError(f"Scattered({self.name}): two points have the same coordinate; give distinct points.")
            self.simplices = np.stack([order[:-1], order[1:]], axis=1)
            h = np.diff(x)
            transform = np.zeros((len(h), 2, 1))
            transform[:, 0, 0] = -1 / h  # b_0 = (x - x_{i+1}) * (-1 / h)
            transform[:, 1, 0] = x[1:]
            self._nodes = x
            self._tri = None
        else:
            from scipy.spatial import Delaunay, QhullError

            try:
                self._tri = Delaunay(self.points)
            except QhullError as exc:
                raise ProblemError(
                    f"Scattered({self.name}): the points admit no triangulation (all on a line or plane?): "
                    f"{str(exc).splitlines()[0]}"
                ) from None
            self.simplices = self._tri.simplices
            transform = self._tri.transform
        self.transform = transform
        T = transform[:, :d, :]  # grad of b_j, j < d
        grad_b = np.concatenate([T, -T.sum(axis=1, keepdims=True)], axis=1)  # (m, d+1, d)
        self.gradients = np.einsum("mj,mjk->mk", self.values[self.simplices], grad_b)

    def _find(self, pts: np.ndarray) -> np.ndarray:
        """Simplex index of each point (M,), -1 outside the hull."""
        if self._tri is not None:
            return self._tri.find_simplex(pts)
        x, nodes = pts[:, 0], self._nodes
        tol = 1e-9 * (nodes[-1] - nodes[0])
        s = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, len(nodes) - 2)
        return np.where((x < nodes[0] - tol) | (x > nodes[-1] + tol), -1, s)

    def _tensors(self, device, dtype):
        key = (device, dtype)
        if key not in self._cache:
            t = lambda a, dt=dtype: torch.as_tensor(a, dtype=dt, device=device)  # noqa: E731
            self._cache[key] = (t(self.simplices, torch.long), t(self.transform), t(self.values), t(self.gradients))
        return self._cache[key]

    def _evaluate(self, coords, alpha):
        ref = coords[0]
        pts = torch.stack(coords, dim=1)
        simplices, transform, values, gradients = self._tensors(ref.device, ref.dtype)
        found = torch.as_tensor(self._find(pts.detach().cpu().numpy()), device=ref.device)
        inside = found >= 0
        s = found.clamp(min=0)
        order = sum(alpha)
        if order == 0:
            b = torch.einsum("nij,nj->ni", transform[s, :self.dim, :], pts - transform[s, self.dim, :])
            bary = torch.cat([b, 1 - b.sum(dim=1, keepdim=True)], dim=1)
            out = (bary * values[simplices[s]]).sum(dim=1)
        elif order == 1:
            out = gradients[s, list(alpha).index(1)] + 0 * ref
        else:
            out = torch.zeros_like(ref)
        if self.fill == "nan":
            return torch.where(inside, out, torch.full_like(out, math.nan))
        if bool(inside.all()):
            return out
        outer = self._nearest(pts.detach().cpu().numpy()) if order == 0 else None
        filler = torch.zeros_like(out) if outer is None else torch.as_tensor(outer, dtype=ref.dtype, device=ref.device)
        return torch.where(inside, out, filler)

    def _nearest(self, pts: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        if "tree" not in self._cache:
            self._cache["tree"] = cKDTree(self.points)
        return self.values[self._cache["tree"].query(pts)[1]]

    def describe_support(self) -> str:
        return f"{self.values.size} points, linear inside their convex hull"

    @classmethod
    def from_file(cls, path, name: str | None = None, fill: str = "nan", points: str = "points",
                  values: str = "values") -> "Scattered":
        """A Scattered read from ``path`` (relative paths: see :func:`resolve_path`): a ``.npy``
        or ``.csv`` array of rows ``x_1, ..., x_d, value`` (a csv header line is skipped), or an
        ``.npz`` with arrays ``points`` (n, d) and ``values`` (n,)."""
        file = resolve_path(path)
        name = name or _stem_name(file)
        if file.suffix == ".npz":
            data = _read_npz(file)
            missing = [k for k in (points, values) if k not in data]
            if missing:
                raise ProblemError(f"Scattered file {file} holds no array named {', '.join(missing)} (it holds {', '.join(data.keys())}).")
            return cls(data[points], data[values], name=name, fill=fill)
        rows = _read_array(file)
        if rows.ndim != 2 or rows.shape[1] < 2:
            raise ProblemError(f"Scattered file {file} needs rows x_1, ..., x_d, value; got an array of shape {rows.shape}.")
        return cls(rows[:, :-1], rows[:, -1], name=name, fill=fill)


def tabulated_in(expr) -> list[TabulatedFunction]:
    """The applied tabulated functions in a sympy expression (empty for anything else)."""
    if not isinstance(expr, sp.Basic):
        return []
    return sorted(expr.atoms(TabulatedFunction), key=str)
