"""gfal2 and tape-archive fixtures (real gfal2; no mocks of our own).

- ``gfal2_module``: the imported ``gfal2`` bindings; the test is skipped when they are missing,
  except under ``CI=true``, where a missing gfal2 fails the test.
- ``tape_archive``: a started :class:`~tests.support.tape_archive.TapeArchive`
  (https WebDAV + WLCG Tape REST on loopback, 1 s staging delay) over a temporary folder, with
  ``X509_CERT_DIR`` set so that gfal2 trusts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.support.archive_server import running_archive
from tests.support.helpers import in_ci

__all__ = ["gfal2_module", "tape_archive"]


@pytest.fixture(scope="session")
def gfal2_module() -> Any:
    """The gfal2 bindings (skip without them; fail without them under CI=true)."""
    from grid_lrt.client.staging.gfal import GfalMissingError, load_gfal2

    try:
        return load_gfal2()
    except GfalMissingError as exc:
        if in_ci():
            pytest.fail(f"CI=true but {exc.message}: {exc.hint}", pytrace=False)
        pytest.skip(f"{exc.message} ({exc.hint})")


@pytest.fixture
def tape_archive(
    gfal2_module: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A running tape archive serving ``tmp_path / "archive"``; ``tape/`` starts NEARLINE."""
    with running_archive(tmp_path / "archive", delay=1.0) as archive:
        for name, value in archive.client_env.items():
            monkeypatch.setenv(name, value)
        yield archive
