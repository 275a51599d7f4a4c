"""Progress on stderr (stdout is for the summary or the JSON), and a ticker for long waits."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Callable, Iterator


def printer(prefix: str = "") -> Callable[[str], None]:
    """A function printing ``prefix + message`` to stderr, flushed at once."""

    def emit(message: str) -> None:
        print(f"{prefix}{message}", file=sys.stderr, flush=True)

    return emit


@contextlib.contextmanager
def ticker(log: Callable[[str], None], label: str, every: float = 30.0) -> Iterator[None]:
    """Log '    ... <label>: N s' every ``every`` seconds while the block runs."""
    stop = threading.Event()
    start = time.perf_counter()

    def run() -> None:
        while not stop.wait(every):
            log(f"    ... {label}: {time.perf_counter() - start:.0f} s")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
