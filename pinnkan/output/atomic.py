"""Atomic file writing: an output file is either absent, the old version, or complete.

JSON is written strictly (RFC 8259): a non-finite number becomes ``null``.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np


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


def plain(obj):
    """``obj`` as plain data (dict, list, str, int, float, bool, None): numpy scalars and arrays
    become numbers and lists, paths and other objects strings, non-finite floats None."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented, strict JSON (non-finite numbers as null), atomically."""
    path = Path(path)
    text = json.dumps(plain(obj), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
    return path
