"""Levenberg-Marquardt on the residual vector of the physics-informed loss.

The loss is a sum of squares, L(theta) = ||R(theta)||^2 with
R = concat_t sqrt(w_t / N_t) r_t(x_i; theta) over all terms t and their points i (times
sqrt(p_i) for a term whose points carry weights p, ``TermPoints.point_weights``). A step solves

    (J^T J + lam * diag(J^T J)) delta = -J^T R,        J = dR/dtheta  (M, P),

and is accepted when it lowers the loss; lam shrinks after a success and grows after a failure
(Marquardt's scaling by diag(J^T J) makes it invariant to the scale of each parameter). KAN-PINNs
have few parameters, so the P x P system is affordable.

J for a plain KAN comes from one forward pass of the jets and one backward pass per term (each
layer's jet is linear in its coefficients), written in place into one (M, P) matrix; for other
networks from ``torch.func`` (vmap over points of the gradient of that point's residual). With
one torch thread J^T J is formed by BLAS syrk and the damped system solved by LAPACK potrf/potrs
(:func:`gram`, :func:`solve_damped`); with more, by torch. Costs in docs/performance.md.
"""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as fwAD
from scipy.linalg import blas, lapack
from torch.func import functional_call, jacrev, vmap

from pinnkan.derivatives.engines import JetEngine, order
from pinnkan.errors import OptionError
from pinnkan.derivatives.jets import (KAN_ACTIVATION_JET, contract_local, core_network, elementwise, input_jet,
                                     output_jet, gather_coef, is_local, kan_basis_jet,
                                     kan_local_basis_jet, local_index, read_jet, second_order_pairs, supports)
from pinnkan.problem.compile import parameter_names, parameters_of
from pinnkan.networks.kan import KAN
from pinnkan.evaluation.residuals import TermPoints, term_residual
from pinnkan.training import distributed


class _TermResidual(torch.nn.Module):
    """forward(points (N, d), normals (N, d), observed (N,)) -> residual of one term, via jets;
    ``observed`` is read only by terms with observations (``has_observed``)."""

    def __init__(self, model, compiled, term, has_observed: bool):
        super().__init__()
        self.model, self.compiled, self.term, self.has_observed = model, compiled, term, has_observed
        self.engine = JetEngine()

    def forward(self, points, normals, observed):
        values = self.engine(self.model, points, self.term.derivatives)
        tp = TermPoints(self.term, points, normals, observed if self.has_observed else None)
        return term_residual(self.compiled, self.model, tp, values)


def check_supported(model, compiled) -> None:
    """Levenberg-Marquardt needs the jet engine: KAN or tanh/sin/silu MLP, derivatives <= 2."""
    if not supports(model) or any(order(k) > 2 for t in compiled.terms for k in t.derivatives):
        raise OptionError(
            "The Levenberg-Marquardt optimizer needs a KAN or an MLP with tanh, sin or silu "
            "activation and derivatives of order at most 2 in the equations; use L-BFGS instead."
        )


def row_scale(tp: TermPoints, weights: dict):
    """The factor of term ``tp``'s rows in R: sqrt(w_t / N_t), a float, or with point weights p
    the tensor sqrt(w_t p / N_t) (n_residuals,); N_t is the whole set's count for a share
    (``TermPoints.mean_over``), so the shares' rows stack to the one-process R."""
    scale = (weights.get(tp.term.label, tp.term.weight) / tp.mean_over) ** 0.5
    return scale if tp.point_weights is None else scale * tp.point_weights.sqrt()


def _rows(scale, a: torch.Tensor, paired: bool = False) -> torch.Tensor:
    """``a`` (n, ...) with row n multiplied by ``scale`` (a float or (n,)); ``paired``: a has the
    2n rows of (lo, hi) point pairs, both rows of pair n scaled by scale[n]."""
    if not torch.is_tensor(scale):
        return scale * a
    if paired:
        scale = torch.cat([scale, scale])
    return scale.reshape((-1,) + (1,) * (a.dim() - 1)) * a


def residual_and_jacobian(model, compiled, data, weights: dict, with_jacobian: bool = True):
    """Return (R (M,), J (M, P) or None) for the stacked, weighted residual vector."""
    if with_jacobian and _plain_kan(model):
        return _kan_residual_and_jacobian(model, compiled, data, weights)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = {f"model.{n}": p.detach() for n, p in model.named_parameters() if p.requires_grad}
    rs, js = [], []
    for tp in data:
        module = _TermResidual(model, compiled, tp.term, tp.observed is not None)
        n_res = tp.n_residuals
        scale = row_scale(tp, weights)
        normals = tp.normals if tp.normals is not None else torch.zeros_like(tp.points)
        observed = tp.observed if tp.observed is not None else torch.zeros_like(tp.points[:, 0])

        with torch.no_grad():
            rs.append(_rows(scale, functional_call(module, params, (tp.points, normals, observed))))
        if with_jacobian:
            # one residual per point, or per (lo, hi) pair of a periodic term: vmap over residuals
            group = lambda a: torch.stack([a[:n_res], a[n_res:]], dim=1) if tp.term.paired else a[:, None]

            def one(prm, x, nrm, obs):
                return functional_call(module, prm, (x, nrm, obs))[0]

            jac = vmap(jacrev(one), in_dims=(None, 0, 0, 0))(params, group(tp.points), group(normals), group(observed))
            js.append(_rows(scale, torch.cat([jac[f"model.{n}"].reshape(n_res, -1) for n in names], dim=1)))
    R = torch.cat(rs)
    return R, (torch.cat(js) if with_jacobian else None)


def _plain_kan(model) -> bool:
    """A KAN whose only parameters are the spline coefficients (no base branch, fixed knots),
    and possibly the unknown constants of an inverse problem."""
    if not isinstance(core_network(model), KAN):  # a KAN, or a KAN inside exact constraints
        return False
    names = {n for n, _ in model.named_parameters()}
    return names == set(model.coefficient_names()) | set(parameter_names(model).values())


def parameter_offsets(model) -> dict:
    """{parameter name: (first, last + 1) column} of each parameter in the flat vector."""
    offsets, c0 = {}, 0
    for name, prm in model.named_parameters():
        offsets[name] = (c0, c0 + prm.numel())
        c0 += prm.numel()
    return offsets


def kan_term_factors(model, compiled, tp: TermPoints, weights: dict):
    """The factors of one term's rows of J for a plain KAN, from one forward and one backward pass.

    Each layer's output jet is linear in its coefficients, out_l = Z_l C_l^T with Z_l the
    basis jets (N, S, in (G+k)), and residual i depends on point i alone. So with
    A_l = d(sum_i r_i)/d out_l (one backward pass, (N, S, out)),
    dr_i/dC_l[o, m] = sum_s A_l[i, s, o] Z_l[i, s, m]. Same result as per-point autograd.
    On a uniform grid Z_l is kept in local form (the k+1 nonzero basis functions per input).

    Returns (R_t (n,), layers, columns): R_t the term's scaled residuals; ``layers`` one
    (layer, cell, Z, A) per layer with A already scaled by the row factor (cell (N, in) and
    Z (N, S, in, k+1) on a uniform grid, cell None and Z (N, S, in, G+k) otherwise; A None
    where the term does not depend on the layer); ``columns`` {problem parameter name:
    scaled column (n, 1)}. For a paired term N = 2n: rows n of the lo and n + n of the hi points.
    """
    keys = tp.term.derivatives
    pairs = second_order_pairs(keys)
    x = tp.points
    d = x.shape[1]
    J = input_jet(model, x, pairs)  # the points, or their periodic embedding, normalised
    captured = []
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        if is_local(layer):
            cell, Z = kan_local_basis_jet(J, layer, d, pairs)     # (N, in), (N, S, in, k+1)
            out = contract_local(Z, gather_coef(layer.coef.detach(), cell, layer.degree))
        else:
            cell, Z = None, kan_basis_jet(J, layer, d, pairs)     # (N, S, in, G+k)
            out = Z.flatten(2) @ layer.coef.detach().flatten(1).T
        if not out.requires_grad:  # first layer: nothing upstream depends on parameters
            out.requires_grad_(True)
        captured.append((layer, cell, Z.detach(), out))
        J = elementwise(out, KAN_ACTIVATION_JET, d, pairs) if i < last else out
    values = read_jet(output_jet(model, x, J, pairs), keys, pairs)  # G + Phi N for imposed values
    scale = row_scale(tp, weights)
    r = term_residual(compiled, model, tp, values)
    grads = torch.autograd.grad(r.sum(), [c[-1] for c in captured], allow_unused=True)
    layers = [(layer, cell, Z, None if A is None else _rows(scale, A, tp.term.paired))
              for (layer, cell, Z, _), A in zip(captured, grads)]
    detached = {k: v.detach() for k, v in values.items()}
    columns = {name: _rows(scale, _parameter_column(compiled, model, tp, detached, name))
               for name in parameter_names(model)}
    return _rows(scale, r.detach()), layers, columns


def _kan_residual_and_jacobian(model, compiled, data, weights):
    """R and J for a plain KAN from the factors of :func:`kan_term_factors`, written in place
    into one (M, P) matrix: on a uniform grid the local products are scattered into the dense row."""
    offsets = parameter_offsets(model)
    c0 = sum(hi - lo for lo, hi in offsets.values())
    coef_columns = [offsets[n] for n in model.coefficient_names()]                # one per layer
    parameter_columns = {k: offsets[n] for k, n in parameter_names(model).items()}
    x0 = data[0].points
    J_all = x0.new_zeros(sum(tp.n_residuals for tp in data), c0)     # filled block by block, no copies
    rs, row = [], 0
    for tp in data:
        n_res = tp.n_residuals
        rows = J_all[row:row + n_res]
        row += n_res
        r, layers, columns = kan_term_factors(model, compiled, tp, weights)
        halves = (slice(0, n_res), slice(n_res, None)) if tp.term.paired else (slice(None),)
        for i, (layer, cell, Z, A) in enumerate(layers):
            if A is None:
                continue
            lo, hi = coef_columns[i]
            block = rows[:, lo:hi].view((n_res,) + tuple(layer.coef.shape))   # (n, out, in, G+k)
            for half in halves:  # a periodic residual is the difference of its two points' rows
                if cell is None:
                    block += torch.einsum("nso,nsk->nok", A[half], Z[half].flatten(2)).view_as(block)
                else:  # dr_n/dc[o, i, cell + r] = sum_s A[n, s, o] Z[n, s, i, r], scattered into (out, in, G+k)
                    local = torch.einsum("nso,nsir->noir", A[half], Z[half])
                    block.scatter_add_(3, local_index(cell[half], layer.degree)[:, None].expand_as(local), local)
        for name, (lo, hi) in parameter_columns.items():
            rows[:, lo:hi] = columns[name]
        rs.append(r)
    return torch.cat(rs), J_all


def _parameter_column(compiled, model, tp, values, name: str) -> torch.Tensor:
    """d r_i / d k for the problem parameter ``name``, shape (n_residuals, 1), by forward-mode AD."""
    params = {k: v.detach() for k, v in parameters_of(model).items()}
    with fwAD.dual_level():
        params[name] = fwAD.make_dual(params[name], torch.ones_like(params[name]))
        tangent = fwAD.unpack_dual(term_residual(compiled, model, tp, values, params)).tangent
    if tangent is None:  # the term does not depend on this parameter
        return torch.zeros(tp.n_residuals, 1, dtype=tp.points.dtype, device=tp.points.device)
    return tangent.reshape(-1, 1).expand(tp.n_residuals, 1)


def _lapack(t: torch.Tensor) -> bool:
    """Whether the normal equations go through SciPy's BLAS/LAPACK: CPU, float32/64, and one
    torch thread. SciPy's OpenBLAS keeps a thread pool of its own; alternating between it and
    torch's made a whole default run on the 2-core machine 1.9x slower (docs/performance.md),
    so with several torch threads everything stays in torch."""
    return (t.device.type == "cpu" and t.dtype in (torch.float64, torch.float32) and not t.requires_grad
            and torch.get_num_threads() == 1)


def gram(J: torch.Tensor) -> torch.Tensor:
    """The Gauss-Newton matrix J^T J (P, P) of J (M, P), as far as Cholesky needs it.

    Through SciPy (see ``_lapack``) only the lower triangle is formed, by BLAS syrk (half the
    flops of J.T @ J; the upper triangle is zero, and torch.linalg.cholesky and
    :func:`solve_damped` read only the lower one). Otherwise the full product J.T @ J.
    """
    if not _lapack(J):
        return J.T @ J
    syrk = blas.dsyrk if J.dtype == torch.float64 else blas.ssyrk
    # J (M, P) row-major is J^T (P, M) column-major, so syrk's a a^T is J^T J with no copy.
    return torch.from_numpy(syrk(1.0, J.contiguous().numpy().T, trans=0, lower=1))


def solve_damped(H: torch.Tensor, damping: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor | None:
    """x = (H + diag(damping))^-1 rhs (P,) by Cholesky, reading only the lower triangle of H;
    None when the damped matrix is not positive definite in floating point. Through SciPy (see
    ``_lapack``) by LAPACK potrf/potrs, factorising a copy of H in place; otherwise torch.linalg."""
    A = H.clone()                              # keeps H's (column-major, from syrk) layout
    A.diagonal().add_(damping)
    if _lapack(A):
        a = A.numpy()
        potrf, potrs = lapack.get_lapack_funcs(("potrf", "potrs"), (a,))
        c, info = potrf(a, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            return None
        x, info = potrs(c, rhs.numpy(), lower=1)
        return torch.from_numpy(x) if info == 0 else None
    L, info = torch.linalg.cholesky_ex(A)
    return torch.cholesky_solve(rhs[:, None], L)[:, 0] if int(info) == 0 else None


def flat_parameters(model) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters() if p.requires_grad])


def set_flat_parameters(model, flat: torch.Tensor) -> None:
    i = 0
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                k = p.numel()
                p.copy_(flat[i:i + k].view_as(p))
                i += k


class LevenbergMarquardt:
    """State of the damping parameter between iterations; ``step`` does one iteration.

    lam starts at ``lam0``; after an accepted step lam /= 3 (at least ``lam_min``), after a
    rejected one lam *= 4 and the step is solved again with the same Jacobian, up to
    ``max_tries`` times. The scaling D is the running maximum of diag(J^T J) (More's choice):
    parameters whose Jacobian columns are momentarily tiny (spline cells that no point reaches)
    stay damped instead of taking huge steps.
    """

    def __init__(self, lam0: float = 1e-3, lam_min: float = 1e-12, lam_max: float = 1e10, max_tries: int = 8):
        self.lam, self.lam_min, self.lam_max, self.max_tries = lam0, lam_min, lam_max, max_tries
        self.scale = None

    def damping_scale(self, diag: torch.Tensor) -> torch.Tensor:
        """D (P,) from diag(J^T J) (P,): the running maximum ``scale`` of the diagonals seen,
        updated here, floored at 1e-6 times its mean."""
        self.scale = diag.clone() if self.scale is None or self.scale.shape != diag.shape \
            else torch.maximum(self.scale, diag)
        return self.scale.clamp_min(1e-6 * float(self.scale.mean().clamp_min(1e-300)))

    def step(self, model, compiled, data, weights) -> tuple[float, bool]:
        """One iteration; returns (loss after the iteration, whether a step was accepted)."""
        R, J = residual_and_jacobian(model, compiled, data, weights)
        # data-parallel: the sums over the ranks' rows, then the same solve on every rank
        loss, g, H = distributed.all_reduce_gauss_newton(R @ R, J.T @ R, gram(J))
        loss = float(loss)
        d = self.damping_scale(torch.diagonal(H))
        theta = flat_parameters(model)
        for _ in range(self.max_tries):
            delta = solve_damped(H, self.lam * d, -g)
            if delta is None:  # not positive definite in floating point: damp more
                self.lam = min(self.lam * 4, self.lam_max)
                continue
            set_flat_parameters(model, theta + delta)
            R_new, _ = residual_and_jacobian(model, compiled, data, weights, with_jacobian=False)
            new = float(distributed.all_reduce_sum(R_new @ R_new))
            if new < loss:
                self.lam = max(self.lam / 3, self.lam_min)
                return new, True
            self.lam = min(self.lam * 4, self.lam_max)
        set_flat_parameters(model, theta)
        return loss, False
