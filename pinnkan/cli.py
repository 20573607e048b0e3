"""Command line: ``pinnkan solve PROBLEM.py`` and ``pinnkan compare PROBLEM.py``.

User errors print one paragraph (``pinnkan: error: ...``) and exit with status 2, before any
training; a run stopped by a non-finite loss writes its outputs and exits with status 3; Ctrl-C
(SIGINT) or SIGTERM during training stops it at the next step, writes every output from the model
of that step and exits with status 130 (143); ``--resume RUN_DIR`` goes on from the checkpoint
written at the end of each level.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

from pinnkan.choices import (ACTIVATIONS, BALANCE, CAUSAL, CAUSAL_EPSILONS, CAUSAL_SLICES, CAUSAL_THRESHOLD, DTYPES,
                             ENGINES, EXACT_INITIAL, HARD_DIRICHLET, PERIODIC, LM_DENSE_MAX_PARAMS, LM_MAX_PARAMS, LM_SOLVERS, MODELS, OPTIMIZERS, SAMPLERS,
                             SEED_MAX, SPLINE_BASES)
from pinnkan.errors import OptionError, PinnkanError
from pinnkan.training.callbacks import Callback  # torch-free


DEFAULT_THREADS = 1  # measured: benchmarks/busy_machine.py, docs/performance.md


def _set_threads(args) -> None:
    """torch's CPU threads: --threads, or DEFAULT_THREADS."""
    import torch

    torch.set_num_threads(DEFAULT_THREADS if args.threads is None else args.threads)


def _numbers(kind, what: str):
    """An argparse type: comma-separated numbers of ``kind`` (int or float), at least one."""
    def parse(text: str) -> list:
        try:
            values = [kind(v) for v in text.replace(" ", "").split(",") if v]
        except ValueError:
            values = []
        if not values:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}")
        return values
    return parse


_ints = _numbers(int, "integers")
_floats = _numbers(float, "numbers")


def _weight(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        w = float(value) if sep else float("nan")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TERM=WEIGHT (e.g. 'Dirichlet 1=10'), got {text!r}") from None
    if sep and not (w >= 0 and w < float("inf")):
        raise argparse.ArgumentTypeError(f"a loss weight must be a finite number >= 0, got {text!r}")
    return name, w


def _bounded(low: int, high: int | None = None, what: str = "an integer"):
    """An argparse type: an integer in [low, high]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"expected {what} {span}, got {text}")
        return value
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive finite number of seconds, got {text}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("problem", help="problem file (.py) defining `problem`")
    p.add_argument("--width", type=_ints, metavar="W[,W...]", help="hidden layer widths, e.g. 10 or 50,50,50")
    p.add_argument("--grid", type=_bounded(1), metavar="G",
                   help="KAN spline intervals per edge, single level (default: multilevel, see --levels)")
    p.add_argument("--free-knots", action="store_true", help="KAN: train the knot locations too")
    p.add_argument("--degree", type=_bounded(1, 7), default=3, metavar="K", help="KAN spline degree 1..7 (default 3)")
    p.add_argument("--basis", default=SPLINE_BASES[0], choices=SPLINE_BASES,
                   help="KAN spline basis trained: bspline (default, preconditioned) or relu (power-ReLU)")
    p.add_argument("--engine", default=ENGINES[0], choices=ENGINES,
                   help="input-derivative engine for the loss: auto (default: jets for KANs on grids of "
                        "24 cells or more, autograd otherwise), autograd (nested reverse mode, the "
                        "reference) or jet (forward-mode jets)")
    p.add_argument("--activation", default=ACTIVATIONS[0],
                   help=f"MLP activation: {', '.join(ACTIVATIONS)} (default {ACTIVATIONS[0]})")
    p.add_argument("--steps", type=_ints, metavar="ADAM[,SECOND]",
                   help="optimizer steps: Adam, then the second optimizer (L-BFGS or Levenberg-Marquardt)")
    p.add_argument("--optimizer", default=OPTIMIZERS[0], choices=OPTIMIZERS,
                   help="second-phase optimizer: lm (Levenberg-Marquardt), lbfgs, or auto (default: lm "
                        f"for KANs up to {LM_MAX_PARAMS} parameters, else lbfgs)")
    p.add_argument("--lm-solver", default=LM_SOLVERS[0], choices=LM_SOLVERS,
                   help="how a Levenberg-Marquardt step is solved: dense (Cholesky of J^T J), cg (matrix-free "
                        f"conjugate gradients on J v, J^T u products), or auto (default: dense up to "
                        f"{LM_DENSE_MAX_PARAMS} parameters, else cg)")
    p.add_argument("--lr", type=float, metavar="LR", help="Adam learning rate")
    p.add_argument("--points", type=_bounded(1), metavar="N", help="interior collocation points")
    p.add_argument("--boundary-points", type=_bounded(1), metavar="N", help="collocation points per boundary condition")
    p.add_argument("--eval-points", type=_bounded(1), metavar="N",
                   help="points of the evaluation set the errors in metrics.json are measured on (default 10000)")
    p.add_argument("--sampler", default=SAMPLERS[0], choices=SAMPLERS, help="point sampler")
    p.add_argument("--resample-every", type=_bounded(0), default=0, metavar="N", help="draw new collocation points (interior and boundary) every N Adam steps")
    p.add_argument("--weight", type=_weight, action="append", default=[], metavar="TERM=W",
                   help="loss weight of a term, e.g. 'equation 1=1' or 'Dirichlet 1=10' (repeatable)")
    p.add_argument("--budget-seconds", type=_seconds, metavar="T", help="wall-clock budget per model")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    p.add_argument("--dtype", default=DTYPES[0], choices=DTYPES)
    p.add_argument("--seed", type=_bounded(0, SEED_MAX), default=0, help=f"random seed, 0..{SEED_MAX} (default 0)")
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/<problem>-<model> for solve, "
                   "runs/<problem>-compare for compare; numbered -2, -3, ... when it holds an earlier run)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the outputs of an earlier run in the output folder (otherwise an error)")
    p.add_argument("--rad", action="store_true",
                   help="residual-based adaptive resampling (RAD) of the interior points at each level start")
    p.add_argument("--equations-on-boundary", action="store_true",
                   help="also impose the equations at --boundary-points points of the boundary, where "
                        "interior points are sparse")
    p.add_argument("--starts", type=_bounded(1), default=1, metavar="K",
                   help="K trial starts on the first grid (Adam and 50 iterations each, same points); "
                        "the one of lowest loss goes on (default 1)")
    p.add_argument("--balance", default=None, choices=BALANCE,
                   help="loss balancing: grad = learning-rate annealing of the condition weights at each level "
                        "start (default for the KAN), none = fixed weights (default for the MLP)")
    p.add_argument("--causal", default=CAUSAL[0], choices=CAUSAL,
                   help="causal residual weights over time slices for a time-dependent problem: on, off, or "
                        "auto (default: on where the equations are first order in time; see docs/cli.md)")
    p.add_argument("--causal-slices", type=_bounded(1), default=CAUSAL_SLICES, metavar="M",
                   help=f"time slices of the causal weights (default {CAUSAL_SLICES})")
    p.add_argument("--causal-eps", type=_floats, default=list(CAUSAL_EPSILONS), metavar="E1,E2,...",
                   help="increasing ladder of the causal eps, one rung up when all weights exceed "
                        f"{CAUSAL_THRESHOLD} (default {','.join(f'{e:g}' for e in CAUSAL_EPSILONS)})")
    p.add_argument("--periodic", default=PERIODIC[0], choices=PERIODIC,
                   help="Periodic conditions: embed = exact, the network sees (cos, sin) of the periodic "
                        "coordinate; penalty = loss terms on matched points; auto (default) = embed where every "
                        "field is periodic in that coordinate of a box")
    p.add_argument("--hard-dirichlet", default=HARD_DIRICHLET[0], choices=HARD_DIRICHLET,
                   help="on: Dirichlet conditions imposed exactly, u = g + phi N with phi a distance function "
                        "to the boundary part (boxes, disks, balls, polygons, set operations); default off")
    p.add_argument("--exact-initial", default=EXACT_INITIAL[0], choices=EXACT_INITIAL,
                   help="on: initial conditions imposed exactly, u = u0 + (t - t0) N (u0 + (t - t0) v0 + "
                        "(t - t0)^2 N with an initial u_t); default off")
    p.add_argument("--time-windows", type=_bounded(1), default=1, metavar="K",
                   help="time marching: train K consecutive time windows in turn, each starting from the one "
                        "before and taking its end state as initial condition (default 1: the whole interval at once)")
    p.add_argument("--sparsity", type=float, default=0.0, metavar="LAMBDA",
                   help="KAN: add LAMBDA times the KAN paper's sparsity penalty (edge L1 norms + entropy) to the "
                        "loss, so that pinnkan explain finds fewer edges and simpler formulas (default 0: none)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no progress lines")
    p.add_argument("--progress-every", type=_seconds, default=10.0, metavar="S",
                   help="when stderr is not a terminal (a log file, a batch job): one progress line every "
                        "S seconds (default 10); progress.jsonl in the output folder has every logged step")
    p.add_argument("--threads", type=int, metavar="N",
                   help=f"CPU threads for torch (default {DEFAULT_THREADS}: as fast as more threads for "
                        "pinnkan's network sizes on an idle machine, and it keeps its speed on a busy one; "
                        "see docs/performance.md)")


class _Parser(argparse.ArgumentParser):
    """argparse with pinnkan's error format: one line ``pinnkan: error: ...``, exit status 2;
    an unknown option is reported against the subcommand's own help."""

    commands: dict = {}

    def error(self, message):
        self.exit(2, f"pinnkan: error: {message} (see '{self.prog} --help').\n")

    def parse_args(self, args=None, namespace=None):
        ns, extra = self.parse_known_args(args, namespace)
        if extra:
            where = self.commands.get(getattr(ns, "command", None), self)
            where.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="pinnkan", description="Solve PDEs with physics-informed KANs.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("solve", help="train one model on a problem file and write its outputs")
    _common(s)
    s.add_argument("--model", default=MODELS[0], choices=MODELS)
    s.add_argument("--levels", type=_ints, metavar="G1,G2,...", help="multilevel KAN: train on these grids in turn")
    s.add_argument("--resample-levels", action="store_true",
                   help="multilevel KAN: fresh collocation points after each refinement")
    s.add_argument("--points-growth", type=float, default=1.0, metavar="F",
                   help="multilevel KAN: interior and boundary points x F per level, --points and "
                        "--boundary-points on the last level, redrawn at each refinement (default 1: the same)")
    s.add_argument("--nproc", type=_bounded(1), default=1, metavar="N",
                   help="train data-parallel in N local processes (torchrun's launcher; each process owns a "
                        "share of the points, rank 0 writes the outputs; see docs/cluster.md) (default 1)")
    s.add_argument("--resolution", type=_bounded(1), metavar="R", help="export mesh resolution")
    s.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    s.add_argument("--resume", metavar="RUN_DIR",
                   help="go on with the run in RUN_DIR (its checkpoint.pt, written at the end of each level) "
                        "with its own options, writing into RUN_DIR; the other training flags are ignored")
    s.add_argument("--mesh", metavar="FILE", help="also write the solution on this mesh (any meshio format) "
                   "to <out>/on_mesh.vtu (a time series on_mesh.pvd for a time-dependent problem)")
    c = sub.add_parser("compare", help="KAN-PINN against MLP-PINN on the same points and budget")
    e = sub.add_parser("explain", help="draw, prune and fit a formula to the KAN of a run folder")
    _explain_flags(e)
    ap.commands = {"solve": s, "compare": c, "explain": e}
    _common(c)
    c.add_argument("--seeds", type=_bounded(1), default=1, metavar="K", help="number of seeds (default 1)")
    c.add_argument("--match-params", action="store_true", help="give the MLP about the KAN's parameter count")
    c.add_argument("--with-relu", action="store_true",
                   help="add a row kan-relu: the same KAN, same options, trained in the power-ReLU basis")
    return ap


def _options(args) -> dict:
    o = {"degree": args.degree, "activation": args.activation, "sampler": args.sampler,
         "spline_basis": args.basis, "engine": args.engine, "optimizer": args.optimizer,
         "lm_solver": args.lm_solver,
         "free_knots": args.free_knots,
         "adaptive_sampling": "rad" if args.rad else "none",
         "equations_on_boundary": args.equations_on_boundary, "starts": args.starts,
         "resample_every": args.resample_every, "device": args.device, "dtype": args.dtype,
         "seed": args.seed, "progress": False, "causal": args.causal, "causal_slices": args.causal_slices,
         "causal_epsilons": tuple(args.causal_eps), "time_windows": args.time_windows, "sparsity": args.sparsity,
         "periodic": args.periodic, "hard_dirichlet": args.hard_dirichlet, "exact_initial": args.exact_initial}
    if args.eval_points is not None:
        o["n_eval"] = args.eval_points
    if args.balance is not None:
        o["balance"] = args.balance
    if args.grid is not None:
        o["grid"] = args.grid
    if args.steps:
        if len(args.steps) > 2:
            raise OptionError(f"--steps takes ADAM or ADAM,SECOND, got {len(args.steps)} numbers.")
        o["adam_steps"] = args.steps[0]
        if len(args.steps) == 2:
            o["lbfgs_steps"] = o["lm_steps"] = args.steps[1]
    if args.lr is not None:
        o["adam_lr"] = args.lr
    if args.points is not None:
        o["n_interior"] = args.points
    if args.boundary_points is not None:
        o["n_boundary"] = args.boundary_points
    if args.weight:
        bad = [n for n, w in args.weight if not n or w != w]
        if bad:
            raise OptionError("--weight takes TERM=WEIGHT, e.g. --weight 'Dirichlet 1=10'.")
        o["weights"] = dict(args.weight)
    return o


def _out_folder(args, default: str) -> Path:
    """--out as given, or ``runs/<default>`` (a safe name, numbered -2, -3, ... when an earlier
    run's outputs are there)."""
    from pinnkan.output.folder import free_default, safe_name

    if args.out:
        return Path(args.out)
    path = Path("runs") / safe_name(default)
    return path if getattr(args, "overwrite", False) else free_default(path)


def _callbacks(args, out: Path) -> list:
    """A progress bar on a terminal, plain lines every --progress-every seconds otherwise
    (nothing with --quiet); progress.jsonl in ``out`` either way."""
    from pinnkan.training.callbacks import default_callbacks

    tty = sys.stderr.isatty()
    return default_callbacks(progress=tty and not args.quiet,
                             log_every_seconds=None if args.quiet or tty else args.progress_every,
                             jsonl=out / "progress.jsonl")


def _with_hidden(problem, options: dict, hidden) -> dict:
    if hidden:
        options["widths"] = [problem.domain.dim, *hidden, len(problem.fields)]
    return options


class _Interrupts(Callback):
    """While training runs, SIGINT and SIGTERM ask the trainer to stop at the next step (a
    second Ctrl-C ends at once); before training starts they end the command as usual. As a
    callback it learns the trainer when the first phase starts."""

    SIGNALS = {"SIGINT": 130, "SIGTERM": 143}

    def __init__(self):
        self.trainer, self.previous, self.received = None, {}, None

    def on_phase_start(self, trainer, name, total):
        self.trainer = trainer

    def _handle(self, signum, frame):
        import signal

        name = signal.Signals(signum).name
        if self.trainer is None or self.received is not None:
            raise KeyboardInterrupt
        self.received = name
        self.trainer.interrupt(name)
        if _rank() == 0:
            print(f"pinnkan: {name}: stopping at the next step and writing the outputs "
                  "(press Ctrl-C again to end at once)", file=sys.stderr, flush=True)

    def __enter__(self):
        import signal

        for name in self.SIGNALS:
            try:
                self.previous[name] = signal.signal(getattr(signal, name), self._handle)
            except ValueError:  # not the main thread: leave the handlers alone
                pass
        return self

    def __exit__(self, *exc):
        import signal

        for name, handler in self.previous.items():
            signal.signal(getattr(signal, name), handler)
        return False

    @property
    def status(self) -> int:
        return self.SIGNALS.get(self.received, 0)


def _resumed_options(args, problem) -> tuple[str, dict, dict]:
    """(model, options, checkpoint) of the run in --resume RUN_DIR, checked against ``problem``."""
    from pinnkan.output.checkpoint import read_checkpoint

    ckpt = read_checkpoint(args.resume)
    if ckpt["problem"] != problem.name:
        raise OptionError(f"The run in {args.resume} solved problem {ckpt['problem']!r}, not {problem.name!r} of "
                          f"{args.problem}; give the problem file that run was made from.")
    options = dict(ckpt["options"])
    options.setdefault("causal", "off")  # a checkpoint from before causal weights: the run had none
    options.setdefault("periodic", "penalty")  # one from before the periodic embedding: penalty terms
    model = options.pop("model")
    options["device"] = args.device
    options["progress"] = False
    return model, options, ckpt


def _rank() -> int:
    """This process's rank under torchrun (RANK), 0 otherwise; read torch-free."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _on_rank_zero(fn) -> None:
    """Data-parallel: ``fn()`` on rank 0 alone (claiming the output folder); every rank learns
    whether it failed, and the other ranks then end quietly with the same status. ``fn()`` in one
    process."""
    from pinnkan.training import distributed

    failure = None
    if distributed.is_main():
        try:
            fn()
        except Exception as exc:
            failure = exc
    if distributed.any_rank(failure is not None):
        if failure is not None:
            raise failure
        raise OptionError("rank 0 could not prepare the output folder")  # said by rank 0 alone


def _status(result, interrupts) -> int:
    """The exit status of a finished solve (0, 3 stopped or diverged, 130/143 interrupted)."""
    if interrupts.status:
        return interrupts.status
    return 3 if result.metrics.get("stopped") or result.metrics.get("diverged") else 0


def run_solve(args) -> int:
    from pinnkan.problem.loading import load_problem

    problem = load_problem(args.problem)  # first: a broken problem file is reported before torch loads
    _set_threads(args)
    from pinnkan.solver import resolve_device, solve

    resolve_device(args.device)
    ckpt, model = None, args.model
    if args.resume:
        model, options, ckpt = _resumed_options(args, problem)
        args.out = args.out or args.resume
    else:
        options = _with_hidden(problem, _options(args), args.width)
    if args.levels and not args.resume:
        options["levels"] = args.levels
    if args.resample_levels and not args.resume:
        options["resample_levels"] = True
    if args.points_growth != 1 and not args.resume:
        options["points_growth"] = args.points_growth
    if args.budget_seconds is not None and not args.resume:
        options["budget_seconds"] = args.budget_seconds
    if args.mesh:
        from pinnkan.output.on_mesh import check_mesh_for

        check_mesh_for(problem, args.mesh)  # a missing, unusable or mismatched mesh: error before training
    from pinnkan.output.folder import claim, release
    from pinnkan.output.run_folder import OutputError

    out = _out_folder(args, f"{problem.name}-{model}")
    interrupts = _Interrupts()
    main = _rank() == 0  # data-parallel (torchrun): rank 0 alone prints and writes, the others train
    # the folder is claimed (locked, proved writable) once every check has passed, before training
    try:
        with interrupts:
            result = solve(problem, model=model,
                           before_training=lambda: _on_rank_zero(
                               lambda: claim(out, args.overwrite, keep_outputs=bool(args.resume))),
                           callbacks=[*(_callbacks(args, out) if main else []), interrupts], resume=ckpt,
                           checkpoint=out / "checkpoint.pt", **options)
        from pinnkan.training.distributed import barrier

        try:
            if main:
                paths = result.save(out, plots=not args.no_plots, resolution=args.resolution)
                if args.mesh:
                    from pinnkan.output.on_mesh import export_on_mesh

                    paths["on_mesh"] = export_on_mesh(result, args.mesh, out / "on_mesh.vtu")
        except OutputError as exc:
            print(result.summary())
            print(f"pinnkan: error: {exc}", file=sys.stderr)
            return 4
        finally:
            barrier()  # data-parallel: the other ranks end once rank 0's outputs are written
    finally:
        if main:
            release(out)
    if not main:
        return _status(result, interrupts)
    print(result.summary())
    files = sorted({Path(p).name for p in paths.values()})
    print(f"outputs: {out}/ ({', '.join(files)})")
    if interrupts.status:
        go_on = (f" Go on with: pinnkan solve {args.problem} --resume {out}"
                 if options.get("time_windows", 1) == 1 else "")  # time marching writes no checkpoint
        print(f"pinnkan: interrupted by {interrupts.received}; the outputs hold the model of step "
              f"{result.metrics['steps']}.{go_on}", file=sys.stderr)
        return interrupts.status
    if result.metrics.get("stopped"):
        print(f"pinnkan: training stopped early: {result.metrics['stopped']}", file=sys.stderr)
        return 3
    if result.metrics.get("diverged"):
        print(f"pinnkan: warning: {result.metrics['diverged']}", file=sys.stderr)
        return 3
    (out / "checkpoint.pt").unlink(missing_ok=True)  # the run is complete: nothing to go on from
    return 0


def run_compare(args) -> int:
    from pinnkan.problem.loading import load_problem

    if os.environ.get("WORLD_SIZE", "1") != "1":
        raise OptionError("pinnkan compare runs in one process; use pinnkan solve under torchrun (or --nproc).")

    problem = load_problem(args.problem)  # first: a broken problem file is reported before torch loads
    _set_threads(args)
    from pinnkan.compare import compare, markdown, write_report
    from pinnkan.solver import resolve_device

    resolve_device(args.device)
    options = {**_options(args), "progress": sys.stderr.isatty() and not args.quiet}
    if args.width:
        raise OptionError("--width is ambiguous for compare (two models); use the solve command to set widths.")
    from pinnkan.output.folder import claim, release

    out = _out_folder(args, f"{problem.name}-compare")
    budget = args.budget_seconds
    if budget is None and not args.steps:
        budget = 60.0
    try:
        report = compare(problem, seeds=args.seeds, budget_seconds=budget, match_params=args.match_params,
                         relu_row=args.with_relu, before_training=lambda: claim(out, args.overwrite), **options)
        paths = write_report(report, out)
    finally:
        release(out)
    print(markdown(report))
    print(f"outputs: {', '.join(str(p) for p in paths.values())}")
    stopped = [r for r in report["runs"] if r["stopped"]]
    for r in stopped:
        print(f"pinnkan: {r['model']} (seed {r['seed']}) stopped early: {r['stopped']}", file=sys.stderr)
    return 3 if stopped else 0


def _launch(args, argv: list[str]) -> int:
    """``pinnkan solve --nproc N ...``: the same command in N local processes, started by
    torchrun's launcher (:mod:`pinnkan.training.launch`); the status is rank 0's."""
    if os.environ.get("WORLD_SIZE", "1") != "1":
        raise OptionError(f"--nproc {args.nproc} starts its own processes, but this one was started by a launcher "
                          f"(WORLD_SIZE={os.environ['WORLD_SIZE']}); leave --nproc out under torchrun.")
    from pinnkan.problem.loading import load_problem

    load_problem(args.problem)  # a broken problem file is reported once, before any process starts
    from pinnkan.training.launch import launch, without_nproc

    return launch(args.nproc, ["solve", *without_nproc(argv[argv.index("solve") + 1:])])


def _explain_flags(e: argparse.ArgumentParser) -> None:
    e.add_argument("run", metavar="RUN_DIR", help="run folder written by pinnkan solve (model.pt, metrics.json)")
    e.add_argument("--problem", metavar="FILE", help="the problem file of the run: fine-tune the pruned network and "
                   "refine the formula's constants on its PDE loss, and measure against its exact solution")
    e.add_argument("--threshold", type=float, default=1e-2, metavar="T",
                   help="prune edges whose L1 score is below T, then nodes left without edges (default 0.01)")
    e.add_argument("--fine-tune-steps", type=_bounded(0), default=100, metavar="N",
                   help="L-BFGS steps on the PDE loss for the pruned network, with --problem (default 100)")
    e.add_argument("--refine-steps", type=_bounded(0), default=100, metavar="N",
                   help="L-BFGS steps on the PDE loss for the formula's constants, with --problem (default 100)")
    e.add_argument("--library", metavar="F[,F...]",
                   help="library functions to fit the edges with (default all: x,x^2,x^3,sin,cos,tanh,exp,log,"
                        "sqrt,1/x)")
    e.add_argument("--out", metavar="DIR", help="where to write (default RUN_DIR/explain)")
    e.add_argument("--threads", type=int, metavar="N", help=f"CPU threads for torch (default {DEFAULT_THREADS})")


def run_explain(args) -> int:
    """``pinnkan explain RUN_DIR``: network.png, pruned.png, model_pruned.pt, formula.txt,
    formula.json and explain.json in --out; the formula printed."""
    problem = None
    if args.problem:
        from pinnkan.problem.loading import load_problem

        problem = load_problem(args.problem)
    if not (args.threshold >= 0 and args.threshold < float("inf")):
        raise OptionError(f"--threshold must be a finite number >= 0, got {args.threshold}.")
    _set_threads(args)
    from pinnkan.explain import explain_run

    library = [f for f in args.library.replace(" ", "").split(",") if f] if args.library else None
    result = explain_run(args.run, problem=problem, out_dir=args.out, threshold=args.threshold,
                         fine_tune_steps=args.fine_tune_steps, refine_steps=args.refine_steps, library=library,
                         verbose=True)
    print(result.text, end="")
    print(f"outputs: {', '.join(sorted(str(p) for p in result.paths.values()))}")
    return 0


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"pinnkan: warning: {message}\n"


def main(argv=None) -> int:
    import warnings

    warnings.formatwarning = _format_warning
    args = parser().parse_args(argv)
    quiet = _rank() != 0  # data-parallel: only rank 0 speaks (the ranks meet the same errors and warnings)
    if quiet:
        warnings.simplefilter("ignore")
    try:
        if args.threads is not None and args.threads < 1:
            raise OptionError(f"--threads must be at least 1, got {args.threads}.")
        if args.command == "solve" and args.nproc > 1:
            return _launch(args, sys.argv[1:] if argv is None else [str(a) for a in argv])
        if args.command == "explain":
            return run_explain(args)
        return run_solve(args) if args.command == "solve" else run_compare(args)
    except PinnkanError as exc:
        if not quiet:
            print(f"pinnkan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if not quiet:
            print("pinnkan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (e.g. `pinnkan solve ... | head -1`): outputs are written
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return 141


if __name__ == "__main__":
    sys.exit(main())
