"""PiCaS credentials: ``PICAS_*`` environment variables over ``~/.picasrc``.

``~/.picasrc`` holds ``key=value`` lines (``user=``, ``password=``, ``database=``, ``url=``);
blank lines and ``#`` comments are ignored. Each environment variable (``PICAS_USR``,
``PICAS_USR_PWD``, ``PICAS_DB``, ``PICAS_URL``) overrides the file's value for its field, and
explicit arguments override both. The password never appears in ``repr``, logs or messages;
a malformed line is described (its number, the key if it looks like one), never shown.

The file may also hold download macaroons, one line per LTA site (``lrt submit`` writes them
into the pilots' credentials file; they come from no environment variable)::

    macaroon=<door URL prefix> <valid until, ISO 8601 UTC> <macaroon>
    macaroon=https://webdav.grid.surfsara.nl:2880 2026-12-02T14:00:00Z MDAxY2xvY2F0aW9u...

They become :attr:`PicasCredentials.macaroons` (:class:`Macaroon`). Each macaroon is
registered with :func:`grid_lrt.shared.redact.add_secret` as soon as it is read, so no
redacted message or log line shows it; its ``repr`` hides it.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from .errors import ConfigError
from .redact import add_secret

__all__ = [
    "DEFAULT_URL",
    "MACAROON_FORMAT",
    "Macaroon",
    "PicasCredentials",
    "picas_cred",
    "picasrc_path",
    "warn_if_readable_by_others",
]

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
#: The shape of a ``macaroon=`` line, for messages.
MACAROON_FORMAT = "macaroon=<door URL prefix> <valid until, ISO 8601 UTC> <macaroon>"
_DOOR_SCHEMES = {"http": "http", "https": "https", "dav": "http", "davs": "https"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: What a macaroon may hold: base64url (dCache), base64 and the other header-safe characters.
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+\Z")
#: ISO 8601 in UTC, as Python 3.9's fromisoformat does not read it all (``Z``, ``.5``).
_UTC_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:Z|z|\+00:?00)\Z")


def _door_key(url: str) -> Optional[Tuple[str, str, int, str]]:
    """(scheme, host, port, path) of an http(s)/dav(s) URL, dav(s) as http(s); None otherwise."""
    try:
        parts = urlsplit(url)
        scheme = _DOOR_SCHEMES.get(parts.scheme.lower())
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme or "", 0)
    except ValueError:
        return None
    if scheme is None or not host:
        return None
    return scheme, host, port, parts.path


def _utc_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Macaroon:
    """A download macaroon for the files under ``door`` (a URL prefix), until ``valid_until``.

    Attributes:
        door: The door URL prefix it is sent to (scheme, host, port and path prefix).
        valid_until: When it expires, seconds since the epoch.
        token: The macaroon itself, a bearer secret (never in ``repr``).
    """

    door: str
    valid_until: float
    token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Macaroon(door={self.door!r}, valid_until={self.valid_until_text!r}, token='***')"

    @property
    def valid_until_text(self) -> str:
        """``valid_until`` as ISO 8601 UTC (``2026-12-02T14:00:00Z``)."""
        return _utc_text(self.valid_until)

    def expired(self, now: Optional[float] = None) -> bool:
        """True once ``valid_until`` has passed."""
        return (time.time() if now is None else now) >= self.valid_until

    def covers(self, url: str) -> bool:
        """True when ``url`` is under the door: same scheme (``davs`` counts as ``https``,
        ``dav`` as ``http``), host, port (default ports filled in) and path prefix (whole
        path segments)."""
        door, target = _door_key(self.door), _door_key(url)
        if door is None or target is None or door[:3] != target[:3]:
            return False
        prefix = door[3].rstrip("/")
        path = target[3] or "/"
        return not prefix or path == prefix or path.startswith(prefix + "/")


def _parse_time(text: str) -> Optional[float]:
    """``2026-12-02T14:00:00Z`` (fractions and ``+00:00`` accepted) → epoch seconds; None when
    it is not ISO 8601 with a UTC offset."""
    match = _UTC_TIME.match(text)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # 2026-13-45T...
        return None
    return moment.timestamp() + float("0" + (match.group(7) or ""))


def _parse_macaroon(value: str) -> Tuple[Optional[Macaroon], str]:
    """A ``macaroon=`` value → (Macaroon, "") or (None, what is wrong, without its text)."""
    fields = value.split()
    if fields:
        add_secret(fields[-1])  # before anything can go wrong: the last field is the secret
    if len(fields) != 3:
        return None, f"it has {len(fields)} fields, not 3"
    door, until, token = fields
    key = _door_key(door)
    if key is None:
        return None, "the door is not an http(s):// or davs:// URL with a host"
    parts = urlsplit(door)
    if parts.query or parts.fragment or "@" in parts.netloc:
        return None, "the door must be scheme://host[:port][/path], without user, query or #"
    moment = _parse_time(until)
    if moment is None:
        return None, "the time is not ISO 8601 UTC (e.g. 2026-12-02T14:00:00Z)"
    if not _TOKEN.match(token):
        return None, "the macaroon holds characters a macaroon cannot hold"
    return Macaroon(door.rstrip("/"), moment, token), ""


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
    #: Per field: ``'argument'``, ``'$PICAS_...'`` (the variable) or the credentials file's path.
    sources: Dict[str, str] = field(default_factory=dict)
    #: The download macaroons of the credentials file (``macaroon=`` lines), in file order.
    macaroons: Tuple[Macaroon, ...] = ()
    #: Per field read from the credentials file: the number of its line there (1-based).
    lines: Dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        masked = "***" if self.password else ""
        return (
            f"PicasCredentials(user={self.user!r}, password={masked!r}, "
            f"database={self.database!r}, url={self.url!r}, macaroons={self.macaroons!r})"
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


def warn_if_readable_by_others(path: Path, holds: str) -> None:
    """Warn (with the ``chmod 600`` that fixes it) when users other than the owner may read
    ``path``, a file that holds ``holds`` (e.g. "your PiCaS password")."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s is readable by other users and holds %s; run: chmod 600 %s", path, holds, path
        )


def _read_picasrc(path: Path) -> Tuple[Dict[str, str], Dict[str, int], Tuple[Macaroon, ...]]:
    """The file's values, the line number of each, and its macaroons (all empty: no file)."""
    if not path.is_file():
        return {}, {}, ()
    warn_if_readable_by_others(path, "your PiCaS password")
    values: Dict[str, str] = {}
    lines: Dict[str, int] = {}
    macaroons: List[Macaroon] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if sep and key == "macaroon":
            macaroon, problem = _parse_macaroon(value)
            if macaroon is None:
                raise ConfigError(
                    f"{path}, line {number}: a malformed macaroon= line ({problem})",
                    hint=f"each macaroon line is {MACAROON_FORMAT}; "
                    "get fresh ones with: lrt stage macaroons ID",
                )
            macaroons.append(macaroon)
            continue
        if not sep or key not in _FILE_KEYS:
            raise ConfigError(
                f"{path}, line {number}: expected one of "
                f"{', '.join(k + '=' for k in (*_FILE_KEYS, 'macaroon'))}, got {_what(key, sep)}",
                hint="each line is key=value, e.g. user=alice",
            )
        values[_FILE_KEYS[key]] = value.strip()
        lines[_FILE_KEYS[key]] = number
    return values, lines, tuple(macaroons)


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
    """Collect the PiCaS credentials (arguments > environment > ``~/.picasrc`` > defaults).

    Where each value came from is in :attr:`PicasCredentials.sources` (and, for a value of the
    file, the number of its line in :attr:`PicasCredentials.lines`); a field in neither came
    from nowhere (its default)."""
    path = picasrc_path()
    from_file, lines, macaroons = _read_picasrc(path)
    creds = PicasCredentials(macaroons=macaroons)
    explicit = {"user": usr, "password": pwd, "database": dbn, "url": url}
    for name, env_name in _ENV_KEYS.items():
        value, source = explicit[name], "argument"
        if value is None and os.environ.get(env_name):
            value, source = os.environ[env_name], f"${env_name}"
        if value is None and from_file.get(name):
            value, source = from_file[name], str(path)
            creds.lines[name] = lines[name]
        if value is not None:
            setattr(creds, name, value)
            creds.sources[name] = source
    return creds
