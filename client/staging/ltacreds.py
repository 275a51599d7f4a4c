"""Credentials of the ASTRON LTA stager, looked up when first needed (never at import).

Lookup order (first match wins), as in GRID_LRT's ``stager_access.get_staging_creds``:

1. explicit ``user``/``passw`` arguments (both given);
2. ``~/.awe/Environment.cfg``: lines ``database_user : <u>`` and ``database_password : <p>``;
   when this file exists, ``~/.stagingrc`` is not read, even if the keys are missing;
3. ``~/.stagingrc``: lines ``user=<u>`` and ``password=<p>``;
4. environment variables ``LOFAR_LTA_USER`` / ``LOFAR_LTA_PWD``.

The password never appears in a message, log line or ``repr``. A credential file that other
users may read is warned about (with the ``chmod 600`` that fixes it), as ``~/.picasrc`` is.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

from grid_lrt.client.staging.base import StagingError
from grid_lrt.shared.credentials import warn_if_readable_by_others

__all__ = [
    "AWE_CFG",
    "ENV_PASSWORD",
    "ENV_USER",
    "STAGINGRC",
    "LtaCredentialsError",
    "LtaLogin",
    "credentials_help",
    "get_staging_creds",
    "lookup_staging_creds",
]

log = logging.getLogger(__name__)

#: The files, relative to the home directory, and the variables that are looked at.
AWE_CFG = ".awe/Environment.cfg"
STAGINGRC = ".stagingrc"
ENV_USER = "LOFAR_LTA_USER"
ENV_PASSWORD = "LOFAR_LTA_PWD"  # noqa: S105  (a variable name)


class LtaCredentialsError(StagingError):
    """No (or refused) LTA credentials; the message says which file or variable to set."""


@dataclass(frozen=True)
class LtaLogin:
    """A user and password for the LTA stager, with where they came from (never in ``repr``)."""

    user: str
    password: str = field(repr=False)
    #: ``'arguments'``, the file's path, or ``'LOFAR_LTA_USER/LOFAR_LTA_PWD'``.
    source: str = "arguments"
    #: From a file: the line numbers of its user and password lines (else 0, 0).
    lines: Tuple[int, int] = (0, 0)


def credentials_help() -> str:
    """One sentence naming every place LTA credentials can be given."""
    return (
        f"Put 'database_user : <user>' and 'database_password : <password>' in ~/{AWE_CFG}, "
        f"or 'user=<user>' and 'password=<password>' in ~/{STAGINGRC} (read only when "
        f"~/{AWE_CFG} does not exist), or set {ENV_USER} and {ENV_PASSWORD}."
    )


def _read_pairs(path: Path, sep: str) -> Dict[str, Tuple[str, int]]:
    """``key <sep> value`` lines of ``path`` as key → (value, line number); the first line of
    a key counts; an unreadable file gives an empty dict."""
    warn_if_readable_by_others(path, "your LTA password")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read %s: %s", path, exc.__class__.__name__)
        return {}
    pairs: Dict[str, Tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if sep not in line or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition(sep)
        pairs.setdefault(key.strip(), (value.strip(), number))
    return pairs


def _login(pairs: Dict[str, Tuple[str, int]], keys: Tuple[str, str], path: Path) -> LtaLogin:
    """The login of a file's ``keys`` (user, password) lines; empty when one is missing."""
    (u, u_line), (p, p_line) = (pairs.get(key, ("", 0)) for key in keys)
    return LtaLogin(u, p, source=str(path), lines=(u_line, p_line))


def _home() -> Path:
    return Path("~").expanduser()


def get_staging_creds(user: Optional[str] = None, passw: Optional[str] = None) -> Tuple[str, str]:
    """Return ``(user, password)`` for the LTA stager, in the documented lookup order.

    Args:
        user: Explicit user name; used when ``passw`` is given too.
        passw: Explicit password.

    Returns:
        The user name and the password.

    Raises:
        LtaCredentialsError: No source holds both a user and a password; the message names
            the files and variables to set (never a password).
    """
    login = lookup_staging_creds(user, passw)
    return login.user, login.password


def lookup_staging_creds(user: Optional[str] = None, passw: Optional[str] = None) -> LtaLogin:
    """Like :func:`get_staging_creds`, with where the user and password came from.

    Raises:
        LtaCredentialsError: No source holds both a user and a password.
    """
    if user and passw:
        log.debug("LTA credentials from arguments (user %s)", user)
        return LtaLogin(user, passw)
    home = _home()
    awe = home / AWE_CFG
    if awe.is_file():
        login = _login(_read_pairs(awe, ":"), ("database_user", "database_password"), awe)
        u, p = login.user, login.password
        if u and p:
            log.debug("LTA credentials from %s (user %s)", awe, u)
            return login
        missing = " and ".join(
            k for k, v in (("database_user", u), ("database_password", p)) if not v
        )
        note = f"{awe} exists but has no {missing} line, so ~/{STAGINGRC} is not read"
        log.warning("%s; trying %s/%s", note, ENV_USER, ENV_PASSWORD)
    else:
        rc = home / STAGINGRC
        if rc.is_file():
            login = _login(_read_pairs(rc, "="), ("user", "password"), rc)
            if login.user and login.password:
                log.debug("LTA credentials from %s (user %s)", rc, login.user)
                return login
            note = f"{rc} has no user= and password= lines"
            log.warning("%s; trying %s/%s", note, ENV_USER, ENV_PASSWORD)
        else:
            note = ""
    u, p = os.environ.get(ENV_USER, ""), os.environ.get(ENV_PASSWORD, "")
    if u and p:
        log.debug("LTA credentials from %s/%s (user %s)", ENV_USER, ENV_PASSWORD, u)
        return LtaLogin(u, p, source=f"{ENV_USER}/{ENV_PASSWORD}")
    raise LtaCredentialsError(
        f"No LTA stager credentials found in ~/{AWE_CFG}, ~/{STAGINGRC} or "
        f"{ENV_USER}/{ENV_PASSWORD}" + (f" ({note})." if note else "."),
        hint=credentials_help(),
    )
