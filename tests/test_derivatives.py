"""AutogradEngine: derivatives against finite differences and closed forms; call counts."""

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from pinnkan.derivatives.engines import AutogradEngine, get_engine
from pinnkan.errors import OptionError
from pinnkan.networks import KAN, MLP

torch.set_num_threads(1)  # the CI machine is shared: oversubscribed threads are ~30x slower


def _nets(d, n_out=1, degree=3):
    torch.manual_seed(0)
    bounds = (np.full(d, -1.0), np.full(d, 1.0))
    return {
        "kan": KAN([d, 5, n_out], grid=4, degree=degree, bounds=bounds, dtype=torch.float64),
        "mlp": MLP([d, 12, 12, n_out], activation="tanh", bounds=bounds, dtype=torch.float64),
    }


def _points(n, d, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).uniform(-0.8, 0.8, (n, d)))


def _fd_once(model, x, alpha, h):
    """Central finite difference (tensor product of 1D central stencils) of every output column."""
    stencils = {0: [(0, 1.0)], 1: [(-1, -0.5), (1, 0.5)], 2: [(-1, 1.0), (0, -2.0), (1, 1.0)],
                3: [(-2, -0.5), (-1, 1.0), (1, -1.0), (2, 0.5)]}
    out = 0.0
    with torch.no_grad():
        for combo in itertools.product(*(stencils[a] for a in alpha)):
            shift = torch.tensor([s for s, _ in combo], dtype=x.dtype) * h
            weight = float(np.prod([w for _, w in combo]))
            out = out + weight * model(x + shift)
    return out / h ** sum(alpha)


def _fd(model, x, alpha, h):
    """Richardson-extrapolated central difference: error O(h^4) for smooth functions."""
    return (4 * _fd_once(model, x, alpha, h / 2) - _fd_once(model, x, alpha, h)) / 3


KEYS_2D = [(0, (1, 0)), (0, (0, 1)), (0, (2, 0)), (0, (1, 1)), (0, (0, 2))]


@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_first_second_and_mixed_derivatives_match_finite_differences_2d(kind):
    net = _nets(2, n_out=2, degree=5)[kind]  # degree 5 splines: smooth enough for the stencils
    x = _points(40, 2)
    keys = [(f, a) for f in (0, 1) for _, a in KEYS_2D] + [(0, (0, 0)), (1, (0, 0))]
    got = AutogradEngine()(net, x, keys)
    assert set(got) == set(keys)
    with torch.no_grad():
        torch.testing.assert_close(got[(0, (0, 0))], net(x)[:, 0], rtol=0, atol=0)
    for (f, alpha) in keys:
        ref = _fd(net, x, alpha, 2e-3)[:, f]
        assert got[(f, alpha)].shape == (40,)
        scale = float(ref.abs().max()) + 1.0
        err = float((got[(f, alpha)].detach() - ref).abs().max())
        assert err < 1e-8 * scale, (kind, f, alpha, err)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.func internals
@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_second_derivatives_match_torch_func_hessian_exactly(kind):
    # an independent exact reference: forward-over-reverse Hessian per point (degree-3 KAN)
    from torch.func import hessian, jacrev

    net = _nets(2, n_out=2)[kind]
    x = _points(12, 2, seed=3)
    got = AutogradEngine()(net, x, [(f, a) for f in (0, 1) for _, a in KEYS_2D])
    for f in (0, 1):
        g = lambda p, f=f: net(p[None])[0, f]
        H = torch.stack([hessian(g)(p) for p in x])
        J = torch.stack([jacrev(g)(p) for p in x])
        for key, ref in [((f, (1, 0)), J[:, 0]), ((f, (0, 1)), J[:, 1]), ((f, (2, 0)), H[:, 0, 0]),
                         ((f, (1, 1)), H[:, 0, 1]), ((f, (0, 2)), H[:, 1, 1])]:
            torch.testing.assert_close(got[key].detach(), ref.detach(), rtol=1e-12, atol=1e-12, msg=str(key))


@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_third_order_in_1d_matches_finite_differences(kind):
    net = _nets(1, degree=5)[kind]  # degree 5 splines: the third derivative is smooth
    x = _points(30, 1, seed=1)
    keys = [(0, (1,)), (0, (2,)), (0, (3,))]
    got = AutogradEngine()(net, x, keys)
    for key, h, tol in [((0, (1,)), 1e-3, 1e-9), ((0, (2,)), 4e-3, 1e-8), ((0, (3,)), 1e-2, 1e-5)]:
        ref = _fd(net, x, key[1], h)[:, 0]
        scale = float(ref.abs().max()) + 1.0
        err = float((got[key].detach() - ref).abs().max())
        assert err < tol * scale, (key, err)


class SinY2(nn.Module):
    """out[:, 0] = sin(x) y^2, out[:, 1] = exp(x) y + x^3."""

    def forward(self, p):
        X, Y = p[:, 0], p[:, 1]
        return torch.stack([torch.sin(X) * Y**2, torch.exp(X) * Y + X**3], dim=1)


def test_closed_forms_of_a_hand_made_module():
    x = _points(25, 2, seed=2)
    X, Y = x[:, 0], x[:, 1]
    s, c, e = torch.sin(X), torch.cos(X), torch.exp(X)
    zero = torch.zeros_like(X)
    expected = {
        (0, (0, 0)): s * Y**2, (0, (1, 0)): c * Y**2, (0, (0, 1)): 2 * s * Y,
        (0, (2, 0)): -s * Y**2, (0, (1, 1)): 2 * c * Y, (0, (0, 2)): 2 * s,
        (0, (2, 1)): -2 * s * Y, (0, (1, 2)): 2 * c, (0, (0, 3)): zero, (0, (3, 0)): -c * Y**2,
        (0, (2, 2)): -2 * s, (0, (0, 4)): zero,
        (1, (0, 0)): e * Y + X**3, (1, (1, 0)): e * Y + 3 * X**2, (1, (0, 1)): e,
        (1, (2, 0)): e * Y + 6 * X, (1, (1, 1)): e, (1, (0, 2)): zero, (1, (3, 0)): e * Y + 6,
        (1, (0, 3)): zero,
    }
    for create_graph in (True, False):
        got = AutogradEngine()(SinY2(), x, expected.keys(), create_graph=create_graph)
        assert set(got) == set(expected)
        for key, ref in expected.items():
            torch.testing.assert_close(got[key], ref, rtol=1e-13, atol=1e-13, msg=str(key))


def _count_grad_calls(monkeypatch):
    calls = []
    real = torch.autograd.grad

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    return calls


@pytest.mark.parametrize("keys, expected_calls", [
    ({(0, (2, 0)), (0, (0, 2))}, 3),                                   # grad u, grad u_x, grad u_y
    (set(KEYS_2D) | {(0, (0, 0))}, 3),                                  # everything up to order 2
    ({(0, (1, 0)), (0, (0, 1))}, 1),                                   # one gradient
    ({(0, (0, 0))}, 0),
    ({(f, a) for f in (0, 1) for a in [(2, 0), (0, 2)]}, 6),           # two Laplacians
    ({(0, (4, 0)), (0, (2, 2)), (0, (0, 4))}, 8),                       # biharmonic terms
])
def test_each_distinct_derivative_is_computed_once(monkeypatch, keys, expected_calls):
    net = _nets(2, n_out=2)["mlp"]
    x = _points(16, 2)
    reference = AutogradEngine()(net, x, keys)
    calls = _count_grad_calls(monkeypatch)
    got = AutogradEngine()(net, x, keys)
    assert len(calls) == expected_calls
    for k in keys:
        torch.testing.assert_close(got[k], reference[k], rtol=0, atol=0)


def test_laplacian_3d_uses_four_grad_calls(monkeypatch):
    torch.manual_seed(0)
    net = MLP([3, 8, 1], dtype=torch.float64)
    x = _points(8, 3)
    calls = _count_grad_calls(monkeypatch)
    AutogradEngine()(net, x, {(0, (2, 0, 0)), (0, (0, 2, 0)), (0, (0, 0, 2))})
    assert len(calls) == 4


@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_create_graph_false_gives_the_same_values(kind):
    net = _nets(2, n_out=2)[kind]
    x = _points(20, 2, seed=4)
    keys = [(f, a) for f in (0, 1) for _, a in KEYS_2D] + [(0, (0, 0)), (1, (2, 1)), (0, (0, 3))]
    a = AutogradEngine()(net, x, keys, create_graph=True)
    b = AutogradEngine()(net, x, keys, create_graph=False)
    for k in keys:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    # with create_graph=True the highest derivatives can be back-propagated to the parameters
    assert a[(0, (2, 0))].requires_grad and a[(1, (2, 1))].requires_grad
    assert not b[(1, (2, 1))].requires_grad and not b[(0, (0, 3))].requires_grad


def test_create_graph_true_allows_training_on_derivatives():
    net = _nets(2)["mlp"]
    x = _points(16, 2)
    got = AutogradEngine()(net, x, {(0, (2, 0)), (0, (0, 2))})
    loss = (got[(0, (2, 0))] + got[(0, (0, 2))]).pow(2).mean()
    grads = [g for g in torch.autograd.grad(loss, list(net.parameters()), allow_unused=True) if g is not None]
    assert len(grads) >= 2 and all(torch.isfinite(g).all() for g in grads)
    assert all(float(g.abs().max()) > 0 for g in grads)


def test_input_tensor_is_not_modified_and_may_already_require_grad():
    net = _nets(2)["mlp"]
    x = _points(10, 2)
    a = AutogradEngine()(net, x, {(0, (1, 0))})
    assert not x.requires_grad
    xr = x.clone().requires_grad_(True)
    b = AutogradEngine()(net, xr, {(0, (1, 0))})
    torch.testing.assert_close(a[(0, (1, 0))], b[(0, (1, 0))], rtol=0, atol=0)


def test_get_engine():
    assert isinstance(get_engine("autograd"), AutogradEngine)
    with pytest.raises(OptionError, match="Unknown derivative engine 'fd'"):
        get_engine("fd")
