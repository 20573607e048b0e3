"""The Evaluator gives exactly what the functions it gathers give."""

import numpy as np
import sympy as sp
import torch

import pinnkan as pk
from pinnkan.derivatives import get_engine
from pinnkan.evaluation.evaluator import Evaluator
from pinnkan.evaluation.metrics import equation_residuals, evaluate
from pinnkan.evaluation.residuals import residual, sample_points, total_loss
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.problem.compile import compile_problem


def test_evaluator_equals_the_functions_it_gathers():
    x, y = sp.symbols("x y")
    u = sp.Function("u")(x, y)
    exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)
    problem = pk.Problem(name="e", domain=pk.Rectangle((0, 0), (1, 1)), fields=[u],
                         equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 2 * sp.pi**2 * exact)],
                         conditions=[pk.Dirichlet(u, 0)], exact={u: exact})
    compiled = compile_problem(problem)
    torch.manual_seed(0)
    model = pk.KAN([2, 3, 1], grid=4, bounds=problem.domain.bounds)
    engine = get_engine("autograd")
    data = sample_points(compiled, CollocationSampler(problem.domain, seed=1), 40, 12, torch.float64,
                         torch.device("cpu"))
    ev = Evaluator(compiled, model, engine)
    w = {data[1].term.label: 3.0}
    (a, pa), (b, pb) = ev.loss(data, w), total_loss(compiled, model, engine, data, w)
    assert float(a.detach()) == float(b.detach())
    assert {k: float(v.detach()) for k, v in pa.items()} == {k: float(v.detach()) for k, v in pb.items()}
    assert torch.equal(ev.residual(data[0]), residual(compiled, model, engine, data[0]))
    pts = torch.as_tensor(np.random.default_rng(2).uniform(0, 1, (30, 2)))
    assert torch.equal(ev.equation_residuals(pts), equation_residuals(compiled, model, engine, pts))
    assert ev.metrics(pts) == evaluate(compiled, model, engine, pts)
