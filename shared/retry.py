"""Retrying an action with exponential backoff: the one retry loop of grid-lrt.

Every place that tries again after a failure (input and result transfers, the sandbox
download, the WebDAV client, the token writes of the launcher) calls :func:`retrying`, so the
rules are the same everywhere and stated once:

* only the exceptions the caller names (``retry_on``), and of those only the ones ``when``
  accepts, are retried; anything else propagates at once;
* the pauses are ``first``, ``first * factor``, ... capped at ``limit`` (:class:`Backoff`);
* it gives up after ``attempts`` tries in all, or when the next pause would end after
  ``patience`` seconds from the start, whichever comes first, by re-raising the last error;
* ``sleep`` and ``clock`` are injectable (tests pass no-op sleeps and fake clocks).

Runs on the worker's Python (3.9+) with the standard library only.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Tuple, Type, TypeVar, Union

__all__ = ["Backoff", "retrying"]

_T = TypeVar("_T")

Errors = Union[Type[BaseException], Tuple[Type[BaseException], ...]]


@dataclass(frozen=True)
class Backoff:
    """Pauses between tries: ``first``, then multiplied by ``factor``, at most ``limit``.

    ``jitter`` (0..1) spreads each pause over ``pause * (1 ± jitter)``, so that many clients
    that lost the same server do not come back at the same instant.
    """

    first: float = 1.0
    factor: float = 2.0
    limit: float = 60.0
    jitter: float = 0.0

    def pauses(self) -> Iterator[float]:
        """The pause before the 2nd, 3rd, ... try (endless)."""
        pause = self.first
        while True:
            step = min(pause, self.limit)
            if self.jitter:
                step *= 1.0 + self.jitter * (2.0 * random.random() - 1.0)  # noqa: S311
            yield step
            pause *= self.factor


def retrying(
    action: Callable[[], _T],
    *,
    retry_on: Errors,
    when: Callable[[BaseException], bool] = lambda exc: True,
    attempts: Optional[int] = None,
    patience: Optional[float] = None,
    backoff: Backoff = Backoff(),  # frozen: sharing the default is safe
    on_retry: Optional[Callable[[BaseException, int, float], None]] = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> _T:
    """Call ``action`` until it returns, retrying the failures named by ``retry_on``/``when``.

    Args:
        action: What to try; its return value is returned.
        retry_on: Exception class(es) worth another try.
        when: Further filter on a caught exception (e.g. ``lambda e: e.transient``).
        attempts: Tries in all (None: no limit of this kind).
        patience: Seconds from the first try after which no pause starts (None: no limit).
        backoff: The pauses between tries.
        on_retry: Called as ``on_retry(error, tries_so_far, pause)`` before each pause (to log).
        sleep: Waits a pause.
        clock: Seconds, for ``patience``.

    Raises:
        Whatever ``action`` raised last, once no further try is allowed.
    """
    if attempts is not None and attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    deadline = None if patience is None else clock() + patience
    pauses = backoff.pauses()
    tries = 0
    while True:
        try:
            return action()
        except retry_on as exc:
            tries += 1
            if not when(exc) or (attempts is not None and tries >= attempts):
                raise
            pause = next(pauses)
            if deadline is not None and clock() + pause > deadline:
                raise
            if on_retry is not None:
                on_retry(exc, tries, pause)
            sleep(pause)
