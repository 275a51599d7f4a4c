"""Where a secret shows up in running processes: ``/proc/<pid>/cmdline`` and ``environ``.

Tests that promise "no secret in any argv or job environment" sample this while their jobs
run (a process that has exited cannot be read, so they sample often).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, Tuple

__all__ = ["JobScan", "processes_holding", "scan_jobs"]


def _read(pid_dir: Path) -> Tuple[bytes, bytes]:
    try:
        return (pid_dir / "cmdline").read_bytes(), (pid_dir / "environ").read_bytes()
    except OSError:
        return b"", b""


def processes_holding(secrets: Iterable[str]) -> Dict[str, str]:
    """``{"<pid>/cmdline" | "<pid>/environ": secret}`` for every process holding one now."""
    wanted = [(s, s.encode()) for s in secrets]
    found: Dict[str, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv, environ = _read(entry)
        for text, raw in wanted:
            if raw in argv:
                found[f"{entry.name}/cmdline"] = text
            if raw in environ:
                found[f"{entry.name}/environ"] = text
    return found


JobScan = Dict[str, int]


def scan_jobs(secret: str, job_marker: str) -> JobScan:
    """One sample: processes with ``secret`` in argv (``argv``), processes whose environment
    holds ``job_marker`` (``jobs``: e.g. ``SLURM_JOB_ID=``) and those of them with ``secret``
    in their environment (``environ``)."""
    found = {"jobs": 0, "argv": 0, "environ": 0}
    raw, marker = secret.encode(), job_marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv, environ = _read(entry)
        found["argv"] += raw in argv
        if marker in environ:
            found["jobs"] += 1
            found["environ"] += raw in environ
    return found
