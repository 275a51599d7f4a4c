"""Archiving tokens to files: each token as YAML plus its attachments, optionally a tar.gz.

File names follow GRID_LRT: ``<id>.dump`` for the document and ``<id>_attachment_<name>`` for
each attachment (``/`` in names becomes ``-``). Attachments are written as bytes.
"""

from __future__ import annotations

import logging
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List

import yaml

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import TokenPool

__all__ = ["TypeArchive", "archive_token", "archive_tokens", "archive_type"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TypeArchive:
    """What :func:`archive_type` wrote: the folder or tarball, and the tokens in it."""

    path: Path
    ids: List[str]


def archive_token(pool: TokenPool, token_id: str, folder: Path) -> List[Path]:
    """Write one token and its attachments into ``folder``; return the files written.

    Raises:
        UsageError: there is no such token.
    """
    folder.mkdir(parents=True, exist_ok=True)
    found = pool.get(token_id)
    if found is None:
        raise UsageError(f"token {token_id!r} does not exist in database {pool.name!r}")
    doc = dict(found)
    written = []
    dump = folder / f"{token_id}.dump"
    dump.write_text(yaml.safe_dump(doc, default_flow_style=False, sort_keys=True), "utf-8")
    written.append(dump)
    for name in doc.get("_attachments", {}):
        target = folder / f"{token_id}_attachment_{name.replace('/', '-')}"
        target.write_bytes(pool.attachment(token_id, name))
        written.append(target)
    return written


def archive_tokens(pool: TokenPool, token_ids: Iterable[str], folder: Path) -> List[Path]:
    """Archive several tokens into ``folder``."""
    files: List[Path] = []
    for token_id in token_ids:
        files.extend(archive_token(pool, token_id, folder))
    return files


def archive_type(pool: TokenPool, t_type: str, base: Path, *, compress: bool) -> TypeArchive:
    """Archive every token of ``t_type`` into ``base/<t_type>/``; with ``compress``, into
    ``tokens_<type>.tar.gz``.

    The tarball is written to a temporary name and renamed when complete, and the folder is
    removed only after that, so an interrupted archive never replaces a good one.
    """
    ids = pool.ids(t_type)
    folder = base / t_type
    files = archive_tokens(pool, ids, folder)
    log.info("archived %d files of token type %s into %s", len(files), t_type, folder)
    if not compress:
        return TypeArchive(folder, ids)
    tarball = base / f"tokens_{t_type}.tar.gz"
    partial = tarball.with_name(tarball.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(folder, arcname=t_type)
    partial.replace(tarball)
    shutil.rmtree(folder)
    return TypeArchive(tarball, ids)
