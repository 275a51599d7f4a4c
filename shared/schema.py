"""The token schema: fields, defaults, states, legal transitions and the id convention.

This module is the one definition of a token. The CouchDB views (``views.py``), the login-node
client and the worker launcher all derive from it, so the Python ``state_of`` and the view
membership on the server cannot drift apart (``tests/integration/test_views.py`` proves it on
a real server).

Lifecycle::

    waiting ──release──▶ todo ──claim──▶ locked ──finish──▶ done
       ▲                  ▲  │              │  └──fail────▶ error
       └──────hold────────┘  │              │                 │
                             ◀──reset/scrub─┘◀────reset───────┘

* ``waiting``: held until its input data is online (staging); never handed to a launcher.
* ``todo``: ``lock == 0 and done == 0`` and not held.
* ``locked``: ``lock > 0 and done == 0`` (a launcher owns it).
* ``done``: ``done > 0`` and the run succeeded (``output`` is 0 or empty, status not "error").
* ``error``: ``done > 0`` and the run failed (``output`` a non-zero code, or status "error").

Every token is in exactly one state, so per-state counts add up to the number of tokens.
"""

from __future__ import annotations

import base64
import copy
import enum
import hashlib
import math
import re
from typing import Any, Dict, FrozenSet, Mapping, MutableMapping

from .errors import LrtError

__all__ = [
    "DEFAULTS",
    "RESERVED_FIELDS",
    "STATE_JS",
    "TRANSITIONS",
    "IllegalTransitionError",
    "TokenState",
    "check_transition",
    "inline_attachment",
    "is_held",
    "is_token",
    "make_token_id",
    "new_token",
    "num",
    "reset_fields",
    "reset_for_retry",
    "state_of",
]

#: Field defaults of a new token. ``_id`` and ``type`` are given at creation.
#: ``held`` is grid-lrt's: a non-empty string (the reason, e.g. "staging") or ``True`` keeps the
#: token in ``waiting``. ``attempt``, ``lease_expires``, ``heartbeat``, ``requeues`` and the
#: ``batch_*`` fields are the launcher's (see ``lease.py``). ``attempt`` only ever grows: it is
#: the fencing number that keeps a late launcher from overwriting a newer attempt.
#: ``results_commit`` is the last attempt's commit of its results (``{"attempt", "urls"}``),
#: written, fenced, just before the results are moved to their final names; it survives resets,
#: so that a re-run of the same token may replace what an earlier attempt committed.
DEFAULTS: Mapping[str, Any] = {
    "lock": 0,
    "done": 0,
    "hostname": "",
    "scrub_count": 0,
    "output": "",
    "status": "todo",
    "times": {},
    "progress": 0,
    "launcher_status": "",
    "Results_location": "",
    "held": "",
    "attempt": 0,
    "lease_expires": 0,
    "heartbeat": 0,
    "requeues": 0,
    "batch_system": "",
    "batch_job_id": "",
    "owner": "",
    "history": [],
    "results_commit": {},
}

#: Fields grid-lrt itself manages; everything else on a token is a free user field.
RESERVED_FIELDS: FrozenSet[str] = frozenset({"_id", "_rev", "type", *DEFAULTS})

# Fields put back to their defaults by a reset (``scrub_count`` is incremented instead).
_RESET_FIELDS = (
    "lock",
    "done",
    "hostname",
    "output",
    "launcher_status",
    "progress",
    "lease_expires",
    "heartbeat",
    "requeues",
    "batch_system",
    "batch_job_id",
    "owner",
)

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@+-]")


class TokenState(str, enum.Enum):
    """The state of a token, derived from its fields by :func:`state_of`."""

    WAITING = "waiting"
    TODO = "todo"
    LOCKED = "locked"
    DONE = "done"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


#: Legal state changes. Resetting a token (back to ``todo``) is allowed from every state but
#: ``waiting`` (a held token is released, not reset).
TRANSITIONS: Mapping[TokenState, FrozenSet[TokenState]] = {
    TokenState.WAITING: frozenset({TokenState.TODO}),
    TokenState.TODO: frozenset({TokenState.LOCKED, TokenState.WAITING}),
    TokenState.LOCKED: frozenset({TokenState.DONE, TokenState.ERROR, TokenState.TODO}),
    TokenState.DONE: frozenset({TokenState.TODO}),
    TokenState.ERROR: frozenset({TokenState.TODO}),
}


class IllegalTransitionError(LrtError):
    """A token was asked to move between two states that are not connected."""


def check_transition(current: TokenState, target: TokenState) -> None:
    """Raise :class:`IllegalTransitionError` unless ``current → target`` is legal."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing"
        raise IllegalTransitionError(
            f"a token in state {current.value!r} cannot move to {target.value!r}; "
            f"from {current.value!r} it can move to: {allowed}"
        )


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _num(value: object) -> float:
    """Numeric value of a token field, exactly as the view JavaScript's ``num()`` computes it."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else 0.0
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return 0.0


def num(value: object) -> float:
    """Numeric value of a token field (``lock``, ``lease_expires`` ...) as the views see it."""
    return _num(value)


def is_token(doc: Mapping[str, Any]) -> bool:
    """True for documents that are tokens (have a string ``type`` and a ``lock`` field)."""
    return (
        isinstance(doc.get("type"), str)
        and "lock" in doc
        and not str(doc.get("_id", "")).startswith("_design/")
    )


def is_held(doc: Mapping[str, Any]) -> bool:
    """True when the token is held back (``waiting``) until its input data is online."""
    held = doc.get("held")
    if held is True:
        return True
    if isinstance(held, str):
        return held != ""
    if isinstance(held, (int, float)) and not isinstance(held, bool):
        return _num(held) != 0
    return False


def state_of(doc: Mapping[str, Any]) -> TokenState:
    """The one definition of a token's state (mirrored by ``STATE_JS``)."""
    if _num(doc.get("done")) != 0:
        if doc.get("status") == "error" or _num(doc.get("output")) != 0:
            return TokenState.ERROR
        return TokenState.DONE
    if _num(doc.get("lock")) != 0:
        return TokenState.LOCKED
    if is_held(doc):
        return TokenState.WAITING
    return TokenState.TODO


#: ES5 JavaScript with the same semantics as :func:`is_token` and :func:`state_of`, embedded
#: in every generated map function (CouchDB 3's default engine is ES5-only).
STATE_JS = r"""
function num(x) {
  if (typeof x === "number") { return isFinite(x) ? x : 0; }
  if (typeof x === "string" && /^-?[0-9]+(\.[0-9]+)?$/.test(x)) { return parseFloat(x); }
  return 0;
}
function isToken(doc) {
  return typeof doc.type === "string" && doc.lock !== undefined &&
    doc._id.indexOf("_design/") !== 0;
}
function isHeld(doc) {
  var h = doc.held;
  if (h === true) { return true; }
  if (typeof h === "string") { return h !== ""; }
  if (typeof h === "number") { return num(h) !== 0; }
  return false;
}
function stateOf(doc) {
  if (num(doc.done) !== 0) {
    return (doc.status === "error" || num(doc.output) !== 0) ? "error" : "done";
  }
  if (num(doc.lock) !== 0) { return "locked"; }
  if (isHeld(doc)) { return "waiting"; }
  return "todo";
}
""".strip()


def make_token_id(t_type: str, append: str = "") -> str:
    """Token id by the GRID_LRT convention ``t_<type>_<append>``.

    Characters that do not belong in an id (spaces, slashes, ...) become ``_`` so an id never
    needs URL escaping surprises. An id made from ASCII text is exactly GRID_LRT's (existing
    pools hold such ids). When a non-ASCII character was replaced, ``_`` and 10 hex digits of
    the SHA-256 of the original are appended, so that types which differ only in such letters
    (``acc_tÿpe``, ``acc_töpe``) no longer share ids. (ASCII collisions such as ``a b`` and
    ``a/b`` remain, as in GRID_LRT; the login node refuses to report a token of another type
    as "already existed".)
    """
    raw = f"t_{t_type}_{append}"
    safe = _ID_UNSAFE.sub("_", raw)
    if raw.isascii():
        return safe
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe}_{digest}"


def _copy(value: Any) -> Any:
    """A private copy of a mutable field value (dicts and lists); scalars are shared."""
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value


def new_token(
    t_type: str, token_id: str, fields: Mapping[str, Any] | None = None
) -> Dict[str, Any]:
    """A new token document: the defaults, then the user's fields on top.

    User fields are never overwritten by defaults (GRID_LRT merged them the other way round).
    ``_id`` and ``type`` always come from the arguments.
    """
    doc: Dict[str, Any] = {name: _copy(value) for name, value in DEFAULTS.items()}
    doc.update((name, _copy(value)) for name, value in (fields or {}).items())
    doc["_id"] = token_id
    doc["type"] = t_type
    return doc


def inline_attachment(data: bytes, content_type: str) -> Dict[str, str]:
    """An ``_attachments`` entry that carries ``data`` inline (base64): written with the
    document itself, in the same request (``PUT`` or ``_bulk_docs``)."""
    return {"content_type": content_type, "data": base64.b64encode(data).decode("ascii")}


def reset_fields(doc: MutableMapping[str, Any], *, status: str = "todo") -> None:
    """Put a token back to ``todo`` in place: clear the run fields, ``scrub_count + 1``.

    ``attempt`` is kept (it never decreases) and so are the attachments: the logs of earlier
    attempts stay with the token.
    """
    for name in _RESET_FIELDS:
        doc[name] = copy.deepcopy(DEFAULTS[name])
    doc["status"] = status
    doc["scrub_count"] = int(_num(doc.get("scrub_count"))) + 1


def reset_for_retry(doc: MutableMapping[str, Any], *, drop_attachments: bool = False) -> bool:
    """Reset a locked, done or error token to ``todo`` in place; return whether it changed.

    Tokens already in ``todo`` and held (``waiting``) tokens are left alone: resetting them
    would only inflate ``scrub_count`` (a held token is released, not reset).
    """
    if state_of(doc) in (TokenState.TODO, TokenState.WAITING):
        return False
    reset_fields(doc)
    if drop_attachments:
        doc.pop("_attachments", None)
    return True
