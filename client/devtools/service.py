"""A background service started and stopped around a ``with`` block."""

from __future__ import annotations

import faulthandler
import signal
import threading
from types import TracebackType
from typing import Any, Dict, Optional, Type, TypeVar

__all__ = ["Service", "run_until_stopped"]

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


def run_until_stopped() -> int:
    """Block until SIGINT (Ctrl-C) or SIGTERM; the signal's number.

    The handlers only set an event that the main thread waits on, so the stop does not
    depend on where a KeyboardInterrupt would land. SIGUSR1 prints every thread's stack to
    stderr (for a simulator that seems stuck)."""
    stopped = threading.Event()
    got: Dict[str, int] = {}

    def handler(signum: int, _frame: Any) -> None:
        got["signal"] = signum
        stopped.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        while not stopped.wait(1.0):
            pass
    finally:
        faulthandler.unregister(signal.SIGUSR1)
        for sig, old in previous.items():
            signal.signal(sig, old)
    return got.get("signal", 0)
