"""pinnkan's KAN-PINN with its defaults (see runner_pinnkan.py)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner_pinnkan import run_model  # noqa: E402

TOOL = "pinnkan-kan"


def run(problem_name, budget_seconds, seed, device, n_interior, n_boundary) -> dict:
    return run_model("kan", problem_name, budget_seconds, seed, device, n_interior, n_boundary)
