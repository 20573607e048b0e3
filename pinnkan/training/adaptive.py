"""Adaptive training: residual-based resampling (RAD) and gradient-based loss balancing.

RAD (Wu et al., CMAME 2023): draw a pool of ``pool_factor * n`` candidate interior points,
evaluate the PDE residual there, and keep ``n`` of them drawn without replacement with
probability

    p(x) ~ e(x)^k / mean(e^k) + c,        e(x) = sqrt(sum_equations r_e(x)^2),

so that points gather where the residual is large while ``c`` keeps a uniform share.

Loss balancing by learning-rate annealing (Wang, Teng & Perdikaris, SISC 2021): for each
condition term t, with L_pde the sum of the equation terms,

    lambda_t_hat = max_theta |grad L_pde| / mean_theta |grad L_t|,
    lambda_t    <- (1 - alpha) lambda_t + alpha lambda_t_hat,

clipped to [1e-3, 1e4]; the equations keep weight 1. The weights multiply each term's mean
square residual in the loss (and its rows in the Levenberg-Marquardt residual vector).
"""

from __future__ import annotations

import numpy as np
import torch

from pinnkan.evaluation.residuals import TermPoints, mean_square, residual
from pinnkan.training.distributed import all_reduce_sum, sharded_map

def residual_magnitude(compiled, model, engine, points: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """e(x) = sqrt(sum_e r_e(x)^2) over the equations at ``points`` (N, d), shape (N,)."""
    out = []
    for i in range(0, points.shape[0], chunk):
        p = points[i:i + chunk]
        total = torch.zeros(p.shape[0], dtype=p.dtype, device=p.device)
        for term in compiled.equations:
            r = residual(compiled, model, engine, TermPoints(term, p), create_graph=False).detach()
            total = total + r * r
        out.append(total.sqrt())
    return torch.cat(out)


def rad_select(magnitude: np.ndarray, n: int, rng: np.random.Generator, k: float = 1.0, c: float = 1.0) -> np.ndarray:
    """Indices of ``n`` distinct pool points drawn with p ~ e^k / mean(e^k) + c (see module doc)."""
    e = np.nan_to_num(np.asarray(magnitude, dtype=np.float64), nan=0.0, posinf=0.0) ** k
    mean = e.mean()
    p = (e / mean if mean > 0 else np.zeros_like(e)) + c
    p /= p.sum()
    return np.sort(rng.choice(len(p), size=n, replace=False, p=p))


def rad_interior(compiled, model, engine, sampler, n: int, dtype, device, pool_factor: int = 8) -> np.ndarray:
    """(n, d) interior points drawn by RAD from a pool of ``pool_factor * n`` candidates.
    Data-parallel: every rank draws the same pool, rates its block of it, and the ratings are
    put together (:func:`~pinnkan.training.distributed.sharded_map`), so every rank selects the
    same points."""
    pool = sampler.interior(pool_factor * n)
    rate = lambda p: residual_magnitude(compiled, model, engine, p)
    e = sharded_map(rate, torch.as_tensor(pool, dtype=dtype, device=device))
    return pool[rad_select(e.cpu().numpy(), n, sampler.rng)]


def balance_weights(compiled, model, engine, data: list[TermPoints], previous: dict, alpha: float = 0.5) -> dict:
    """Learning-rate-annealing weights {condition label: lambda} (see module doc)."""
    params = [p for p in model.parameters() if p.requires_grad]

    def grads(tps) -> torch.Tensor:  # data-parallel: the gradient of the whole sets' loss, summed over shares
        loss = sum(mean_square(tp, residual(compiled, model, engine, tp) ** 2) for tp in tps)
        g = torch.autograd.grad(loss, params, allow_unused=True)
        flat = torch.cat([(torch.zeros_like(p) if gi is None else gi).reshape(-1) for p, gi in zip(params, g)])
        return all_reduce_sum(flat).abs()

    pde = [tp for tp in data if tp.term.is_equation]
    g_pde = float(grads(pde).max())
    out = dict(previous)
    for tp in data:
        if tp.term.is_equation:
            continue
        mean = float(grads([tp]).mean())
        hat = g_pde / mean if mean > 0 else 1.0
        old = previous.get(tp.term.label, tp.term.weight)
        out[tp.term.label] = float(np.clip((1 - alpha) * old + alpha * hat, 1e-3, 1e4))
    return out
