"""The launcher's settings, as a table: name → environment variable, default, kind and help.

:class:`~.config.LauncherConfig` reads them (flags over ``LRT_*`` variables over defaults) and
the CLI builds its flags and ``--help`` from them, so a setting is declared once, here.
"""

from __future__ import annotations

from typing import Any, Mapping, Tuple

from grid_lrt.shared.lease import DEFAULT_HEARTBEAT, DEFAULT_LEASE, DEFAULT_MAX_SCRUB

from .unpack_limits import DEFAULT_LIMITS

__all__ = ["OPTIONS", "SWITCHES"]


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
    "idle": (
        "LRT_IDLE",
        0.0,
        "duration",
        "with no todo token left, wait up to this long for new ones before exiting; the "
        "database's _changes feed wakes the launcher as soon as one is made (0: exit)",
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
    "readahead": (
        "LRT_CLAIM_READAHEAD",
        3,
        "int",
        "todo tokens read along with each claimed one and tried by the next claims for up "
        "to a second, without a view query of their own (0: one query per claim)",
    ),
    "db_partition": (
        "LRT_DB_PARTITION",
        "",
        "str",
        "claim only tokens of this partition (an OBSID) of a partitioned database",
    ),
    "claim_settle": (
        "LRT_CLAIM_SETTLE",
        "auto",
        "str",
        "confirm each claim this long after it landed, for databases kept in several "
        "writable copies (auto: when the database says so; 0: never)",
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
    "unpack_max_bytes": (
        "LRT_UNPACK_MAX_BYTES",
        "256G",
        "size",
        "refuse a sandbox or input archive that unpacks to more than this (code 26; 0: no limit)",
    ),
    "unpack_max_members": (
        "LRT_UNPACK_MAX_MEMBERS",
        DEFAULT_LIMITS.max_members,
        "int",
        "refuse an archive with more members than this (code 26; 0: no limit)",
    ),
    "unpack_max_ratio": (
        "LRT_UNPACK_MAX_RATIO",
        DEFAULT_LIMITS.max_ratio,
        "int",
        "refuse an archive that unpacks to more than this many times its size, once past "
        "100 MiB (a decompression bomb; code 26; 0: no limit)",
    ),
}

#: name → (environment variable, default, flag, help): on/off settings. The flag sets the
#: opposite of the default; the variable takes 1/0, true/false, yes/no, on/off.
SWITCHES: Mapping[str, Tuple[str, bool, str, str]] = {
    "export_credentials": (
        "LRT_EXPORT_CREDENTIALS",
        False,
        "--export-credentials",
        "give the pipeline PICAS_USR_PWD too (it always gets PICAS_USR, PICAS_DB and "
        "PICAS_URL without user:password@); only for pipelines that write to the token pool",
    ),
    "token_commands": (
        "LRT_TOKEN_COMMANDS",
        True,
        "--no-token-commands",
        "refuse (code 7) a token's own 'command' and token variables that change how "
        "programs load (LD_*, PATH, BASH_ENV, PYTHONPATH...): run only the sandbox's master.sh",
    ),
}
