"""Macaroons as dCache mints them, for the StageIT simulator and the test archive.

A macaroon (Birgisson et al., 2014; libmacaroons' V1 format, which dCache sends) is a bearer
token: an identifier, first-party caveats, and an HMAC-SHA256 chain over them keyed by the
minting service's secret. Serialised as packets ``<4 hex digits: length>key value\\n`` and
base64url without padding, so it starts with ``MDA`` like the tokens a dCache door hands out.

:func:`mint` makes one with the caveats dCache puts in a download macaroon (``activity:``,
``path:``, ``before:``) plus ``site:`` (the LTA site it was made for: one per site, as StageIT
lists them); :func:`check` verifies one for a path and a moment, and says why it refuses.
Only the simulator and the tests use this module: for the client and the launcher a macaroon
is an opaque secret.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

__all__ = ["Macaroon", "check", "mint", "parse"]

_KEY_GENERATOR = b"macaroons-key-generator"


@dataclass(frozen=True)
class Macaroon:
    location: str
    identifier: str
    caveats: Tuple[str, ...]
    signature: bytes

    def caveat(self, name: str) -> List[str]:
        prefix = name + ":"
        return [c[len(prefix) :] for c in self.caveats if c.startswith(prefix)]


def _key(secret: bytes) -> bytes:
    return hmac.new(_KEY_GENERATOR, secret, hashlib.sha256).digest()


def _chain(secret: bytes, identifier: str, caveats: Sequence[str]) -> bytes:
    sig = hmac.new(_key(secret), identifier.encode(), hashlib.sha256).digest()
    for caveat in caveats:
        sig = hmac.new(sig, caveat.encode(), hashlib.sha256).digest()
    return sig


def _packet(key: str, value: bytes) -> bytes:
    body = key.encode() + b" " + value + b"\n"
    return b"%04x" % (len(body) + 4) + body


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def mint(
    secret: bytes,
    *,
    location: str,
    identifier: str,
    site: str,
    paths: Sequence[str],
    valid_until: datetime.datetime,
    activity: str = "DOWNLOAD,LIST",
) -> str:
    """A serialised macaroon for reading ``paths`` (prefixes) at ``site`` until ``valid_until``."""
    caveats = [
        f"site:{site}",
        f"activity:{activity}",
        *(f"path:{p}" for p in paths),
        f"before:{_iso(valid_until)}",
    ]
    raw = _packet("location", location.encode()) + _packet("identifier", identifier.encode())
    raw += b"".join(_packet("cid", c.encode()) for c in caveats)
    raw += _packet("signature", _chain(secret, identifier, caveats))
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse(token: str) -> Macaroon:
    """Read a serialised V1 macaroon. Raises ValueError when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64") from exc
    fields: List[Tuple[str, bytes]] = []
    pos = 0
    while pos < len(raw):
        try:
            size = int(raw[pos : pos + 4], 16)
        except ValueError as exc:
            raise ValueError("bad packet length") from exc
        packet = raw[pos + 4 : pos + size]
        if size < 6 or not packet.endswith(b"\n") or b" " not in packet:
            raise ValueError("bad packet")
        key, _, value = packet[:-1].partition(b" ")
        fields.append((key.decode(), value))
        pos += size
    keys = [k for k, _ in fields]
    if keys[:2] != ["location", "identifier"] or keys[-1:] != ["signature"]:
        raise ValueError("not a macaroon")
    return Macaroon(
        location=fields[0][1].decode(),
        identifier=fields[1][1].decode(),
        caveats=tuple(v.decode() for k, v in fields[2:-1] if k == "cid"),
        signature=fields[-1][1],
    )


def check(
    secret: bytes,
    token: str,
    *,
    site: str,
    path: str,
    now: Optional[datetime.datetime] = None,
    activity: str = "DOWNLOAD",
) -> Optional[str]:
    """None when ``token`` lets one read ``path`` at ``site`` now; else why not."""
    try:
        macaroon = parse(token)
    except ValueError as exc:
        return f"not a macaroon ({exc})"
    if not hmac.compare_digest(
        _chain(secret, macaroon.identifier, macaroon.caveats), macaroon.signature
    ):
        return "bad signature"
    return _caveat_problem(macaroon, site, path, activity, now)


def _caveat_problem(
    macaroon: Macaroon, site: str, path: str, activity: str, now: Optional[datetime.datetime]
) -> Optional[str]:
    if site not in macaroon.caveat("site"):
        return f"made for another site ({', '.join(macaroon.caveat('site'))})"
    if not any(activity in a.split(",") for a in macaroon.caveat("activity")):
        return f"does not allow {activity}"
    allowed = macaroon.caveat("path")
    if not any(path == p or path.startswith(p.rstrip("/") + "/") for p in allowed):
        return f"does not cover {path}"
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    for before in macaroon.caveat("before"):
        limit = datetime.datetime.strptime(before, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc
        )
        if moment >= limit:
            return f"expired at {before}"
    return None
