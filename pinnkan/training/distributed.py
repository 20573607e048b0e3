"""Data-parallel training over processes with torch.distributed: the process group, the shares
of the collocation points, and the sums over ranks.

With W processes (ranks r = 0 .. W-1, started by ``torchrun`` or ``pinnkan solve --nproc``) every
rank draws the whole point set of each term from the same seed and keeps its block of rows

    share_r = rows [floor(n r / W), floor(n (r + 1) / W))    of the n residuals of the term

(a periodic term's pairs are kept together), so the union of the shares is the one-process set.
A share's mean square divides by the whole set's n (``TermPoints.n_whole``), hence

    L = sum_r L_r,    grad L = sum_r grad L_r,    J^T J = sum_r J_r^T J_r,    J^T R = sum_r J_r^T R_r,

and one all-reduce (sum) of these makes every rank hold the one-process loss, gradient or
Gauss-Newton system; the identical step is then taken on every rank, so the parameters stay
identical without being sent again. In one process (no process group, or a world of one) every
function here is the identity or a no-op.

Backends: NCCL for CUDA tensors (one GPU per rank, ``cuda:LOCAL_RANK``), gloo on the CPU. The
group is set up from torchrun's environment variables (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT).
"""

from __future__ import annotations

import atexit
import os
from dataclasses import replace

import torch
import torch.distributed as dist

from pinnkan.evaluation.residuals import TermPoints

__all__ = ["active", "all_reduce_gauss_newton", "all_reduce_gradients", "all_reduce_sum", "all_reduce_sums",
           "any_rank", "backend_for", "barrier", "block", "broadcast_parameters", "env_rank",
           "env_world_size", "global_values", "is_main", "rank", "rank_device", "ranks_sharing", "setup",
           "shard", "shard_points", "sharded_map", "teardown", "unshard_points", "world_size"]

_CREATED = False  # whether setup() made the process group (and teardown() may end it)


# ------------------------------------------------------------------ the process group

def env_world_size() -> int:
    """WORLD_SIZE of the launcher's environment (1 when not launched by torchrun)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def env_rank() -> int:
    """RANK of the launcher's environment (0 when not launched by torchrun)."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def active() -> bool:
    """A process group of more than one rank is set up."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """W, the number of ranks training together (1 without a process group)."""
    return dist.get_world_size() if active() else 1


def rank() -> int:
    """This process's rank r in 0 .. W-1 (0 without a process group)."""
    return dist.get_rank() if active() else 0


def is_main() -> bool:
    """Rank 0: the one process that prints and writes outputs."""
    return rank() == 0


def ranks_sharing(device: torch.device) -> int:
    """How many ranks of this machine share ``device``'s memory: LOCAL_WORLD_SIZE for the CPU
    under a launcher (all local ranks use the machine's memory), 1 for a GPU (one per rank)."""
    if torch.device(device).type != "cpu" or not active():
        return 1
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def backend_for(device: torch.device) -> str:
    """``nccl`` for a CUDA device, ``gloo`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def rank_device(device: torch.device) -> torch.device:
    """The device of this rank: ``cuda`` without an index becomes ``cuda:LOCAL_RANK`` under a
    launcher (one GPU per rank); any other device is kept."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and env_world_size() > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def setup(device: torch.device) -> bool:
    """Join the process group the launcher's environment describes (WORLD_SIZE > 1), with the
    backend of ``device``; nothing when a group exists already or there is one process.
    Returns whether training is distributed. The group is ended at exit (or by :func:`teardown`)."""
    global _CREATED
    if active():
        return True
    if env_world_size() <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group(backend_for(device), device_id=device)
    else:
        dist.init_process_group(backend_for(device))
    _CREATED = True
    atexit.register(teardown)
    return True


def teardown() -> None:
    """End the process group made by :func:`setup` (a group made elsewhere is left alone)."""
    global _CREATED
    if _CREATED and dist.is_initialized():
        dist.destroy_process_group()
    _CREATED = False


def barrier() -> None:
    """Wait until every rank gets here (nothing in one process)."""
    if active():
        dist.barrier()


# ------------------------------------------------------------------ sums over ranks

def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """sum_r t_r over the ranks, returned as a new tensor of t's shape, dtype and device (every
    rank gets the same values); ``t`` itself in one process."""
    if not active():
        return t
    out = t.detach().clone(memory_format=torch.contiguous_format)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def all_reduce_sums(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """:func:`all_reduce_sum` of several tensors (same dtype and device) in one all-reduce."""
    if not active():
        return list(tensors)
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    out, i = [], 0
    for t in tensors:
        out.append(flat[i:i + t.numel()].view(t.shape))
        i += t.numel()
    return out


def all_reduce_gauss_newton(loss: torch.Tensor, g: torch.Tensor, H: torch.Tensor):
    """(sum_r R_r^T R_r, sum_r J_r^T R_r (P,), sum_r J_r^T J_r (P, P)) from each rank's
    (R_r^T R_r, J_r^T R_r, J_r^T J_r), in one all-reduce of 1 + P + P^2 numbers; H keeps its
    memory layout (the column-major lower triangle of :func:`~pinnkan.training.levenberg.gram`
    stays column-major for LAPACK). The arguments themselves in one process."""
    if not active():
        return loss, g, H
    P = g.shape[0]
    flat = torch.cat([loss.detach().reshape(1), g.detach().reshape(-1), H.detach().mT.reshape(-1)])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    return flat[0], flat[1:1 + P], flat[1 + P:].view(P, P).mT


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` holds on some rank (one all-reduce of one number); ``flag`` in one process.
    Decisions that end a loop (time budget, interrupt) go through this, so all ranks agree."""
    if not active():
        return bool(flag)
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def global_values(loss: torch.Tensor, parts: dict) -> tuple[float, dict]:
    """(sum_r loss_r, {label: sum_r part_r}) as floats, one all-reduce: the one-process loss and
    mean squares from the shares' (the parts of a share divide by the whole set's count)."""
    labels = list(parts)
    values = [loss.detach().reshape(())] + [torch.as_tensor(parts[k]).detach().reshape(()).to(loss) for k in labels]
    if active():
        values = all_reduce_sums(values)
    return float(values[0]), {k: float(v) for k, v in zip(labels, values[1:])}


def all_reduce_gradients(params) -> None:
    """Replace each parameter's ``.grad`` by the sum over ranks (one all-reduce of all of them);
    a parameter without a gradient on every rank keeps ``grad = None``, as in one process."""
    if not active():
        return
    params = [p for p in params if p.requires_grad]
    if not params:
        return
    ref = params[0]
    pieces = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
    has = torch.tensor([0.0 if p.grad is None else 1.0 for p in params], dtype=ref.dtype, device=ref.device)
    flat = torch.cat(pieces + [has])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    i = 0
    for p in params:
        n = p.numel()
        p.grad = flat[i:i + n].view_as(p).clone()
        i += n
    for p, seen in zip(params, flat[i:].tolist()):
        if seen == 0:
            p.grad = None


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (the ranks start from one model)."""
    if not active():
        return
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point() or t.dtype in (torch.int64, torch.int32):
                buf = t.detach().clone(memory_format=torch.contiguous_format)
                dist.broadcast(buf, src=0)
                t.copy_(buf)


# ------------------------------------------------------------------ shares of the points

def block(n: int, r: int, w: int) -> tuple[int, int]:
    """Rows [floor(n r / w), floor(n (r + 1) / w)) of n: rank r's block of w near-equal blocks
    (sizes differ by at most one; the blocks of r = 0 .. w-1 tile 0 .. n in order)."""
    return n * r // w, n * (r + 1) // w


def _rows_of(a: torch.Tensor | None, lo: int, hi: int, pairs: int | None) -> torch.Tensor | None:
    """Rows lo:hi of ``a``; for ``pairs`` = m (a periodic term's 2m rows, lo points then their
    partners) pairs lo:hi, both halves."""
    if a is None:
        return None
    if pairs is None:
        return a[lo:hi]
    return torch.cat([a[lo:hi], a[pairs + lo:pairs + hi]])


def shard(tp: TermPoints, r: int, w: int) -> TermPoints:
    """Rank r's share (of w) of the term points ``tp``: its block of residuals (points, normals,
    observations (n,) and point weights (n,)), with ``n_whole`` the whole set's count. A share of a share
    is refused: ``tp`` must be the whole set."""
    if tp.n_whole is not None:
        raise ValueError("shard() takes a whole point set, not a share")
    n = tp.n_residuals
    lo, hi = block(n, r, w)
    pairs = n if tp.term.paired else None
    return replace(tp, points=_rows_of(tp.points, lo, hi, pairs), normals=_rows_of(tp.normals, lo, hi, pairs),
                   observed=_rows_of(tp.observed, lo, hi, None),
                   point_weights=_rows_of(tp.point_weights, lo, hi, None), n_whole=n)


def shard_points(data: list[TermPoints], r: int | None = None, w: int | None = None) -> list[TermPoints]:
    """Every term's share for rank ``r`` of ``w`` (default: this process's); ``data`` itself in
    one process."""
    r = rank() if r is None else r
    w = world_size() if w is None else w
    if w <= 1:
        return data
    return [shard(tp, r, w) for tp in data]


def _whole(a: torch.Tensor | None, n: int, pairs: bool) -> torch.Tensor | None:
    """The whole (n or 2n rows) tensor of which ``a`` is this rank's block: every rank writes its
    block into zeros, and one all-reduce (sum) adds the blocks (exact: each entry is one block's
    value plus zeros)."""
    if a is None:
        return None
    lo, hi = block(n, rank(), world_size())
    out = a.new_zeros((2 * n if pairs else n,) + tuple(a.shape[1:]))
    if pairs:
        k = hi - lo
        out[lo:hi], out[n + lo:n + hi] = a[:k], a[k:]
    else:
        out[lo:hi] = a
    return all_reduce_sum(out)


def unshard_points(data: list[TermPoints]) -> list[TermPoints]:
    """The whole point sets of the shares ``data`` (collective: every rank must call it); the
    data as it is for whole sets and in one process."""
    if not active() or all(tp.n_whole is None for tp in data):
        return data
    out = []
    for tp in data:
        n, paired = tp.n_whole, tp.term.paired
        out.append(replace(tp, points=_whole(tp.points, n, paired), normals=_whole(tp.normals, n, paired),
                           observed=_whole(tp.observed, n, False),
                           point_weights=_whole(tp.point_weights, n, False), n_whole=None))
    return out


def sharded_map(fn, x: torch.Tensor) -> torch.Tensor:
    """fn(x) for a row-wise ``fn`` (row i of the result depends on row i of x alone), each rank
    computing its block of rows and one all-reduce putting the blocks together; fn(x) in one
    process. x (N, ...) -> (N, ...)."""
    if not active():
        return fn(x)
    lo, hi = block(x.shape[0], rank(), world_size())
    part = fn(x[lo:hi])
    out = part.new_zeros((x.shape[0],) + tuple(part.shape[1:]))
    out[lo:hi] = part
    return all_reduce_sum(out)
