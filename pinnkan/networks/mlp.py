"""Multilayer perceptron and the input normalisation shared by all pinnkan networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pinnkan.errors import OptionError

ACTIVATIONS = {"tanh": torch.tanh, "sin": torch.sin, "silu": F.silu, "gelu": F.gelu}


def check_widths(widths):
    """Return widths as a list of positive ints (at least input and output), else OptionError."""
    try:
        widths = [int(w) for w in widths]
    except (TypeError, ValueError):
        raise OptionError(f"Network widths must be a list of integers, got {widths!r}.") from None
    if len(widths) < 2 or min(widths) < 1:
        raise OptionError(f"Network widths {widths} are invalid: give at least an input and an "
                          "output width, all positive, e.g. [2, 10, 1].")
    return widths


class BoxNormalization(nn.Module):
    """Affine map z = 2 (x - lo) / (hi - lo) - 1 of the box [lo, hi] onto [-1, 1]^d, per input
    column; identity when bounds is None. x: (..., d) -> z: (..., d)."""

    def __init__(self, bounds, n_inputs, dtype=torch.float64):
        super().__init__()
        self.active = bounds is not None
        if not self.active:
            return
        try:
            lo, hi = bounds
            lo = torch.as_tensor(lo, dtype=dtype).reshape(-1)
            hi = torch.as_tensor(hi, dtype=dtype).reshape(-1)
        except (TypeError, ValueError, RuntimeError):
            raise OptionError(f"Network bounds must be a pair (lo, hi) of sequences, got "
                              f"{bounds!r}.") from None
        if lo.numel() != n_inputs or hi.numel() != n_inputs or not bool((hi > lo).all()):
            raise OptionError(f"Network bounds {bounds!r} must give lo < hi for each of the "
                              f"{n_inputs} inputs.")
        self.register_buffer("scale", 2.0 / (hi - lo))
        self.register_buffer("shift", -1.0 - lo * (2.0 / (hi - lo)))

    def forward(self, x):
        return x * self.scale + self.shift if self.active else x


class MLP(nn.Module):
    """Fully connected network x -> W_L a(... a(W_1 z + b_1) ...) + b_L, z = normalised x.

    Xavier-normal weights and zero biases; a in {tanh, sin, silu, gelu}.
    forward: (N, widths[0]) -> (N, widths[-1]).
    """

    def __init__(self, widths, activation="tanh", bounds=None, dtype=torch.float64):
        super().__init__()
        self.widths = check_widths(widths)
        if activation not in ACTIVATIONS:
            raise OptionError(f"Unknown activation {activation!r}: choose one of "
                              f"{', '.join(ACTIVATIONS)}.")
        self.activation = activation
        self._act = ACTIVATIONS[activation]
        self.normalize = BoxNormalization(bounds, self.widths[0], dtype)
        self.layers = nn.ModuleList(
            nn.Linear(a, b, dtype=dtype) for a, b in zip(self.widths[:-1], self.widths[1:]))
        for layer in self.layers:
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        x = self.normalize(x)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = self._act(x)
        return x

    @property
    def n_params(self):
        """Number of trainable scalars: sum over layers of in*out + out."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def describe(self):
        return f"MLP {self.widths}, {self.activation}"
