"""Networks for physics-informed training: spline KANs and MLPs with a common interface."""

from pinnkan.networks.kan import KAN, KANLayer
from pinnkan.networks.mlp import MLP

__all__ = ["KAN", "KANLayer", "MLP"]
