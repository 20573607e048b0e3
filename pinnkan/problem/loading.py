"""Load a problem file: a Python module that defines a module-level ``problem``.

While the file runs, relative data paths given to ``pk.Table.from_file`` and
``pk.Scattered.from_file`` resolve against the problem file's folder
(:func:`pinnkan.problem.data_files.problem_folder`); the module also has its ``__file__``.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
import uuid
from pathlib import Path

from pinnkan.errors import PinnkanError, ProblemError
from pinnkan.problem.definition import Problem
from pinnkan.problem.data_files import problem_folder


def load_problem(path) -> Problem:
    """Import the problem file at ``path`` and return its ``problem`` (a :class:`Problem`).

    Any failure (missing file, syntax error, exception or ``sys.exit`` while importing, no or
    wrong ``problem``) raises :class:`ProblemError` with one paragraph naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ProblemError(f"Problem file {path} does not exist; give the path of a .py file that defines `problem`.")
    if path.suffix != ".py":
        raise ProblemError(f"Problem file {path} is not a Python file (.py); a problem file is a Python module that defines `problem`.")
    name = f"pinnkan_problem_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with problem_folder(path.resolve().parent):
            spec.loader.exec_module(module)
    except PinnkanError as exc:
        raise type(exc)(f"In problem file {path}: {exc}") from None
    except SyntaxError as exc:
        raise ProblemError(
            f"Problem file {path} has a syntax error at line {exc.lineno}: {exc.msg}. Fix the file and run again."
        ) from None
    except SystemExit as exc:  # sys.exit(), exit() or raise SystemExit would end pinnkan with nothing done
        raise ProblemError(_exit_message(exc, path)) from None
    except Exception as exc:  # noqa: BLE001 - any error in user code becomes one clear message
        line = _user_line(exc, path)
        raise ProblemError(
            f"Problem file {path} failed to import{line}: {type(exc).__name__}: {exc}. Fix the file and run again."
        ) from None
    finally:
        sys.modules.pop(name, None)
    problem = getattr(module, "problem", None)
    if problem is None:
        raise ProblemError(
            f"Problem file {path} defines no `problem`; add a module-level `problem = pk.Problem(...)`."
        )
    if not isinstance(problem, Problem):
        raise ProblemError(
            f"In problem file {path}, `problem` is a {type(problem).__name__}, not a pinnkan Problem; "
            "build it with pk.Problem(name=..., domain=..., fields=..., equations=..., conditions=...)."
        )
    problem.source = str(path)
    return problem


def _user_line(exc: BaseException, path: Path) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).resolve() == path.resolve():
            return f" at line {frame.lineno}"
    return ""


def _exit_message(exc: SystemExit, path: Path) -> str:
    code = "" if exc.code is None else repr(exc.code)
    return (
        f"Problem file {path} called sys.exit({code}) (or raised SystemExit){_user_line(exc, path)} while "
        "pinnkan was loading it, which would end pinnkan with nothing solved; a problem file must only "
        "define `problem = pk.Problem(...)`: remove the call, or put it under `if __name__ == '__main__':`."
    )
