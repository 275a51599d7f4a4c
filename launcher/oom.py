"""The cgroup's ``oom_kill`` counter: how the launcher tells an out-of-memory kill of the
pipeline (code 92, ``PIPELINE_KILLED_OOM``) from any other SIGKILL."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

__all__ = ["find_memory_events", "oom_kill_count"]

_CGROUP_ROOT = Path("/sys/fs/cgroup")


def find_memory_events(
    proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = _CGROUP_ROOT
) -> Optional[Path]:
    """The file holding this process's cgroup ``oom_kill`` counter, or None.

    cgroup v2 (``0::/path``) → ``<root>/<path>/memory.events``; cgroup v1 (``N:memory:/path``
    or ``N:...,memory,...:/path``) → ``<root>/memory/<path>/memory.oom_control``.
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        relative = path.lstrip("/")
        if hierarchy == "0" and controllers == "":
            candidate = root / relative / "memory.events"
        elif "memory" in controllers.split(","):
            candidate = root / "memory" / relative / "memory.oom_control"
        else:
            continue
        if candidate.is_file():
            return candidate
    return None


def oom_kill_count(path: Optional[Path]) -> Optional[int]:
    """The ``oom_kill`` value in a ``memory.events``/``memory.oom_control`` file, or None."""
    if path is None:
        return None
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None
