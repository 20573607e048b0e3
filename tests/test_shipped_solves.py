"""Every shipped problem trains at CI size: a short multilevel KAN run (seed 0, one thread)
lowers the relative L2 error below a bound set from a measured run with a margin.

Measured values (2-core x86_64, torch 2.13 CPU) are noted next to each bound. The hard problems
(shocks, stiff reactions, interfaces, 3D) get a longer run and loose bounds: at this size they
only show that training makes progress from the untrained error of about 1.
"""

from pathlib import Path

import pytest

import pinnkan as pk

pytestmark = pytest.mark.slow  # the 16 shipped-problem solves: about half the suite's time

ROOT = Path(__file__).resolve().parents[1]
SHORT = dict(levels=[5, 10], adam_steps=50, lm_steps=30, n_interior=256, n_boundary=32, n_eval=500, seed=0)
HIGHD = dict(levels=[3, 6], adam_steps=50, lm_steps=30, n_interior=512, n_boundary=128, n_eval=500, seed=0)
LONGER = dict(levels=[5, 10, 20], adam_steps=100, lm_steps=100, n_interior=512, n_boundary=64, n_eval=500, seed=0)
FOURTH = dict(levels=[5, 10], adam_steps=100, lbfgs_steps=100, n_interior=512, n_boundary=64, n_eval=500, seed=0)

CASES = {  # problem: (options, bound on the worst field's rel. L2, measured)
    "heat1d": (SHORT, 1e-3),                 # 1.37e-4
    "inverse_heat1d": (SHORT, 1e-3),         # 1.06e-4
    "kovasznay": (SHORT, 1e-1),              # 1.92e-2
    "nonlinear2d": (SHORT, 2e-2),            # 2.96e-3
    "poisson1d_neumann": (SHORT, 1e-4),      # 7.06e-6
    "poisson2d": (SHORT, 3e-2),              # 7.20e-3
    "poisson2d_kan_paper": (SHORT, 1e-1),    # 2.26e-2
    "poisson_disk": (SHORT, 3e-3),           # 3.91e-4
    "poisson_lshape": (SHORT, 1e-1),         # 2.49e-2
    "system2d": (SHORT, 2e-2),               # 2.83e-3
    "allen_cahn1d": (LONGER, 0.8),           # 5.44e-1
    "burgers1d": (LONGER, 0.5),              # 2.73e-1
    "burgers1d_continuation": (dict(LONGER, lm_steps=45, n_interior=256), 0.5),  # 1.98e-1 (ramp on 3 levels)
    "helmholtz2d": (LONGER, 0.3),            # 9.77e-2
    "poisson_interface": (LONGER, 0.2),      # 4.06e-2
    "wave1d": (LONGER, 0.6),                 # 2.47e-1
    "poisson3d": (LONGER, 0.25),             # 7.88e-2
    "poisson5d": (HIGHD, 3e-3),              # 4.77e-4
    "poisson10d": (HIGHD, 1e-2),             # 2.09e-3
    "heat5d": (HIGHD, 2e-2),                 # 4.14e-3
    "poisson_holes": (SHORT, 2e-3),          # 2.24e-4
    "gray_scott1d": (LONGER, 5e-3),          # 8.74e-4
    "kuramoto_sivashinsky1d": (FOURTH, 0.9), # 7.43e-1 (L-BFGS: no jets for u_xxxx)
    "cavity_re100": (LONGER, 0.4),           # 2.13e-1 (v on Ghia et al.'s centre line)
    "cavity_re1000": (SHORT, 1.2),           # 9.89e-1: not learned at this size; trains without failing
}


def test_every_shipped_problem_has_a_ci_case():
    assert {p.stem for p in (ROOT / "problems").glob("*.py")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_problem_trains_below_its_bound(name):
    options, bound = CASES[name]
    result = pk.solve(pk.load_problem(ROOT / "problems" / f"{name}.py"), **options)
    worst = max(result.metrics["rel_l2"].values())
    assert worst < bound, (name, worst)
    if name == "inverse_heat1d":  # measured k = 0.1000041
        assert abs(result.metrics["parameters"]["k"] - 0.1) < 1e-3
