"""Doors that check macaroons, for the launcher's macaroon tests: start, trust, mint.

Doors start with :func:`tests.support.archive_server.running_archive` and its
``macaroon_secret=``/``redirect_base=`` options; :func:`trust_all` makes one
``X509_CERT_DIR`` for several archives; :func:`mint_for` mints a download macaroon as the
StageIT simulator does.
"""

from __future__ import annotations

import datetime
import shutil
from pathlib import Path
from typing import Any, Sequence

from grid_lrt.client.devtools.macaroons import mint

__all__ = ["mint_for", "put_file", "trust_all"]


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
