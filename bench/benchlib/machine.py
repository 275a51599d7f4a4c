"""The machine a benchmark ran on (cpus, load average, :func:`describe` for a results file) and
the CPU counters it reads."""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional


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


def _first(path: str, prefix: str) -> Optional[str]:
    """The value of the first ``prefix: value`` line of ``path`` (None if there is none)."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(prefix) and ":" in line:
            return line.split(":", 1)[1].strip()
    return None


def _output(command: List[str]) -> Optional[str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def pouchdb_server_version() -> Optional[str]:
    """The version of the pouchdb-server grid-lrt would start (its package.json)."""
    from grid_lrt.client.localserver import find_pouchdb_server
    from grid_lrt.shared.errors import LrtError

    try:
        package = find_pouchdb_server().resolve().parents[1] / "package.json"
        return str(json.loads(package.read_text())["version"])
    except (LrtError, OSError, ValueError, KeyError, IndexError):
        return None


def describe() -> Dict[str, Any]:
    """The machine, for a results file: CPU, cores, memory, kernel, Python, server, date."""
    mem_kib = _first("/proc/meminfo", "MemTotal")
    root = Path(__file__).resolve().parents[2]
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _output(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"])
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": _first("/proc/cpuinfo", "model name") or platform.processor() or None,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem_kib.split()[0]) * 1024 / 1e9, 1) if mem_kib else None,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pouchdb_server": pouchdb_server_version(),
        "node": _output(["node", "--version"]),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "commit": f"{commit}{' (with local changes)' if dirty else ''}" if commit else None,
    }
