"""Input derivatives of a network, d^|a| u / dx^a for the multi-indices a an equation needs.

- :mod:`~pinnkan.derivatives.engines`: the engines (nested autograd, forward-mode jets, and
  ``auto``, which picks one per network);
- :mod:`~pinnkan.derivatives.jets`: truncated Taylor jets pushed through KAN and MLP layers.
"""

from pinnkan.derivatives.engines import ENGINES, Key, get_engine, order, prefers_jets

__all__ = ["ENGINES", "Key", "get_engine", "order", "prefers_jets"]
