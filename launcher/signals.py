"""SIGTERM/SIGINT: how the batch system tells the launcher that its time is up.

The handler records the signal and sets ``stopping`` (the pipeline runner watches it: SIGTERM
to the pipeline's process group, a grace period, then SIGKILL). Outside the pipeline the
handler also raises :class:`Interrupted` in the main thread, so a long download stops at once,
unless the launcher is in a section that must finish (writing the token back). The run loop
then requeues the token (``scrub_count + 1``) and the launcher exits ``128 + signum``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType
from typing import Any, Dict, Iterator, Optional

__all__ = ["Interrupted", "StopSignals"]

_HANDLED = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """Installs the handlers for its lifetime (a ``with`` block, main thread only)."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.signum: Optional[int] = None
        self._raise_ok = False
        self._previous: Dict[int, Any] = {}

    @property
    def exit_status(self) -> int:
        return 128 + (self.signum or 0)

    def __enter__(self) -> StopSignals:
        for signum in _HANDLED:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        self.stopping.set()
        if first and self._raise_ok:
            self._raise_ok = False
            raise Interrupted(signum)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Inside this block a signal raises :class:`Interrupted` (at once if one came before)."""
        if self.signum is not None:
            raise Interrupted(self.signum)
        self._raise_ok = True
        try:
            yield
        finally:
            self._raise_ok = False

    def check(self) -> None:
        """Raise :class:`Interrupted` if a signal arrived."""
        if self.signum is not None:
            raise Interrupted(self.signum)
