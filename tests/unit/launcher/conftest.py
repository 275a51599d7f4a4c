"""Fixtures the launcher's unit tests share.

- ``store``: ``storage_for`` of one backend, the tests that use it run once per backend:
  ``builtin`` (LocalStorage, HttpStorage; a ``worker`` test, also run on Python 3.9) and
  ``gfal2`` (Gfal2Storage; skipped without the bindings, see ``gfal2_module``).
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import pytest

from grid_lrt.launcher.storage import Storage, storage_for

StorageFor = Callable[[str], Storage]


@pytest.fixture(
    params=[pytest.param("builtin", marks=pytest.mark.worker), pytest.param("gfal2")],
)
def store(request: pytest.FixtureRequest) -> StorageFor:
    """``storage_for`` of one backend: builtin (LocalStorage) or gfal2 (Gfal2Storage)."""
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
    return partial(storage_for, prefer=request.param)
