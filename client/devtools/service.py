"""A background service started and stopped around a ``with`` block."""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys
import threading
from types import TracebackType
from typing import Any, Dict, Optional, Type, TypeVar

__all__ = ["Service", "StopSignal", "run_until_stopped"]

_S = TypeVar("_S", bound="Service")


class Service:
    """Subclasses implement ``start()`` (returning ``self``) and ``stop()``."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


class StopSignal:
    """SIGINT (Ctrl-C) and SIGTERM end :meth:`wait`, from the moment the ``with`` block is
    entered: enter it before saying "ready" (a signal sent in between would otherwise kill
    the process, or be lost where SIGINT is ignored, as in a shell's background job).

    The handlers only set an event that the main thread waits on, so the stop does not
    depend on where a KeyboardInterrupt would land. SIGUSR1 prints every thread's stack to
    stderr (for a simulator that seems stuck)."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._signum = 0
        self._previous: Dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        self._signum = signum
        self._stopped.set()

    def __enter__(self) -> StopSignal:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        if sys.__stderr__ is not None:
            with contextlib.suppress(OSError, ValueError):  # no real stderr: no dumps
                faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
        return self

    def __exit__(self, *exc: object) -> None:
        faulthandler.unregister(signal.SIGUSR1)
        for sig, old in self._previous.items():
            signal.signal(sig, old)

    def wait(self) -> int:
        """Block until a signal came; its number."""
        while not self._stopped.wait(1.0):
            pass
        return self._signum


def run_until_stopped(stop: Optional[StopSignal] = None) -> int:
    """Block until SIGINT or SIGTERM (on ``stop``, entered before the readiness lines were
    printed; else a new :class:`StopSignal`); the signal's number."""
    if stop is not None:
        return stop.wait()
    with StopSignal() as fresh:
        return fresh.wait()
