"""The heartbeat: a daemon thread that renews the lease of the token being processed.

Between beats it also writes the status changes the run loop noted (within a second).

A renewal is one try (:data:`~grid_lrt.shared.pool.ONCE`). When the server does not answer
(or answers 5xx), the thread tries again by a lease-aware schedule: after
``min(interval, time left on the lease / 4, 10 s)``, so that the pauses shrink as the lease
runs out and the first try after the server is back lands before the lease expires. A lease
therefore survives any outage shorter than ``lease - heartbeat`` (the longest a renewal can
be due), while the pipeline runs on.

If a renewal finds that the token is no longer ours (it was requeued after our lease ran out,
e.g. because this node was frozen for longer than the lease), the thread sets ``lost`` and
stops; the run loop then stops the pipeline and drops the run without writing anything.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Optional, Type

from grid_lrt.shared.couch import CouchError
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.pool import ONCE

from .session import TokenClosedError, TokenLostError, TokenSession

__all__ = ["FLUSH_AFTER", "Heartbeat"]

#: Noted status changes (``TokenSession.note_status``) reach the token within about this long.
FLUSH_AFTER = 1.0
#: The longest pause between two tries of a renewal that met no answer.
RETRY_LIMIT = 10.0
#: The shortest (a lease about to run out is tried at this rate at most).
RETRY_FLOOR = 0.05

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews ``session``'s lease every ``interval`` seconds while in a ``with`` block."""

    def __init__(
        self, session: TokenSession, interval: float, *, halt: Optional[threading.Event] = None
    ) -> None:
        self.session = session
        self.interval = interval
        self.lost = threading.Event()
        self._halt = halt
        self.beats = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{session.token_id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def keep_alone(self) -> None:
        """Go on renewing, but never stop a pipeline again (the token's own has ended; the
        one running now belongs to another token)."""
        self._halt = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def retry_pause(self, now: float) -> float:
        """The pause before the next try of a renewal that met no answer (see the module)."""
        left = self.session.lease_expires - now
        return max(RETRY_FLOOR, min(self.interval, RETRY_LIMIT, left / 4))

    def _run(self) -> None:
        tick = min(self.interval, FLUSH_AFTER)
        due = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, min(tick, due - time.monotonic()))):
            try:
                if time.monotonic() >= due:
                    self.session.heartbeat(patience=ONCE)
                    self.beats += 1
                    due = time.monotonic() + self.interval
                else:
                    self.session.flush(older_than=FLUSH_AFTER, patience=ONCE)
            except TokenClosedError:
                log.debug("token %s: closed; no more renewals", self.session.token_id)
                return
            except TokenLostError as exc:
                log.error("%s", exc.message)
                self.lost.set()
                if self._halt is not None:
                    self._halt.set()  # stop the pipeline: its results would belong to nobody
                return
            except CouchError as exc:
                if not exc.transient:
                    log.warning("heartbeat of %s failed: %s", self.session.token_id, exc.message)
                    continue
                self.failures += 1
                pause = self.retry_pause(self.session.clock())
                log.warning(
                    "heartbeat of %s: %s; trying again in %.1f s (lease runs out in %.0f s)",
                    self.session.token_id,
                    exc.message,
                    pause,
                    self.session.lease_expires - self.session.clock(),
                )
                due = time.monotonic() + pause
            except LrtError as exc:
                log.warning("heartbeat of %s failed: %s", self.session.token_id, exc.message)
            except Exception:  # a heartbeat thread must never die silently
                log.exception("heartbeat of %s failed", self.session.token_id)
