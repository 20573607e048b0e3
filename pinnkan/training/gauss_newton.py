"""Matrix-free Gauss-Newton / Levenberg-Marquardt: the damped step by conjugate gradients.

Same residual vector R(theta) (M,) and Jacobian J = dR/dtheta (M, P) as
:mod:`pinnkan.training.levenberg`; the step solves

    (J^T J + lam D) delta = -J^T R

by preconditioned conjugate gradients (:func:`conjugate_gradients`) with the products J v (M,)
and J^T u (P,) alone, so J^T J (P, P) is never formed and J (M, P) never stored: memory
O(M + P) plus the factors of one linearisation. The preconditioner is the diagonal of the damped
matrix, diag(J^T J) + lam D, with diag(J^T J) computed exactly. CG starts from 0 and stops at a
relative residual ``rtol`` or after ``max_iter`` iterations (a truncated step still lowers the
Gauss-Newton model); lam, D and the acceptance of a step are those of the dense
:class:`~pinnkan.training.levenberg.LevenbergMarquardt`.

Linearisations (:func:`linearize`):

- :class:`KANLinearization`, a plain KAN: J's rows are dr_i/dC_l[o, m] = sum_s A_l[i, s, o]
  Z_l[i, s, m] (:func:`~pinnkan.training.levenberg.kan_term_factors`), so J v and J^T u are
  contractions of the kept factors A_l, Z_l with v and u, one layer pass each, no autograd;
- :class:`FunctionalLinearization`, any network the jets support (MLPs, KANs with a base
  branch or free knots): J v by forward-mode AD (``torch.func.jvp``), J^T u by the reverse
  pass of one recorded graph (``torch.func.vjp``).

Dense or matrix-free: :func:`choose_solver`, by the parameter count (the crossover measured in
docs/performance.md).
"""

from __future__ import annotations

import math

import torch
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from pinnkan.choices import LM_DENSE_MAX_PARAMS, LM_SOLVERS
from pinnkan.derivatives.jets import contract_local, gather_coef, local_index
from pinnkan.errors import OptionError
from pinnkan.problem.compile import parameter_names
from pinnkan.training import distributed
from pinnkan.training.levenberg import (LevenbergMarquardt, _plain_kan, _rows, _TermResidual, flat_parameters,
                                        kan_term_factors, parameter_offsets, residual_and_jacobian, row_scale,
                                        set_flat_parameters)

CHUNK_ENTRIES = 2**22  # the largest intermediate of the chunked diagonal, in entries


def choose_solver(choice: str, n_params: int) -> str:
    """"dense" or "cg" for ``choice`` in LM_SOLVERS: "auto" is dense up to LM_DENSE_MAX_PARAMS."""
    if choice not in LM_SOLVERS:
        raise OptionError(f"Unknown Levenberg-Marquardt solver {choice!r}; choose one of {', '.join(LM_SOLVERS)}.")
    if choice == "auto":
        return "dense" if n_params <= LM_DENSE_MAX_PARAMS else "cg"
    return choice


def _chunks(n: int, per_row: int):
    """Slices of range(n) of at most CHUNK_ENTRIES // per_row rows each."""
    step = max(1, CHUNK_ENTRIES // max(1, per_row))
    return [slice(a, min(a + step, n)) for a in range(0, n, step)]


class KANLinearization:
    """J of a plain KAN at its current parameters, kept as the factors of each term and layer.

    ``residual`` R (M,); :meth:`jvp` J v, :meth:`vjp` J^T u and :meth:`gram_diagonal`
    diag(J^T J) (P,). For layer l with coefficients V (out, in, G+k) of v,
    (J v)_i = sum_{s, o} A[i, s, o] sum_{in, r} Z[i, s, in, r] V[o, in, cell_i + r] (the layer's
    forward contraction with V in place of the coefficients), and J^T u scatters
    sum_i u_i A[i, s, o] Z[i, s, in, r] into V's shape. A periodic residual (lo, hi pair) is the
    sum of its two points' rows.
    """

    def __init__(self, model, compiled, data, weights: dict):
        offsets = parameter_offsets(model)
        self.n_params = sum(hi - lo for lo, hi in offsets.values())
        self.coef_columns = [offsets[n] for n in model.coefficient_names()]
        self.parameter_columns = {k: offsets[n] for k, n in parameter_names(model).items()}
        self.terms, rs = [], []
        for tp in data:
            r, layers, columns = kan_term_factors(model, compiled, tp, weights)
            self.terms.append((tp.n_residuals, tp.term.paired, layers, columns))
            rs.append(r)
        self.residual = torch.cat(rs)

    def _coef(self, flat: torch.Tensor, i: int, layer) -> torch.Tensor:
        lo, hi = self.coef_columns[i]
        return flat[lo:hi].view(layer.coef.shape)

    def jvp(self, v: torch.Tensor) -> torch.Tensor:
        """J v: (P,) -> (M,)."""
        out = []
        for n_res, paired, layers, columns in self.terms:
            acc = v.new_zeros(2 * n_res if paired else n_res)
            for i, (layer, cell, Z, A) in enumerate(layers):
                if A is None:
                    continue
                V = self._coef(v, i, layer)
                if cell is None:
                    w = Z.flatten(2) @ V.flatten(1).T                                  # (N, S, out)
                else:
                    w = contract_local(Z, gather_coef(V, cell, layer.degree))
                acc = acc + (A * w).sum((1, 2))
            if paired:
                acc = acc[:n_res] + acc[n_res:]
            for name, (lo, hi) in self.parameter_columns.items():
                acc = acc + columns[name] @ v[lo:hi]
            out.append(acc)
        return torch.cat(out)

    def vjp(self, u: torch.Tensor) -> torch.Tensor:
        """J^T u: (M,) -> (P,)."""
        g = u.new_zeros(self.n_params)
        row = 0
        for n_res, paired, layers, columns in self.terms:
            ut = u[row:row + n_res]
            row += n_res
            uu = torch.cat([ut, ut]) if paired else ut
            for i, (layer, cell, Z, A) in enumerate(layers):
                if A is None:
                    continue
                G = self._coef(g, i, layer)                                            # (out, in, G+k)
                Au = A * uu[:, None, None]
                if cell is None:
                    G += torch.einsum("nso,nsm->om", Au, Z.flatten(2)).view_as(G)
                else:
                    G.scatter_add_(2, *self._scattered(torch.einsum("nso,nsir->oinr", Au, Z), cell, layer))
            for name, (lo, hi) in self.parameter_columns.items():
                g[lo:hi] += columns[name].T @ ut
        return g

    @staticmethod
    def _scattered(local: torch.Tensor, cell: torch.Tensor, layer):
        """(index, values) that scatter local[o, in, n, r] into coef column cell[n, in] + r along dim 2."""
        out, n_in, n, k1 = local.shape
        index = local_index(cell, layer.degree).permute(1, 0, 2).reshape(1, n_in, n * k1).expand(out, -1, -1)
        return index, local.reshape(out, n_in, n * k1)

    def gram_diagonal(self) -> torch.Tensor:
        """diag(J^T J) (P,), exactly: the column sums of J's squared entries, row chunk by row
        chunk (for an unpaired term on a uniform grid from the k+1 local entries of each row,
        which fall on distinct columns; otherwise from each chunk's dense rows)."""
        diag = self.residual.new_zeros(self.n_params)
        for n_res, paired, layers, columns in self.terms:
            for i, (layer, cell, Z, A) in enumerate(layers):
                if A is None:
                    continue
                D = self._coef(diag, i, layer)
                out, n_in, width = layer.coef.shape
                if cell is not None and not paired:
                    for c in _chunks(n_res, out * n_in * (layer.degree + 1)):
                        local = torch.einsum("nso,nsir->oinr", A[c], Z[c])
                        index, values = self._scattered(local, cell[c], layer)
                        D.scatter_add_(2, index, values * values)
                    continue
                halves = (0, n_res) if paired else (0,)
                for c in _chunks(n_res, out * n_in * width):
                    block = diag.new_zeros((c.stop - c.start, out, n_in, width))
                    for h in halves:
                        hc = slice(c.start + h, c.stop + h)
                        if cell is None:
                            block += torch.einsum("nso,nsm->nom", A[hc], Z[hc].flatten(2)).view_as(block)
                        else:
                            local = torch.einsum("nso,nsir->noir", A[hc], Z[hc])
                            block.scatter_add_(3, local_index(cell[hc], layer.degree)[:, None].expand_as(local), local)
                    D += (block * block).sum(0)
            for name, (lo, hi) in self.parameter_columns.items():
                diag[lo:hi] += (columns[name] ** 2).sum(0)
        return diag


class FunctionalLinearization:
    """J of any network the jets support, by automatic differentiation of R(theta).

    R is a function of the trainable parameters (in ``model.named_parameters()`` order, as
    :func:`~pinnkan.training.levenberg.flat_parameters`); :meth:`vjp` runs the reverse pass of
    the graph recorded once here, :meth:`jvp` one forward-mode pass, and :meth:`gram_diagonal`
    sums the squares of the per-point Jacobian rows (vmap of jacrev) chunk by chunk of points.
    """

    def __init__(self, model, compiled, data, weights: dict):
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.params = {n: p.detach() for n, p in named}
        self.n_params = sum(p.numel() for _, p in named)
        self.terms = []
        for tp in data:
            module = _TermResidual(model, compiled, tp.term, tp.observed is not None)
            normals = tp.normals if tp.normals is not None else torch.zeros_like(tp.points)
            observed = tp.observed if tp.observed is not None else torch.zeros_like(tp.points[:, 0])
            self.terms.append((module, row_scale(tp, weights), tp.points, normals, observed, tp))
        self.residual, self._vjp = vjp(self._residual_of, self.params)
        self.residual = self.residual.detach()

    def _residual_of(self, params: dict) -> torch.Tensor:
        prm = {f"model.{n}": p for n, p in params.items()}
        return torch.cat([_rows(scale, functional_call(module, prm, (x, nrm, obs)))
                          for module, scale, x, nrm, obs, _ in self.terms])

    def _unflatten(self, flat: torch.Tensor) -> dict:
        out, i = {}, 0
        for n in self.names:
            p = self.params[n]
            out[n] = flat[i:i + p.numel()].view_as(p)
            i += p.numel()
        return out

    def jvp(self, v: torch.Tensor) -> torch.Tensor:
        """J v: (P,) -> (M,), by forward-mode AD."""
        return jvp(self._residual_of, (self.params,), (self._unflatten(v),))[1].detach()

    def vjp(self, u: torch.Tensor) -> torch.Tensor:
        """J^T u: (M,) -> (P,), by the reverse pass of the recorded graph."""
        (g,) = self._vjp(u)
        return torch.cat([g[n].reshape(-1) for n in self.names]).detach()

    def gram_diagonal(self) -> torch.Tensor:
        """diag(J^T J) (P,), exactly, from per-point Jacobian rows, at most CHUNK_ENTRIES entries
        at a time."""
        diag = self.residual.new_zeros(self.n_params)
        prm = {f"model.{n}": p for n, p in self.params.items()}
        for module, scale, x, nrm, obs, tp in self.terms:
            n_res = tp.n_residuals
            group = (lambda a: torch.stack([a[:n_res], a[n_res:]], dim=1)) if tp.term.paired else (lambda a: a[:, None])

            def one(p, xi, ni, oi):
                return functional_call(module, p, (xi, ni, oi))[0]

            gx, gn, go = group(x), group(nrm), group(obs)
            rows = torch.as_tensor(scale, dtype=x.dtype, device=x.device).expand(n_res)
            for c in _chunks(n_res, self.n_params):
                jac = vmap(jacrev(one), in_dims=(None, 0, 0, 0))(prm, gx[c], gn[c], go[c])
                block = torch.cat([jac[f"model.{n}"].reshape(c.stop - c.start, -1) for n in self.names], dim=1)
                diag += ((rows[c, None] * block.detach()) ** 2).sum(0)
        return diag


def linearize(model, compiled, data, weights: dict):
    """J of the residual vector at the model's parameters, applied without being formed: the
    structured :class:`KANLinearization` for a plain KAN, :class:`FunctionalLinearization` else."""
    if _plain_kan(model):
        return KANLinearization(model, compiled, data, weights)
    return FunctionalLinearization(model, compiled, data, weights)


def conjugate_gradients(matvec, b: torch.Tensor, precond: torch.Tensor, rtol: float, max_iter: int):
    """x with A x ~= b for the symmetric positive definite A that ``matvec`` applies, by
    preconditioned CG from x = 0 with the preconditioner diag(precond) (P,), positive.

    Stops once ||b - A x|| <= rtol ||b|| (the recursively updated residual) or after
    ``max_iter`` products; a direction of non-positive curvature in floating point ends it with
    the iterate so far. Returns (x (P,), products taken, ||b - A x|| / ||b||).
    """
    x = torch.zeros_like(b)
    r = b.clone()
    b_norm = float(torch.linalg.vector_norm(b))
    if b_norm == 0.0 or not math.isfinite(b_norm):
        return x, 0, 0.0
    z = r / precond
    p = z.clone()
    rz = float(r @ z)
    rel, taken = 1.0, 0
    while taken < max_iter:
        Ap = matvec(p)
        taken += 1
        pAp = float(p @ Ap)
        if not pAp > 0.0:
            break
        alpha = rz / pAp
        x.add_(p, alpha=alpha)
        r.add_(Ap, alpha=-alpha)
        rel = float(torch.linalg.vector_norm(r)) / b_norm
        if rel <= rtol:
            break
        z = r / precond
        rz_new = float(r @ z)
        p.mul_(rz_new / rz).add_(z)
        rz = rz_new
    return x, taken, rel


def damped_step(lin, damping: torch.Tensor, gradient: torch.Tensor, gram_diagonal: torch.Tensor,
                rtol: float, max_iter: int):
    """delta ~= -(J^T J + diag(damping))^-1 J^T R by :func:`conjugate_gradients`, J from ``lin``,
    ``gradient`` = J^T R (P,), preconditioned by gram_diagonal + damping. Returns (delta, CG
    products, relative residual)."""
    precond = (gram_diagonal + damping).clamp_min(torch.finfo(damping.dtype).tiny)

    def matvec(v):  # data-parallel: J^T J v = sum_r J_r^T (J_r v)
        return distributed.all_reduce_sum(lin.vjp(lin.jvp(v))) + damping * v

    return conjugate_gradients(matvec, -gradient, precond, rtol, max_iter)


class MatrixFreeLevenbergMarquardt(LevenbergMarquardt):
    """Levenberg-Marquardt whose damped step is solved by CG on J v / J^T u products
    (:func:`damped_step`); lam, the scaling D and the acceptance rule are the dense class's.
    ``cg_rtol`` and ``cg_max_iter``: CG's stopping rule. ``last`` holds the CG products and
    tries of the latest iteration."""

    def __init__(self, cg_rtol: float = 1e-2, cg_max_iter: int = 50, **kwargs):
        super().__init__(**kwargs)
        self.cg_rtol, self.cg_max_iter = cg_rtol, cg_max_iter
        self.last: dict = {}

    def step(self, model, compiled, data, weights) -> tuple[float, bool]:
        """One iteration; returns (loss after the iteration, whether a step was accepted)."""
        lin = linearize(model, compiled, data, weights)
        R = lin.residual
        # data-parallel: the sums over the ranks' rows; every rank then runs the same CG
        loss, g, diag = distributed.all_reduce_sums([R @ R, lin.vjp(R), lin.gram_diagonal()])
        loss = float(loss)
        d = self.damping_scale(diag)
        theta = flat_parameters(model)
        self.last = {"cg_products": 0, "tries": 0}
        for _ in range(self.max_tries):
            delta, taken, _ = damped_step(lin, self.lam * d, g, diag, self.cg_rtol, self.cg_max_iter)
            self.last["cg_products"] += taken
            self.last["tries"] += 1
            set_flat_parameters(model, theta + delta)
            R_new, _ = residual_and_jacobian(model, compiled, data, weights, with_jacobian=False)
            new = float(distributed.all_reduce_sum(R_new @ R_new))
            if new < loss:
                self.lam = max(self.lam / 3, self.lam_min)
                return new, True
            self.lam = min(self.lam * 4, self.lam_max)
        set_flat_parameters(model, theta)
        return loss, False
