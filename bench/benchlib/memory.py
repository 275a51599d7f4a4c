"""Resident memory of a process, from /proc: now (VmRSS) and its high-water mark (VmHWM)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import Optional, Union

Pid = Union[int, str]


def _status_kib(field: str, pid: Pid = "self") -> Optional[int]:
    """``field`` (e.g. ``VmHWM``) of ``/proc/<pid>/status`` in KiB, or None if unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def rss_mb(pid: Optional[Pid] = "self") -> Optional[float]:
    """The resident set size now, in MB (10^6 bytes; None if unknown)."""
    kib = _status_kib("VmRSS", pid) if pid is not None else None
    return None if kib is None else round(kib * 1024 / 1e6, 1)


def peak_rss_mb(pid: Optional[Pid] = "self") -> Optional[float]:
    """The resident set's high-water mark so far, in MB: VmHWM, else ``ru_maxrss`` (self)."""
    kib = _status_kib("VmHWM", pid) if pid is not None else None
    if kib is None and pid == "self":
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kib = maxrss // 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS
    return None if kib is None else round(kib * 1024 / 1e6, 1)
