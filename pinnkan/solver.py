"""``solve``: problem -> compiled loss -> sampler -> network -> trainer -> metrics.

Everything that can be wrong with the input is checked before the first optimizer step.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from pinnkan.problem.compile import compile_problem, parameters_of, where
from pinnkan.derivatives.engines import get_engine
from pinnkan.errors import OptionError, ProblemError
from pinnkan.training.memory import peak_gpu_mib, peak_rss_mib
from pinnkan.evaluation.metrics import evaluate
from pinnkan.networks.factory import NETWORK_KEYS, attach_parameters, build_network, resolve_device
from pinnkan.problem.definition import Problem
from pinnkan.output.result import Result
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.training import TrainConfig, Trainer
from pinnkan.training.schedule import kan_parameter_count, level_summary, run_schedule

MODELS = ("kan", "mlp")
SAMPLERS = ("sobol", "halton", "uniform")
OPTIMIZERS = ("auto", "lbfgs", "lm")
LM_MAX_PARAMS = 3000  # "auto" picks Levenberg-Marquardt for KANs up to this size
# KAN default: multilevel on these grids (chosen by measurement, docs/benchmarks.md)
DEFAULT_LEVELS = {1: (5, 10, 20, 40), 2: (5, 10, 20, 40), 3: (4, 8, 16)}


@dataclass
class SolveOptions:
    """Every option of :func:`solve`, with the defaults filled in per model and dimension."""

    model: str = "kan"
    widths: list[int] | None = None
    grid: int | None = None
    degree: int = 3
    levels: list[int] | None = None
    spline_basis: str = "bspline"
    free_knots: bool = False
    resample_levels: bool = False
    activation: str = "tanh"
    adam_steps: int | None = None
    adam_lr: float | None = None
    lbfgs_steps: int | None = None
    optimizer: str = "auto"
    lm_steps: int | None = None
    n_interior: int | None = None
    n_boundary: int | None = None
    sampler: str = "sobol"
    resample_every: int = 0
    adaptive_sampling: str = "none"
    equations_on_boundary: bool = False
    starts: int = 1
    start_steps: int = 50
    balance: str | None = None
    weights: dict = field(default_factory=dict)
    budget_seconds: float | None = None
    device: str = "cpu"
    dtype: str = "float64"
    seed: int = 0
    engine: str = "auto"
    progress: bool = False
    log_every: int = 50
    n_eval: int = 10000

    def complete(self, dim: int, n_fields: int) -> "SolveOptions":
        """Fill in model- and dimension-dependent defaults; validate the values."""
        o = SolveOptions(**asdict(self))
        if o.model not in MODELS:
            raise OptionError(f"Unknown model {o.model!r}; choose one of {', '.join(MODELS)}.")
        if o.sampler not in SAMPLERS:
            raise OptionError(f"Unknown sampler {o.sampler!r}; choose one of {', '.join(SAMPLERS)}.")
        if o.dtype not in ("float64", "float32"):
            raise OptionError(f"Unknown dtype {o.dtype!r}; choose float64 (default) or float32.")
        kan = o.model == "kan"
        if o.widths is None:
            hidden = ([10] if kan else [50, 50, 50]) if dim <= 2 else ([12] if kan else [64, 64, 64])
            o.widths = [dim, *hidden, n_fields]
        o.widths = [int(w) for w in o.widths]
        if o.widths[0] != dim or o.widths[-1] != n_fields:
            raise OptionError(
                f"Network widths {o.widths} must start with the number of coordinates ({dim}) and end "
                f"with the number of fields ({n_fields}); e.g. {[dim, 10, n_fields]}."
            )
        if any(w < 1 for w in o.widths) or len(o.widths) < 2:
            raise OptionError(f"Network widths {o.widths} must be at least two positive integers.")
        if o.levels is not None:
            if not kan:
                raise OptionError("Multilevel training (levels) applies to KANs only; drop --levels for the MLP.")
            o.levels = [int(g) for g in o.levels]
            if any(g < 1 for g in o.levels) or any(b <= a for a, b in zip(o.levels, o.levels[1:])):
                raise OptionError(f"Levels {o.levels} must be positive and strictly increasing, e.g. 4,8,16.")
            bad = [(a, b) for a, b in zip(o.levels, o.levels[1:]) if b % a]
            if bad:
                raise OptionError(
                    f"Level grid {bad[0][1]} is not a refinement of grid {bad[0][0]}: each grid must be a "
                    "multiple of the previous one (e.g. 4,8,16) so that the knots are nested."
                )
            if o.grid is not None and o.grid != o.levels[-1]:
                raise OptionError(f"grid={o.grid} conflicts with levels {o.levels}; the last level is the grid.")
            o.grid = o.levels[-1]
        if o.grid is None and o.levels is None and kan:
            o.levels = list(DEFAULT_LEVELS.get(dim, DEFAULT_LEVELS[3]))
            o.grid = o.levels[-1]
        if o.grid is None:
            o.grid = 10
        if o.adam_steps is None:
            o.adam_steps = 200 if kan else 500
        if o.adam_lr is None:
            o.adam_lr = 1e-2 if kan else 1e-3
        if o.lbfgs_steps is None:
            o.lbfgs_steps = 2000
        if o.lm_steps is None:
            o.lm_steps = 800
        if o.adaptive_sampling not in ("none", "rad"):
            raise OptionError(f"Unknown adaptive sampling {o.adaptive_sampling!r}; choose none or rad.")
        if o.balance is None:  # KAN default chosen by measurement (docs/benchmarks.md, section 8)
            o.balance = "grad" if kan else "none"
        if o.balance not in ("none", "grad"):
            raise OptionError(f"Unknown loss balancing {o.balance!r}; choose none or grad.")
        if o.optimizer not in OPTIMIZERS:
            raise OptionError(f"Unknown optimizer {o.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        if o.free_knots and not kan:
            raise OptionError("Free knots (free_knots / --free-knots) apply to KANs only.")
        if o.optimizer == "auto":
            count = kan_parameter_count(o.widths, o.grid, o.degree) + (sum(o.widths[:-1]) * o.grid if o.free_knots else 0)
            small = kan and count <= LM_MAX_PARAMS
            o.optimizer = "lm" if small else "lbfgs"
        if o.n_interior is None:
            o.n_interior = {1: 256, 2: 2048, 3: 4096}.get(dim, 4096)
        if o.n_boundary is None:
            o.n_boundary = {1: 2, 2: 256, 3: 1024}.get(dim, 1024)
        for name in ("adam_steps", "lbfgs_steps", "lm_steps", "resample_every"):
            if getattr(o, name) < 0:
                raise OptionError(f"Option {name} must be >= 0, got {getattr(o, name)}.")
        for name in ("n_interior", "n_boundary", "grid", "log_every", "n_eval", "starts", "start_steps"):
            if getattr(o, name) < 1:
                raise OptionError(f"Option {name} must be >= 1, got {getattr(o, name)}.")
        if not (o.adam_lr > 0 and np.isfinite(o.adam_lr)):
            raise OptionError(f"Option adam_lr must be a positive finite number, got {o.adam_lr}.")
        if o.budget_seconds is not None and not o.budget_seconds > 0:
            raise OptionError(f"Option budget_seconds must be positive, got {o.budget_seconds}.")
        if not 1 <= o.degree <= 7:
            raise OptionError(f"Spline degree must be between 1 and 7, got {o.degree}.")
        return o


def build_model(o: SolveOptions, bounds, dtype, device):
    """The network described by options ``o`` on its first grid, inputs normalised from the
    domain box ``bounds``."""
    spec = {k: getattr(o, k) for k in NETWORK_KEYS}
    if o.levels:
        spec["grid"] = o.levels[0]
    return build_network(spec, bounds, dtype, device)


def check_options(problem: Problem, model: str = "kan", **options) -> SolveOptions:
    """What :func:`solve` checks before training, without training: the option names and
    values, the network's construction, the device, the problem's compile and the loss-weight
    labels (the collocation draws are checked when solve samples them). Raises OptionError or
    ProblemError; returns the completed options."""
    o, _ = _checked(problem, model, options)
    resolve_device(o.device)
    get_engine(o.engine)
    with torch.random.fork_rng(devices=[]):  # the network's own checks (activation, ...); RNG left as is
        build_model(o, problem.domain.bounds, torch.float64, torch.device("cpu"))
    return o


def _checked(problem, model: str, options: dict):
    """The checks that need neither the device nor the network: (completed options, compiled problem)."""
    if not isinstance(problem, Problem):
        raise ProblemError(f"solve() needs a pinnkan Problem, got {type(problem).__name__}.")
    unknown = set(options) - set(SolveOptions.__dataclass_fields__)
    if unknown:
        raise OptionError(f"Unknown option(s) {', '.join(sorted(unknown))} for solve().")
    o = SolveOptions(model=model, **options).complete(problem.domain.dim, len(problem.fields))
    compiled = compile_problem(problem)
    labels = {t.label for t in compiled.terms}
    bad = set(o.weights) - labels
    if bad:
        raise OptionError(
            f"Loss weights name {', '.join(sorted(bad))}, which are not terms of {where(problem)}; "
            f"its terms are {', '.join(sorted(labels))}."
        )
    return o, compiled


def solve(problem: Problem, model: str = "kan", before_training=None, **options) -> Result:
    """Train a physics-informed network on ``problem`` and return a :class:`Result`.

    ``options`` are the fields of :class:`SolveOptions` (``widths``, ``grid``, ``adam_steps``,
    ``lbfgs_steps``, ``n_interior``, ``seed``, ``device``, ``budget_seconds``, ...).
    ``before_training()``, when given, is called once everything is checked and the collocation
    points are drawn, just before training (the command line makes its output folder there).
    """
    o, compiled = _checked(problem, model, options)
    device = resolve_device(o.device)
    dtype = torch.float64 if o.dtype == "float64" else torch.float32
    engine = get_engine(o.engine)

    torch.manual_seed(o.seed)
    sampler = CollocationSampler(problem.domain, method=o.sampler, seed=o.seed)
    net = build_model(o, problem.domain.bounds, dtype, device)
    attach_parameters(net, compiled.parameters, dtype, device)
    if o.optimizer == "lm":
        from pinnkan.training.levenberg import check_supported

        try:
            check_supported(net, compiled)
        except OptionError:
            if options.get("optimizer", "auto") != "auto":
                raise
            o.optimizer = "lbfgs"  # "auto" falls back where Levenberg-Marquardt does not apply
    validation = torch.as_tensor(problem.domain.evaluation_points(2000), dtype=dtype, device=device)
    config = TrainConfig(
        adam_steps=o.adam_steps, adam_lr=o.adam_lr, lbfgs_steps=o.lbfgs_steps,
        n_interior=o.n_interior, n_boundary=o.n_boundary, sampler=o.sampler,
        resample_every=o.resample_every, log_every=o.log_every, budget_seconds=o.budget_seconds,
        progress=o.progress, weights=dict(o.weights), resample_levels=o.resample_levels,
        sampling="rad" if o.adaptive_sampling == "rad" else "uniform", balance=o.balance,
        equations_on_boundary=bool(o.equations_on_boundary),
    )
    trainer = Trainer(compiled, net, engine, sampler, config, validation)  # samples and checks data

    def new_start(k: int):
        """Start k's network: its own seed, drawn from (seed, k); the global torch RNG is left as is."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(np.random.SeedSequence([o.seed, k]).generate_state(1)[0]))
            other = build_model(o, problem.domain.bounds, dtype, device)
        attach_parameters(other, compiled.parameters, dtype, device)
        return other

    if before_training is not None:
        before_training()
    t0 = time.perf_counter()
    run_schedule(trainer, o, new_start)
    wall = time.perf_counter() - t0

    eval_points = torch.as_tensor(problem.domain.evaluation_points(o.n_eval), dtype=dtype, device=device)
    metrics = evaluate(compiled, trainer.model, engine, eval_points)
    metrics.update({
        "problem": problem.name,
        "model": o.model,
        "architecture": trainer.model.describe() + (f", levels {','.join(map(str, o.levels))}" if o.levels else ""),
        "n_params": int(trainer.model.n_params),
        "wall_time_s": wall,
        "steps": trainer.step,
        "final_loss": trainer.history.loss[-1] if trainer.history.loss else None,
        "seed": o.seed,
        "device": str(device),
        "dtype": o.dtype,
        "stopped": trainer.history.stopped,
        "peak_rss_mib": peak_rss_mib(),
    })
    if device.type == "cuda":
        metrics["peak_gpu_mib"] = peak_gpu_mib(device)
    if o.levels:
        metrics["levels"] = level_summary(trainer.history, o.levels)
    if trainer.history.starts:
        metrics["starts"] = trainer.history.starts
    if compiled.parameters:
        learned = {k: float(v.detach()) for k, v in parameters_of(trainer.model).items()}
        metrics["parameters"] = learned
        if compiled.exact_parameters:
            metrics["parameter_rel_error"] = {
                k: abs(learned[k] - v) / abs(v) if v else abs(learned[k]) for k, v in compiled.exact_parameters.items()}
    return Result(problem, compiled, trainer.model, engine, trainer.history, metrics, o)
