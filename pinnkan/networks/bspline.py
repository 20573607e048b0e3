"""B-spline bases: fast uniform evaluation, non-uniform (free-knot) evaluation, reference recursion,
and exact refinement.

Conventions. A uniform grid of ``grid`` = G cells on [lo, hi], h = (hi - lo) / G, is extended by
k = ``degree`` knots on each side: t_m = lo + (m - k) h, m = 0..G+2k. It carries G + k
B-splines B_0..B_{G+k-1}, B_m supported on [t_m, t_{m+k+1}]. With s = (x - lo) / h, cell
i = floor(s) and u = s - i, the k+1 B-splines that are nonzero on cell i are
B_{i+r}(x) = sum_p u^p M[p, r], r = 0..k, M = ``local_basis_matrix(k)``.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from math import comb, factorial

import torch
import torch.nn.functional as F

from pinnkan.errors import OptionError


def extended_uniform_knots(lo, hi, grid, degree, dtype=torch.float64):
    """Knots t_m = lo + (m - degree) h, m = 0..grid + 2*degree; shape (grid + 2*degree + 1,)."""
    h = (hi - lo) / grid
    m = torch.arange(grid + 2 * degree + 1, dtype=dtype)
    return lo + (m - degree) * h


@functools.lru_cache(maxsize=None)
def _local_fractions(degree):
    """Exact M[p][r]: the cardinal B-spline N(y) = 1/k! sum_j (-1)^j C(k+1, j) (y - j)_+^k
    on piece [q, q+1], q = k - r, written as a polynomial in u = y - q."""
    k = degree
    M = [[Fraction(0)] * (k + 1) for _ in range(k + 1)]
    for r in range(k + 1):
        q = k - r
        for j in range(q + 1):
            w = Fraction((-1) ** j * comb(k + 1, j), factorial(k))
            a = q - j  # (u + a)^k = sum_p C(k, p) u^p a^(k-p)
            for p in range(k + 1):
                M[p][r] += w * comb(k, p) * Fraction(a) ** (k - p)
    return tuple(tuple(row) for row in M)


@functools.lru_cache(maxsize=None)
def _local_matrix(degree, derivative, dtype, device):
    """(k+1-d, k+1) matrix of d^d/du^d of the local pieces: row p holds M[p+d, r] (p+d)!/p!."""
    M = _local_fractions(degree)
    d = derivative
    rows = [[M[p + d][r] * factorial(p + d) / factorial(p) for r in range(degree + 1)]
            for p in range(degree + 1 - d)] or [[0] * (degree + 1)]
    return torch.tensor([[float(v) for v in row] for row in rows], dtype=dtype, device=device)


def local_basis_matrix(degree, dtype=torch.float64, device=None):
    """(k+1, k+1) tensor M with B_{i+r}(x) = sum_p u^p M[p, r] on a uniform grid (exact
    rationals rounded once; cached per degree, dtype and device: do not modify in place)."""
    return _local_matrix(int(degree), 0, dtype, torch.device(device) if device else None)


def uniform_local_basis(x, lo, hi, grid, degree, derivative=0):
    """Nonzero B-splines (or their x-derivatives) of a uniform grid at x.

    Returns (cell, values): cell is a long tensor of x's shape in 0..grid-1 and values has shape
    x.shape + (degree+1,), values[..., r] = d^derivative/dx^derivative B_{cell+r}(x).
    Out of range: cell = clamp(floor(s), 0, grid-1) with s = (x - lo)/h, and u = s - cell is
    not clamped, so the end polynomial pieces are extended (polynomial extrapolation). The
    cell is piecewise constant, so values are differentiable in x to any order by autograd.
    """
    cell, (values,) = uniform_local_bases(x, lo, hi, grid, degree, (derivative,))
    return cell, values


def uniform_local_bases(x, lo, hi, grid, degree, derivatives=(0, 1, 2)):
    """:func:`uniform_local_basis` for several derivative orders at once, sharing the cell and
    the powers of u: (cell, [values for each order in ``derivatives``])."""
    h = (hi - lo) / grid
    s = (x - lo) / h
    cell = torch.clamp(torch.floor(s.detach()), 0, grid - 1).long()
    u = s - cell.to(s.dtype)
    powers = [torch.ones_like(u)]
    for _ in range(degree):
        powers.append(powers[-1] * u)
    U = torch.stack(powers, dim=-1)                                  # x.shape + (k+1,)
    out = []
    for d in derivatives:
        M = _local_matrix(int(degree), int(d), x.dtype, x.device)   # (k+1-d, k+1)
        values = U[..., :M.shape[0]] @ M
        out.append(values * h ** (-d) if d else values)
    return cell, out


def uniform_basis(x, lo, hi, grid, degree, derivative=0):
    """Dense basis x.shape + (grid+degree,): column m = d^derivative/dx^derivative B_m(x),
    scattered from ``uniform_local_basis`` (same out-of-range policy; differentiable in x)."""
    cell, values = uniform_local_basis(x, lo, hi, grid, degree, derivative)
    index = cell.unsqueeze(-1) + torch.arange(degree + 1, device=x.device)
    dense = values.new_zeros(x.shape + (grid + degree,))
    return dense.scatter(-1, index, values)


def cox_de_boor(x, knots, degree):
    """Reference B-splines for non-decreasing ``knots`` (length n + degree + 1), shape
    x.shape + (n,), by the Cox-de Boor recursion (0/0 taken as 0).

    Degree 0: B_m = 1 on the half-open [t_m, t_{m+1}); the right end is closed: x equal to the
    last knot belongs to the last nonempty interval. Outside [t_0, t_last] everything is 0.
    """
    knots = torch.as_tensor(knots, dtype=x.dtype, device=x.device)
    t = knots
    xe = x.unsqueeze(-1)
    B = ((t[:-1] <= xe) & (xe < t[1:])).to(x.dtype)
    last = int(torch.nonzero(t[:-1] < t[1:]).max())
    B[..., last] = torch.where(x == t[-1], torch.ones_like(x), B[..., last])
    for d in range(1, degree + 1):
        left_den = t[d:-1] - t[:-d - 1]
        right_den = t[d + 1:] - t[1:-d]
        left = (xe - t[:-d - 1]) / torch.where(left_den > 0, left_den, torch.ones_like(left_den))
        right = (t[d + 1:] - xe) / torch.where(right_den > 0, right_den, torch.ones_like(right_den))
        left = torch.where(left_den > 0, left, torch.zeros_like(left))
        right = torch.where(right_den > 0, right, torch.zeros_like(right))
        B = left * B[..., :-1] + right * B[..., 1:]
    return B


def dyadic_refinement_matrix(grid, degree, dtype=torch.float64):
    """P of shape (2G+k, G+k), P[2j+s-k, j] = 2^-k C(k+1, s), s = 0..k+1 (two-scale relation).

    Fine coefficients P @ c give the same spline as coarse c on [lo, hi] (dropped rows belong to
    fine B-splines that vanish there) and, under the extension policy, everywhere.
    """
    k = degree
    P = torch.zeros(2 * grid + k, grid + k, dtype=dtype)
    for j in range(grid + k):
        for s in range(k + 2):
            row = 2 * j + s - k
            if 0 <= row < 2 * grid + k:
                P[row, j] = comb(k + 1, s) / 2 ** k
    return P


def _insert_rows(C, knots, degree, new_knot):
    """Boehm: rows of C (coefficients on ``knots``) -> rows on knots + {new_knot}:
    Q_i = a_i C_i + (1 - a_i) C_{i-1}, a_i = clip((x - t_i)/(t_{i+k} - t_i), 0, 1) for
    l-k < i <= l (t_l <= x < t_{l+1}), a_i = 1 below, 0 above. Returns (Q, new knots)."""
    t = [float(v) for v in knots]
    n, k, xb = C.shape[0], degree, float(new_knot)
    if not t[0] <= xb <= t[-1]:
        raise OptionError(f"Cannot insert knot {xb}: it lies outside the knot span "
                          f"[{t[0]}, {t[-1]}]. Insert knots inside the existing knot range.")
    l = min(sum(1 for v in t if v <= xb) - 1, len(t) - 2)
    a = torch.zeros(n + 1, dtype=C.dtype, device=C.device)
    for i in range(n + 1):
        if i <= l - k:
            a[i] = 1.0
        elif i <= l:
            den = t[i + k] - t[i]
            a[i] = min(max((xb - t[i]) / den, 0.0), 1.0) if den > 0 else 1.0
    zero = C.new_zeros((1,) + C.shape[1:])
    upper, lower = torch.cat([C, zero]), torch.cat([zero, C])
    shape = (n + 1,) + (1,) * (C.dim() - 1)
    Q = a.view(shape) * upper + (1 - a).view(shape) * lower
    return Q, sorted(t + [xb])


def knot_insertion_matrix(knots, degree, new_knot):
    """(n+1, n) Boehm matrix: coefficients on ``knots`` (n = len(knots) - degree - 1) to
    coefficients on the knots with ``new_knot`` inserted, same spline."""
    knots = torch.as_tensor(knots, dtype=torch.float64)
    n = knots.numel() - degree - 1
    return _insert_rows(torch.eye(n, dtype=knots.dtype), knots, degree, new_knot)[0]


def refinement_matrix(old_knots, new_knots, degree, rtol=1e-12):
    """(len(new)-k-1, len(old)-k-1) float64 product of Boehm insertions of the knots of ``new_knots``
    missing from ``old_knots`` (matched as multisets, to rtol times the knot span).
    Raises OptionError if new_knots is not a superset of old_knots."""
    old = sorted(float(v) for v in old_knots)
    new = sorted(float(v) for v in new_knots)
    tol = rtol * max(1.0, new[-1] - new[0]) if new else 0.0
    extra, j = [], 0
    for v in new:
        if j < len(old) and abs(v - old[j]) <= tol:
            j += 1
        else:
            extra.append(v)
    if j < len(old):
        raise OptionError(f"The new knots do not contain the old knot {old[j]}: refinement "
                          "by knot insertion needs a new knot vector that is a superset of the "
                          "old one (e.g. a grid whose size is a multiple of the old grid).")
    knots = old
    C = torch.eye(len(old) - degree - 1, dtype=torch.float64)
    for v in extra:
        C, knots = _insert_rows(C, knots, degree, v)
    return C


def uniform_refinement_matrix(grid, new_grid, degree, dtype=torch.float64):
    """(new_grid+k, grid+k) matrix R taking coefficients on a uniform grid of ``grid`` cells to
    ``new_grid`` cells on the same [lo, hi], same spline on [lo, hi] and, under the extension
    policy, everywhere. Dyadic two-scale relation when new_grid = 2^m grid, else Boehm
    insertion (knots in units of the fine spacing, so exact integers); OptionError unless
    new_grid is a multiple of grid."""
    k = degree
    if new_grid < grid or new_grid % grid:
        raise OptionError(f"Cannot refine a grid of {grid} cells to {new_grid} cells: the new "
                          f"grid must be a multiple of the old one (e.g. {2 * grid}).")
    m = new_grid // grid
    R = torch.eye(grid + k, dtype=dtype)
    if m & (m - 1) == 0:
        g = grid
        while g < new_grid:
            R = dyadic_refinement_matrix(g, k, dtype) @ R
            g *= 2
        return R
    old = [m * (p - k) for p in range(grid + 2 * k + 1)]
    merged = list(range(-k * m, new_grid + k * m + 1))  # all fine knots over the old span
    R = refinement_matrix(old, merged, k).to(dtype)
    start = k * m - k  # position of lo - k h_fine in the merged knots
    return R[start:start + new_grid + k]


# ---------------------------------------------------------------------------------------------
# Non-uniform (free) knots.
#
# Conventions. A knot vector t_0 < t_1 < ... < t_{G+2k} (strictly increasing: simple knots) with
# grid range [lo, hi] = [t_k, t_{G+k}] carries G + k B-splines B_0..B_{G+k-1}, B_m supported on
# [t_m, t_{m+k+1}], exactly as on a uniform grid. The cells of the grid range are
# [t_{c+k}, t_{c+k+1}], c = 0..G-1, and the k+1 B-splines nonzero on cell c are B_{c+r},
# r = 0..k. Knot vectors may be batched over channels: knots (C, G+2k+1) and x (..., C) give each
# channel its own knot vector; knots (G+2k+1,) is shared by every entry of x.
#
# Out-of-range policy (the same as the uniform path): the cell is chosen with x clamped into
# [lo, hi] (cell 0 below lo, cell G-1 at and above hi, half-open cells [t_{c+k}, t_{c+k+1})
# inside), and the polynomial pieces of that cell are evaluated at the unclamped x, so the end
# pieces are extended (polynomial extrapolation). The cell is piecewise constant, so the values
# are polynomials in x and in the knots: differentiable to any order in x and in the knots by
# autograd (a.e.; at a knot the one-sided piece of the half-open cell is used).
# ---------------------------------------------------------------------------------------------


def extend_breakpoints(breakpoints, degree):
    """Breakpoints lo = x_0 < ... < x_G = hi, shape (..., G+1), to the extended knot vector
    (..., G+2k+1) by repeating the end increments: t_{-j} = lo - j (x_1 - x_0) and
    t_{G+j} = hi + j (x_G - x_{G-1}), j = 1..k (so uniform breakpoints give the uniform knots
    of :func:`extended_uniform_knots`). Differentiable in the breakpoints."""
    k = int(degree)
    x = breakpoints
    if k == 0:
        return x
    j = torch.arange(1, k + 1, dtype=x.dtype, device=x.device)
    left = x[..., :1] - (x[..., 1:2] - x[..., :1]) * j.flip(0)
    right = x[..., -1:] + (x[..., -1:] - x[..., -2:-1]) * j
    return torch.cat([left, x, right], dim=-1)


def breakpoints_from_logits(logits, lo, hi, min_fraction=0.0):
    """Strictly increasing breakpoints lo = x_0 < x_1 < ... < x_G = hi from logits (..., G):
    increments x_{i+1} - x_i = (hi - lo) (min_fraction / G + (1 - min_fraction) softmax(logits)_i),
    x_0 = lo and x_G = hi set exactly. Zero logits give the uniform grid. With
    0 < min_fraction < 1 every cell is at least min_fraction times the uniform cell width, so the
    order is strict in floating point too (softmax cannot underflow a cell to zero width).
    Softmax is invariant to adding a constant to a row of logits. Returns (..., G+1)."""
    G = logits.shape[-1]
    p = torch.softmax(logits, dim=-1)
    if min_fraction:
        p = min_fraction / G + (1.0 - min_fraction) * p
    inc = (hi - lo) * p
    inner = lo + torch.cumsum(inc[..., :-1], dim=-1)
    ends = logits.new_full(logits.shape[:-1] + (1,), float(lo))
    return torch.cat([ends, inner, ends.new_full(ends.shape, float(hi))], dim=-1)


def logits_from_breakpoints(breakpoints, lo, hi, min_fraction=0.0):
    """Inverse of :func:`breakpoints_from_logits` (up to rounding): logits (..., G) whose
    breakpoints are ``breakpoints`` (..., G+1), i.e. the log of the increments (with the floor
    removed), shifted to zero mean per row. Cells at the floor width (up to rounding) get the
    logit log(tiny) ~ -708 in float64 (softmax weight 0 after the shift), so the floor is
    reproduced to rounding; cells narrower than that are widened to it. OptionError unless the
    breakpoints are strictly increasing."""
    G = breakpoints.shape[-1] - 1
    inc = torch.diff(breakpoints, dim=-1)
    if not bool((inc > 0).all()):
        raise OptionError("Breakpoints must be strictly increasing to be written as knot logits.")
    p = inc / (hi - lo)
    if min_fraction:
        p = (p - min_fraction / G) / (1.0 - min_fraction)
    logits = torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
    return logits - logits.mean(dim=-1, keepdim=True)


def _knot_window(x, knots, degree):
    """Cell index c (x.shape, long; clamped policy above) and the 2k knots t_{c+1}..t_{c+2k}
    around it, shape x.shape + (2k,), gathered from per-channel or shared knots."""
    k = int(degree)
    t = knots.to(dtype=x.dtype, device=x.device)
    G = t.shape[-1] - 2 * k - 1
    if G < 1:
        raise OptionError(f"A knot vector for degree {k} needs at least {2 * k + 2} knots, got "
                          f"{t.shape[-1]}.")
    interior = t[..., k + 1:k + G].detach()               # x_1 .. x_{G-1}
    cell = (x.detach().unsqueeze(-1) >= interior).sum(-1)  # 0..G-1: clamped cell choice
    if k == 0:
        return cell, x.new_zeros(x.shape + (0,))
    index = cell.unsqueeze(-1) + torch.arange(1, 2 * k + 1, device=x.device)
    if t.dim() == 1:
        return cell, t[index]
    # per-channel knots (C, L): flat index c * L + j into the flattened knot table
    offset = torch.arange(t.shape[0], device=x.device).unsqueeze(-1) * t.shape[-1]
    return cell, t.reshape(-1)[index + offset]


def bspline_local_basis(x, knots, degree, derivative=0):
    """Nonzero B-splines (or their x-derivatives) on non-uniform simple knots at x.

    knots: (C, G+2k+1) per channel with x (..., C), or (G+2k+1,) shared; strictly increasing.
    Returns (cell, values): cell (x.shape, long) in 0..G-1 and values x.shape + (k+1,),
    values[..., r] = d^derivative/dx^derivative B_{cell+r}(x). Out of range: see the module
    section above (clamped cell, extended end pieces, like :func:`uniform_local_basis`).

    Closed form: the triangular Cox-de Boor scheme on the cell's 2k knots,
    B_{m,j} = (x - t_m)/(t_{m+j} - t_m) B_{m,j-1} + (t_{m+j+1} - x)/(t_{m+j+1} - t_{m+1}) B_{m+1,j-1},
    up to degree k - derivative, then ``derivative`` steps of
    B'_{m,j} = j [B_{m,j-1}/(t_{m+j} - t_m) - B_{m+1,j-1}/(t_{m+j+1} - t_{m+1})].
    Differentiable in x and in the knots (autograd through the knot gather).
    """
    k, d = int(degree), int(derivative)
    cell, T = _knot_window(x, knots, k)
    if d > k:
        return cell, x.new_zeros(x.shape + (k + 1,))
    xe = x.unsqueeze(-1)
    # degree-0 piece of the cell: V[r] = B_{l-j+r, j} with l = cell + k, j the current degree;
    # in the window T[a] = t_{l-k+1+a}, so t_{l+1+r} = T[k+r] and t_{l-j+1+r} = T[k-j+r].
    V = torch.ones_like(xe)
    for j in range(1, k + 1):
        upper, lower = T[..., k:k + j], T[..., k - j:k]
        temp = V / (upper - lower)
        if j <= k - d:
            V = F.pad((xe - lower) * temp, (1, 0)) + F.pad((upper - xe) * temp, (0, 1))
        else:
            V = j * (F.pad(temp, (1, 0)) - F.pad(temp, (0, 1)))
    return cell, V


def bspline_basis(x, knots, degree, derivative=0):
    """Dense non-uniform basis x.shape + (G+k,): column m = d^derivative/dx^derivative B_m(x)
    on ``knots`` ((C, G+2k+1) per channel with x (..., C), or (G+2k+1,) shared), scattered from
    :func:`bspline_local_basis` (same out-of-range policy; differentiable in x and the knots).
    On uniform knots it equals :func:`uniform_basis` up to rounding."""
    k = int(degree)
    cell, values = bspline_local_basis(x, knots, k, derivative)
    n = knots.shape[-1] - k - 1
    index = cell.unsqueeze(-1) + torch.arange(k + 1, device=x.device)
    dense = values.new_zeros(x.shape + (n,))
    return dense.scatter(-1, index, values)


def nonuniform_refinement_matrix(old_knots, new_knots, degree, rtol=1e-12):
    """(n_new, n_old) float64 R taking coefficients on the extended knots ``old_knots`` (1D,
    n_old + k + 1 of them, grid range [t_k, t_{n_old}]) to coefficients on ``new_knots`` (same
    grid range, whose knots inside the old span contain the old ones): the same spline on the
    grid range and, when the new extension knots lie inside the old extension (as with
    :func:`extend_breakpoints` after subdividing the end cells), everywhere under the
    extension policy.

    Boehm insertion of the new knots into the old vector (old extension knots beyond the new
    ends are kept), then the rows of the B-splines of the new vector are selected: on the
    grid range only these are nonzero. OptionError if the new knots miss an old one inside
    their span or reach beyond the old span."""
    k = int(degree)
    old = [float(v) for v in torch.as_tensor(old_knots, dtype=torch.float64).reshape(-1)]
    new = [float(v) for v in torch.as_tensor(new_knots, dtype=torch.float64).reshape(-1)]
    tol = rtol * max(1.0, old[-1] - old[0])
    below = [v for v in old if v < new[0] - tol]
    above = [v for v in old if v > new[-1] + tol]
    R = refinement_matrix(old, below + new + above, k, rtol)
    return R[len(below):len(below) + len(new) - k - 1]
