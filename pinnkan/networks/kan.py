"""Kolmogorov-Arnold networks with B-spline edge functions on uniform grids or on trained
(free) knots.

Layer evaluation: the k+1 nonzero B-splines per input are scattered into a dense basis
(N, in*(G+k)) and contracted with the coefficients in one matmul. On 2 CPU cores, for N=2000,
in=out=10, this beat a gather of the k+1 active coefficients per edge (embedding lookup) at
every G in {5, 10, 20, 40}, for plain training and for PINN-style nested input gradients:
3x to 14x at G=5..20, 1.1x to 1.8x at G=40 (the dense matmul costs O(G) per edge).
Free knots use the same dense layout: only the basis evaluation changes (non-uniform
Cox-de Boor on each channel's knots, :func:`pinnkan.networks.bspline.bspline_basis`).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from pinnkan.networks.bspline import (breakpoints_from_logits, bspline_basis, extend_breakpoints,
                             extended_uniform_knots, logits_from_breakpoints,
                             nonuniform_refinement_matrix, uniform_basis,
                             uniform_refinement_matrix)
from pinnkan.networks.equivalence import (bspline_from_relu_weights, bspline_to_relu_matrix,
                                 relu_power_basis, relu_weights_from_bspline)
from pinnkan.errors import OptionError
from pinnkan.networks.mlp import BoxNormalization, check_widths

BASES = (None, "silu")
INITS = ("linear", "random")
SPLINE_BASES = ("bspline", "relu")
# Free knots: every cell keeps at least this fraction of the uniform cell width (hi - lo) / G,
# so the breakpoints stay strictly increasing in floating point and derivatives bounded.
MIN_CELL_FRACTION = 1e-3


def greville_abscissae(lo, hi, grid, degree, dtype=torch.float64):
    """xi_m = (t_{m+1} + ... + t_{m+k}) / k, m = 0..G+k-1: sum_m xi_m B_m(x) = x (degree >= 1)."""
    t = extended_uniform_knots(lo, hi, grid, degree, dtype)
    return t[1:-1].unfold(0, degree, 1).mean(-1)


class KANLayer(nn.Module):
    """y_j = sum_i [ sum_m coef[j, i, m] B_m(x_i) + w_base[j, i] silu(x_i) ] (base optional).

    B_m: degree-k B-splines on ``grid`` uniform cells over [lo, hi], G+k per edge; inputs outside
    [lo, hi] use the extended end polynomial pieces (see ``pinnkan.networks.bspline``).
    coef: (out, in, G+k); forward: (..., in) -> (..., out).
    init "linear": edge (j, i) starts as a x + noise, coef = a xi + eps (xi the Greville
    abscissae), a ~ N(0, 1/in), eps ~ N(0, (0.01/sqrt(in))^2); "random": coef ~ N(0, 1/(in (k+1))).
    base "silu": w_base ~ N(0, 1/in).
    spline_basis "relu": the same spline space in the power-ReLU basis psi_j = ReLU(x - t_j)^k,
    j = 0..G+k-1 (a multichannel ReLU^k MLP layer with biases fixed at the knots); ``coef`` then
    holds the ReLU weights w = A^T c (see :mod:`pinnkan.networks.equivalence`). Same function class,
    other coordinates: gradient descent is not preconditioned by the local B-spline basis.

    free_knots: the knot locations are trained too (arXiv 2603.04827, Actor et al. 2025). One
    knot vector per input channel, shared by that channel's ``out`` edges (so the basis keeps its
    (..., in, G+k) layout), parametrised by ``knot_logits`` (in, G): the breakpoints are
    lo = x_0 < x_1 < ... < x_G = hi with increments
    (hi - lo) (f / G + (1 - f) softmax(knot_logits[i])), f = ``MIN_CELL_FRACTION``, so they are
    strictly increasing and inside [lo, hi] by construction, and x_0 = lo, x_G = hi stay fixed.
    The k extended knots on each side repeat the end increments: t_{-j} = lo - j (x_1 - x_0),
    t_{G+j} = hi + j (x_G - x_{G-1}). Logits start at zero: a fresh free-knot layer is the
    uniform layer (same coefficients for the same seed). Adding a constant to a row of logits
    changes nothing (a flat direction of the loss). Out of range as on a uniform grid: the end
    polynomial pieces are extended. Only with spline_basis "bspline".
    """

    def __init__(self, in_features, out_features, grid, degree=3, lo=-1.0, hi=1.0, base=None,
                 init="linear", dtype=torch.float64, spline_basis="bspline", free_knots=False):
        super().__init__()
        if int(grid) < 1 or int(degree) < 1:
            raise OptionError(f"A KAN needs grid >= 1 and degree >= 1, got grid {grid}, "
                              f"degree {degree}.")
        if base not in BASES:
            raise OptionError(f"Unknown KAN base branch {base!r}: use 'silu' or None.")
        if init not in INITS:
            raise OptionError(f"Unknown KAN initialisation {init!r}: use 'linear' or 'random'.")
        if not hi > lo:
            raise OptionError(f"KAN grid range needs lo < hi, got [{lo}, {hi}].")
        if spline_basis not in SPLINE_BASES:
            raise OptionError(f"Unknown spline basis {spline_basis!r}: use 'bspline' or 'relu'.")
        if free_knots and spline_basis != "bspline":
            raise OptionError("Free knots are supported with the B-spline basis only, not with "
                              f"spline_basis={spline_basis!r}: drop one of the two options.")
        self.spline_basis = "bspline"
        self.free_knots = bool(free_knots)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.grid, self.degree, self.lo, self.hi = int(grid), int(degree), float(lo), float(hi)
        self.base = base
        n, fan_in = self.grid + self.degree, self.in_features
        coef = torch.empty(self.out_features, fan_in, n, dtype=dtype)
        if init == "linear":
            a = torch.randn(self.out_features, fan_in, 1, dtype=dtype) / fan_in ** 0.5
            xi = greville_abscissae(self.lo, self.hi, self.grid, self.degree, dtype)
            coef = a * xi + 0.01 / fan_in ** 0.5 * torch.randn_like(coef)
        else:
            coef = torch.randn_like(coef) / (fan_in * (self.degree + 1)) ** 0.5
        self.coef = nn.Parameter(coef)
        if base == "silu":
            w = torch.randn(self.out_features, fan_in, dtype=dtype) / fan_in ** 0.5
            self.w_base = nn.Parameter(w)
        if self.free_knots:
            self.knot_logits = nn.Parameter(torch.zeros(fan_in, self.grid, dtype=dtype))
        if spline_basis == "relu":
            self.convert_basis_("relu")

    def breakpoints(self) -> torch.Tensor:
        """Grid breakpoints lo = x_0 < ... < x_G = hi: (in, G+1) with free knots (differentiable
        in ``knot_logits``), else the uniform (G+1,)."""
        if self.free_knots:
            return breakpoints_from_logits(self.knot_logits, self.lo, self.hi, MIN_CELL_FRACTION)
        return self.knots()[self.degree:self.degree + self.grid + 1]

    def knots(self) -> torch.Tensor:
        """Extended knots t_0..t_{G+2k} on the coefficients' device: uniform, shape (G+2k+1,);
        with free knots one vector per input channel, shape (in, G+2k+1), differentiable in
        ``knot_logits``."""
        if self.free_knots:
            return extend_breakpoints(self.breakpoints(), self.degree)
        t = extended_uniform_knots(self.lo, self.hi, self.grid, self.degree, self.coef.dtype)
        return t.to(self.coef.device)

    def change_of_basis(self) -> torch.Tensor:
        """A (G+k, G+k) with B_i = sum_j A[i, j] psi_j on [lo, hi]."""
        return bspline_to_relu_matrix(self.knots(), self.degree)

    def basis(self, x, derivative=0):
        """d^derivative/dx^derivative of the basis functions of the layer's spline basis
        (B_m or psi_m) at x_i: (..., in) -> (..., in, G+k)."""
        if self.spline_basis == "relu":
            return relu_power_basis(x, self.knots(), self.degree, derivative)
        if self.free_knots:
            return bspline_basis(x, self.knots(), self.degree, derivative)
        return uniform_basis(x, self.lo, self.hi, self.grid, self.degree, derivative)

    def bspline_coef(self) -> torch.Tensor:
        """The B-spline coefficients c (out, in, G+k) of the layer's edge functions."""
        if self.spline_basis == "relu":
            return bspline_from_relu_weights(self.coef, self.change_of_basis())
        return self.coef

    def convert_basis_(self, spline_basis: str) -> "KANLayer":
        """In place: express the same edge functions in ``spline_basis`` ("bspline" or "relu")."""
        if spline_basis not in SPLINE_BASES:
            raise OptionError(f"Unknown spline basis {spline_basis!r}: use 'bspline' or 'relu'.")
        if self.free_knots and spline_basis != "bspline":
            raise OptionError("Free knots are supported with the B-spline basis only: the "
                              f"{spline_basis!r} basis is not available for a free-knot layer.")
        if spline_basis != self.spline_basis:
            with torch.no_grad():
                c = self.bspline_coef().detach()
                new = relu_weights_from_bspline(c, self.change_of_basis()) if spline_basis == "relu" else c
            self.coef = nn.Parameter(new.clone(), requires_grad=self.coef.requires_grad)
            self.spline_basis = spline_basis
        return self

    def forward(self, x):
        y = self.basis(x).flatten(-2) @ self.coef.flatten(1).T
        if self.base == "silu":
            y = y + F.silu(x) @ self.w_base.T
        return y

    def refine(self, new_grid):
        """New layer on ``new_grid`` cells computing the same function: dyadic two-scale
        relation if new_grid = 2^m grid, else Boehm knot insertion; OptionError unless
        new_grid is a multiple of grid.

        Free knots: every current cell is split into new_grid / grid equal parts (midpoints
        for 2 grid), the new logits are the log increments of these breakpoints (so the refined
        breakpoints are exactly the old ones plus the inserted points, up to rounding) and the
        coefficients of each channel come from Boehm insertion on its own knots."""
        if self.free_knots:
            return self._refine_free(int(new_grid))
        R = uniform_refinement_matrix(self.grid, int(new_grid), self.degree, self.coef.dtype)
        R = R.to(self.coef.device)
        new = copy.deepcopy(self)
        new.grid = int(new_grid)
        new.spline_basis = "bspline"
        with torch.no_grad():
            new.coef = nn.Parameter(self.bspline_coef().detach() @ R.T,
                                    requires_grad=self.coef.requires_grad)
        new.convert_basis_(self.spline_basis)
        new.zero_grad(set_to_none=True)
        return new

    def _refine_free(self, new_grid):
        G, k = self.grid, self.degree
        if new_grid < G or new_grid % G:
            raise OptionError(f"Cannot refine a grid of {G} cells to {new_grid} cells: the new "
                              f"grid must be a multiple of the old one (e.g. {2 * G}).")
        m = new_grid // G
        with torch.no_grad():
            x = self.breakpoints().detach()                                   # (in, G+1)
            frac = torch.arange(m, dtype=x.dtype, device=x.device) / m
            fine = (x[:, :-1, None] + torch.diff(x, dim=-1)[..., None] * frac).flatten(1)
            fine = torch.cat([fine, x[:, -1:]], dim=-1)                       # (in, mG+1)
            logits = logits_from_breakpoints(fine, self.lo, self.hi, MIN_CELL_FRACTION)
        new = copy.deepcopy(self)
        new.grid = new_grid
        new.knot_logits = nn.Parameter(logits, requires_grad=self.knot_logits.requires_grad)
        with torch.no_grad():
            old_t, new_t = self.knots().detach(), new.knots().detach()
            c = self.coef.detach()
            coef = torch.stack([c[:, i] @ nonuniform_refinement_matrix(old_t[i], new_t[i], k)
                                .to(c).T for i in range(self.in_features)], dim=1)
        new.coef = nn.Parameter(coef, requires_grad=self.coef.requires_grad)
        new.zero_grad(set_to_none=True)
        return new

    def extra_repr(self):
        return (f"in={self.in_features}, out={self.out_features}, grid={self.grid}, "
                f"degree={self.degree}, range=[{self.lo}, {self.hi}], base={self.base}, "
                f"spline_basis={self.spline_basis}"
                + (", free_knots=True" if self.free_knots else ""))


class KAN(nn.Module):
    """Stack of KANLayers on the grid range [-1, 1]: z = normalise(x), z <- tanh(layer(z))
    between layers (so hidden values lie in the grid range), no tanh after the last layer.
    forward: (N, widths[0]) -> (N, widths[-1]). free_knots: every layer trains its knots too
    (see :class:`KANLayer`; a fresh free-knot KAN equals the uniform one).
    """

    def __init__(self, widths, grid=10, degree=3, bounds=None, base=None, init="linear",
                 dtype=torch.float64, spline_basis="bspline", free_knots=False):
        super().__init__()
        self.widths = check_widths(widths)
        self.grid, self.degree, self.base = int(grid), int(degree), base
        self.normalize = BoxNormalization(bounds, self.widths[0], dtype)
        self.layers = nn.ModuleList(
            KANLayer(a, b, grid, degree, -1.0, 1.0, base=base, init=init, dtype=dtype,
                     spline_basis=spline_basis, free_knots=free_knots)
            for a, b in zip(self.widths[:-1], self.widths[1:]))

    @property
    def spline_basis(self) -> str:
        return self.layers[0].spline_basis

    @property
    def free_knots(self) -> bool:
        return self.layers[0].free_knots

    def to_basis(self, spline_basis: str) -> "KAN":
        """Deep copy computing the same function with edge functions in ``spline_basis``:
        "relu" gives the equivalent multichannel ReLU^k MLP (weights w = A^T c), "bspline"
        converts back (c = A^-T w). Equal on the grid range, i.e. for inputs in ``bounds``."""
        new = copy.deepcopy(self)
        for layer in new.layers:
            layer.convert_basis_(spline_basis)
        return new

    def forward(self, x):
        x = self.normalize(x)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return x

    def refine(self, new_grid):
        """Deep copy with every layer refined to ``new_grid`` cells; same function."""
        new = copy.deepcopy(self)
        new.layers = nn.ModuleList(layer.refine(new_grid) for layer in self.layers)
        new.grid = int(new_grid)
        return new

    def coefficient_names(self) -> list[str]:
        """Names, as in ``named_parameters()``, of the layers' spline coefficients
        (out, in, G+k), in layer order."""
        names = {id(p): n for n, p in self.named_parameters()}
        return [names[id(layer.coef)] for layer in self.layers]

    @property
    def n_params(self):
        """Trainable scalars: sum over layers of in*out*(G+k) [+ in*out with the silu base]
        [+ in*G knot logits with free knots]."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def describe(self):
        extra = f", base {self.base}" if self.base else ""
        if self.spline_basis == "relu":
            extra += ", ReLU basis"
        if self.free_knots:
            extra += ", free knots"
        return f"KAN {self.widths}, grid {self.grid}, degree {self.degree}{extra}"
