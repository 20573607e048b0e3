"""Quick start: define a PDE in Python, solve it with a multilevel KAN-PINN, export for ParaView.

    python examples/quickstart.py [--out runs/quickstart] [--quick]

Solves -u_xx - u_yy = 2 pi^2 sin(pi x) sin(pi y) on [-1, 1]^2 with u = 0 on the boundary,
prints the errors against the exact solution and writes solution.vtu, metrics.json and plots.
"""

import argparse

import sympy as sp

import pinnkan as pk

ap = argparse.ArgumentParser()
ap.add_argument("--out", default="runs/quickstart")
ap.add_argument("--quick", action="store_true", help="a few steps only (for a smoke run)")
args = ap.parse_args()

x, y = sp.symbols("x y")
u = sp.Function("u")(x, y)
exact = sp.sin(sp.pi * x) * sp.sin(sp.pi * y)
problem = pk.Problem(
    name="quickstart",
    domain=pk.Rectangle((-1, -1), (1, 1)),
    fields=[u],
    equations=[sp.Eq(-u.diff(x, 2) - u.diff(y, 2), 2 * sp.pi**2 * exact)],
    conditions=[pk.Dirichlet(u, 0)],
    exact={u: exact},
)

budget = dict(adam_steps=50, lm_steps=20, n_interior=256, n_boundary=64) if args.quick else {}
result = pk.solve(problem, model="kan", levels=[5, 10, 20], **budget)
print(result.summary())
print("relative L2 error per level:", [(lv["grid"], f"{lv['rel_l2']['u']:.2e}") for lv in result.metrics["levels"]])
paths = result.save(args.out)
print("wrote", ", ".join(str(p) for p in paths.values()))
