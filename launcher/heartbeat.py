"""The heartbeat: a daemon thread that renews the lease of the token being processed.

Between beats it also writes the status changes the run loop noted (within a second).

If a renewal finds that the token is no longer ours (it was requeued after our lease ran out,
e.g. because this node was frozen for longer than the lease), the thread sets ``lost`` and
stops; the run loop then stops the pipeline and drops the run without writing anything.
A server that cannot be reached is logged and retried at the next beat.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Optional, Type

from grid_lrt.shared.errors import LrtError

from .session import TokenLostError, TokenSession

__all__ = ["FLUSH_AFTER", "Heartbeat"]

#: Noted status changes (``TokenSession.note_status``) reach the token within about this long.
FLUSH_AFTER = 1.0

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

    def _run(self) -> None:
        tick = min(self.interval, FLUSH_AFTER)
        last_beat = time.monotonic()
        while not self._stop.wait(tick):
            try:
                if time.monotonic() - last_beat >= self.interval:
                    last_beat = time.monotonic()
                    self.session.heartbeat()
                    self.beats += 1
                else:
                    self.session.flush(older_than=FLUSH_AFTER)
            except TokenLostError as exc:
                log.error("%s", exc.message)
                self.lost.set()
                if self._halt is not None:
                    self._halt.set()  # stop the pipeline: its results would belong to nobody
                return
            except LrtError as exc:
                log.warning("heartbeat of %s failed: %s", self.session.token_id, exc.message)
            except Exception:  # a heartbeat thread must never die silently
                log.exception("heartbeat of %s failed", self.session.token_id)
