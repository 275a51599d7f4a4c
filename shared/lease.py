"""Leases: who owns a locked token, for how long, and what happens when the owner vanishes.

The rules, all pure functions on a token document (the CouchDB writes that apply them are
compare-and-swap on ``_rev`` in the token pool, ``shared/pool``):

* **Claim** (:func:`apply_claim`): only a ``todo`` token, checked on the revision that is
  written. Sets ``lock`` (epoch seconds), ``hostname``, the batch job id, ``attempt + 1`` and
  a lease: ``heartbeat = now``, ``lease_expires = now + lease``.
* **Heartbeat** (:func:`renew`): the owner pushes ``lease_expires`` forward every few seconds.
* **Ownership** (:func:`owns`): a launcher owns a token while it is locked *and* its
  ``attempt`` is the one the launcher claimed. ``attempt`` never decreases (resets keep it), so
  a zombie launcher that wakes up after its token was requeued and claimed again finds a
  newer attempt and stops writing: the attempt number is a fencing token.
* **Requeue** (:func:`requeue`): an expired lease (the launcher died, the node vanished) or a
  SIGTERM puts the token back to ``todo`` with ``scrub_count + 1``; the attempt is recorded in
  ``history`` and its attachments (logs) stay. A token requeued more than ``max_scrub`` times
  since its last manual reset goes to ``error`` with code 5 (``ATTEMPTS_EXHAUSTED``) instead of
  looping forever. A token may set its own ``max_scrub`` field.
* **Finish** (:func:`finish`): ``done = now``, ``output = code``, ``status`` done or error.

Times are epoch seconds from the writer's clock; keep worker clocks within a small fraction of
the lease (NTP) — the default lease is ten heartbeats long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, MutableMapping, Optional

from .errors import ErrorCode
from .schema import TokenState, num, reset_fields, state_of

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_SCRUB",
    "HISTORY_LIMIT",
    "Worker",
    "apply_claim",
    "attempt_of",
    "finish",
    "lease_expired",
    "max_scrub_of",
    "owns",
    "renew",
    "requeue",
    "stamp",
]

#: Seconds between heartbeats, and the lease they renew.
DEFAULT_HEARTBEAT = 60.0
DEFAULT_LEASE = 600.0
#: Automatic requeues (lost lease, SIGTERM) before a token goes to error.
DEFAULT_MAX_SCRUB = 3
#: Past attempts kept in a token's ``history``.
HISTORY_LIMIT = 20


@dataclass(frozen=True)
class Worker:
    """Who runs a token: the host and the batch system's job id (both may be empty)."""

    hostname: str
    batch_system: str = ""
    batch_job_id: str = ""


def attempt_of(doc: MutableMapping[str, Any]) -> int:
    """The token's attempt number (0 before its first claim)."""
    return int(num(doc.get("attempt")))


def stamp(doc: MutableMapping[str, Any], status: str, now: float) -> None:
    """Set ``status`` and record ``times[status] = now`` (``times`` is created if absent)."""
    doc["status"] = status
    times = doc.get("times")
    if not isinstance(times, dict):
        times = doc["times"] = {}
    times[status] = now


def apply_claim(
    doc: MutableMapping[str, Any], *, now: float, lease: float, worker: Worker, owner: str
) -> int:
    """Lock a ``todo`` token in place for ``worker``; return the new attempt number.

    ``owner`` is a random nonce of this claim: it lets a launcher whose claim request reached
    the server but whose answer was lost (a retried PUT then answers 409) recognise its win.

    Raises:
        ValueError: the token is not in ``todo`` (the caller picked a stale view row).
    """
    state = state_of(doc)
    if state is not TokenState.TODO:
        raise ValueError(f"token {doc.get('_id')!r} is {state.value}, not todo")
    attempt = attempt_of(doc) + 1
    doc["attempt"] = attempt
    doc["lock"] = max(int(now), 1)
    doc["hostname"] = worker.hostname
    doc["batch_system"] = worker.batch_system
    doc["batch_job_id"] = worker.batch_job_id
    doc["owner"] = owner
    doc["output"] = ""
    doc["launcher_status"] = ""
    renew(doc, now=now, lease=lease)
    stamp(doc, "locked", now)
    return attempt


def owns(doc: MutableMapping[str, Any], attempt: int, owner: str) -> bool:
    """True while the token is locked by this claim (nobody requeued or reclaimed it since)."""
    return (
        state_of(doc) is TokenState.LOCKED
        and attempt_of(doc) == attempt
        and doc.get("owner") == owner
    )


def renew(doc: MutableMapping[str, Any], *, now: float, lease: float) -> None:
    """Heartbeat: the lease now runs until ``now + lease``."""
    doc["heartbeat"] = now
    doc["lease_expires"] = now + lease


def lease_expired(doc: MutableMapping[str, Any], now: float) -> bool:
    """True for a locked token whose lease ran out before ``now``.

    Tokens locked without a lease (by GRID_LRT's or picas's launcher) never expire here; reset
    those by the age of ``lock`` (``lrt tokens reset TYPE --stale --older-than``).
    """
    expires = num(doc.get("lease_expires"))
    return state_of(doc) is TokenState.LOCKED and 0 < expires < now


def max_scrub_of(doc: MutableMapping[str, Any], default: int) -> int:
    """The token's own ``max_scrub`` when it sets one (a non-negative number), else ``default``."""
    value = doc.get("max_scrub")
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return default
        return int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    return default


def _history_entry(doc: MutableMapping[str, Any], now: float, reason: str) -> Dict[str, Any]:
    return {
        "attempt": attempt_of(doc),
        "hostname": doc.get("hostname", ""),
        "batch_job_id": doc.get("batch_job_id", ""),
        "locked": doc.get("lock", 0),
        "heartbeat": doc.get("heartbeat", 0),
        "last_status": doc.get("status", ""),
        "ended": now,
        "reason": reason,
    }


def _append_history(doc: MutableMapping[str, Any], entry: Dict[str, Any]) -> None:
    history = doc.get("history")
    entries: List[Any] = list(history) if isinstance(history, list) else []
    entries.append(entry)
    doc["history"] = entries[-HISTORY_LIMIT:]


def requeue(
    doc: MutableMapping[str, Any],
    *,
    now: float,
    reason: str,
    default_max_scrub: int = DEFAULT_MAX_SCRUB,
) -> TokenState:
    """Take a locked token back (lost lease, SIGTERM); return its new state (todo or error)."""
    _append_history(doc, _history_entry(doc, now, reason))
    requeues = int(num(doc.get("requeues"))) + 1
    limit = max_scrub_of(doc, default_max_scrub)
    if requeues > limit:
        doc["requeues"] = requeues
        doc["launcher_status"] = (
            f"{reason}; requeued {requeues - 1} times already (max_scrub {limit}): giving up"
        )
        finish(doc, now=now, code=int(ErrorCode.ATTEMPTS_EXHAUSTED))
        return TokenState.ERROR
    reset_fields(doc)
    doc["requeues"] = requeues
    doc["launcher_status"] = reason
    stamp(doc, "todo", now)
    return TokenState.TODO


def finish(
    doc: MutableMapping[str, Any], *, now: float, code: int, status: Optional[str] = None
) -> None:
    """Close a token: ``done = now``, ``output = code``, status ``done`` (code 0) or ``error``."""
    doc["done"] = max(int(now), 1)
    doc["output"] = code
    doc["lease_expires"] = 0
    stamp(doc, status or ("done" if code == 0 else "error"), now)
