"""Start the test tape archive (https WebDAV + Tape REST, tests/support/tape_archive.py) for a
fixture: skipped when it cannot run here, failed instead under ``CI=true``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.helpers import in_ci

__all__ = ["running_archive"]


def _unavailable(why: str) -> None:
    if in_ci():
        pytest.fail(f"CI=true but {why}", pytrace=False)
    pytest.skip(why)


@contextlib.contextmanager
def running_archive(folder: Path, *, delay: float = 1.0, **options: Any) -> Iterator[Any]:
    """A started :class:`~tests.support.tape_archive.TapeArchive` serving ``folder``
    (``options``: its other arguments, e.g. ``macaroon_secret=``, ``tape_prefixes=``)."""
    try:
        from tests.support.tape_archive import TapeArchive, TapeArchiveError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"the tape archive cannot be imported: {exc}")
    server = TapeArchive(folder, delay=delay, **options)
    try:
        server.start()
    except TapeArchiveError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"{exc.message} ({exc.hint})")
    try:
        yield server
    finally:
        server.stop()
