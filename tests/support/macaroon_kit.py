"""Doors that check macaroons, for the launcher's macaroon tests: start, trust, mint.

:func:`start_archive` starts a :class:`~tests.support.tape_archive.TapeArchive` with options
(``macaroon_secret=``, ``redirect_base=``), skipped where it cannot run (failed under
``CI=true``); :func:`trust_all` makes one ``X509_CERT_DIR`` for several archives;
:func:`mint_for` mints a download macaroon as the StageIT simulator does.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any, Sequence

import pytest

from grid_lrt.client.devtools.macaroons import mint
from tests.support.helpers import in_ci

__all__ = ["mint_for", "put_file", "start_archive", "trust_all"]


def _unavailable(why: str) -> None:
    if in_ci():
        pytest.fail(f"CI=true but {why}", pytrace=False)
    pytest.skip(why)


def start_archive(folder: Path, **options: Any) -> Any:
    """A started TapeArchive serving ``folder`` (the caller stops it)."""
    try:
        from tests.support.tape_archive import TapeArchive, TapeArchiveError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"the tape archive cannot be imported: {exc}")
    server = TapeArchive(folder, delay=0.1, **options)
    try:
        return server.start()
    except TapeArchiveError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"{exc.message} ({exc.hint})")


def trust_all(folder: Path, archives: Sequence[Any]) -> Path:
    """One X509_CERT_DIR trusting every archive (their certificates share a subject hash)."""
    folder.mkdir()
    for number, archive in enumerate(archives):
        link = next(p for p in archive.cert_dir.iterdir() if p.name.endswith(".0"))
        shutil.copy(archive.cert_dir / "cert.pem", folder / f"{link.name[:-2]}.{number}")
    return folder


def put_file(root: Path, path: str, data: bytes) -> None:
    """Write ``data`` at the URL path ``path`` under the archive folder ``root``."""
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def mint_for(secret: bytes, path: str, *, hours: float = 1.0, site: str = "sara") -> str:
    """A download macaroon for ``path`` (a prefix) at ``site``, valid ``hours`` from now."""
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=hours)
    return mint(secret, location="lrt-mock", identifier="req-18748", site=site, paths=[path],
                valid_until=until)  # fmt: skip
