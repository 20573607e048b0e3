"""Test-wide settings: one torch thread (the tests train tiny networks, where threads only add
overhead and oversubscribe a shared CPU)."""

import torch

torch.set_num_threads(1)
