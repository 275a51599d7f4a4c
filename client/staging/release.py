"""Staging-aware tokens: release held (``waiting``) tokens once all their input is online.

A token created "held until staged" carries ``held: "staging"`` and its input list as the
``srm.txt`` attachment. :func:`release_staged` reads the lists of every waiting token of a type,
checks the locality of all their files in one concurrent pass, and moves each token whose files
are all on disk to ``todo``. Tokens with LOST/UNAVAILABLE files are reported (and marked in
``launcher_status``); they stay held, so a launcher never picks up a token whose data is gone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from grid_lrt.shared.couch import CouchError, DocumentNotFoundError
from grid_lrt.shared.pool import TokenPool
from grid_lrt.shared.schema import TokenState, state_of

from .base import FileState
from .locality import status_url

__all__ = [
    "ReleaseReport",
    "StateChecker",
    "hold_token",
    "input_links",
    "release_held",
    "release_staged",
    "status_url",
]

log = logging.getLogger(__name__)

#: Checks many URLs at once: ``[(url, state, error text), ...]`` in input order.
StateChecker = Callable[[Sequence[str]], List[Tuple[str, FileState, str]]]

INPUT_LIST = "srm.txt"


@dataclass
class ReleaseReport:
    """What one release pass found, token by token."""

    released: List[str] = field(default_factory=list)
    waiting: Dict[str, int] = field(default_factory=dict)  # id -> files not yet online
    lost: Dict[str, List[str]] = field(default_factory=dict)  # id -> lost/unavailable SURLs
    errors: Dict[str, str] = field(default_factory=dict)  # id -> why it could not be checked

    @property
    def still_held(self) -> int:
        return len(self.waiting) + len(self.lost) + len(self.errors)


def _note_time(doc: Dict[str, Any], event: str, now: Optional[float]) -> None:
    """``times[event]`` of the token (``times`` made if absent), ``now`` or the clock."""
    times = doc.get("times")
    if not isinstance(times, dict):
        times = doc["times"] = {}
    times[event] = time.time() if now is None else now


def hold_token(doc: Dict[str, Any], reason: str, now: Optional[float] = None) -> None:
    """Hold a new token (state ``waiting``) for ``reason``; ``times.held`` records when, so
    the report can show how long tokens waited for their data."""
    doc["held"] = reason
    _note_time(doc, "held", now)


def release_held(doc: Dict[str, Any], now: Optional[float] = None) -> bool:
    """Release a waiting token in place (``todo``, ``times.released``); False when it is not
    waiting any more (released, reset or claimed meanwhile: a fenced write leaves it)."""
    if state_of(doc) is not TokenState.WAITING:
        return False
    doc["held"], doc["status"] = "", "todo"
    _note_time(doc, "released", now)
    return True


def input_links(pool: TokenPool, token_id: str) -> List[str]:
    data = pool.attachment(token_id, INPUT_LIST).decode("utf-8", "replace")
    lines = (line.strip() for line in data.splitlines())
    return [line.split()[0] for line in lines if line and not line.startswith("#")]


def release_staged(
    pool: TokenPool, t_type: str, check: StateChecker, *, door: Optional[str] = None
) -> ReleaseReport:
    """One pass: release every waiting token of ``t_type`` whose input files are all online."""
    report = ReleaseReport()
    links: Dict[str, List[str]] = {}
    for token_id in pool.ids(t_type, TokenState.WAITING):
        try:
            links[token_id] = [status_url(link, door) for link in input_links(pool, token_id)]
        except DocumentNotFoundError:
            report.errors[token_id] = f"no {INPUT_LIST} attachment: nothing to check"
        except CouchError as exc:  # a token we cannot read must not stop the others
            report.errors[token_id] = f"cannot read {INPUT_LIST}: {exc}"
    unique = sorted({url for urls in links.values() for url in urls})
    states: Dict[str, Tuple[FileState, str]] = {}
    if unique:
        states = {url: (state, error) for url, state, error in check(unique)}
    ready = []
    for token_id, urls in links.items():
        gone = [u for u in urls if states[u][0].gone]
        if gone:
            report.lost[token_id] = gone
        elif all(states[u][0].on_disk for u in urls):
            ready.append(token_id)
        else:
            report.waiting[token_id] = sum(1 for u in urls if not states[u][0].on_disk)

    def mark_lost(doc: Dict[str, Any]) -> bool:
        message = f"input data lost/unavailable: {len(report.lost[doc['_id']])} files"
        if doc.get("launcher_status") == message:
            return False
        doc["launcher_status"] = message
        return True

    result = pool.update(ready, release_held)
    report.released = result.changed
    if report.lost:
        pool.update(list(report.lost), mark_lost)
    log.info("%s: released %d, still held %d", t_type, len(report.released), report.still_held)
    return report
