"""pinnkan explain: edge scores, the picture, pruning, the symbolic fit and the formula files."""

import json
import math

import numpy as np
import pytest
import sympy as sp
import torch

from pinnkan.errors import OptionError
from pinnkan.evaluation.residuals import kan_edge_l1, kan_layer_inputs, sparsity_penalty
from pinnkan.explain.library import fit_edge
from pinnkan.explain.picture import draw_network
from pinnkan.explain.prune import prune
from pinnkan.explain.refine import FormulaModel, snap_number
from pinnkan.explain.report import read_formulas, write_formulas
from pinnkan.explain.scores import edge_scores, node_scores
from pinnkan.explain.symbolic import compose, coordinate_symbols, fit_edges
from pinnkan.networks.kan import KAN
from pinnkan.networks.mlp import MLP
from pinnkan.output.model_file import load_model, save_model
from tests.helpers import run_main


def set_edge(layer, j, i, fn):
    """Set edge (j, i) of a uniform B-spline layer to the polynomial fn (degree <= k): exact."""
    t = torch.linspace(-1, 1, 200, dtype=torch.float64)[:, None]
    B = layer.basis(t)[:, 0, :]  # (200, G+k)
    c = torch.linalg.lstsq(B, fn(t[:, 0])[:, None]).solution[:, 0]
    with torch.no_grad():
        layer.coef[j, i] = c


def grid_points(lo, hi, n):
    g = [np.linspace(a, b, n) for a, b in zip(lo, hi)]
    X = np.meshgrid(*g, indexing="ij")
    return np.stack([x.ravel() for x in X], axis=1)


# ---------------------------------------------------------------------------------- library fits

CASES = [
    ("sin", (0.7, 2.3, 0.4, -0.2), lambda x: 0.7 * np.sin(2.3 * x + 0.4) - 0.2),
    ("tanh", (0.4, 3.0, -0.5, 1.0), lambda x: 0.4 * np.tanh(3 * x - 0.5) + 1),
    ("exp", (2.0, -1.7, 0.0, -1.0), lambda x: 2 * np.exp(-1.7 * x) - 1),
    ("log", (0.5, 1.0, 1.5, 0.2), lambda x: 0.5 * np.log(x + 1.5) + 0.2),
    ("sqrt", (-0.3, -1.0, 2.1, 0.1), lambda x: -0.3 * np.sqrt(2.1 - x) + 0.1),
    ("1/x", (0.2, 1.0, 1.6, -0.4), lambda x: 0.2 / (x + 1.6) - 0.4),
    ("x^3", (0.3, 1.0, 0.2, -1.0), lambda x: 0.3 * (x + 0.2) ** 3 - 1),
    ("x^2", (2.0, 1.0, -0.4, 0.1), lambda x: 2 * (x - 0.4) ** 2 + 0.1),
    ("x", (3.0, 1.0, 0.0, -1.0), lambda x: 3 * x - 1),
]


@pytest.mark.parametrize("name, params, fn", CASES, ids=[c[0] for c in CASES])
def test_fit_recovers_a_library_edge_with_its_constants(name, params, fn):
    x = np.linspace(-1.3, 0.7, 201)
    best = fit_edge(x, fn(x))[0]
    assert best.name == name
    assert np.allclose([best.a, best.b, best.c, best.d], params, rtol=0, atol=1e-8)
    assert 1 - best.r2 < 1e-14


def test_cos_edge_is_recovered_as_the_same_curve():
    x = np.linspace(-1.0, 1.0, 201)
    y = -1.5 * np.cos(1.1 * x - 2.0) + 0.3
    best = fit_edge(x, y)[0]
    assert best.name in ("sin", "cos") and abs(best.b - 1.1) < 1e-8 and abs(best.a - 1.5) < 1e-8
    assert np.max(np.abs(best(x) - y)) < 1e-10


def test_constant_edge_is_the_constant_and_ranking_prefers_the_simpler():
    x = np.linspace(0, 1, 101)
    assert fit_edge(x, np.full_like(x, 0.25))[0].name == "0"
    fits = fit_edge(x, 2 * x + 1)
    assert fits[0].name == "x"  # x^2, x^3, ... fit as well but are more complex


def test_snap_number():
    assert snap_number(math.pi * 0.5 + 1e-9) == sp.pi / 2
    assert snap_number(0.3333333334) == sp.Rational(1, 3)
    assert snap_number(0.123456) is None


# ---------------------------------------------------------------------------------- formulas

def polynomial_kan():
    """[2, 2, 1] KAN whose edges are exactly library polynomials of their inputs."""
    torch.manual_seed(0)
    net = KAN([2, 2, 1], grid=4, bounds=((0.0, -2.0), (1.0, 3.0)))
    first, second = net.layers
    set_edge(first, 0, 0, lambda z: 0.8 * z)
    set_edge(first, 0, 1, lambda z: 0.5 * (z + 0.3) ** 3 - 0.1)
    set_edge(first, 1, 0, lambda z: 0.6 * (z - 0.2) ** 2)
    set_edge(first, 1, 1, lambda z: 0.25 + 0 * z)
    set_edge(second, 0, 0, lambda t: 1.5 * t - 0.2)
    set_edge(second, 0, 1, lambda t: -0.7 * (t + 0.1) ** 2 + 0.05)
    return net


def test_formula_of_a_kan_with_library_edges_equals_the_network():
    net = polynomial_kan()
    pts = grid_points((0.0, -2.0), (1.0, 3.0), 25)
    edges = fit_edges(net, pts)
    coords = coordinate_symbols(["x", "y"], 2)
    (u,) = compose(net, edges, coords)
    assert {e.fit.name for e in edges if e.layer == 0} == {"x", "x^3", "x^2", "0"}
    assert all(e.on == "t" for e in edges if e.layer == 1)  # the between-layer tanh stays in the formula
    assert u.has(sp.tanh)
    x = torch.as_tensor(pts)
    with torch.no_grad():
        got = FormulaModel([u], coords)(x)[:, 0]
        want = net(x)[:, 0]
    assert float((got - want).abs().max()) < 1e-10


def test_formula_of_a_spline_kan_agrees_to_the_r2_implied_tolerance():
    torch.manual_seed(3)
    net = KAN([2, 1], grid=6, bounds=((-1.0, 0.0), (2.0, 1.0)), init="random")
    n = 201
    pts = grid_points((-1.0, 0.0), (2.0, 1.0), n)  # the product of each edge's fit samples
    edges = fit_edges(net, pts, n_samples=n)
    (u,) = compose(net, edges, coordinate_symbols(None, 2))
    x = torch.as_tensor(pts)
    with torch.no_grad():
        diff = FormulaModel([u], coordinate_symbols(None, 2))(x)[:, 0] - net(x)[:, 0]
    rms = float(torch.sqrt((diff ** 2).mean()))
    bound = sum(e.fit.rms for e in edges)  # rms_e = sqrt((1 - R^2_e) var_e), triangle inequality
    assert all(e.fit.r2 < 1 - 1e-12 for e in edges)  # the splines are not library functions
    assert rms <= bound * (1 + 1e-9) + 1e-14


def test_formula_json_round_trips_through_srepr(tmp_path):
    x, y = sp.symbols("x y")
    u = sp.Float(0.7) * sp.sin(sp.pi * x) * sp.tanh(sp.Float(1.3) * y - 2) + sp.Rational(1, 3) / sp.sqrt(x + 2)
    report = {"fields": {"u": {"formula": str(u), "srepr": sp.srepr(u), "rel_l2_vs_network": 1e-3}}}
    paths = write_formulas(tmp_path, report)
    assert read_formulas(paths["formula_json"]) == {"u": u}
    assert json.loads(paths["formula_json"].read_text())["fields"]["u"]["formula"] == str(u)
    assert paths["formula_txt"].read_text().startswith(f"u = {u}\n")


def test_read_formulas_runs_nothing(tmp_path):
    bad = tmp_path / "formula.json"
    bad.write_text(json.dumps({"fields": {"u": {"srepr": "__import__('os').getcwd()"}}}))
    with pytest.raises(Exception, match="not a formula.json"):
        read_formulas(bad)


# ---------------------------------------------------------------------------------- scores

def test_scores_equal_the_formula_on_a_hand_made_kan():
    net = KAN([1, 2, 1], grid=3, bounds=((0.0,), (2.0,)))
    first, second = net.layers
    set_edge(first, 0, 0, lambda z: 0.5 * z)
    set_edge(first, 1, 0, lambda z: -0.3 + 0 * z)
    set_edge(second, 0, 0, lambda t: 2.0 * t)
    set_edge(second, 0, 1, lambda t: 0 * t)
    pts = np.linspace(0.0, 2.0, 11)[:, None]
    z = pts[:, 0] - 1.0  # normalised to [-1, 1]
    t = np.tanh(0.5 * z)
    s = edge_scores(net, pts)
    assert np.allclose(s[0], [[np.mean(np.abs(0.5 * z))], [0.3]], atol=1e-12, rtol=0)
    assert np.allclose(s[1], [[np.mean(np.abs(2 * t)), 0.0]], atol=1e-12, rtol=0)
    nodes = node_scores(s)
    assert nodes[0]["in"] is None and np.allclose(nodes[0]["score"], [0.3])  # max(0.25, 0.3)
    assert np.allclose(nodes[1]["score"], [min(s[0][0, 0], s[1][0, 0]), 0.0], atol=1e-12)
    assert np.allclose(nodes[2]["score"], [s[1].max()])


def test_sparsity_penalty_is_l1_plus_entropy():
    torch.manual_seed(1)
    net = KAN([2, 3, 1], grid=4, bounds=((0, 0), (1, 1)))
    pts = torch.rand(50, 2, dtype=torch.float64)
    want = 0.0
    with torch.no_grad():
        for layer, z in zip(net.layers, kan_layer_inputs(net, pts)):
            phi = [[layer.basis(z)[:, i, :] @ layer.coef[j, i] for i in range(layer.in_features)]
                   for j in range(layer.out_features)]
            for j in range(layer.out_features):  # the edges add up to the layer
                assert float((sum(phi[j]) - layer(z)[:, j]).abs().max()) < 1e-14
            a = np.array([[float(v.abs().mean()) for v in row] for row in phi])
            p = a / a.sum()
            want += a.sum() - float((p * np.log(p)).sum())
        assert abs(float(sparsity_penalty(net, pts)) - want) < 1e-12
        assert np.allclose(kan_edge_l1(net, pts)[0].numpy(), edge_scores(net, pts.numpy())[0], atol=1e-15, rtol=0)


# ---------------------------------------------------------------------------------- pruning

def test_pruning_at_threshold_zero_changes_nothing():
    torch.manual_seed(2)
    net = KAN([2, 5, 3, 1], grid=5, bounds=((0, 0), (1, 1)), init="random")
    pts = np.random.default_rng(0).uniform(0, 1, (300, 2))
    p = prune(net, pts, 0.0)
    assert p.model.widths == [2, 5, 3, 1] and p.removed_edges == 0 and p.removed_nodes == 0
    x = torch.as_tensor(pts)
    with torch.no_grad():
        assert float((p.model(x) - net(x)).abs().max()) < 1e-12


def test_pruning_dead_edges_and_nodes_changes_nothing():
    torch.manual_seed(4)
    net = KAN([2, 4, 3, 1], grid=5, bounds=((0, 0), (1, 1)), init="random")
    with torch.no_grad():
        net.layers[0].coef[1] = 0.0          # hidden node 1: no incoming edge (constant tanh(0) = 0)
        net.layers[1].coef[:, 2] = 0.0       # hidden node 2: no outgoing edge
        net.layers[1].coef[0, 3] = 0.0       # one dead edge
    pts = np.random.default_rng(1).uniform(0, 1, (300, 2))
    p = prune(net, pts, 1e-14)
    assert p.model.widths == [2, 2, 3, 1] and p.kept[1] == [0, 3] and p.removed_nodes == 2
    x = torch.as_tensor(pts)
    with torch.no_grad():
        assert float((p.model(x) - net(x)).abs().max()) < 1e-12
    with torch.no_grad():
        far = torch.as_tensor(np.random.default_rng(2).uniform(-1, 2, (100, 2)))  # also off the grid range
        assert float((p.model(far) - net(far)).abs().max()) < 1e-12


def test_pruned_model_saves_and_loads(tmp_path):
    torch.manual_seed(5)
    net = KAN([2, 4, 1], grid=4, bounds=((0, 0), (1, 1)), init="random")
    with torch.no_grad():
        net.layers[0].coef[2] = 0.0
    pts = np.random.default_rng(3).uniform(0, 1, (100, 2))
    small = prune(net, pts, 1e-14).model
    opts = {"model": "kan", "widths": small.widths, "grid": 4, "degree": 3}
    save_model(tmp_path / "m.pt", small, opts, ((0, 0), (1, 1)), small.describe())
    back = load_model(tmp_path / "m.pt")
    x = torch.as_tensor(pts)
    with torch.no_grad():
        assert back.widths == [2, 3, 1] and torch.equal(back(x), small(x))


def test_prune_refuses_an_mlp_and_a_negative_threshold():
    with pytest.raises(OptionError, match="MLP"):
        prune(MLP([2, 5, 1]), np.zeros((3, 2)), 0.1)
    with pytest.raises(OptionError, match="threshold"):
        prune(KAN([2, 2, 1], grid=3), np.zeros((3, 2)), -1.0)


# ---------------------------------------------------------------------------------- picture

@pytest.mark.parametrize("widths", [[2, 10, 1], [2, 16, 16, 1]])
def test_picture_is_a_png_of_the_stated_size(tmp_path, widths):
    import matplotlib.image as mpimg

    torch.manual_seed(0)
    net = KAN(widths, grid=3, bounds=((0, 0), (1, 1)))
    path = draw_network(net, np.random.default_rng(0).uniform(0, 1, (200, 2)), tmp_path / "net.png",
                        ["x", "y"], ["u"], size=(640, 480))
    img = mpimg.imread(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and img.shape[:2] == (480, 640)
    assert img[..., :3].min() < 0.5  # something is drawn


# ---------------------------------------------------------------------------------- command line

def test_explain_refuses_a_folder_that_is_not_a_run(tmp_path):
    code, out, err = run_main(["explain", tmp_path])
    assert code == 2
    assert f"pinnkan: error: {tmp_path} is not a run folder: it has no model.pt and no metrics.json" in err


def test_explain_refuses_an_mlp_run(tmp_path):
    net = MLP([2, 5, 1], bounds=((0, 0), (1, 1)))
    opts = {"model": "mlp", "widths": [2, 5, 1], "activation": "tanh", "grid": 10, "degree": 3}
    save_model(tmp_path / "model.pt", net, opts, ((0, 0), (1, 1)), net.describe())
    (tmp_path / "metrics.json").write_text(json.dumps({"problem": "p", "options": opts}))
    code, out, err = run_main(["explain", tmp_path])
    assert code == 2 and "trained an MLP, which has no edge functions" in err


@pytest.mark.slow
def test_explain_a_run_folder_end_to_end(tmp_path):
    """A hand-built [2, 2, 1] KAN saved as a poisson2d run: explain with the problem file."""
    net = polynomial_kan()
    bounds = ((-1.0, -1.0), (1.0, 1.0))
    net.normalize = KAN([2, 2, 1], grid=4, bounds=bounds).normalize
    with torch.no_grad():
        net.layers[0].coef[1, 1] = 0.0  # a dead edge, pruned
    opts = {"model": "kan", "widths": [2, 2, 1], "grid": 4, "degree": 3, "spline_basis": "bspline",
            "free_knots": False}
    run = tmp_path / "run"
    run.mkdir()
    save_model(run / "model.pt", net, opts, bounds, net.describe())
    (run / "metrics.json").write_text(json.dumps({"problem": "poisson2d", "options": opts}))
    code, out, err = run_main(["explain", run, "--problem", "problems/poisson2d.py", "--fine-tune-steps", "3",
                               "--refine-steps", "3", "--threshold", "1e-9"])
    assert code == 0, err
    folder = run / "explain"
    assert out.startswith("pruned at threshold 1e-09: 1 edges and 0 nodes removed")
    formulas = read_formulas(folder / "formula.json")
    report = json.loads((folder / "formula.json").read_text())
    assert set(formulas) == {"u"} and formulas["u"].free_symbols <= set(sp.symbols("x y"))
    assert report["fields"]["u"]["rel_l2_vs_exact"] > 0 and report["removed_edges"] == 1
    assert f"u = {report['fields']['u']['formula']}" in out
    pruned = load_model(folder / "model_pruned.pt")
    assert pruned.widths == [2, 2, 1] and not bool(pruned.layers[0].coef[1, 1].any())  # held at zero
    for name in ("network.png", "pruned.png", "formula.txt", "explain.json"):
        assert (folder / name).is_file()


def test_sparsity_option_checks():
    from pinnkan.solver import SolveOptions

    assert SolveOptions(sparsity=1e-3).complete(2, 1).optimizer == "lbfgs"
    with pytest.raises(OptionError, match="KANs only"):
        SolveOptions(model="mlp", sparsity=1e-3).complete(2, 1)
    with pytest.raises(OptionError, match="Levenberg-Marquardt"):
        SolveOptions(sparsity=1e-3, optimizer="lm").complete(2, 1)
    with pytest.raises(OptionError, match="sparsity"):
        SolveOptions(sparsity=-1.0).complete(2, 1)


def test_sparsity_enters_the_training_loss():
    import pinnkan as pk
    from pinnkan.problem.loading import load_problem

    problem = load_problem("problems/poisson2d.py")
    common = dict(widths=[2, 3, 1], grid=3, adam_steps=1, lbfgs_steps=0, n_interior=64, n_boundary=16, n_eval=50,
                  optimizer="lbfgs", balance="none")
    plain = pk.solve(problem, **common)
    sparse = pk.solve(problem, sparsity=0.5, **common)
    first = {k: v[0] for k, v in plain.history.terms.items()}
    assert first == {k: v[0] for k, v in sparse.history.terms.items()}  # same model, same points at step 0
    assert sparse.history.loss[0] - plain.history.loss[0] > 0.5 * 0.1  # the penalty is at least the L1 part
