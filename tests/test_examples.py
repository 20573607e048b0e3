"""The shipped problems and the complete examples in docs/problem-files.md are correct: they load,
compile, and their exact solutions satisfy their equations (residual ~ 0 at random points)."""

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import pinnkan as pk
from pinnkan.problem.compile import compile_problem

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "problems").glob("*.py")) + sorted((ROOT / "benchmarks" / "problems").glob("*.py"))
DOC_BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "problem-files.md").read_text(), re.S)
              if "problem = pk.Problem(" in b and b.lstrip().startswith(("import", "\"\"\"", "from"))]


def _residual_at_exact(problem) -> float:
    """max |equation residual| with every field replaced by its exact solution (and every unknown
    parameter by its true value), at 200 points of the equation's region."""
    exact = {f: problem.exact[f] for f in problem.fields}
    if any(callable(e) and not isinstance(e, sp.Basic) for e in exact.values()):
        return _relative_residual_at_reference(problem)
    params = {k: v for k, v in problem.exact.items() if isinstance(k, sp.Symbol)}
    coords = problem.coordinates
    pts = problem.domain.sample_interior(400, "uniform", np.random.default_rng(0))
    worst = 0.0
    for eq in problem.equations:
        region = eq if isinstance(eq, pk.Equation) else None
        eq = region.eq if region else eq
        expr = (eq.lhs - eq.rhs) if isinstance(eq, sp.Eq) else sp.sympify(eq)
        expr = expr.subs({f: e for f, e in exact.items()}).doit().subs(params)
        at = pts
        if region is not None:
            at = pts[np.broadcast_to(sp.lambdify(coords, region.on, "numpy")(*pts.T), (len(pts),))]
            expr = expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0].expr)
        fn = sp.lambdify(coords, expr, "numpy")
        values = np.broadcast_to(np.asarray(fn(*at.T), dtype=float), (len(at),))
        worst = max(worst, float(np.abs(values).max()))
    return worst


def _fd_derivative(f, points: np.ndarray, alpha: tuple, h: float) -> np.ndarray:
    """d^alpha f at points (N, d) by nested fourth-order central differences of step h."""
    if not any(alpha):
        return f(points)
    i = next(j for j, a in enumerate(alpha) if a)
    lower = tuple(a - (j == i) for j, a in enumerate(alpha))
    e = np.zeros(points.shape[1])
    e[i] = h
    g = lambda s: _fd_derivative(f, points + s * e, lower, h)
    return (-g(2) + 8 * g(1) - 8 * g(-1) + g(-2)) / (12 * h)


def _relative_residual_at_reference(problem, h: float = 1e-3) -> float:
    """max |equation residual| / max |largest term| with every field replaced by its numerical
    reference solution, its derivatives by finite differences, at 200 interior points at least
    4h from the bounding box (so that the stencils stay inside)."""
    import torch

    compiled = compile_problem(problem)
    lo, hi = (np.asarray(b, dtype=float) for b in problem.domain.bounds)
    pts = problem.domain.sample_interior(2000, "uniform", np.random.default_rng(0))
    pts = pts[np.all((pts > lo + 4 * h) & (pts < hi - 4 * h), axis=1)][:200]
    exact = lambda p: compiled.exact_values(torch.as_tensor(p)).numpy()
    worst = 0.0
    for term in compiled.terms:
        if term.kind != "interior":
            continue
        values = {key: torch.as_tensor(_fd_derivative(lambda p: exact(p)[:, key[0]], pts, key[1], h))
                  for key in term.derivatives}
        res = term.residual(compiled.env(torch.as_tensor(pts), values)).numpy()
        scale = max(float(np.abs(v.numpy()).max()) for v in values.values())
        worst = max(worst, float(np.abs(res).max()) / scale)
    return worst


# references known at table points only (Ghia et al.'s centre lines), no field to put into the
# equations: their tables are read back in tests/test_hard_problems.py
POINT_REFERENCES = {"cavity_re100.py", "cavity_re1000.py"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_problem_is_consistent(path):
    problem = pk.load_problem(path)
    compiled = compile_problem(problem)
    if path.name in POINT_REFERENCES:
        assert compiled.terms and problem.exact and set(problem.exact) < set(problem.fields)
        return
    assert compiled.terms and problem.exact and set(problem.fields) <= set(problem.exact)
    numerical = any(callable(e) and not isinstance(e, sp.Basic) for e in problem.exact.values())
    # a numerical reference is checked by finite differences (relative to the largest term)
    assert _residual_at_exact(problem) < (1e-5 if numerical else 1e-9)


def test_the_consistency_check_fails_for_a_reference_of_another_problem():
    """Burgers with twice the viscosity of its reference solution: the check must see it."""
    from pinnkan.reference import burgers

    x, t = sp.symbols("x t")
    u = sp.Function("u")(x, t)
    wrong = pk.Problem(name="burgers-wrong", domain=pk.Interval(-1, 1), time=(t, 0, 1), fields=[u],
                       equations=[sp.Eq(u.diff(t) + u * u.diff(x) - 0.02 / sp.pi * u.diff(x, 2), 0)],
                       conditions=[pk.Dirichlet(u, 0), pk.Initial(u, -sp.sin(sp.pi * x))],
                       exact={u: burgers(nu=0.01 / np.pi)})
    assert _residual_at_exact(wrong) > 1e-3


def test_every_shipped_problem_is_listed_in_the_problems_readme():
    readme = (ROOT / "problems" / "README.md").read_text()
    for path in (ROOT / "problems").glob("*.py"):
        assert f"`{path.name}`" in readme, path.name


@pytest.mark.parametrize("block", DOC_BLOCKS, ids=lambda b: re.search(r'name="([^"]+)"', b).group(1))
def test_documented_example_defines_a_consistent_problem(block):
    namespace = {}
    exec(compile(block, "docs/problem-files.md", "exec"), namespace)
    problem = namespace["problem"]
    compile_problem(problem)
    if problem.exact and set(problem.exact) == set(problem.fields):
        assert _residual_at_exact(problem) < 1e-9


@pytest.mark.slow
def test_quickstart_example_runs_and_writes_its_outputs(tmp_path):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py"), "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [lv["grid"] for lv in metrics["levels"]] == [5, 10, 20]
    assert metrics["rel_l2"]["u"] < 0.5 and (tmp_path / "solution.vtu").stat().st_size > 1000
    assert f"rel_l2[u]={metrics['rel_l2']['u']:.2e}" in p.stdout
