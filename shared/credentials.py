"""PiCaS credentials: ``PICAS_*`` environment variables over ``~/.picasrc``.

``~/.picasrc`` holds ``key=value`` lines (``user=``, ``password=``, ``database=``, ``url=``);
blank lines and ``#`` comments are ignored. Each environment variable (``PICAS_USR``,
``PICAS_USR_PWD``, ``PICAS_DB``, ``PICAS_URL``) overrides the file's value for its field, and
explicit arguments override both. The password never appears in ``repr``, logs or messages;
a malformed line is described (its number, the key if it looks like one), never shown.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

from .errors import ConfigError

__all__ = ["DEFAULT_URL", "PicasCredentials", "picas_cred", "picasrc_path"]

log = logging.getLogger(__name__)

#: SURF's LOFAR PiCaS server, the seed's default.
DEFAULT_URL = "https://picas-lofar.grid.surfsara.nl:6984"

#: What a key in ~/.picasrc may look like for an error message to show it.
_KEY_LIKE = re.compile(r"[a-z_][a-z0-9_.-]{0,31}\Z")
_FILE_KEYS = {"user": "user", "password": "password", "database": "database", "url": "url"}
_ENV_KEYS = {
    "user": "PICAS_USR",
    "password": "PICAS_USR_PWD",
    "database": "PICAS_DB",
    "url": "PICAS_URL",
}


def picasrc_path() -> Path:
    """``$PICASRC`` if set, else ``~/.picasrc``."""
    return Path(os.environ.get("PICASRC") or Path.home() / ".picasrc")


@dataclass
class PicasCredentials:
    """User, password, database and server URL, with where each value came from."""

    user: str = ""
    password: str = field(default="", repr=False)
    database: str = ""
    url: str = DEFAULT_URL
    sources: Dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        masked = "***" if self.password else ""
        return (
            f"PicasCredentials(user={self.user!r}, password={masked!r}, "
            f"database={self.database!r}, url={self.url!r})"
        )

    # Seed attribute names.
    @property
    def usr(self) -> str:
        return self.user

    @property
    def pwd(self) -> str:
        return self.password

    @property
    def dbn(self) -> str:
        return self.database


def _read_picasrc(path: Path) -> Dict[str, str]:
    if not path.is_file():
        return {}
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s is readable by other users and holds your PiCaS password; run: chmod 600 %s",
            path,
            path,
        )
    values: Dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if not sep or key not in _FILE_KEYS:
            raise ConfigError(
                f"{path}, line {number}: expected one of "
                f"{', '.join(k + '=' for k in _FILE_KEYS)}, got {_what(key, sep)}",
                hint="each line is key=value, e.g. user=alice",
            )
        values[_FILE_KEYS[key]] = value.strip()
    return values


def _what(key: str, sep: str) -> str:
    """How a bad line is described: never its text, which may be (or hold) the password."""
    if not sep:
        return "a line without '='"
    if _KEY_LIKE.match(key):
        return f"the unknown key {key!r}"
    return "something that is no key before '='"


def picas_cred(
    usr: Optional[str] = None,
    pwd: Optional[str] = None,
    dbn: Optional[str] = None,
    url: Optional[str] = None,
) -> PicasCredentials:
    """Collect the PiCaS credentials (arguments > environment > ``~/.picasrc`` > defaults)."""
    path = picasrc_path()
    from_file = _read_picasrc(path)
    creds = PicasCredentials()
    explicit = {"user": usr, "password": pwd, "database": dbn, "url": url}
    for name, env_name in _ENV_KEYS.items():
        value, source = explicit[name], "argument"
        if value is None and os.environ.get(env_name):
            value, source = os.environ[env_name], f"${env_name}"
        if value is None and from_file.get(name):
            value, source = from_file[name], str(path)
        if value is not None:
            setattr(creds, name, value)
            creds.sources[name] = source
    return creds
