"""The launcher's settings: flags over ``LRT_*`` environment variables over defaults.

Credentials and server come only from the environment (``PICAS_USR``, ``PICAS_USR_PWD``,
``PICAS_DB``, ``PICAS_URL``) or ``~/.picasrc``, never from the command line, so they never show
in ``ps``, in a JDL's arguments or in the batch system's accounting. ``PICAS_URL`` is checked
(:func:`~.server.server_address`) and kept without ``user:password@``: credentials in it are
used as the login when ``PICAS_USR``/``PICAS_USR_PWD`` do not say otherwise.

Two switches set how far the launcher trusts its tokens (README, "Trust model"):
``export_credentials`` (off: the pipeline gets no ``PICAS_USR_PWD``) and ``token_commands``
(on: a token's ``command`` runs and its variable mappings may set any name; off: both are
refused with code 7).

Download macaroons come only from the credentials file (``macaroon=`` lines of ``$PICASRC`` or
``~/.picasrc``, :mod:`grid_lrt.shared.credentials`). :meth:`LauncherConfig.load` installs them
for the storage adapters (:func:`grid_lrt.launcher.storage.bearer.install`); they are
registered as secrets there and never reach the pipeline's environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

from grid_lrt.shared.credentials import Macaroon, picas_cred, picasrc_path
from grid_lrt.shared.errors import LrtError, UsageError
from grid_lrt.shared.lease import DEFAULT_HEARTBEAT, DEFAULT_LEASE, DEFAULT_MAX_SCRUB
from grid_lrt.shared.partitions import require_partition

from .options import OPTIONS, SWITCHES
from .server import server_address
from .storage import bearer
from .unpack_limits import DEFAULT_LIMITS, UnpackLimits

__all__ = [
    "OPTIONS",
    "SWITCHES",
    "LauncherConfig",
    "MissingCredentialsError",
    "parse_duration",
    "parse_size",
]


class MissingCredentialsError(LrtError):
    """No PiCaS user, password or database: the launcher cannot work at all (exit 1)."""

    exit_status = 1


_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})

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


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str, *, what: str) -> int:
    """``"4096"``, ``"10M"``, ``"256G"``, ``"1TiB"`` → bytes (units of 1024)."""
    match = _SIZE.match(str(text))
    if not match:
        raise UsageError(
            f"{what}: {text!r} is not a size", hint="use bytes or a unit: 4096, 10M, 256G, 1T"
        )
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _switch(value: str, what: str) -> bool:
    text = value.strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise UsageError(f"{what}: {value!r} is neither on nor off", hint="use 1 or 0")


def _convert(name: str, kind: str, value: Any, what: str) -> Any:
    if kind == "duration":
        return parse_duration(str(value), what=what)
    if kind == "size":
        return parse_size(str(value), what=what)
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
    idle: float = 0.0
    max_tasks: int = 0
    max_time: float = 0.0
    walltime: float = 0.0
    grace: float = 30.0
    workdir: Path = field(default_factory=Path.cwd)
    sandbox_base: str = ""
    parallel: int = 4
    window: int = 100
    readahead: int = 3
    db_partition: str = ""
    claim_settle: str = "auto"
    storage: str = "auto"
    protocol: str = "auto"
    door: str = ""
    attach_limit: int = 1048576
    tail_bytes: int = 262144
    unpack_max_bytes: int = DEFAULT_LIMITS.max_bytes
    unpack_max_members: int = DEFAULT_LIMITS.max_members
    unpack_max_ratio: int = DEFAULT_LIMITS.max_ratio
    keep_jobdirs: bool = False
    export_credentials: bool = False
    """Give the pipeline ``PICAS_USR_PWD`` (``--export-credentials``)."""
    token_commands: bool = True
    """Run a token's ``command``, let its mappings set any name (off: ``--no-token-commands``)."""
    macaroons: Tuple[Macaroon, ...] = field(default=(), repr=False)
    """The download macaroons of the credentials file (each hides its token in ``repr``)."""

    @classmethod
    def load(
        cls,
        token_type: str,
        flags: Optional[Mapping[str, Any]] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> LauncherConfig:
        """Build from ``flags`` (None = not given) over ``env`` over the defaults; the
        credentials file's macaroons are installed for the storage adapters."""
        env = os.environ if env is None else env
        flags = flags or {}
        creds = picas_cred()
        address = server_address(creds.url, source=_url_source(creds.sources.get("url")))
        user = creds.user or address.user
        password = creds.password or address.password
        missing = [
            var
            for var, value in (
                ("PICAS_USR", user),
                ("PICAS_USR_PWD", password),
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
                values[name] = _convert(name, kind, default, var) if kind == "size" else default
        for name, (var, default, _flag, _help) in SWITCHES.items():
            flag = flags.get(name)
            if flag is not None:
                values[name] = bool(flag)
            elif env.get(var, "").strip():
                values[name] = _switch(env[var], f"${var}")
            else:
                values[name] = default
        workdir = Path(values.pop("workdir") or Path.cwd())
        config = cls(
            token_type=token_type,
            url=address.url,
            database=creds.database,
            user=user,
            password=password,
            workdir=workdir,
            keep_jobdirs=bool(flags.get("keep_jobdirs")),
            macaroons=creds.macaroons,
            **values,
        )
        config.validate()
        bearer.install(config.macaroons)
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
        if self.claim_settle.strip().lower() != "auto":
            parse_duration(self.claim_settle, what="--claim-settle")
        if self.window < 1 or self.parallel < 1:
            raise UsageError("--window and --parallel must be at least 1")
        if self.readahead < 0:
            raise UsageError("--readahead must be 0 or more")
        if self.db_partition:
            require_partition(self.db_partition)

    @property
    def unpack_limits(self) -> UnpackLimits:
        """The extraction limits of sandboxes and input archives."""
        return UnpackLimits(
            max_bytes=self.unpack_max_bytes,
            max_members=self.unpack_max_members,
            max_ratio=self.unpack_max_ratio,
        )


def _url_source(source: Optional[str]) -> str:
    """How messages name the server URL's origin: ``PICAS_URL``, ``url= in <file>``..."""
    if not source or source == "argument":
        return "the server URL"
    return source.lstrip("$") if source.startswith("$") else f"url= in {source}"
