"""Data files named in problem files: relative paths resolve against the problem file's folder.

Torch-free, so that loading a problem file (and reporting what is wrong with it) does not wait
for torch; :mod:`pinnkan.problem.tables` reads the files.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from pathlib import Path

_PROBLEM_DIR: contextvars.ContextVar = contextvars.ContextVar("pinnkan_problem_dir", default=None)


@contextlib.contextmanager
def problem_folder(folder):
    """While active, relative data paths resolve against ``folder`` (set by the problem loader)."""
    token = _PROBLEM_DIR.set(Path(folder))
    try:
        yield
    finally:
        _PROBLEM_DIR.reset(token)


def resolve_path(path) -> Path:
    """``path`` made absolute: as given if absolute; else relative to the problem file being
    loaded; else to the folder of the calling file (its ``__file__``); else to the current
    directory."""
    path = Path(path)
    if path.is_absolute():
        return path
    base = _PROBLEM_DIR.get()
    if base is None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__") in (__name__, "pinnkan.problem.tables"):
            frame = frame.f_back
        caller = frame.f_globals.get("__file__") if frame is not None else None
        base = Path(caller).resolve().parent if caller else Path.cwd()
    return Path(base) / path
