"""Training: the physics-informed loss and the optimisation loop."""

from pinnkan.evaluation.residuals import TermPoints, residual, sample_points, total_loss
from pinnkan.training.trainer import History, TrainConfig, Trainer

__all__ = ["History", "TermPoints", "TrainConfig", "Trainer", "residual", "sample_points", "total_loss"]
