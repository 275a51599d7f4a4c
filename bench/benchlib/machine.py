"""The machine a benchmark ran on (cpus, load average) and the CPU counters it reads."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Optional


def cpus() -> Optional[int]:
    return os.cpu_count()


def loadavg_1min() -> float:
    """The 1-minute load average, rounded to 2 digits (printed at the start and at the end)."""
    return round(os.getloadavg()[0], 2)


def process_cpu_s(pid: Optional[int]) -> float:
    """User + system CPU seconds of process ``pid`` so far (from /proc; NaN if ``pid`` is None)."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """User + system CPU seconds of this process's waited-for children (RUSAGE_CHILDREN)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
