"""The launcher's settings: flags over ``LRT_*`` environment variables over defaults.

Credentials and server come only from the environment (``PICAS_USR``, ``PICAS_USR_PWD``,
``PICAS_DB``, ``PICAS_URL``) or ``~/.picasrc``, never from the command line, so they never show
in ``ps``, in a JDL's arguments or in the batch system's accounting.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from grid_lrt.shared.credentials import picas_cred, picasrc_path
from grid_lrt.shared.errors import LrtError, UsageError
from grid_lrt.shared.lease import DEFAULT_HEARTBEAT, DEFAULT_LEASE, DEFAULT_MAX_SCRUB

__all__ = ["OPTIONS", "LauncherConfig", "MissingCredentialsError", "parse_duration"]


class MissingCredentialsError(LrtError):
    """No PiCaS user, password or database: the launcher cannot work at all (exit 1)."""

    exit_status = 1


#: name → (environment variable, default, kind, help). The CLI builds its flags from this table.
OPTIONS: Mapping[str, Any] = {
    "lease": (
        "LRT_LEASE",
        DEFAULT_LEASE,
        "duration",
        "a token whose lease is not renewed for this long is taken back by other launchers",
    ),
    "heartbeat": (
        "LRT_HEARTBEAT",
        DEFAULT_HEARTBEAT,
        "duration",
        "renew the lease this often (must be well below --lease)",
    ),
    "max_scrub": (
        "LRT_MAX_SCRUB",
        DEFAULT_MAX_SCRUB,
        "int",
        "after this many lost/interrupted runs a token goes to error (code 5)",
    ),
    "outage": (
        "LRT_OUTAGE",
        900.0,
        "duration",
        "keep retrying a server that does not answer (or answers 5xx) for this long before "
        "giving up; the pipeline keeps running meanwhile",
    ),
    "linger": (
        "LRT_LINGER",
        DEFAULT_LEASE,
        "duration",
        "with no todo token left, wait up to this long for tokens whose lease is running out "
        "(their launcher died) instead of exiting (0: exit at once)",
    ),
    "max_tasks": ("LRT_MAX_TASKS", 0, "int", "stop after this many tokens (0: no limit)"),
    "max_time": (
        "LRT_MAX_TIME",
        0.0,
        "duration",
        "claim no new token after this long (0: no limit)",
    ),
    "walltime": (
        "LRT_WALLTIME",
        0.0,
        "duration",
        "kill a pipeline after this long, code 91 (0: no limit; a token's `walltime` "
        "field overrides it)",
    ),
    "grace": (
        "LRT_GRACE",
        30.0,
        "duration",
        "on a stop, wait this long after SIGTERM before SIGKILL of the pipeline",
    ),
    "workdir": (
        "LRT_WORKDIR",
        "",
        "path",
        "job directories are made here (default: the current directory)",
    ),
    "sandbox_base": (
        "LRT_SANDBOX_BASE",
        "",
        "str",
        "URL that relative SBXloc paths are relative to",
    ),
    "parallel": ("LRT_PARALLEL_DOWNLOADS", 4, "int", "input files downloaded at once"),
    "window": (
        "LRT_CLAIM_WINDOW",
        100,
        "int",
        "pick a random token among this many todo tokens (fewer collisions)",
    ),
    "storage": (
        "LRT_STORAGE",
        "auto",
        "str",
        "transfer backend: auto (gfal2 when installed), gfal2, builtin",
    ),
    "protocol": (
        "LRT_TRANSFER_PROTOCOL",
        "auto",
        "str",
        "how SURLs in srm.txt are fetched: auto (gsiftp), https, srm",
    ),
    "door": (
        "LRT_DATA_DOOR",
        "",
        "str",
        "URL prefix that replaces the site of every SURL in srm.txt (a local mirror)",
    ),
    "attach_limit": (
        "LRT_ATTACH_LIMIT",
        1048576,
        "int",
        "largest PNG/FITS result (bytes) attached to the token",
    ),
    "tail_bytes": (
        "LRT_LOG_TAIL",
        262144,
        "int",
        "bytes of the end of stdout/stderr attached to the token",
    ),
}

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, *, what: str) -> float:
    """``"90"``, ``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` → seconds."""
    match = _DURATION.match(str(text))
    if not match:
        raise UsageError(
            f"{what}: {text!r} is not a duration", hint="use seconds or a unit: 90, 90s, 10m, 2h"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def _convert(name: str, kind: str, value: Any, what: str) -> Any:
    if kind == "duration":
        return parse_duration(str(value), what=what)
    if kind == "int":
        try:
            number = int(str(value).strip())
        except ValueError:
            raise UsageError(f"{what}: {value!r} is not a whole number") from None
        if number < 0:
            raise UsageError(f"{what}: {value!r} must not be negative")
        return number
    return str(value)


@dataclass
class LauncherConfig:
    """Everything one launcher process needs. ``password`` never shows in ``repr``."""

    token_type: str
    url: str
    database: str
    user: str
    password: str = field(repr=False)
    lease: float = DEFAULT_LEASE
    heartbeat: float = DEFAULT_HEARTBEAT
    max_scrub: int = DEFAULT_MAX_SCRUB
    outage: float = 900.0
    linger: float = DEFAULT_LEASE
    max_tasks: int = 0
    max_time: float = 0.0
    walltime: float = 0.0
    grace: float = 30.0
    workdir: Path = field(default_factory=Path.cwd)
    sandbox_base: str = ""
    parallel: int = 4
    window: int = 100
    storage: str = "auto"
    protocol: str = "auto"
    door: str = ""
    attach_limit: int = 1048576
    tail_bytes: int = 262144
    keep_jobdirs: bool = False
    export_credentials: bool = True

    @classmethod
    def load(
        cls,
        token_type: str,
        flags: Optional[Mapping[str, Any]] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> LauncherConfig:
        """Build from ``flags`` (None = not given) over ``env`` over the defaults."""
        env = os.environ if env is None else env
        flags = flags or {}
        creds = picas_cred()
        missing = [
            var
            for var, value in (
                ("PICAS_USR", creds.user),
                ("PICAS_USR_PWD", creds.password),
                ("PICAS_DB", creds.database),
            )
            if not value
        ]
        if missing:
            raise MissingCredentialsError(
                f"no PiCaS credentials: {', '.join(missing)} not set (and not in {picasrc_path()})",
                hint="the job must export PICAS_USR, PICAS_USR_PWD and PICAS_DB (and PICAS_URL), "
                "or provide ~/.picasrc with user=, password=, database=, url= lines; "
                "never pass them as arguments",
            )
        values: dict[str, Any] = {}
        for name, (var, default, kind, _help) in OPTIONS.items():
            flag = flags.get(name)
            if flag is not None:
                values[name] = _convert(name, kind, flag, "--" + name.replace("_", "-"))
            elif env.get(var, "").strip():
                values[name] = _convert(name, kind, env[var], f"${var}")
            else:
                values[name] = default
        workdir = Path(values.pop("workdir") or Path.cwd())
        config = cls(
            token_type=token_type,
            url=creds.url,
            database=creds.database,
            user=creds.user,
            password=creds.password,
            workdir=workdir,
            keep_jobdirs=bool(flags.get("keep_jobdirs")),
            **values,
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.heartbeat <= 0 or self.lease <= self.heartbeat:
            raise UsageError(
                f"the lease ({self.lease:g} s) must be longer than the heartbeat "
                f"({self.heartbeat:g} s)",
                hint="keep the lease several heartbeats long, e.g. --heartbeat 60 --lease 600",
            )
        if self.storage not in ("auto", "gfal2", "builtin"):
            raise UsageError(
                f"unknown storage backend {self.storage!r}: use auto, gfal2 or builtin"
            )
        if self.protocol not in ("auto", "https", "srm"):
            raise UsageError(f"unknown transfer protocol {self.protocol!r}: use auto, https or srm")
        if self.window < 1 or self.parallel < 1:
            raise UsageError("--window and --parallel must be at least 1")
