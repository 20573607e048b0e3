"""``pinnkan solve --nproc N``: N local processes through torchrun's own launcher.

The command line hands the rest of its arguments to :func:`launch`, which runs

    torchrun --standalone --nproc-per-node N --max-restarts 0 -m pinnkan ARGS...

in this process (``torch.distributed.run``: a rendezvous on a free local port, the workers
started, watched and, when one fails, the others ended). Each worker is an ordinary
``python -m pinnkan ARGS...`` that finds RANK and WORLD_SIZE in its environment and trains its
share of the points (:mod:`pinnkan.training.distributed`).
"""

from __future__ import annotations

import os

__all__ = ["exit_status", "launch", "without_nproc"]


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without its ``--nproc N`` / ``--nproc=N`` (the workers must not launch again)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def exit_status(failures: dict) -> int:
    """The status of a failed launch from torchrun's failures {global rank: ProcessFailure}:
    rank 0's exit code when it failed, else the lowest failed rank's; a worker killed by signal
    s counts as 128 + s, as in a shell."""
    if not failures:
        return 1
    failure = failures.get(0, failures[min(failures)])
    code = int(failure.exitcode)
    return 128 - code if code < 0 else code


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m pinnkan ARGV`` in ``nproc`` local processes (torchrun standalone, no
    restarts); returns 0 when every worker succeeded, else :func:`exit_status`. One torch and
    OpenMP thread per worker unless OMP_NUM_THREADS says otherwise."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0",
                                         "--module", "pinnkan", *argv])
    try:
        run(args)
    except ChildFailedError as exc:
        return exit_status(exc.failures)
    except SignalException as exc:  # Ctrl-C or SIGTERM: torchrun passed it on to the workers, which
        return 128 + int(exc.sigval)  # stopped at their next step and wrote the outputs (30 s allowed)
    return 0
