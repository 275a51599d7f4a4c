"""The heartbeat: a daemon thread that renews the lease of the token being processed.

If a renewal finds that the token is no longer ours (it was requeued after our lease ran out,
e.g. because this node was frozen for longer than the lease), the thread sets ``lost`` and
stops; the run loop then stops the pipeline and drops the run without writing anything.
A server that cannot be reached is logged and retried at the next beat.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Optional, Type

from grid_lrt.shared.errors import LrtError

from .session import TokenLostError, TokenSession

__all__ = ["Heartbeat"]

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
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.session.heartbeat()
                self.beats += 1
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
