"""How :class:`~.gfal.Gfal2Storage` makes its gfal2 contexts: time-outs, mock delay, macaroons.

:func:`new_context` sets the namespace and checksum time-outs, the mock plugin's copy delay
(5 s in Debian's ``mock_plugin.conf``) to 0, and the macaroons it is given.

Macaroons: gfal2 (>= 2.20) keeps credentials per URL prefix: ``ctx.cred_set(prefix,
ctx.cred_new("BEARER", token))`` (gfal2-python's module-level ``gfal2.cred_new`` is
deprecated). Its http plugin looks the prefix up for each operation (the URL must start with
it, ending at a ``/``: ``find_se_token`` in ``gfal_http_plugin.cpp``) and sends
``Authorization: Bearer <token>``; a URL of another host matches no prefix and gets none. The
contexts that carry them are used for reads only (copies from the storage, stat, checksum,
tape state): uploads, folders, renames and deletes go through a context without them.

One limit that is davix's, not ours: gfal2's http plugin follows redirects inside davix
(``setTransparentRedirectionSupport(true)``, not configurable), and davix 0.8 sends the
operation's headers again on every hop, so a door that redirects a read to another host
(a dCache door to its pool) passes the macaroon on to it. The builtin backend
(``LRT_STORAGE=builtin``) decides per hop and does not; the tests pin both behaviours.

Each door is set in its https and davs (http and dav) spelling, since gfal2 compares the
URL as text; of two macaroons for the same door the one valid longest is set.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List, Sequence

from grid_lrt.launcher.storage.base import UnsupportedSchemeError
from grid_lrt.shared.credentials import Macaroon

__all__ = ["door_prefixes", "new_context", "set_bearer_credentials"]

_TWINS = {"https": "davs", "davs": "https", "http": "dav", "dav": "http"}


def door_prefixes(door: str) -> List[str]:
    """``door`` and its twin spelling: ``https://h:2880/p`` → also ``davs://h:2880/p``."""
    scheme, sep, rest = door.partition("://")
    twin = _TWINS.get(scheme.lower())
    forms = [door.rstrip("/")]
    if sep and twin:
        forms.append(f"{twin}://{rest}".rstrip("/"))
    return forms


def set_bearer_credentials(ctx: Any, macaroons: Sequence[Macaroon]) -> None:
    """Give the gfal2 context ``ctx`` one BEARER credential per door of ``macaroons``.

    Raises:
        UnsupportedSchemeError: This gfal2 has no per-prefix credentials (older than 2.20),
            which would mean one token for every host: macaroons are not used with it.
    """
    if not macaroons:
        return
    if not (hasattr(ctx, "cred_set") and hasattr(ctx, "cred_new")):
        raise UnsupportedSchemeError(
            "this gfal2 cannot send a macaroon to its door only (no cred_set; gfal2 < 2.20)",
            hint="upgrade gfal2 (>= 2.20), or set LRT_STORAGE=builtin",
        )
    chosen: Dict[str, Macaroon] = {}
    for macaroon in macaroons:
        held = chosen.get(macaroon.door)
        if held is None or macaroon.valid_until > held.valid_until:
            chosen[macaroon.door] = macaroon
    for door, macaroon in chosen.items():
        for prefix in door_prefixes(door):
            ctx.cred_set(prefix, ctx.cred_new("BEARER", macaroon.token))


def new_context(
    gfal2: Any, *, namespace_timeout: int, checksum_timeout: int, macaroons: Sequence[Macaroon]
) -> Any:
    """A new gfal2 context with the time-outs and the BEARER credentials of ``macaroons``.

    Raises:
        UnsupportedSchemeError: As :func:`set_bearer_credentials`.
    """
    ctx = gfal2.creat_context()
    set_bearer_credentials(ctx, macaroons)
    ctx.set_opt_integer("CORE", "NAMESPACE_TIMEOUT", namespace_timeout)
    ctx.set_opt_integer("CORE", "CHECKSUM_TIMEOUT", checksum_timeout)
    for option in ("MIN_TRANSFER_TIME", "MAX_TRANSFER_TIME"):
        with contextlib.suppress(gfal2.GError):  # no mock plugin here
            ctx.set_opt_integer("MOCK PLUGIN", option, 0)
    return ctx
