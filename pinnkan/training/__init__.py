"""Training: the physics-informed loss and the optimisation loop."""

from .loss import TermPoints, residual, sample_points, total_loss
from .trainer import History, TrainConfig, Trainer

__all__ = ["History", "TermPoints", "TrainConfig", "Trainer", "residual", "sample_points", "total_loss"]
