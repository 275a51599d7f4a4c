"""How long to keep retrying a server that does not answer: the one patience policy.

A request that meets no answer (connection refused or reset, a time-out) or a 5xx answer
(a server that restarts, a proxy that fails) is retried with capped, jittered backoff for an
*outage window*; any other answer is final at once. The launcher's pool has a window of
minutes (``--outage``, default 15 min): claims, heartbeats and writes ride out a database
restart while the pipeline keeps running. The login node's pool has none: a command fails
after the HTTP client's own few retries, with a message, instead of hanging.

The heartbeat does not use the window's pauses: it retries by its own, lease-aware schedule
(``launcher/heartbeat.py``), one try at a time (:data:`ONCE`).
"""

from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from grid_lrt.shared.couch import CouchError
from grid_lrt.shared.retry import Backoff, retrying

__all__ = ["ONCE", "Patience"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, CouchError) and exc.transient


class Patience:
    """Retry transient failures of a request for ``seconds`` (0: one try only).

    Args:
        seconds: The outage window: no pause starts later than this after the first try.
        backoff: The pauses (default 0.5 s doubling to 10 s, ±25 % jitter).
        clock, sleep: Injectable for tests.
    """

    def __init__(
        self,
        seconds: float = 0.0,
        *,
        backoff: Backoff = Backoff(first=0.5, factor=2.0, limit=10.0, jitter=0.25),  # noqa: B008
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.seconds = seconds
        self.backoff = backoff
        self.clock = clock
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"Patience({self.seconds:g} s)"

    def __call__(self, action: Callable[[], _T]) -> _T:
        """``action()``, retried while it fails transiently and the window lasts.

        Raises:
            CouchError: the last failure, once the window is over (or at once when it is not
                transient: a refused login, a missing database, a conflict).
        """
        if self.seconds <= 0:
            return action()
        return retrying(
            action,
            retry_on=CouchError,
            when=_transient,
            patience=self.seconds,
            backoff=self.backoff,
            on_retry=lambda exc, tries, pause: log.warning(
                "%s; retrying in %.1f s", getattr(exc, "message", exc), pause
            ),
            sleep=self.sleep,
            clock=self.clock,
        )


#: One try, no retries (the heartbeat schedules its own).
ONCE = Patience(0.0)
