"""``solve``: problem -> compiled loss -> sampler -> network -> trainer -> metrics.

Everything that can be wrong with the input is checked before the first optimizer step.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from pinnkan.choices import (ADAPTIVE, CAUSAL, CAUSAL_EPSILONS, CAUSAL_SLICES, DEFAULT_LEVELS, DTYPES, ENGINES,
                             EXACT_INITIAL, HARD_DIRICHLET, LM_MAX_PARAMS, MODELS, OPTIMIZERS, PERIODIC, SAMPLERS,
                             SPLINE_BASES, VALIDATION_POINTS)
from pinnkan.derivatives.engines import get_engine
from pinnkan.errors import OptionError, ProblemError
from pinnkan.evaluation.metrics import evaluate
from pinnkan.geometry.sampling import CollocationSampler
from pinnkan.networks.constraints import plan_constraints
from pinnkan.networks.factory import (NETWORK_KEYS, attach_parameters, build_network, check_network, n_parameters,
                                      resolve_device)
from pinnkan.output.result import Result
from pinnkan.problem.checks import check_conflicting_conditions, check_piecewise_coverage
from pinnkan.problem.compile import compile_problem, parameters_of, where
from pinnkan.problem.definition import Problem
from pinnkan.training.callbacks import ProgressBar
from pinnkan.training import distributed
from pinnkan.training.causal import causal_mode
from pinnkan.training.memory import peak_gpu_mib, peak_rss_mib
from pinnkan.training.schedule import check_continuation, kan_parameter_count, level_summary, run_schedule
from pinnkan.training.spec import CausalSpec, SamplingSpec, ScheduleSpec
from pinnkan.training.trainer import Trainer

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
    points_growth: float = 1.0  # interior and boundary counts x F per level, the given ones on the last level
    activation: str = "tanh"
    adam_steps: int | None = None
    adam_lr: float | None = None
    lbfgs_steps: int | None = None
    optimizer: str = "auto"
    lm_steps: int | None = None
    lm_solver: str = "auto"  # the damped LM step: dense (Cholesky), cg (matrix-free) or auto (by size)
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
    causal: str = "auto"  # causal residual weights: auto (resolved per problem by solve), on, off
    causal_slices: int = CAUSAL_SLICES
    causal_epsilons: tuple = CAUSAL_EPSILONS
    periodic: str = "auto"  # Periodic conditions: auto (embedding where it applies), embed, penalty
    hard_dirichlet: str = "off"  # Dirichlet conditions imposed exactly, u = g + phi N: on, off
    exact_initial: str = "off"  # initial conditions imposed exactly, u = u0 + (t - t0) N: on, off
    time_windows: int = 1  # time marching over this many windows (pinnkan.training.marching); 1: none
    sparsity: float = 0.0  # lambda of the KAN paper's sparsity penalty (L1 + entropy of the edges); 0: none

    def complete(self, dim: int, n_fields: int) -> "SolveOptions":
        """Fill in model- and dimension-dependent defaults; validate the values (each spec
        checks its own: see :meth:`specs`)."""
        o = SolveOptions(**asdict(self))
        for name, value, choices in (("model", o.model, MODELS), ("sampler", o.sampler, SAMPLERS),
                                     ("dtype", o.dtype, DTYPES), ("optimizer", o.optimizer, OPTIMIZERS),
                                     ("adaptive sampling", o.adaptive_sampling, ADAPTIVE),
                                     ("derivative engine", o.engine, ENGINES),
                                     ("spline basis", o.spline_basis, SPLINE_BASES),
                                     ("causal training mode", o.causal, CAUSAL),
                                     ("periodic mode", o.periodic, PERIODIC),
                                     ("hard_dirichlet mode", o.hard_dirichlet, HARD_DIRICHLET),
                                     ("exact_initial mode", o.exact_initial, EXACT_INITIAL)):
            if value not in choices:
                raise OptionError(f"Unknown {name} {value!r}; choose one of {', '.join(choices)}.")
        kan = o.model == "kan"
        if o.widths is None:
            hidden = ([10] if kan else [50, 50, 50]) if dim <= 2 else ([12] if kan else [64, 64, 64])
            o.widths = [dim, *hidden, n_fields]
        o.widths = [int(w) for w in o.widths]
        if o.levels is not None:
            if not kan:
                raise OptionError("Multilevel training (levels) applies to KANs only; drop --levels for the MLP.")
            o.levels = [int(g) for g in o.levels]
            if o.grid is not None and o.grid != o.levels[-1]:
                raise OptionError(f"grid={o.grid} conflicts with levels {o.levels}; the last level is the grid.")
            o.grid = o.levels[-1]
        if o.grid is None and o.levels is None and kan:
            o.levels = list(DEFAULT_LEVELS.get(dim, DEFAULT_LEVELS[3]))
            o.grid = o.levels[-1]
        if o.grid is None:
            o.grid = 10
        if o.free_knots and not kan:
            raise OptionError("Free knots (free_knots / --free-knots) apply to KANs only.")
        if o.sparsity and not kan:
            raise OptionError("The sparsity penalty (sparsity / --sparsity) applies to KANs only: drop it for the MLP.")
        if o.sparsity and o.optimizer == "lm":
            raise OptionError("The sparsity penalty (--sparsity) is not a sum of squares, so Levenberg-Marquardt "
                              "cannot train it: use --optimizer lbfgs (or auto) with --sparsity.")
        check_network(o.network(), dim, n_fields, o.levels)
        defaults = {"adam_steps": 200 if kan else 500, "adam_lr": 1e-2 if kan else 1e-3, "lbfgs_steps": 2000,
                    "lm_steps": 800, "balance": "grad" if kan else "none",  # docs/benchmarks.md, section 8
                    "n_interior": {1: 256, 2: 2048}.get(dim, 4096), "n_boundary": {1: 2, 2: 256}.get(dim, 1024)}
        for name, value in defaults.items():
            if getattr(o, name) is None:
                setattr(o, name, value)
        if o.optimizer == "auto" and o.sparsity:
            o.optimizer = "lbfgs"  # the penalty is not a sum of squares: no Levenberg-Marquardt
        if o.optimizer == "auto":
            count = kan_parameter_count(o.widths, o.grid, o.degree) + (sum(o.widths[:-1]) * o.grid if o.free_knots else 0)
            o.optimizer = "lm" if kan and count <= LM_MAX_PARAMS else "lbfgs"
        if isinstance(o.n_eval, bool) or not isinstance(o.n_eval, int) or o.n_eval < 1:
            raise OptionError(f"Option n_eval must be an integer >= 1, got {o.n_eval!r}.")
        if isinstance(o.time_windows, bool) or not isinstance(o.time_windows, int) or o.time_windows < 1:
            raise OptionError(f"Option time_windows (--time-windows) must be an integer >= 1 (1: no time "
                              f"marching), got {o.time_windows!r}.")
        o.specs()  # each spec checks its own values
        return o

    def network(self) -> dict:
        """The network description (plain data, :mod:`pinnkan.networks.factory`) of the last level."""
        return {k: getattr(self, k) for k in NETWORK_KEYS}

    def specs(self) -> tuple[SamplingSpec, ScheduleSpec]:
        """The sampling and schedule specs of these (completed) options; the causal spec is
        checked always and in the schedule only with ``causal="on"`` (solve resolves "auto")."""
        causal = CausalSpec(slices=self.causal_slices, epsilons=tuple(self.causal_epsilons)
                            if isinstance(self.causal_epsilons, (list, tuple)) else self.causal_epsilons)
        sampling = SamplingSpec(n_interior=self.n_interior, n_boundary=self.n_boundary, method=self.sampler,
                                seed=self.seed, adaptive=self.adaptive_sampling, resample_every=self.resample_every,
                                resample_levels=self.resample_levels,
                                equations_on_boundary=bool(self.equations_on_boundary),
                                points_growth=self.points_growth)
        schedule = ScheduleSpec(levels=tuple(self.levels or [self.grid]), optimizer=self.optimizer,
                                adam_steps=self.adam_steps, adam_lr=self.adam_lr, lbfgs_steps=self.lbfgs_steps,
                                lm_steps=self.lm_steps, starts=self.starts, start_steps=self.start_steps,
                                budget_seconds=self.budget_seconds, balance=self.balance, weights=dict(self.weights),
                                log_every=self.log_every, progress=self.progress,
                                causal=causal if self.causal == "on" else None, sparsity=self.sparsity,
                                lm_solver=self.lm_solver)
        return sampling, schedule


def build_model(o: SolveOptions, bounds, dtype, device, constraint: dict | None = None):
    """The network described by options ``o`` on its first grid, inputs normalised from the
    domain box ``bounds``; inside the exact ``constraint`` (:func:`plan_constraints`) when given."""
    spec = {k: getattr(o, k) for k in NETWORK_KEYS}
    if o.levels:
        spec["grid"] = o.levels[0]
    return build_network(spec, bounds, dtype, device, constraint)


def check_options(problem: Problem, model: str = "kan", **options) -> SolveOptions:
    """What :func:`solve` checks before training, without training: the option names and
    values, the network's construction, the device, the problem's compile and the loss-weight
    labels (the collocation draws are checked when solve samples them). Raises OptionError or
    ProblemError; returns the completed options."""
    o, _, plan = _checked(problem, model, options)
    resolve_device(o.device)
    get_engine(o.engine)
    with torch.random.fork_rng(devices=[]):  # the network's own checks (activation, ...); RNG left as is
        build_model(o, problem.domain.bounds, torch.float64, torch.device("cpu"), plan)
    return o


def _checked(problem, model: str, options: dict, own_network: bool = False):
    """The checks that need neither the device nor the network: (completed options, compiled
    problem without the terms imposed exactly, the constraint's description or None)."""
    if not isinstance(problem, Problem):
        raise ProblemError(f"solve() needs a pinnkan Problem, got {type(problem).__name__}.")
    unknown = set(options) - set(SolveOptions.__dataclass_fields__)
    if unknown:
        raise OptionError(f"Unknown option(s) {', '.join(sorted(unknown))} for solve().")
    o = SolveOptions(model=model, **options).complete(problem.domain.dim, len(problem.fields))
    compiled = compile_problem(problem)
    o.causal = causal_mode(o.causal, compiled)
    if not own_network:  # a network of one's own may have no refine: solve checks it then
        check_continuation(compiled, len(o.levels or [o.grid]))
    _check_time_windows(o, compiled)
    check_conflicting_conditions(problem)
    check_piecewise_coverage(problem)
    labels = {t.label for t in compiled.terms}
    bad = set(o.weights) - labels
    if bad:
        raise OptionError(
            f"Loss weights name {', '.join(sorted(bad))}, which are not terms of {where(problem)}; "
            f"its terms are {', '.join(sorted(labels))}."
        )
    if o.time_windows > 1 and "on" in (o.hard_dirichlet, o.exact_initial):
        raise OptionError("Time marching (--time-windows) takes each window's initial values from the window "
                          "before, so hard_dirichlet and exact_initial must be off with it "
                          f"for {where(problem)}.")
    plan, compiled.terms = plan_constraints(compiled, o.periodic, o.hard_dirichlet, o.exact_initial, own_network)
    return o, compiled, plan


def _check_time_windows(o: SolveOptions, compiled) -> None:
    """Time marching (``time_windows`` > 1) needs a time-dependent forward problem."""
    if o.time_windows == 1:
        return
    if compiled.problem.time is None:
        raise OptionError(f"Time marching (time_windows={o.time_windows}, --time-windows) splits the time interval "
                          f"into windows, but {compiled.location} has no time; add time=(t, t0, t1) to its Problem "
                          "or drop --time-windows.")
    if compiled.parameters:
        raise OptionError(f"Time marching (--time-windows) trains one network per window, but {compiled.location} "
                          f"has unknown parameters ({', '.join(sorted(compiled.parameters))}) that all windows "
                          "would have to share; drop --time-windows for this inverse problem.")


def _users_network(net, o: SolveOptions, problem, dtype, device):
    """A user's own network, checked: a torch module mapping (N, d) points to (N, n_fields)."""
    if not isinstance(net, torch.nn.Module):
        raise OptionError(f"solve(net=...) needs a torch.nn.Module, got {type(net).__name__}.")
    if o.starts > 1:
        raise OptionError("Several starts (starts > 1) build fresh networks; they cannot be used with net=.")
    net = net.to(device=device, dtype=dtype)
    lo, hi = (torch.as_tensor(b, dtype=dtype, device=device) for b in problem.domain.bounds)
    probe = lo + (hi - lo) * torch.linspace(0.25, 0.75, 4, dtype=dtype, device=device)[:, None]
    with torch.no_grad():
        out = net(probe)
    n_fields = len(problem.fields)
    if not torch.is_tensor(out) or tuple(out.shape) != (4, n_fields):
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise OptionError(f"The network given as net= maps 4 points of shape (4, {problem.domain.dim}) to {shape}; "
                          f"it must give (4, {n_fields}), one column per field of {where(problem)}.")
    if not hasattr(net, "refine"):
        o.levels = None  # multilevel refinement needs a KAN's exact knot insertion
    return net


def _available_bytes(device: torch.device) -> int | None:
    """Free memory where the Levenberg-Marquardt matrices would live (None when unknown)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def lm_memory_bytes(n_residuals: int, n_params: int, itemsize: int = 8) -> int:
    """What a Levenberg-Marquardt iteration holds: the Jacobian (M, P) with room for its
    intermediates (3 M P) and the Gram matrix with its factor (2 P^2), in bytes."""
    return itemsize * (3 * n_residuals * n_params + 2 * n_params * n_params)


def _check_lm_memory(o: "SolveOptions", net, compiled, problem, device, explicit: bool) -> None:
    """Refuse (``--optimizer lm --lm-solver dense``), solve matrix-free (``--lm-solver auto``) or
    leave for L-BFGS (``--optimizer auto``) a dense Levenberg-Marquardt run whose matrices on the
    last level would not fit in the free memory, before training. The matrix-free step
    (``lm_solver`` cg) holds O(M + P) numbers and is never refused."""
    from pinnkan.training.gauss_newton import choose_solver

    free = _available_bytes(device)
    n_eq, n_cond = len(compiled.equations), len(compiled.terms) - len(compiled.equations)
    m = o.n_interior * n_eq + o.n_boundary * (n_cond + (n_eq if o.equations_on_boundary else 0))
    m = -(-m // distributed.world_size())  # data-parallel: each rank's share of the rows
    p = kan_parameter_count(o.widths, o.grid, o.degree) if o.levels else n_parameters(net)  # the last level's
    if choose_solver(o.lm_solver, p) == "cg":
        return
    need = lm_memory_bytes(m, p, 8 if o.dtype == "float64" else 4) * distributed.ranks_sharing(device)
    # data-parallel: every rank decides alike (free memory may differ between GPUs)
    if not distributed.any_rank(free is not None and need > 0.7 * free):
        return
    what = (f"Levenberg-Marquardt on about {m} residuals and {p} parameters needs about {need / 2**30:.1f} GiB, "
            f"but {'less' if free is None else f'{free / 2**30:.1f} GiB'} are free")
    if explicit and o.lm_solver == "auto":
        warnings.warn(f"{what}: solving its steps matrix-free (--lm-solver cg) instead.", UserWarning, stacklevel=3)
        o.lm_solver = "cg"
        return
    if explicit:
        raise OptionError(f"{what}; use --lm-solver cg (matrix-free), fewer points (--points), a smaller network "
                          f"or --optimizer lbfgs for {where(problem)}.")
    warnings.warn(f"{what}: training with L-BFGS instead.", UserWarning, stacklevel=3)
    o.optimizer = "lbfgs"


def _out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or "out of memory" in text or "can't allocate memory" in text


def _diverged(history) -> str | None:
    """A message when training ended far above where it started (a finite but useless state,
    e.g. from a learning rate much too large): last logged loss > 10x the first."""
    if len(history.loss) < 2 or not history.loss[0] > 0:
        return None
    first, last = history.loss[0], history.loss[-1]
    if last > 10 * first:
        return (f"the loss ended at {last:.3g}, above its start ({first:.3g}): training diverged; lower the "
                "learning rate (--lr) or check the problem")
    return None


def describe(net) -> str:
    """A network's one-line description (``net.describe()``, or its class name)."""
    return net.describe() if hasattr(net, "describe") else type(net).__name__


def solve(problem: Problem, model: str = "kan", before_training=None, callbacks=None, net=None,
          resume: dict | None = None, checkpoint=None, **options) -> Result:
    """Train a physics-informed network on ``problem`` and return a :class:`Result`.

    ``options`` are the fields of :class:`SolveOptions` (``widths``, ``grid``, ``adam_steps``,
    ``lbfgs_steps``, ``n_interior``, ``seed``, ``device``, ``budget_seconds``, ...).
    ``before_training()``, when given, is called once everything is checked and the collocation
    points are drawn, just before training (the command line makes its output folder there).
    ``callbacks``: :class:`~pinnkan.training.callbacks.Callback` objects told of the training's
    progress (default: a progress bar when ``progress``). ``net``: your own torch module, mapping
    points (N, d) to fields (N, n_fields), trained instead of the network the options describe
    (the schedule of ``model`` is kept; multilevel refinement only for a network with ``refine``).
    ``resume``: a checkpoint (:func:`pinnkan.output.checkpoint.read_checkpoint`) of a run with
    these options, to go on from the end of its last completed level; ``checkpoint``: a path
    where such a checkpoint is written at the end of each level.
    """
    o, compiled, plan = _checked(problem, model, options, own_network=net is not None)
    device = distributed.rank_device(resolve_device(o.device))  # under torchrun: one GPU per rank
    distributed.setup(device)  # under torchrun (WORLD_SIZE > 1): join the process group, train data-parallel
    dtype = torch.float64 if o.dtype == "float64" else torch.float32
    engine = get_engine(o.engine)

    torch.manual_seed(o.seed)
    sampler = CollocationSampler(problem.domain, method=o.sampler, seed=o.seed)
    if o.time_windows > 1 and (resume is not None or net is not None):
        raise OptionError(f"Time marching (--time-windows {o.time_windows}) builds one network per window and "
                          f"writes no checkpoint, so it cannot go on from a checkpoint (--resume) nor train a "
                          f"network of your own (net=); drop --time-windows or those.")
    if resume is not None:
        if net is not None:
            raise OptionError("resume= rebuilds the network of the checkpoint; it cannot be used with net=.")
        net = build_network({**o.network(), "grid": int(resume["state"]["grid"])}, problem.domain.bounds, dtype,
                            device, plan)
    elif net is None:
        net = build_model(o, problem.domain.bounds, dtype, device, plan)
    else:
        net = _users_network(net, o, problem, dtype, device)
        check_continuation(compiled, len(o.levels or [o.grid]))
    attach_parameters(net, compiled.parameters, dtype, device)
    if o.optimizer == "lm":
        from pinnkan.training.levenberg import check_supported

        try:
            check_supported(net, compiled)
        except OptionError:
            if options.get("optimizer", "auto") != "auto":
                raise
            o.optimizer = "lbfgs"  # "auto" falls back where Levenberg-Marquardt does not apply
    if o.optimizer == "lm":
        _check_lm_memory(o, net, compiled, problem, device, explicit=options.get("optimizer", "auto") != "auto")
    validation = torch.as_tensor(problem.domain.evaluation_points(VALIDATION_POINTS), dtype=dtype, device=device)
    sampling, schedule = o.specs()
    if callbacks is None:
        callbacks = [ProgressBar()] if o.progress and distributed.is_main() else []
    if checkpoint is not None and o.time_windows == 1:  # time marching writes no checkpoint
        from pinnkan.output.checkpoint import Checkpointer

        callbacks = [*callbacks, Checkpointer(checkpoint, o, problem.name)]
    trainer = Trainer(compiled, net, engine, sampler, schedule, sampling, validation, callbacks)  # samples, checks data
    if resume is not None:
        trainer.restore(resume["state"])

    def new_start(k: int):
        """Start k's network: its own seed, drawn from (seed, k); the global torch RNG is left as is."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(np.random.SeedSequence([o.seed, k]).generate_state(1)[0]))
            other = build_model(o, problem.domain.bounds, dtype, device, plan)
        attach_parameters(other, compiled.parameters, dtype, device)
        return other

    if before_training is not None:
        before_training()
    marching = None
    if o.time_windows > 1:  # the trainer above has checked every term's points on the whole interval
        from pinnkan.training.marching import TimeMarching

        marching = TimeMarching(compiled, lambda bounds: build_model(o, bounds, dtype, device, plan), engine, schedule,
                                sampling, o.time_windows, callbacks)
    t0 = time.perf_counter()
    try:
        if marching is not None:
            marching.run()
        else:
            run_schedule(trainer, new_start, None if resume is None else {"level": resume["level"],
                                                                          "used": resume["used"]})
    except (MemoryError, RuntimeError) as exc:  # torch.OutOfMemoryError is a RuntimeError
        if not _out_of_memory(exc):
            raise
        current = trainer if marching is None else marching
        current.out_of_memory(f"out of memory at step {current.step} ({type(exc).__name__}); kept the last good "
                              "model. Use fewer points (--points), a smaller network or --optimizer lbfgs")
    if marching is not None:
        trainer = marching.joined()  # the joined model, history and step count of all windows
    wall = time.perf_counter() - t0 + (float(resume["state"]["elapsed_s"]) if resume is not None else 0.0)
    compiled.set_continuation(None)  # the metrics, and the result's residuals, are for the problem's own values

    eval_points = torch.as_tensor(problem.domain.evaluation_points(o.n_eval), dtype=dtype, device=device)
    metrics = evaluate(compiled, trainer.model, engine, eval_points)
    metrics.update({
        "problem": problem.name,
        "model": o.model,
        "architecture": describe(trainer.model) + (f", levels {','.join(map(str, o.levels))}" if o.levels else ""),
        "n_params": n_parameters(trainer.model),
        "wall_time_s": wall,
        "steps": trainer.step,
        "final_loss": trainer.history.loss[-1] if trainer.history.loss else None,
        "seed": o.seed,
        "device": str(device),
        "dtype": o.dtype,
        "stopped": trainer.history.stopped,
        "diverged": _diverged(trainer.history),
        "interrupted": trainer.history.interrupted,
        "peak_rss_mib": peak_rss_mib(),
    })
    if device.type == "cuda":
        metrics["peak_gpu_mib"] = peak_gpu_mib(device)
    if distributed.world_size() > 1:
        metrics["ranks"] = distributed.world_size()  # data-parallel processes (peak memory: rank 0's)
    if marching is not None:
        metrics["windows"] = trainer.windows
    if o.levels:
        metrics["levels"] = level_summary(trainer.history, o.levels, sampling)
    if compiled.continuation:
        metrics["continuation"] = trainer.history.continuation
    if trainer.history.starts:
        metrics["starts"] = trainer.history.starts
    if trainer.history.best is not None:
        metrics["best"] = trainer.history.best
    if compiled.parameters:
        learned = {k: float(v.detach()) for k, v in parameters_of(trainer.model).items()}
        metrics["parameters"] = learned
        if compiled.exact_parameters:
            metrics["parameter_rel_error"] = {
                k: abs(learned[k] - v) / abs(v) if v else abs(learned[k]) for k, v in compiled.exact_parameters.items()}
    return Result(problem, compiled, trainer.model, engine, trainer.history, metrics, o)
