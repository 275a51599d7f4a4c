"""Uploading over ssh: ``scp://[user@]host[:port]/path`` and ``[user@]host:path`` destinations.

The seed's fallback for machines without grid tools (``scp <tar> gaasp:/disks/ftphome/...``).
``scp`` and ``ssh`` run as subprocesses with argument lists and ``BatchMode=yes`` (a missing
key fails instead of prompting). The remote commands (``test -e``, ``mkdir -p``,
``sha256sum``) get their path through ``shlex.quote``; paths with characters outside
``A-Za-z0-9._/+~-`` are refused rather than quoted for two shells.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional
from urllib.parse import urlsplit

from grid_lrt.shared.errors import UsageError

from .errors import SandboxError

__all__ = ["ScpTarget", "is_scp", "parse_scp", "scp_argv", "ssh_argv", "ssh_run"]

_HOST_PATH = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9._-]+:")
_SAFE_PATH = re.compile(r"^[A-Za-z0-9._/+~-]+$")
_TIMEOUT = 600.0


@dataclass(frozen=True)
class ScpTarget:
    """Where an scp upload goes: ``login`` (``[user@]host``), an optional port, the path."""

    login: str
    path: str
    port: Optional[int] = None

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"scp://{self.login}{port}/{self.path.lstrip('/')}"


def is_scp(dest: str) -> bool:
    """True for ``scp://...`` and ``[user@]host:path`` (not for other URLs or local paths)."""
    if dest.startswith("scp://"):
        return True
    return "://" not in dest and not dest.startswith("/") and bool(_HOST_PATH.match(dest))


def parse_scp(dest: str) -> ScpTarget:
    """Split an scp destination.

    Raises:
        UsageError: No host, no path, a bad port, or a path with unsafe characters.
    """
    if dest.startswith("scp://"):
        parts = urlsplit(dest)
        try:
            port = parts.port
        except ValueError:
            raise UsageError(f"{dest!r}: the port is not a number") from None
        host = parts.hostname or ""
        login = f"{parts.username}@{host}" if parts.username else host
        path = parts.path
    else:
        login, _, path = dest.partition(":")
        port = None
        host = login.rsplit("@", 1)[-1]
    if not host or not path or path == "/":
        raise UsageError(
            f"{dest!r} is not an scp destination",
            hint="write scp://host/path/file.tar.gz or host:path/file.tar.gz",
        )
    if not _SAFE_PATH.match(path) or ".." in path.split("/"):
        raise UsageError(
            f"scp path {path!r} has characters that would need quoting for the remote shell",
            hint="use letters, digits and . _ / + ~ - only",
        )
    return ScpTarget(login=login, path=path, port=port)


def scp_argv(src: Path, target: ScpTarget) -> List[str]:
    """The ``scp`` command that copies ``src`` to ``target``."""
    port = ["-P", str(target.port)] if target.port else []
    return [
        "scp",
        "-q",
        "-o",
        "BatchMode=yes",
        *port,
        "--",
        str(src),
        f"{target.login}:{target.path}",
    ]


def ssh_argv(target: ScpTarget, *command: str) -> List[str]:
    """The ``ssh`` command running ``command`` (each word quoted) on ``target``'s host."""
    port = ["-p", str(target.port)] if target.port else []
    remote = " ".join(shlex.quote(word) for word in command)
    return ["ssh", "-o", "BatchMode=yes", *port, target.login, "--", remote]


def ssh_run(argv: List[str], what: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run an ``scp``/``ssh`` command; a failure (with ``check``) is a SandboxError.

    Raises:
        SandboxError: The command is missing, timed out, or (with ``check``) exited non-zero.
    """
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise SandboxError(
            f"cannot {what}: the {argv[0]} command is not installed",
            hint="install the OpenSSH client",
        ) from None
    except subprocess.TimeoutExpired:
        raise SandboxError(f"cannot {what}: {argv[0]} took more than {_TIMEOUT:.0f} s") from None
    if check and done.returncode != 0:
        said = " | ".join(done.stderr.strip().splitlines()[-3:]) or f"exit {done.returncode}"
        raise SandboxError(
            f"cannot {what}: {said}",
            hint="check that `ssh HOST` works without a password prompt (ssh keys, ~/.ssh/config)",
        )
    return done
