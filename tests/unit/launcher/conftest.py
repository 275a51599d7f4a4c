"""Fixtures the launcher's unit tests share.

- ``store``: ``storage_for`` of one backend, the tests that use it run once per backend:
  ``builtin`` (LocalStorage, HttpStorage; also run on Python 3.9) and ``gfal2``
  (Gfal2Storage; marked ``gfal2``, skipped without the bindings, see ``gfal2_module``).
- ``tar_filter``: the ``tar_filter`` of ``safe_extract``, the tests that use it run twice:
  with ``tarfile.data_filter`` (skipped on a Python without it) and with our rules alone.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Optional

import pytest

from grid_lrt.launcher.storage import Storage, storage_for
from grid_lrt.launcher.unpack import DATA_FILTER
from grid_lrt.launcher.unpack_members import TarFilter
from tests.unit.launcher.archive_kit import needs_data_filter

StorageFor = Callable[[str], Storage]


@pytest.fixture(
    params=["builtin", pytest.param("gfal2", marks=pytest.mark.gfal2)],
)
def store(request: pytest.FixtureRequest) -> StorageFor:
    """``storage_for`` of one backend: builtin (LocalStorage) or gfal2 (Gfal2Storage)."""
    if request.param == "gfal2":
        request.getfixturevalue("gfal2_module")
    return partial(storage_for, prefer=request.param)


@pytest.fixture(
    params=[
        pytest.param(DATA_FILTER, id="data_filter", marks=needs_data_filter),
        pytest.param(None, id="own-rules"),
    ],
)
def tar_filter(request: pytest.FixtureRequest) -> Optional[TarFilter]:
    """The ``tar_filter`` of :func:`safe_extract`: the standard library's, or none."""
    return request.param  # type: ignore[no-any-return]
