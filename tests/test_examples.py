"""The shipped problems and the complete examples in docs/problem-files.md are correct: they load,
compile, and their exact solutions satisfy their equations (residual ~ 0 at random points)."""

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import pinnkan as pk
from pinnkan.compile import compile_problem

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "problems").glob("*.py")) + sorted((ROOT / "benchmarks" / "problems").glob("*.py"))
DOC_BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "problem-files.md").read_text(), re.S)
              if "problem = pk.Problem(" in b and b.lstrip().startswith(("import", "\"\"\"", "from"))]


def _residual_at_exact(problem) -> float:
    """max |equation residual| with every field replaced by its exact solution (and every unknown
    parameter by its true value), at 200 points of the equation's region."""
    exact = {f: problem.exact[f] for f in problem.fields}
    if any(callable(e) and not isinstance(e, sp.Basic) for e in exact.values()):
        return 0.0  # numerical reference solutions are checked in tests/test_reference.py
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


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_problem_is_consistent(path):
    problem = pk.load_problem(path)
    compiled = compile_problem(problem)
    assert compiled.terms and problem.exact and set(problem.fields) <= set(problem.exact)
    assert _residual_at_exact(problem) < 1e-9


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
