"""The named choices and size defaults of pinnkan's options, in one torch-free module.

The command line builds its ``choices`` and help texts from these, and
:class:`pinnkan.solver.SolveOptions` and the specs of :mod:`pinnkan.training.spec` check
against them, so the two cannot drift apart.
"""

MODELS = ("kan", "mlp")
OPTIMIZERS = ("auto", "lbfgs", "lm")  # the phase after Adam; auto: lm for KANs up to LM_MAX_PARAMS
SECOND_OPTIMIZERS = ("lbfgs", "lm")
SAMPLERS = ("sobol", "halton", "uniform")  # quasi-random (scipy.stats.qmc) or pseudo-random
ADAPTIVE = ("none", "rad")  # interior points as drawn, or redrawn where the residual is large
BALANCE = ("none", "grad")  # fixed loss weights, or learning-rate annealing at each level start
ENGINES = ("auto", "jet", "autograd")  # input-derivative engines (pinnkan.derivatives.engines)
SPLINE_BASES = ("bspline", "relu")  # the basis a KAN's spline coefficients are trained in
DTYPES = ("float64", "float32")
ACTIVATIONS = ("tanh", "sin", "silu", "gelu")  # MLP activations
CAUSAL = ("auto", "on", "off")  # causal residual weights over time slices (pinnkan.training.causal)
PERIODIC = ("auto", "embed", "penalty")  # Periodic: input embedding (exact; auto where it applies) or penalty terms
HARD_DIRICHLET = ("off", "on")  # Dirichlet conditions imposed exactly, u = g + phi N (pinnkan.networks.constraints)
EXACT_INITIAL = ("off", "on")  # initial values imposed exactly, u = u0 + (t - t0) N

LM_MAX_PARAMS = 3000  # "auto" picks Levenberg-Marquardt for KANs up to this size
LM_SOLVERS = ("auto", "dense", "cg")  # the damped LM step: Cholesky of J^T J, or matrix-free CG
LM_DENSE_MAX_PARAMS = 5000  # "auto" solves densely up to this many parameters, by CG above (docs/performance.md)
# KAN default: multilevel on these grids (chosen by measurement, docs/benchmarks.md); d > 3 as 3
DEFAULT_LEVELS = {1: (5, 10, 20, 40), 2: (5, 10, 20, 40), 3: (4, 8, 16)}
VALIDATION_POINTS = 2000  # points of the error history during training
CAUSAL_SLICES = 32  # time slices of the causal weights
CAUSAL_EPSILONS = (1e-2, 1e-1, 1.0, 10.0, 100.0)  # the eps ladder, climbed one rung at a time
CAUSAL_THRESHOLD = 0.99  # eps climbs when the smallest slice weight exceeds this
SEED_MAX = 2**32 - 1  # seeds are 0 .. SEED_MAX (numpy's and torch's seed range in common)
