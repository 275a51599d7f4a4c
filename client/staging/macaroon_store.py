"""The macaroons of staged requests, kept for the pilots on the login node.

``lrt stage macaroons ID`` asks StageIT for a request's macaroons (one per LTA site) and keeps
each as a line of ``~/.config/grid-lrt/macaroons`` (``$LRT_STAGE_DIR``; mode 0600), in the
format the launcher reads from its credentials file::

    macaroon=<door URL> <valid until, ISO 8601 UTC> <macaroon>

``lrt submit`` copies the lines still valid into each submission's 0600 ``lrt-credentials``,
so pilots read staged files from the site's WebDAV door with ``Authorization: Bearer``.
A macaroon is a bearer secret: it is never printed, logged, put in a token, a job
description, an argument or an environment variable; :func:`describe` shows a door and a
time only. One door may have several macaroons (one per request staged there, each for that
request's files): all are kept, and the launcher tries those of a file's door in turn.
Expired ones are dropped whenever the file is written.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import urlsplit

from grid_lrt.shared.errors import ConfigError

from .stagebook import stage_dir

__all__ = ["KeptMacaroon", "MacaroonStore", "door_of"]


def door_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class KeptMacaroon:
    door: str
    valid_until: datetime.datetime
    token: str

    def __repr__(self) -> str:
        return f"KeptMacaroon(door={self.door!r}, valid_until={_iso(self.valid_until)!r})"

    def line(self) -> str:
        return f"macaroon={self.door} {_iso(self.valid_until)} {self.token}"

    def describe(self) -> str:
        return f"{self.door} until {_iso(self.valid_until)}"


class MacaroonStore:
    """The 0600 file of kept macaroons."""

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = path or stage_dir() / "macaroons"

    def all(self) -> List[KeptMacaroon]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        found = []
        for number, line in enumerate(lines, start=1):
            key, _, value = line.partition("=")
            words = value.split()
            if key != "macaroon" or len(words) != 3:
                raise ConfigError(
                    f"{self.path}, line {number}: not a macaroon line",
                    hint=f"delete {self.path} and run `lrt stage macaroons ID` again",
                )
            try:
                until = datetime.datetime.strptime(words[1], "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                raise ConfigError(f"{self.path}, line {number}: bad time") from None
            found.append(
                KeptMacaroon(words[0], until.replace(tzinfo=datetime.timezone.utc), words[2])
            )
        return found

    def valid(self, now: Optional[datetime.datetime] = None) -> List[KeptMacaroon]:
        moment = now or datetime.datetime.now(datetime.timezone.utc)
        return [m for m in self.all() if m.valid_until > moment]

    def keep(self, macaroons: List[KeptMacaroon]) -> None:
        """Add ``macaroons`` (the same one twice is kept once); expired ones are dropped."""
        now = datetime.datetime.now(datetime.timezone.utc)
        by_token: Dict[str, KeptMacaroon] = {m.token: m for m in self.all()}
        by_token.update({m.token: m for m in macaroons})
        kept = [m for m in by_token.values() if m.valid_until > now]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(m.line() + "\n" for m in kept))
        tmp.chmod(0o600)
        tmp.replace(self.path)
