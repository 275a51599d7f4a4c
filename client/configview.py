"""The login node's effective settings, and where each came from (``lrt config show``).

Every value is found by the reader the commands use: the PiCaS settings by
:func:`grid_lrt.shared.credentials.picas_cred`, the StageIT token by
:func:`~grid_lrt.client.staging.stageitcreds.find_stageit_creds`, the XML-RPC stager's login
by :func:`~grid_lrt.client.staging.ltacreds.lookup_staging_creds`; so what is shown is what a
command would use, and a malformed file is the same error here as there.

A :class:`Setting` never holds a secret (a password, the API token, a macaroon): its value is
:data:`MASK` when the secret is set, None when it is not. Sources read ``env PICAS_URL``,
``~/.picasrc line 3``, ``--url``, ``default`` or ``not set``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional

from grid_lrt.launcher.storage import ENV_VAR as STORAGE_VARIABLE
from grid_lrt.shared.credentials import picas_cred, picasrc_path
from grid_lrt.shared.redact import redact_url

from .staging import lta, stageit_http
from .staging.locality import ENV_DOOR
from .staging.ltacreds import ENV_PASSWORD, ENV_USER, LtaCredentialsError, lookup_staging_creds
from .staging.stagebook import stage_dir
from .staging.stageitcreds import (
    DEFAULT_HOST,
    StageItCredentials,
    find_stageit_creds,
    stagingrc_path,
)
from .submit.submission import submissions_root

__all__ = ["MASK", "Setting", "effective_settings", "shown_path"]

#: What a secret that is set shows as.
MASK = "***"
_NOT_SET = "not set"
_DEFAULT = "default"
#: The flags of a command that override a PiCaS field.
_FLAGS = {"url": "--url", "database": "--db"}


@dataclass(frozen=True)
class Setting:
    """One effective setting: ``name`` (``picas.url``), its value (None: not set; a secret:
    :data:`MASK`) and where it came from."""

    name: str
    value: Optional[str]
    source: str

    def as_dict(self) -> Dict[str, Optional[str]]:
        """``{"name": ..., "value": ..., "source": ...}``, for ``--json``."""
        return asdict(self)


def shown_path(path: Path) -> str:
    """``path`` with the home directory written ``~`` (``~/.picasrc``)."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def _line(path: Path, number: Optional[int]) -> str:
    return f"{shown_path(path)} line {number}" if number else shown_path(path)


def _file(path: Path, source: str) -> Setting:
    """Which file a group reads, and why that one; ``; no such file`` when it is missing."""
    return Setting("file", shown_path(path), source + ("" if path.is_file() else "; no such file"))


def _grouped(group: str, settings: List[Setting]) -> List[Setting]:
    return [Setting(f"{group}.{s.name}", s.value, s.source) for s in settings]


def picas_settings(
    url: Optional[str] = None, db: Optional[str] = None, config_file: Optional[Path] = None
) -> List[Setting]:
    """The PiCaS file, url, database, user and password (and macaroons, when the file has
    any), with ``url``/``db`` as a command's ``--url``/``--db`` and ``config_file`` as the
    global ``--config`` (which has set ``PICASRC``)."""
    path = picasrc_path()
    if config_file is not None:
        why = "--config"
    else:
        why = "env PICASRC" if os.environ.get("PICASRC") else _DEFAULT
    creds = picas_cred(dbn=db, url=url)
    settings = [_file(path, why)]
    for name in ("url", "database", "user", "password"):
        value: Optional[str] = getattr(creds, name) or None
        origin = creds.sources.get(name)
        if origin is None:
            source = _DEFAULT if name == "url" else _NOT_SET
        elif origin == "argument":
            source = _FLAGS[name]
        elif origin.startswith("$"):
            source = "env " + origin[1:]
        else:
            source = _line(path, creds.lines.get(name))
        if name == "password":
            value = MASK if value else None
        elif name == "url" and value:
            value = redact_url(value)
        settings.append(Setting(name, value, source))
    if creds.macaroons:
        count = len(creds.macaroons)
        lines = f"{count} macaroon= line{'s' if count > 1 else ''}"
        settings.append(Setting("macaroons", MASK, f"{shown_path(path)} ({lines})"))
    return _grouped("picas", settings)


def _stageit_source(origin: str, number: Optional[int]) -> str:
    """``~/.stagingrc line 1``, ``env LOFAR_LTA_TOKEN``, ``default``, ``argument``."""
    if origin == "arguments":
        return "argument"
    if origin == _DEFAULT:
        return _DEFAULT
    if number:
        return _line(Path(origin), number)
    return "env " + origin


def _stageit(found: Optional[StageItCredentials]) -> List[Setting]:
    if found is None:
        token, host = Setting("token", None, _NOT_SET), Setting("host", DEFAULT_HOST, _DEFAULT)
    else:
        token = Setting("token", MASK, _stageit_source(found.source, found.lines.get("api_token")))
        host = Setting(
            "host", found.host, _stageit_source(found.host_source, found.lines.get("hostname"))
        )
    variable = stageit_http.ENV_URL
    url_source = f"env {variable}" if os.environ.get(variable, "").strip() else "from host"
    url = Setting("url", redact_url(stageit_http.base_url(str(host.value))), url_source)
    return _grouped("stageit", [host, token, url])


def _xmlrpc(found: Optional[StageItCredentials]) -> List[Setting]:
    if found is not None:
        why = "not looked up: the API token selects StageIT"
        user, password = Setting("user", None, why), Setting("password", None, why)
    else:
        try:
            login = lookup_staging_creds()
        except LtaCredentialsError:
            user, password = Setting("user", None, _NOT_SET), Setting("password", None, _NOT_SET)
        else:
            if login.lines != (0, 0):
                where = [_line(Path(login.source), number) for number in login.lines]
            elif login.source == "arguments":
                where = ["argument", "argument"]
            else:
                where = [f"env {ENV_USER}", f"env {ENV_PASSWORD}"]
            user = Setting("user", login.user, where[0])
            password = Setting("password", MASK, where[1])
    variable = lta.ENV_URL
    raw = os.environ.get(variable)
    url = Setting("url", redact_url(raw or lta.DEFAULT_URL), f"env {variable}" if raw else _DEFAULT)
    return _grouped("xmlrpc", [user, password, url])


def staging_settings() -> List[Setting]:
    """The LTA service the credentials select, StageIT's host and token, the XML-RPC
    stager's user and password (looked up only without a token, as the commands do)."""
    found = find_stageit_creds()
    xmlrpc = _xmlrpc(found)
    if found is not None:
        service = Setting("service", "stageit", "an API token is set")
    elif xmlrpc[0].value is not None:
        service = Setting("service", "xmlrpc", "no API token; a user and password are set")
    else:
        service = Setting("service", "none", "no API token, no user and password")
    head = _grouped("staging", [service, _file(stagingrc_path(), _DEFAULT)])
    return head + _stageit(found) + xmlrpc


def _variable(name: str, default: Optional[str]) -> Setting:
    raw = os.environ.get(name, "").strip()
    if raw:
        return Setting(name, raw, f"env {name}")
    return Setting(name, default, _DEFAULT if default is not None else _NOT_SET)


def other_settings() -> List[Setting]:
    """The ``LRT_*`` variables that matter on the login node, with their defaults: where
    staging requests, their queue and macaroons are kept, where submissions are made, the
    launcher's wheels (none: those of this installation), the storage backend of uploads,
    the door file states are read through (none: SRM)."""
    return [
        _variable("LRT_STAGE_DIR", shown_path(stage_dir())),
        _variable("LRT_SUBMIT_DIR", shown_path(submissions_root())),
        _variable("LRT_LAUNCHER_WHEELS", None),
        _variable(STORAGE_VARIABLE, "auto"),
        _variable(ENV_DOOR, None),
    ]


def effective_settings(
    url: Optional[str] = None, db: Optional[str] = None, config_file: Optional[Path] = None
) -> List[Setting]:
    """Every setting ``lrt config show`` shows: PiCaS (``picas.*``), staging (``staging.*``,
    ``stageit.*``, ``xmlrpc.*``), then the ``LRT_*`` variables; see :func:`picas_settings`.

    Raises:
        ConfigError: the PiCaS credentials file is malformed (the line is named, not shown).
    """
    return picas_settings(url, db, config_file) + staging_settings() + other_settings()
