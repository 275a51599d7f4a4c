"""Download macaroons: which request gets which ``Authorization: Bearer``, and refusals.

The launcher reads the macaroons from its credentials file (``macaroon=`` lines,
:class:`~grid_lrt.shared.credentials.Macaroon`) and :func:`install` s them for this process;
both storage adapters then ask :func:`macaroon_for` per URL:

* a URL gets the macaroon whose door covers it (same scheme, ``davs`` = ``https``; host; port;
  path prefix; the longest door wins, and for the same door the one valid longest); a URL of
  any other host gets none;
* a macaroon whose ``valid_until`` has passed is refused before any request:
  :class:`MacaroonExpiredError`;
* a door answering 401/403 to a macaroon: :func:`refused_error`.

Both errors are :class:`~.base.DestinationNotAccessibleError`, which the inputs turn into code
21 (``DOWNLOAD_FAILED``), with :data:`FRESH_HINT` as the hint. Every macaroon is registered
with :func:`grid_lrt.shared.redact.add_secret` (again, here) so that no redacted text shows it.
"""

from __future__ import annotations

import threading
import time
from typing import Dict, Iterable, Optional, Sequence, Tuple

from grid_lrt.launcher.storage.base import DestinationNotAccessibleError
from grid_lrt.shared.credentials import Macaroon
from grid_lrt.shared.redact import add_secret, redact_url

__all__ = [
    "FRESH_HINT",
    "MacaroonExpiredError",
    "auth_header",
    "check_fresh",
    "fresh_macaroon",
    "install",
    "installed",
    "macaroon_for",
    "refused_error",
]

FRESH_HINT = (
    "get fresh macaroons on the login node with `lrt stage macaroons ID` (ID: the staging "
    "request), then resubmit the pilots (lrt submit writes them into the credentials file)"
)

_lock = threading.Lock()
_installed: Dict[str, Tuple[Macaroon, ...]] = {"macaroons": ()}


class MacaroonExpiredError(DestinationNotAccessibleError):
    """The macaroon for a URL's door has expired: no request was sent."""


def install(macaroons: Iterable[Macaroon]) -> None:
    """Use ``macaroons`` for this process's downloads from now on (replacing earlier ones)."""
    chosen = tuple(macaroons)
    for macaroon in chosen:
        add_secret(macaroon.token)
    with _lock:
        _installed["macaroons"] = chosen


def installed() -> Tuple[Macaroon, ...]:
    """The macaroons :func:`install` set (empty by default)."""
    with _lock:
        return _installed["macaroons"]


def macaroon_for(url: str, macaroons: Optional[Sequence[Macaroon]] = None) -> Optional[Macaroon]:
    """The macaroon for ``url`` among ``macaroons`` (default: :func:`installed`), or None."""
    found = [m for m in (installed() if macaroons is None else macaroons) if m.covers(url)]
    if not found:
        return None
    return max(found, key=lambda m: (len(m.door.rstrip("/")), m.valid_until))


def check_fresh(macaroon: Macaroon, url: str, now: Optional[float] = None) -> None:
    """Raise :class:`MacaroonExpiredError` when ``macaroon`` has expired."""
    if macaroon.expired(time.time() if now is None else now):
        safe = redact_url(url)
        raise MacaroonExpiredError(
            f"the macaroon for {macaroon.door} expired at {macaroon.valid_until_text}; "
            f"{safe} was not requested",
            url=safe,
            hint=FRESH_HINT,
        )


def fresh_macaroon(url: str, macaroons: Optional[Sequence[Macaroon]] = None) -> Optional[Macaroon]:
    """The macaroon for ``url`` (as :func:`macaroon_for`), or None.

    Raises:
        MacaroonExpiredError: The macaroon for ``url`` has expired.
    """
    macaroon = macaroon_for(url, macaroons)
    if macaroon is not None:
        check_fresh(macaroon, url)
    return macaroon


def auth_header(url: str, macaroons: Optional[Sequence[Macaroon]] = None) -> Dict[str, str]:
    """``{"Authorization": "Bearer <macaroon>"}`` for ``url``, or ``{}`` when no door covers it.

    Raises:
        MacaroonExpiredError: The macaroon for ``url`` has expired.
    """
    macaroon = fresh_macaroon(url, macaroons)
    return {} if macaroon is None else {"Authorization": f"Bearer {macaroon.token}"}


def refused_error(
    macaroon: Macaroon, what: str, url: str, status: str
) -> DestinationNotAccessibleError:
    """The error for a door that refused ``macaroon`` (``status``: "HTTP 403", "errno 13"...)."""
    safe = redact_url(url)
    return DestinationNotAccessibleError(
        f"{what} {safe}: {status}: the door refused the macaroon for {macaroon.door} "
        f"(valid until {macaroon.valid_until_text}): it does not cover this file, or it was "
        "revoked",
        url=safe,
        hint=FRESH_HINT,
    )
