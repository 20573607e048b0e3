"""Run folders that can be trusted: one run at a time, no stale files, names that stay inside.

:func:`claim` takes a folder for a run before training: it refuses a folder another live run
holds (a lock file with that run's process id), refuses a folder that holds an earlier run's
outputs unless asked to overwrite them (then it removes exactly those), and removes the
temporary files an interrupted write (``kill -9`` during export) left behind. :func:`release`
gives it back. :func:`free_default` numbers the default folder (``runs/name-kan-2``, ...) instead
of refusing it.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from pinnkan.errors import OptionError

LOCK = ".pinnkan.lock"
# every file and folder a pinnkan run or comparison writes into its folder
OUTPUT_FILES = ("metrics.json", "history.json", "model.pt", "checkpoint.pt", "progress.jsonl", "solution.vtu",
                "solution_slice.vtu", "solution.pvd", "solution.gif", "history.png", "solution.png",
                "on_mesh.vtu", "on_mesh.pvd", "compare.md", "compare.json", "compare.png")
OUTPUT_FOLDERS = ("solution", "on_mesh")  # the frames of the .pvd time series
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp(\.[A-Za-z0-9]+)?$")  # see pinnkan.output.atomic


def safe_name(name: str) -> str:
    """``name`` as one folder name: characters other than letters, digits, ``.``, ``_`` and ``-``
    become ``_``, leading dots are dropped (so ``../../x`` stays inside ``runs/``)."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", str(name)).lstrip(".")
    return clean or "problem"


def earlier_outputs(path: Path) -> list[str]:
    """The names of an earlier run's outputs in ``path``."""
    if not path.is_dir():
        return []
    return sorted(n for n in (*OUTPUT_FILES, *OUTPUT_FOLDERS) if (path / n).exists())


def free_default(path: Path) -> Path:
    """``path`` if it holds no earlier outputs, else the first of ``path-2``, ``path-3``, ... that
    holds none."""
    k, candidate = 1, path
    while earlier_outputs(candidate):
        k += 1
        candidate = path.with_name(f"{path.name}-{k}")
    return candidate


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def claim(path, overwrite: bool = False, keep_outputs: bool = False) -> Path:
    """Take the folder ``path`` for this run (create it, lock it, prove it writable).

    Raises OptionError naming the folder when another live run holds it, when it holds an
    earlier run's outputs and neither ``overwrite`` (remove them) nor ``keep_outputs`` (a run
    that goes on from them, ``--resume``) is given, or when it cannot be written. Temporary files
    of interrupted writes are removed in any case."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = path / LOCK
        if lock.exists():
            try:
                pid = int(lock.read_text().strip() or 0)
            except (ValueError, OSError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise OptionError(f"The output folder {path} is in use by another pinnkan run (process {pid}); "
                                  "wait for it to end or choose another folder with --out.")
            lock.unlink(missing_ok=True)  # left by a run that no longer exists
        found = earlier_outputs(path)
        if found and not (overwrite or keep_outputs):
            raise OptionError(
                f"The output folder {path} holds the outputs of an earlier run ({', '.join(found[:4])}"
                f"{', ...' if len(found) > 4 else ''}); add --overwrite to replace them, or choose another "
                "folder with --out."
            )
        tmp = path / f".pinnkan-lock-{uuid.uuid4().hex[:8]}"
        tmp.write_text(str(os.getpid()))
        os.replace(tmp, lock)
        if overwrite and not keep_outputs:
            for name in found:
                target = path / name
                shutil.rmtree(target) if target.is_dir() else target.unlink()
        for stale in path.iterdir():
            if _TEMPORARY.match(stale.name):
                stale.unlink(missing_ok=True)
    except OSError as exc:
        raise OptionError(
            f"The output folder {path} cannot be written ({exc.strerror or exc}); choose another with --out."
        ) from None
    return path


def release(path) -> None:
    """Give the folder back (remove this run's lock)."""
    lock = Path(path) / LOCK
    try:
        if lock.exists() and lock.read_text().strip() == str(os.getpid()):
            lock.unlink()
    except OSError:
        pass
