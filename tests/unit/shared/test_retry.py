"""The one retry loop (``shared/retry.py``): what is retried, how long, which pauses."""

from __future__ import annotations

from typing import List

import pytest

from grid_lrt.shared.retry import Backoff, retrying


class Flaky:
    """Fails with ``error`` the first ``failures`` calls, then returns the call count."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.calls


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: List[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_retries_until_it_works_with_growing_capped_pauses() -> None:
    clock = Clock()
    action = Flaky(5, OSError("down"))
    result = retrying(
        action,
        retry_on=OSError,
        backoff=Backoff(first=1, factor=2, limit=5),
        sleep=clock.sleep,
        clock=clock,
    )
    assert result == 6
    assert clock.slept == [1, 2, 4, 5, 5]


def test_attempts_counts_every_try() -> None:
    clock = Clock()
    action = Flaky(10, OSError("down"))
    with pytest.raises(OSError, match="down"):
        retrying(action, retry_on=OSError, attempts=3, sleep=clock.sleep, clock=clock)
    assert action.calls == 3
    assert len(clock.slept) == 2


def test_other_errors_and_filtered_ones_are_not_retried() -> None:
    clock = Clock()
    action = Flaky(1, KeyError("x"))
    with pytest.raises(KeyError):
        retrying(action, retry_on=OSError, sleep=clock.sleep, clock=clock)
    assert action.calls == 1
    action = Flaky(1, OSError("permanent"))
    with pytest.raises(OSError):
        retrying(
            action,
            retry_on=OSError,
            when=lambda exc: "permanent" not in str(exc),
            sleep=clock.sleep,
            clock=clock,
        )
    assert action.calls == 1 and clock.slept == []


def test_patience_stops_before_a_pause_that_would_end_too_late() -> None:
    clock = Clock()
    action = Flaky(100, OSError("down"))
    seen: List[int] = []
    with pytest.raises(OSError):
        retrying(
            action,
            retry_on=OSError,
            patience=10,
            backoff=Backoff(first=1, factor=2, limit=60),
            on_retry=lambda exc, tries, pause: seen.append(tries),
            sleep=clock.sleep,
            clock=clock,
        )
    assert clock.slept == [1, 2, 4]  # 1 + 2 + 4 = 7; the next pause (8) would end at 15 > 10
    assert seen == [1, 2, 3]
    assert action.calls == 4


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        retrying(lambda: 1, retry_on=OSError, attempts=0)


def test_jitter_spreads_the_pauses_within_its_bounds() -> None:
    pauses = Backoff(first=1, factor=2, limit=4, jitter=0.25).pauses()
    taken = [next(pauses) for _ in range(200)]
    assert all(0.75 <= p <= 1.25 for p in taken[:1])
    assert all(3.0 <= p <= 5.0 for p in taken[3:])
    assert len({round(p, 6) for p in taken[3:]}) > 10  # not one value: spread
