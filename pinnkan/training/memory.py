"""Memory in use by this process: resident set size now and at its peak, and GPU peak.

Figures are MiB. The resident size is read from /proc/self/statm where it exists (Linux) and
falls back to the peak from :func:`resource.getrusage` elsewhere.
"""

from __future__ import annotations

import os
import sys

import torch

MIB = 1024.0 * 1024.0


def rss_mib() -> float:
    """Resident set size of this process now (MiB)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / MIB
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (MiB); ru_maxrss is KiB on Linux, bytes on macOS."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / MIB if sys.platform == "darwin" else peak / 1024.0


def peak_gpu_mib(device: torch.device) -> float | None:
    """Peak memory allocated by torch on a CUDA ``device`` (MiB), None on the CPU."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / MIB
