"""Forward-mode second-order jets through KANs and MLPs.

A jet of a layer's activations z (N points, n channels) with respect to the d input
coordinates X is stacked in one tensor J of shape (N, S, n), S = 1 + d + P:

    J[:, 0]       = z                      value
    J[:, 1 + a]   = dz/dX_a                a = 0..d-1
    J[:, 1 + d + p] = d2z/dX_a dX_b        for the P requested pairs p = (a, b), a <= b

Propagation rules (closed form, no nested autograd):

- affine z' = z W^T + b:        every slot is multiplied by W^T; b is added to the value only.
- elementwise z' = f(z):        g' = f'(z) g_a,   h'_ab = f''(z) g_a g_b + f'(z) h_ab.
- KAN layer z'_j = sum_i phi_ji(z_i), phi_ji = sum_m c_jim B_m: the same rule per edge with
  phi' and phi'' from the closed-form B-spline derivatives, contracted with the coefficients:
  [B_m(z_i), B'_m(z_i) g_ia, B''_m(z_i) g_ia g_ib + B'_m(z_i) h_iab] @ C. On a uniform grid
  only the k+1 basis functions B_{cell+r} are nonzero at z_i, so the jets are kept in that
  local form (N, S, in, k+1) and contracted with the gathered coefficients c_{j,i,cell+r}.

The parameters enter only through ordinary tensor operations, so one reverse pass gives the
gradient of a loss built from any slot.

A :class:`~pinnkan.networks.constraints.ConstrainedNetwork` u = G + Phi N(E(x)): the input jet
is the jet of the periodic embedding (cos theta, sin theta with theta = w (x_j - a): first
derivatives -w sin, w cos, second -w^2 cos, -w^2 sin, along x_j only), the inner network's jet
follows, and the output is the Leibniz product (value G + Phi N, gradient
G_a + Phi_a N + Phi N_a, second derivatives G_ab + Phi_ab N + Phi_a N_b + Phi_b N_a + Phi N_ab)
with the jets of the parameter-free G and Phi from ``torch.func`` (exact, and usable inside
the vmap of the Levenberg-Marquardt Jacobian).
"""

from __future__ import annotations

import math

import torch
from torch.func import jacfwd, jacrev, vmap

from pinnkan.networks.bspline import uniform_local_bases
from pinnkan.networks.constraints import ConstrainedNetwork
from pinnkan.networks.kan import KAN, KANLayer
from pinnkan.networks.mlp import MLP, BoxNormalization

Pair = tuple[int, int]


def tanh_jet(v):
    """(tanh v, tanh' v, tanh'' v) elementwise: tanh' = 1 - tanh^2, tanh'' = -2 tanh tanh'."""
    t = torch.tanh(v)
    d1 = 1 - t * t
    return t, d1, -2 * t * d1


def sin_jet(v):
    """(sin v, cos v, -sin v) elementwise."""
    s = torch.sin(v)
    return s, torch.cos(v), -s


def silu_jet(v):
    """(silu v, silu' v, silu'' v) elementwise, silu v = v sigmoid(v), s = sigmoid(v):
    silu' = s (1 + v (1 - s)), silu'' = s (1 - s) (2 + v (1 - 2 s))."""
    s = torch.sigmoid(v)
    return v * s, s * (1 + v * (1 - s)), s * (1 - s) * (2 + v * (1 - 2 * s))


ACTIVATION_JETS = {"tanh": tanh_jet, "sin": sin_jet, "silu": silu_jet}
KAN_ACTIVATION_JET = tanh_jet  # between the layers of a KAN (see :class:`pinnkan.networks.kan.KAN`)


def core_network(model):
    """The KAN or MLP inside ``model``: the inner network of a constrained one, else ``model``."""
    return model.inner if isinstance(model, ConstrainedNetwork) else model


def supports(model) -> bool:
    """True when :func:`jet_forward` can propagate jets through ``model``."""
    model = core_network(model)
    if isinstance(model, KAN):
        return True
    return isinstance(model, MLP) and model.activation in ACTIVATION_JETS


def second_order_pairs(keys) -> list[Pair]:
    """The sorted pairs (a, b), a <= b, of the second-order derivative keys (field, alpha)."""
    out = set()
    for _, alpha in keys:
        if sum(alpha) == 2:
            idx = [i for i, a in enumerate(alpha) for _ in range(a)]
            out.add((idx[0], idx[1]))
    return sorted(out)


def read_jet(J: torch.Tensor, keys, pairs: list[Pair]) -> dict:
    """{(field, alpha): (N,)} read off an output jet J (N, S, F) built for ``pairs``."""
    d = J.shape[1] - 1 - len(pairs)
    slot = {p: 1 + d + i for i, p in enumerate(pairs)}
    out = {}
    for key in keys:
        f, alpha = key
        m = sum(alpha)
        if m == 0:
            out[key] = J[:, 0, f]
        elif m == 1:
            out[key] = J[:, 1 + alpha.index(1), f]
        else:
            out[key] = J[:, slot[second_order_pairs([key])[0]], f]
    return out


def seed_jet(x: torch.Tensor, pairs: list[Pair]) -> torch.Tensor:
    """Jet of the inputs themselves: value x, gradient e_a, zero second derivatives. (N, S, d)."""
    n, d = x.shape
    eye = torch.eye(d, dtype=x.dtype, device=x.device).expand(n, d, d)
    zeros = x.new_zeros(n, len(pairs), d)
    return torch.cat([x[:, None, :], eye, zeros], dim=1)


def normalize(J: torch.Tensor, norm: BoxNormalization) -> torch.Tensor:
    if not norm.active:
        return J
    J = J * norm.scale
    return torch.cat([J[:, :1] + norm.shift, J[:, 1:]], dim=1)


def affine(J: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """z' = z W^T + b on every slot (b on the value only). weight: (out, in)."""
    out = J @ weight.T
    if bias is None:
        return out
    return torch.cat([out[:, :1] + bias, out[:, 1:]], dim=1)


def elementwise(J: torch.Tensor, f, d: int, pairs: list[Pair]) -> torch.Tensor:
    """z' = f(z) channel by channel; f(v) returns (f, f', f'')."""
    v, g, h = J[:, 0], J[:, 1:1 + d], J[:, 1 + d:]
    f0, f1, f2 = f(v)
    parts = [f0[:, None], f1[:, None] * g]
    if pairs:
        a = [p[0] for p in pairs]
        b = [p[1] for p in pairs]
        parts.append(f2[:, None] * g[:, a] * g[:, b] + f1[:, None] * h)
    return torch.cat(parts, dim=1)


def is_local(layer: KANLayer) -> bool:
    """Uniform B-spline layers take the local path: only the k+1 nonzero basis functions."""
    return layer.spline_basis == "bspline" and not layer.free_knots


def kan_local_basis_jet(J: torch.Tensor, layer: KANLayer, d: int, pairs: list[Pair]):
    """Local form of :func:`kan_basis_jet` for a uniform B-spline layer: (cell (N, in),
    Z (N, S, in, k+1)) with Z[..., i, r] the jet of B_{cell_i + r}(z_i); the other G-1 basis
    functions of each edge vanish at z_i. Same values as the dense form, (G+k)/(k+1) less work."""
    orders = (0, 1, 2) if pairs else (0, 1)
    cell, B = uniform_local_bases(J[:, 0], layer.lo, layer.hi, layer.grid, layer.degree, orders)
    return cell, _basis_jet(J, B, d, pairs)                 # (N, in), (N, S, in, k+1)


def _basis_jet(J: torch.Tensor, B: list, d: int, pairs: list[Pair]) -> torch.Tensor:
    """Jets of basis functions b_m(z_i) from their values and derivatives B = [b, b', (b'')] at
    the layer inputs z (each (N, in, m)): rows b, b' g_a, b'' g_a g_b + b' h_ab -> (N, S, in, m)."""
    g, h = J[:, 1:1 + d], J[:, 1 + d:]
    rows = [B[0][:, None], B[1][:, None] * g[..., None]]
    if pairs:
        a = [p[0] for p in pairs]
        b = [p[1] for p in pairs]
        rows.append(B[2][:, None] * (g[:, a] * g[:, b])[..., None] + B[1][:, None] * h[..., None])
    return torch.cat(rows, dim=1)


def local_index(cell: torch.Tensor, degree: int) -> torch.Tensor:
    """Basis indices cell + r, r = 0..k, of the nonzero basis functions: (N, in, k+1)."""
    return cell[..., None] + torch.arange(degree + 1, device=cell.device)


def gather_coef(coef: torch.Tensor, cell: torch.Tensor, degree: int) -> torch.Tensor:
    """C[n, i, r, o] = coef[o, i, cell[n, i] + r]: the coefficients that act at each point,
    (N, in, k+1, out), from coef (out, in, G+k)."""
    channels = torch.arange(coef.shape[1], device=coef.device)[None, :, None]
    return coef.permute(1, 2, 0)[channels, local_index(cell, degree)]


def contract_local(Z: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """out[n, s, o] = sum_{i, r} Z[n, s, i, r] C[n, i, r, o]: (N, S, in, k+1) x (N, in, k+1, out)
    -> (N, S, out). One small matmul per point; for a single output a broadcast product and sum,
    which is faster there (one core, N = 2304, forward and backward: in=2, out=10 0.8 ms against
    3.4 ms broadcast; in=10, out=10 3.6 against 59 ms; in=10, out=1 0.6 against 1.6 ms matmul)."""
    n, s, i, k = Z.shape
    if C.shape[-1] == 1:
        return (Z * C[..., 0].unsqueeze(1)).sum((2, 3)).unsqueeze(-1)
    return Z.reshape(n, s, i * k) @ C.reshape(n, i * k, C.shape[-1])


def kan_layer(J: torch.Tensor, layer: KANLayer, d: int, pairs: list[Pair]) -> torch.Tensor:
    """Jet through one KAN layer. J: (N, S, in) -> (N, S, out)."""
    if is_local(layer):
        cell, Z = kan_local_basis_jet(J, layer, d, pairs)
        out = contract_local(Z, gather_coef(layer.coef, cell, layer.degree))
    else:
        out = kan_basis_jet(J, layer, d, pairs).flatten(2) @ layer.coef.flatten(1).T   # (N, S, out)
    if layer.base == "silu":
        out = out + elementwise(J, silu_jet, d, pairs) @ layer.w_base.T
    return out


def kan_basis_jet(J: torch.Tensor, layer: KANLayer, d: int, pairs: list[Pair]) -> torch.Tensor:
    """Jets of the layer's basis functions at its inputs: Z (N, S, in, G+k), so that the spline
    part of the layer's output jet is Z.flatten(2) @ coef.flatten(1).T (linear in coef)."""
    v = J[:, 0]
    B = [layer.basis(v, order) for order in ((0, 1, 2) if pairs else (0, 1))]   # each (N, in, G+k)
    return _basis_jet(J, B, d, pairs)                   # (N, S, in, G+k)


def embedding_jet(x: torch.Tensor, periodic, pairs: list[Pair]) -> torch.Tensor:
    """Jet of the periodic embedding E(x) (:func:`pinnkan.networks.constraints.periodic_embedding`)
    with respect to x (N, d): (N, S, d + n_periodic)."""
    by_axis = {int(j): (float(a), float(L)) for j, a, L in periodic}
    d = x.shape[1]
    zero = torch.zeros_like(x[:, 0])
    cols = []
    for j in range(d):
        if j in by_axis:
            a, L = by_axis[j]
            w = 2 * math.pi / L
            theta = w * (x[:, j] - a)
            c, s = torch.cos(theta), torch.sin(theta)
            channels = ((c, -w * s, -w * w * c), (s, w * c, -w * w * s))
        else:
            channels = ((x[:, j], torch.ones_like(zero), zero),)
        for v, dv, d2v in channels:
            slots = [v] + [dv if a == j else zero for a in range(d)]
            slots += [d2v if pair == (j, j) else zero for pair in pairs]
            cols.append(torch.stack(slots, dim=1))
    return torch.stack(cols, dim=2)


def fixed_jet(fn, x: torch.Tensor, pairs: list[Pair]) -> torch.Tensor:
    """Jet (N, S, F) of a parameter-free map ``fn``: (N, d) -> (N, F), acting point by point, by
    ``torch.func`` (one Jacobian, and one Hessian when ``pairs`` ask for second derivatives)."""
    one = lambda p: fn(p[None])[0]
    value = fn(x)                                               # (N, F)
    grad = vmap(jacrev(one))(x).transpose(1, 2)                 # (N, d, F)
    parts = [value[:, None], grad]
    if pairs:
        H = vmap(jacfwd(jacrev(one)))(x)                        # (N, F, d, d)
        parts.append(torch.stack([H[:, :, a, b] for a, b in pairs], dim=1))
    return torch.cat(parts, dim=1)


def fixed_jet_autograd(fn, x: torch.Tensor, pairs: list[Pair]) -> torch.Tensor:
    """:func:`fixed_jet` by nested reverse mode on plain tensors (outside ``torch.func``
    transforms): F (1 + d) backward passes, no graph kept. (N, S, F)."""
    d = x.shape[1]
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        value = fn(xg)
        cols = []
        for f in range(value.shape[1]):
            (g,) = torch.autograd.grad(value[:, f].sum(), xg, create_graph=bool(pairs), retain_graph=True,
                                       allow_unused=True)
            g = torch.zeros_like(xg) if g is None else g
            slots = [value[:, f].detach()] + [g[:, a].detach() for a in range(d)]
            if pairs:
                rows = {}
                for a in sorted({p[0] for p in pairs}):
                    h = torch.autograd.grad(g[:, a].sum(), xg, retain_graph=True, allow_unused=True)[0] \
                        if g.requires_grad else None
                    rows[a] = torch.zeros_like(xg) if h is None else h.detach()
                slots += [rows[a][:, b] for a, b in pairs]
            cols.append(torch.stack(slots, dim=1))
    return torch.stack(cols, dim=2)


def leibniz_product(G: torch.Tensor, P: torch.Tensor, N: torch.Tensor, d: int, pairs: list[Pair]) -> torch.Tensor:
    """Jet of G + P N from the jets G, P, N (each (N, S, F)) for the second-derivative ``pairs``."""
    val = G[:, :1] + P[:, :1] * N[:, :1]
    grad = G[:, 1:1 + d] + P[:, 1:1 + d] * N[:, :1] + P[:, :1] * N[:, 1:1 + d]
    parts = [val, grad]
    if pairs:
        a = [1 + p[0] for p in pairs]
        b = [1 + p[1] for p in pairs]
        parts.append(G[:, 1 + d:] + P[:, 1 + d:] * N[:, :1] + P[:, a] * N[:, b] + P[:, b] * N[:, a]
                     + P[:, :1] * N[:, 1 + d:])
    return torch.cat(parts, dim=1)


def input_jet(model, x: torch.Tensor, pairs: list[Pair]) -> torch.Tensor:
    """Jet of the first layer's inputs: the (embedded) points, normalised. (N, S, d_in)."""
    periodic = model.periodic if isinstance(model, ConstrainedNetwork) else None
    J = embedding_jet(x, periodic, pairs) if periodic else seed_jet(x, pairs)
    return normalize(J, core_network(model).normalize)


def output_jet(model, x: torch.Tensor, J: torch.Tensor, pairs: list[Pair]) -> torch.Tensor:
    """The model's output jet from its core network's output jet J (N, S, F): J itself, or for
    a constrained model with imposed values the Leibniz product G + Phi J."""
    if not isinstance(model, ConstrainedNetwork) or not model.constrains_output:
        return J
    F = J.shape[2]
    both = _cached_fixed_jet(model, x, pairs, F)
    return leibniz_product(both[..., :F], both[..., F:], J, x.shape[1], pairs)


def _cached_fixed_jet(model, x: torch.Tensor, pairs: list[Pair], F: int) -> torch.Tensor:
    """The jet of (G, Phi) at x, kept for the last points (the same tensor, unchanged) that the
    model saw: training evaluates the same collocation points again and again."""
    fn = lambda p: torch.cat(model.fixed(p, F), dim=1)
    if x.requires_grad or torch._C._functorch.is_functorch_wrapped_tensor(x):
        return fixed_jet(fn, x, pairs)
    key = (x._version, tuple(pairs), F)
    cached = model.__dict__.get("_fixed_jet_cache")
    if cached is not None and cached[0] is x and cached[1] == key:
        return cached[2]
    value = fixed_jet_autograd(fn, x, pairs)
    model.__dict__["_fixed_jet_cache"] = (x, key, value)
    return value


def jet_forward(model, x: torch.Tensor, pairs: list[Pair]) -> torch.Tensor:
    """Jet of the model's outputs at x (N, d) for the second-derivative ``pairs``: (N, S, F)."""
    d = x.shape[1]
    J = core_jet(core_network(model), input_jet(model, x, pairs), d, pairs)
    return output_jet(model, x, J, pairs)


def core_jet(model, J: torch.Tensor, d: int, pairs: list[Pair]) -> torch.Tensor:
    """Jet through the layers of a KAN or MLP from the jet J of its normalised inputs."""
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        if isinstance(model, KAN):
            J = kan_layer(J, layer, d, pairs)
            if i < last:
                J = elementwise(J, KAN_ACTIVATION_JET, d, pairs)
        else:
            J = affine(J, layer.weight, layer.bias)
            if i < last:
                J = elementwise(J, ACTIVATION_JETS[model.activation], d, pairs)
    return J
