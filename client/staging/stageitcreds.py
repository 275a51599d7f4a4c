"""Credentials of today's LTA stager (ASTRON's StageIT), and which service they select.

Looked up when first needed, never at import. An API token comes from (first match wins):

1. explicit ``token``/``host`` arguments;
2. ``~/.stagingrc``, an INI body without a section header: ``api_token=<token>`` and,
   optionally, ``hostname=<host>`` (may carry ``:port``);
3. environment variables ``LOFAR_LTA_TOKEN`` and, optionally, ``LOFAR_LTA_HOST``.

The host comes from the same place as the token; the default is ``sdc.astron.nl``.

Which service (:func:`decide_service`), as ASTRON's client 2.0 decides it: an API token selects
StageIT. Without one, the user/password lookup of :mod:`.ltacreds` (``~/.awe/Environment.cfg``,
``~/.stagingrc`` ``user=``/``password=``, ``LOFAR_LTA_USER``/``LOFAR_LTA_PWD``) selects the
legacy XML-RPC stager. ASTRON's 2.0 refuses a ``~/.stagingrc`` that holds only
``user=``/``password=``; grid-lrt keeps it working with the XML-RPC stager, on purpose, so both
services keep working. A file holding both kinds uses the token.

The token never appears in a message, log line, ``repr`` or exception. A ``~/.stagingrc``
holding a token that other users may read is warned about (with the ``chmod 600`` that fixes it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple

from grid_lrt.client.staging.base import StagingError
from grid_lrt.client.staging.ltacreds import (
    LtaCredentialsError,
    credentials_help,
    get_staging_creds,
)
from grid_lrt.shared.credentials import warn_if_readable_by_others

__all__ = [
    "DEFAULT_HOST",
    "ENV_HOST",
    "ENV_TOKEN",
    "STAGINGRC",
    "NoStagingCredentialsError",
    "ServiceChoice",
    "StageItCredentials",
    "StageItCredentialsError",
    "choose_service",
    "decide_service",
    "find_stageit_creds",
    "get_stageit_creds",
    "stagingrc_path",
    "token_help",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "sdc.astron.nl"
STAGINGRC = ".stagingrc"
ENV_TOKEN = "LOFAR_LTA_TOKEN"  # noqa: S105  (a variable name)
ENV_HOST = "LOFAR_LTA_HOST"


class StageItCredentialsError(StagingError):
    """No (or a refused) StageIT API token; the message says where to get and put one."""


class NoStagingCredentialsError(StageItCredentialsError, LtaCredentialsError):
    """Neither an API token (StageIT) nor a user/password (XML-RPC stager) was found."""


def token_help() -> str:
    """Where to get an API token and where to put it (one sentence)."""
    return (
        "Get a StageIT API token from ASTRON's SDC portal (https://sdc.astron.nl, log in, "
        f"API token), then put 'api_token=<token>' in ~/{STAGINGRC} (chmod 600; optionally "
        f"'hostname=<host>', default {DEFAULT_HOST}) or set {ENV_TOKEN} (and {ENV_HOST})."
    )


@dataclass(frozen=True)
class StageItCredentials:
    """An API token and the StageIT host it is for; ``repr`` never shows the token."""

    token: str = field(repr=False)
    host: str = DEFAULT_HOST
    #: Where they came from: ``'arguments'``, the file's path, or the variable's name.
    source: str = "arguments"
    #: Where the host came from: as ``source``, or ``'default'`` (:data:`DEFAULT_HOST`).
    host_source: str = "default"
    #: For a token of the file: the line numbers of its ``api_token`` (and ``hostname``) lines.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ServiceChoice:
    """The service the credentials select, with what it needs (secrets never in ``repr``)."""

    name: str  # "stageit" or "lta"
    stageit: Optional[StageItCredentials] = None
    user: str = ""
    password: str = field(default="", repr=False)


def _home() -> Path:
    return Path("~").expanduser()


def stagingrc_path() -> Path:
    """``~/.stagingrc``, the file the API token (and the XML-RPC user/password) may be in."""
    return _home() / STAGINGRC


def _read_stagingrc(path: Path) -> Tuple[Dict[str, str], Dict[str, int]]:
    """``key=value`` (or ``key: value``) lines of ``path`` (keys lower-case), and the line
    number of each; both {} if unreadable. The first line of a key counts.

    Lines that are neither are ignored with a warning that names the line number only (the
    line could be a token)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc.__class__.__name__)
        return {}, {}
    pairs: Dict[str, str] = {}
    lines: Dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i > 0), default=-1)
        if cut < 0:
            log.warning("line %d of %s is not key=value; ignored", number, path)
            continue
        key = line[:cut].strip().lower()
        if key not in pairs:
            pairs[key], lines[key] = line[cut + 1 :].strip(), number
    return pairs, lines


def find_stageit_creds(
    token: Optional[str] = None, host: Optional[str] = None
) -> Optional[StageItCredentials]:
    """The API token and host in the documented order, or None when there is no token."""
    if token:
        found, origin = _host(host, "", "")
        return StageItCredentials(token=token, host=found, source="arguments", host_source=origin)
    rc = stagingrc_path()
    if rc.is_file():
        pairs, lines = _read_stagingrc(rc)
        if pairs.get("api_token"):
            warn_if_readable_by_others(rc, "your LTA API token")
            found, origin = _host(host, pairs.get("hostname", ""), str(rc))
            log.debug("LTA API token from %s (host %s)", rc, found)
            used = {"api_token": lines["api_token"]}
            if origin == str(rc):
                used["hostname"] = lines["hostname"]
            return StageItCredentials(
                token=pairs["api_token"], host=found, source=str(rc), host_source=origin, lines=used
            )
    env_token = os.environ.get(ENV_TOKEN, "").strip()
    if env_token:
        found, origin = _host(host, os.environ.get(ENV_HOST, "").strip(), ENV_HOST)
        log.debug("LTA API token from %s (host %s)", ENV_TOKEN, found)
        return StageItCredentials(token=env_token, host=found, source=ENV_TOKEN, host_source=origin)
    return None


def _host(given: Optional[str], found: str, where: str) -> Tuple[str, str]:
    """The host and where it came from: the argument, ``found`` (in ``where``), the default."""
    if given:
        return given, "arguments"
    if found:
        return found, where
    return DEFAULT_HOST, "default"


def get_stageit_creds(
    token: Optional[str] = None, host: Optional[str] = None
) -> StageItCredentials:
    """Like :func:`find_stageit_creds`, but no token is an error.

    Raises:
        StageItCredentialsError: No token anywhere; the message says where to get one.
    """
    creds = find_stageit_creds(token, host)
    if creds is None:
        raise StageItCredentialsError(
            f"No StageIT API token found in ~/{STAGINGRC} (api_token=) or {ENV_TOKEN}.",
            hint=token_help(),
        )
    return creds


def decide_service() -> ServiceChoice:
    """The LTA service the credentials select: StageIT with a token, else XML-RPC.

    Raises:
        NoStagingCredentialsError: Neither a token nor a user/password; the hint names both.
    """
    creds = find_stageit_creds()
    if creds is not None:
        return ServiceChoice(name="stageit", stageit=creds)
    try:
        user, password = get_staging_creds()
    except LtaCredentialsError:
        raise NoStagingCredentialsError(
            f"No LTA credentials: no API token (~/{STAGINGRC} api_token= or {ENV_TOKEN}) "
            "and no user/password for the old XML-RPC stager.",
            hint=token_help() + " Or, for the old XML-RPC stager: " + credentials_help(),
        ) from None
    return ServiceChoice(name="lta", user=user, password=password)


def choose_service() -> str:
    """``'stageit'`` or ``'lta'``: the name of the service :func:`decide_service` selects."""
    return decide_service().name
