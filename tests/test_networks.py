import pytest
import torch

from pinnkan.networks.bspline import cox_de_boor, extended_uniform_knots, uniform_basis
from pinnkan.errors import OptionError
from pinnkan.networks import KAN, MLP, KANLayer
from pinnkan.networks.kan import greville_abscissae

F64 = torch.float64


def inputs(n, d, lo=-1.0, hi=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(n, d, generator=gen, dtype=F64)


def grad_and_laplacian(model, x):
    x = x.clone().requires_grad_(True)
    y = model(x)[:, 0]
    g, = torch.autograd.grad(y.sum(), x, create_graph=True)
    lap = sum(torch.autograd.grad(g[:, d].sum(), x, retain_graph=True)[0][:, d]
              for d in range(x.shape[1]))
    return y.detach(), g.detach(), lap.detach()


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
def test_greville_reproduces_identity(degree):
    x = torch.linspace(-1.5, 1.5, 101, dtype=F64)
    xi = greville_abscissae(-1.0, 1.0, 6, degree)
    assert (uniform_basis(x, -1.0, 1.0, 6, degree) @ xi - x).abs().max() < 1e-14


@pytest.mark.parametrize("base", [None, "silu"])
def test_layer_matches_edge_sum_reference(base):
    torch.manual_seed(0)
    layer = KANLayer(3, 2, grid=6, degree=3, lo=-1.0, hi=2.0, base=base, init="random")
    x = inputs(50, 3, -1.0, 2.0)
    B = cox_de_boor(x, extended_uniform_knots(-1.0, 2.0, 6, 3), 3)  # (N, in, G+k)
    ref = torch.zeros(50, 2, dtype=F64)
    for j in range(2):
        for i in range(3):
            ref[:, j] += B[:, i] @ layer.coef[j, i].detach()
            if base:
                ref[:, j] += layer.w_base[j, i].detach() * torch.nn.functional.silu(x[:, i])
    assert (layer(x).detach() - ref).abs().max() < 1e-13


@pytest.mark.parametrize("make", [lambda **kw: KAN([3, 4, 2], grid=5, **kw),
                                  lambda **kw: MLP([3, 8, 8, 2], **kw)])
def test_shapes_and_dtypes(make):
    torch.manual_seed(0)
    model = make()
    assert model.widths[0] == 3 and model.widths[-1] == 2
    y = model(inputs(17, 3))
    assert y.shape == (17, 2) and y.dtype == F64
    assert all(p.dtype == F64 for p in model.parameters())
    model32 = make(dtype=torch.float32)
    y32 = model32(inputs(17, 3).float())
    assert y32.shape == (17, 2) and y32.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model32.parameters())
    assert isinstance(model.describe(), str) and str(model.widths) in model.describe()


def test_n_params_formulas():
    for widths, grid, degree in [([2, 5, 1], 10, 3), ([3, 4, 4, 2], 7, 2)]:
        layers = list(zip(widths[:-1], widths[1:]))
        spline = sum(a * b * (grid + degree) for a, b in layers)
        assert KAN(widths, grid, degree).n_params == spline
        assert KAN(widths, grid, degree, base="silu").n_params == spline + sum(a * b for a, b in layers)
    assert MLP([2, 20, 20, 1]).n_params == 2 * 20 + 20 + 20 * 20 + 20 + 20 + 1
    assert KAN([2, 10, 1]).describe() == "KAN [2, 10, 1], grid 10, degree 3"


@pytest.mark.parametrize("cls", [KAN, MLP])
def test_bounds_normalisation(cls):
    lo, hi = [0.0, -2.0, 1.0], [1.0, 3.0, 1.5]
    torch.manual_seed(1)
    model = cls([3, 4, 1], bounds=(lo, hi))
    corners = torch.tensor([lo, hi, [lo[0], hi[1], lo[2]]], dtype=F64)
    z = model.normalize(corners)
    assert torch.allclose(z, torch.tensor([[-1.0] * 3, [1.0] * 3, [-1, 1, -1]], dtype=F64))
    torch.manual_seed(1)
    plain = cls([3, 4, 1])
    x = inputs(10, 3) * 0.5 + 0.5
    assert torch.allclose(model(x), plain(model.normalize(x)), atol=1e-15)
    with pytest.raises(OptionError):
        cls([3, 4, 1], bounds=([0.0, 0.0], [1.0, 1.0]))
    with pytest.raises(OptionError):
        cls([3, 4, 1], bounds=([0.0, 1.0, 0.0], [1.0, 1.0, 1.0]))


@pytest.mark.parametrize("degree", [1, 2, 3, 5])
@pytest.mark.parametrize("widths", [[2, 5, 1], [3, 4, 4, 2]])
@pytest.mark.parametrize("grids", [(4, 8), (5, 20), (4, 12)])
def test_kan_refine_same_function(degree, widths, grids):
    torch.manual_seed(degree)
    d = widths[0]
    coarse = KAN(widths, grid=grids[0], degree=degree, bounds=([-2.0] * d, [2.0] * d))
    fine = coarse.refine(grids[1])
    assert fine.grid == grids[1] and coarse.grid == grids[0]
    assert all(layer.coef.shape[-1] == grids[1] + degree for layer in fine.layers)
    assert fine.n_params > coarse.n_params
    x = inputs(200, d, -2.2, 2.2)
    assert (coarse(x) - fine(x)).abs().max() < 1e-12
    y0, g0, l0 = grad_and_laplacian(coarse, x)
    y1, g1, l1 = grad_and_laplacian(fine, x)
    assert (g0 - g1).abs().max() < 1e-10
    assert (l0 - l1).abs().max() < 1e-10


def test_kan_refine_with_base_and_training_state():
    torch.manual_seed(0)
    coarse = KAN([2, 3, 1], grid=5, base="silu")
    coarse(inputs(5, 2)).sum().backward()
    fine = coarse.refine(10)
    assert all(p.grad is None and p.requires_grad for p in fine.parameters())
    x = inputs(100, 2)
    assert (coarse(x) - fine(x)).abs().max() < 1e-12
    assert fine.layers[0].w_base.data_ptr() != coarse.layers[0].w_base.data_ptr()


def test_refine_to_non_multiple_grid_raises():
    kan = KAN([2, 3, 1], grid=5)
    for bad in (7, 3):
        with pytest.raises(OptionError, match="multiple"):
            kan.refine(bad)


def test_kan_input_derivatives_vs_finite_differences():
    torch.manual_seed(3)
    kan = KAN([2, 6, 1], grid=8, degree=3, bounds=([0.0, 0.0], [1.0, 2.0]), init="random")
    x = inputs(30, 2, 0.05, 0.95)
    _, g, lap = grad_and_laplacian(kan, x)
    eps = 1e-4
    f = lambda z: kan(z)[:, 0].detach()  # noqa: E731
    for d in range(2):
        e = torch.zeros(2, dtype=F64)
        e[d] = eps / 10
        fd1 = (f(x + e) - f(x - e)) / (eps / 5)
        assert (fd1 - g[:, d]).abs().max() < 1e-6 * max(1.0, float(g.abs().max()))
    fd2 = sum((f(x + e) - 2 * f(x) + f(x - e)) / eps ** 2
              for e in torch.eye(2, dtype=F64) * eps)
    assert (fd2 - lap).abs().max() < 1e-3 * max(1.0, float(lap.abs().max()))


@pytest.mark.parametrize("make", [lambda: KAN([2, 5, 1]), lambda: KAN([2, 5, 1], init="random"),
                                  lambda: KAN([2, 5, 1], base="silu"), lambda: MLP([2, 9, 1])])
def test_same_seed_same_model(make):
    x = inputs(20, 2)
    torch.manual_seed(42)
    a = make()(x)
    torch.manual_seed(42)
    b = make()(x)
    torch.manual_seed(43)
    c = make()(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_linear_init_is_nearly_linear_and_order_one():
    torch.manual_seed(0)
    layer = KANLayer(4, 3, grid=10)
    x = torch.linspace(-1, 1, 50, dtype=F64).unsqueeze(1).repeat(1, 4)
    y = layer(x).detach()
    line = torch.linalg.lstsq(torch.stack([x[:, 0], torch.ones(50, dtype=F64)], 1), y).solution
    fit = torch.stack([x[:, 0], torch.ones(50, dtype=F64)], 1) @ line
    assert (y - fit).abs().max() < 0.05
    torch.manual_seed(0)
    big = KAN([50, 50, 1], grid=5)
    assert big(inputs(200, 50)).std() < 5.0


def test_invalid_options_raise():
    with pytest.raises(OptionError):
        MLP([2, 4, 1], activation="relu6")
    for act in ("tanh", "sin", "silu", "gelu"):
        assert MLP([2, 4, 1], activation=act)(inputs(3, 2)).shape == (3, 1)
    with pytest.raises(OptionError):
        KAN([2])
    with pytest.raises(OptionError):
        KAN([2, 3, 1], base="relu")
    with pytest.raises(OptionError):
        KAN([2, 3, 1], init="zeros")
    with pytest.raises(OptionError):
        KAN([2, 3, 1], degree=0)
