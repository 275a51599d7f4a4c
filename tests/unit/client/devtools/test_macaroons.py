"""The simulator's macaroons (issue 11): V1 format, HMAC chain, caveats checked."""

from __future__ import annotations

import base64
import datetime

from grid_lrt.client.devtools.macaroons import check, mint, parse

SECRET = b"archive-secret"
NOW = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.timezone.utc)
LATER = NOW + datetime.timedelta(hours=1)


def _token(**kw: object) -> str:
    args = {"location": "dcache", "identifier": "req-7", "site": "sara", "paths": ["/pnfs/a/L1"]}
    args.update(kw)
    return mint(SECRET, valid_until=LATER, **args)  # type: ignore[arg-type]


def test_round_trip_and_dcache_look() -> None:
    token = _token()
    assert token.startswith("MDA") and "=" not in token
    parsed = parse(token)
    assert parsed.identifier == "req-7" and parsed.caveat("site") == ["sara"]
    assert parsed.caveat("path") == ["/pnfs/a/L1"]


def test_check() -> None:
    token = _token()
    assert check(SECRET, token, site="sara", path="/pnfs/a/L1/SB000.tar", now=NOW) is None
    assert "another site" in str(check(SECRET, token, site="juelich", path="/pnfs/a/L1/x", now=NOW))
    assert "does not cover" in str(check(SECRET, token, site="sara", path="/pnfs/a/L10/x", now=NOW))
    assert "expired" in str(check(SECRET, token, site="sara", path="/pnfs/a/L1/x", now=LATER))
    assert check(b"other", token, site="sara", path="/pnfs/a/L1/x", now=NOW) == "bad signature"
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    widened = raw.replace(b"path:/pnfs/a/L1", b"path:/pnfs/a/L2")  # same length, new caveat
    forged = base64.urlsafe_b64encode(widened).decode().rstrip("=")
    assert check(SECRET, forged, site="sara", path="/pnfs/a/L2/x", now=NOW) == "bad signature"
    assert check(SECRET, "garbage!", site="sara", path="/p", now=NOW).startswith("not a macaroon")
