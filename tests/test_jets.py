"""The forward-mode jet engine against the nested-autograd reference (1e-10 in float64)."""

import pytest
import torch

import pinnkan as pk
from pinnkan.derivatives.engines import AutogradEngine, JetEngine, get_engine

KEYS_2D = {(0, (0, 0)), (0, (1, 0)), (0, (0, 1)), (0, (2, 0)), (0, (0, 2)), (0, (1, 1)),
           (1, (2, 0)), (1, (0, 1))}


def _models():
    torch.manual_seed(3)
    box = ([-1.0, 0.0], [2.0, 1.0])
    return [
        pk.KAN([2, 5, 2], grid=7, bounds=box),
        pk.KAN([2, 4, 3, 2], grid=5, degree=2, bounds=box),
        pk.KAN([2, 4, 2], grid=6, base="silu", bounds=box),
        pk.KAN([2, 4, 2], grid=6, spline_basis="relu", bounds=box),
        pk.MLP([2, 16, 16, 2], bounds=box),
        pk.MLP([2, 16, 2], activation="sin"),
        pk.MLP([2, 16, 2], activation="silu"),
    ]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.describe())
def test_jet_equals_autograd(model):
    x = torch.rand(200, 2, dtype=torch.float64) * torch.tensor([3.0, 1.0], dtype=torch.float64) \
        + torch.tensor([-1.0, 0.0], dtype=torch.float64)
    ref = AutogradEngine()(model, x, KEYS_2D)
    jet = JetEngine()(model, x, KEYS_2D)
    for key in KEYS_2D:
        scale = max(1.0, float(ref[key].detach().abs().max()))
        assert torch.allclose(jet[key], ref[key], rtol=0, atol=1e-10 * scale), key


def test_jet_parameter_gradients_match_autograd():
    torch.manual_seed(0)
    model = pk.KAN([3, 4, 1], grid=5)
    x = torch.rand(64, 3, dtype=torch.float64) * 2 - 1
    keys = {(0, (2, 0, 0)), (0, (0, 2, 0)), (0, (0, 0, 2)), (0, (0, 0, 0))}
    grads = []
    for engine in (AutogradEngine(), JetEngine()):
        model.zero_grad()
        d = engine(model, x, keys)
        loss = ((d[(0, (2, 0, 0))] + d[(0, (0, 2, 0))] + d[(0, (0, 0, 2))] - d[(0, (0, 0, 0))]) ** 2).mean()
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert torch.allclose(grads[0], grads[1], rtol=0, atol=1e-10 * float(grads[0].abs().max()))


def test_third_order_falls_back_to_autograd():
    torch.manual_seed(1)
    model = pk.KAN([1, 4, 1], grid=6)
    x = torch.linspace(-0.9, 0.9, 50, dtype=torch.float64)[:, None]
    key = (0, (3,))
    ref = AutogradEngine()(model, x, {key})[key]
    assert torch.allclose(JetEngine()(model, x, {key})[key], ref, atol=1e-12)


def test_jet_without_graph_builds_no_graph():
    model = pk.KAN([2, 3, 1], grid=4)
    x = torch.rand(10, 2, dtype=torch.float64)
    out = JetEngine()(model, x, {(0, (2, 0))}, create_graph=False)
    assert not out[(0, (2, 0))].requires_grad


def test_unknown_engine_is_an_option_error():
    with pytest.raises(pk.OptionError, match="jet"):
        get_engine("nonsense")


def test_auto_engine_rule_follows_the_measured_crossover():
    from pinnkan.derivatives.engines import JET_MIN_GRID, prefers_jets

    assert not prefers_jets(pk.KAN([2, 4, 1], grid=JET_MIN_GRID - 1))
    assert prefers_jets(pk.KAN([2, 4, 1], grid=JET_MIN_GRID))
    assert not prefers_jets(pk.KAN([2, 4, 1], grid=40, spline_basis="relu"))   # dense basis in the jets too
    assert not prefers_jets(pk.MLP([2, 16, 1]))


@pytest.mark.parametrize("grid, reference", [(5, AutogradEngine), (40, JetEngine)])
def test_auto_engine_returns_exactly_what_the_chosen_engine_returns(grid, reference):
    torch.manual_seed(0)
    model = pk.KAN([2, 4, 1], grid=grid)
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    keys = {(0, (0, 0)), (0, (2, 0)), (0, (0, 2))}
    auto = get_engine()(model, x, keys)
    ref = reference()(model, x, keys)
    assert get_engine().name == "auto"
    assert all(torch.equal(auto[k], ref[k]) for k in keys)
