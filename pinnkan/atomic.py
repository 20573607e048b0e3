"""Atomic file writing: an output file is either absent, the old version, or complete."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (same folder, same suffix) to write into.

    When the body finishes, the temporary file replaces ``path`` in one ``os.replace`` step.
    When the body raises, the temporary file is deleted, ``path`` is left as it was, and the
    exception propagates. The folder of ``path`` must exist; the body must create the file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
