"""Training: the trainer (Adam, L-BFGS, Levenberg-Marquardt phases, with guards and callbacks),
the multilevel schedule, adaptive sampling and loss balancing, and the specs they read.

- :mod:`~pinnkan.training.spec`: ``SamplingSpec``, ``ScheduleSpec`` and ``CausalSpec``;
- :mod:`~pinnkan.training.trainer`: ``Trainer`` and ``History``;
- :mod:`~pinnkan.training.schedule`: ``run_schedule`` (levels, trial starts, budget shares);
- :mod:`~pinnkan.training.levenberg`: the Levenberg-Marquardt step and its Jacobians;
- :mod:`~pinnkan.training.adaptive`: RAD resampling and learning-rate-annealing weights;
- :mod:`~pinnkan.training.causal`: causal residual weights over time slices;
- :mod:`~pinnkan.training.callbacks`: progress bar, progress log, ``progress.jsonl``;
- :mod:`~pinnkan.training.memory`: resident and GPU memory readings.
"""
