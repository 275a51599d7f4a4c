"""Archiving tokens to files: each token as YAML plus its attachments, optionally a tar.gz.

File names follow GRID_LRT: ``<id>.dump`` for the document and ``<id>_attachment_<name>`` for
each attachment (``/`` in names becomes ``-``). Attachments are written as bytes.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
from pathlib import Path
from typing import Iterable, List

import yaml

from grid_lrt.shared.couch import CouchDB

__all__ = ["archive_token", "archive_tokens", "archive_type"]

log = logging.getLogger(__name__)


def archive_token(db: CouchDB, token_id: str, folder: Path) -> List[Path]:
    """Write one token and its attachments into ``folder``; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = dict(db.get(token_id))
    stubs = doc.get("_attachments", {})
    written = []
    dump = folder / f"{token_id}.dump"
    dump.write_text(yaml.safe_dump(doc, default_flow_style=False, sort_keys=True), "utf-8")
    written.append(dump)
    for name in stubs:
        target = folder / f"{token_id}_attachment_{name.replace('/', '-')}"
        target.write_bytes(db.get_attachment(token_id, name))
        written.append(target)
    return written


def archive_tokens(db: CouchDB, token_ids: Iterable[str], folder: Path) -> List[Path]:
    """Archive several tokens into ``folder``."""
    files: List[Path] = []
    for token_id in token_ids:
        files.extend(archive_token(db, token_id, folder))
    return files


def archive_type(
    db: CouchDB, t_type: str, token_ids: Iterable[str], base: Path, *, compress: bool
) -> Path:
    """Archive tokens into ``base/<t_type>/``; with ``compress``, into ``tokens_<type>.tar.gz``.

    The tarball is written to a temporary name and renamed when complete, and the folder is
    removed only after that, so an interrupted archive never replaces a good one.
    """
    folder = base / t_type
    files = archive_tokens(db, token_ids, folder)
    log.info("archived %d files of token type %s into %s", len(files), t_type, folder)
    if not compress:
        return folder
    tarball = base / f"tokens_{t_type}.tar.gz"
    partial = tarball.with_name(tarball.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(folder, arcname=t_type)
    partial.replace(tarball)
    shutil.rmtree(folder)
    return tarball
