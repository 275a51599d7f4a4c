"""Archiving tokens to files: each token as YAML plus its attachments, in a tar.gz or a folder.

File names follow GRID_LRT's pattern, ``<id>.dump`` for the document and
``<id>_attachment_<name>`` for each attachment, but ids and names go through
:func:`safe_name` first: a token id or attachment name is data that anyone with write access
to the database chooses (``../../victim/autostart/x``, ``/etc/cron.d/x``, a NUL byte, 300
characters), and it must never choose where a file goes. The dump keeps the real id and the
real attachment names.

Nothing is replaced: :func:`archive_type` writes into the first free name of
``tokens_<type>.tar.gz``, ``tokens_<type>.1.tar.gz``, ... (or folder ``<type>``,
``<type>.1``, ...), and writes a tarball in a private folder, never in one of the user's.

A whole type is read a page at a time, with the attachments inline, and streamed into the
tarball; the revisions go into an :class:`~grid_lrt.client.archive_ledger.ArchiveLedger`:
memory stays bounded at a million tokens (bench/million.py measures it).

Each token is read in one request together with its attachments, so its dump, its attachment
files and the revision recorded in :attr:`Archived.revisions` belong together.
:func:`delete_archived` deletes exactly those revisions: a token written after it was read
(a launcher's closing write, a reset) is kept, and reported.
"""

from __future__ import annotations

import base64
import itertools
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Protocol

import yaml

from grid_lrt.shared import views
from grid_lrt.shared.couch import Document
from grid_lrt.shared.errors import LrtError, UsageError
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, state_of

from .archive_ledger import ArchiveLedger
from .archive_names import NAME_LIMIT, attachment_file_name, dump_file_name, safe_name
from .archive_writers import FolderWriter, TarWriter
from .progress import progress_bar

__all__ = [
    "FINISHED",
    "NAME_LIMIT",
    "Archived",
    "Deletion",
    "TypeArchive",
    "archive_token",
    "archive_tokens",
    "archive_type",
    "attachment_file_name",
    "delete_archived",
    "dump_file_name",
    "safe_name",
]

log = logging.getLogger(__name__)

#: The states ``lrt tokens archive --delete`` deletes without ``--all-states``: no launcher
#: works on them any more.
FINISHED = frozenset({TokenState.DONE, TokenState.ERROR})

#: Revisions per ``_bulk_docs`` request when archived tokens are deleted.
BATCH = 1000


@dataclass
class Archived:
    """What was written: the files, and per token the revision and state that were archived
    (in an :class:`ArchiveLedger`, which keeps memory bounded at any number of tokens)."""

    files: List[Path] = field(default_factory=list)
    ledger: ArchiveLedger = field(default_factory=ArchiveLedger)

    @property
    def revisions(self) -> Mapping[str, str]:
        return self.ledger.revisions

    @property
    def states(self) -> Mapping[str, TokenState]:
        return self.ledger.states

    @property
    def count(self) -> int:
        """How many tokens were archived."""
        return len(self.ledger)

    @property
    def ids(self) -> List[str]:
        return list(self.ledger)


@dataclass
class TypeArchive(Archived):
    """What :func:`archive_type` wrote: the tarball or folder (``path``, also the one entry
    of ``files``: a type's files are not listed one by one), and the tokens."""

    path: Path = Path()


class _Writer(Protocol):
    def write(self, name: str, data: bytes) -> Optional[Path]: ...

    def close(self) -> None: ...


#: Tokens per page when a whole type is read with its attachments inline.
PAGE = 200


def _read(pool: CouchTokenPool, token_id: str) -> Optional[Document]:
    """The token with its attachments' bytes inline (one request: one revision), or None.

    ``_all_docs`` with the id in the request body, not ``GET /db/<id>``: an id like ``..``
    cannot be mistaken for a path.
    """
    rows = pool.db.all_docs(keys=[token_id], include_docs=True, attachments=True)["rows"]
    doc = rows[0].get("doc") if rows else None
    return Document(doc) if doc else None


def _type_docs(pool: CouchTokenPool, t_type: str) -> Iterator[Document]:
    """Every token of ``t_type`` with its attachments inline, :data:`PAGE` per request (each
    document and its attachments come from one revision)."""
    pool.ensure_views()
    rows = pool.db.iter_view(
        views.DB_DDOC,
        views.DB_VIEW,
        page=PAGE,
        startkey=[t_type],
        endkey=[t_type, {}],
        include_docs=True,
        attachments=True,
    )
    for row in rows:
        if row.get("doc"):  # deleted between the index and the read: nothing to archive
            yield Document(row["doc"])


def _archive_doc(pool: CouchTokenPool, doc: Document, out: _Writer, into: Archived) -> None:
    token_id = doc.id
    attachments: Dict[str, Any] = dict(doc.get("_attachments") or {})
    stubs: Dict[str, Any] = {}
    contents: Dict[str, bytes] = {}
    for name, entry in attachments.items():
        if "data" in entry:
            contents[name] = base64.b64decode(entry["data"])
        else:  # a server that ignored attachments=true: fetch it on its own
            contents[name] = pool.attachment(token_id, name)
        stub = {k: v for k, v in entry.items() if k != "data"}
        stubs[name] = {**stub, "length": len(contents[name]), "stub": True}
    if stubs:
        doc["_attachments"] = stubs
    text = yaml.safe_dump(dict(doc), default_flow_style=False, sort_keys=True)
    written = [out.write(dump_file_name(token_id), text.encode("utf-8"))]
    for name, data in contents.items():
        written.append(out.write(attachment_file_name(token_id, name), data))
    into.files.extend(path for path in written if path is not None)
    into.ledger.add(token_id, doc.rev, state_of(doc))


def _cannot_write(where: Path, exc: OSError) -> LrtError:
    return LrtError(
        f"cannot write the archive into {where}: {exc.strerror or exc}",
        hint="check that the folder is writable and has space",
    )


def archive_tokens(
    pool: CouchTokenPool, token_ids: Iterable[str], folder: Path, into: Optional[Archived] = None
) -> Archived:
    """Archive tokens into ``folder`` (made if missing), one file each; never replaces a file.

    Raises:
        UsageError: a token does not exist, or one of its files exists already.
        LrtError: the files cannot be written (the message names the folder).
    """
    archived = into if into is not None else Archived()
    ids = list(token_ids)
    try:
        out = FolderWriter(folder)
        with progress_bar(len(ids), "archiving", unit="token", leave=False) as bar:
            for token_id in ids:
                doc = _read(pool, token_id)
                if doc is None:
                    raise UsageError(f"token {token_id!r} does not exist in database {pool.name!r}")
                _archive_doc(pool, doc, out, archived)
                bar.update(1)
    except OSError as exc:
        raise _cannot_write(folder, exc) from None
    return archived


def archive_token(pool: CouchTokenPool, token_id: str, folder: Path) -> Archived:
    """Write one token and its attachments into ``folder``.

    Raises:
        UsageError: there is no such token, or one of its files exists already.
    """
    return archive_tokens(pool, [token_id], folder)


def _candidates(base: Path, stem: str, suffix: str) -> Iterator[Path]:
    yield base / f"{stem}{suffix}"
    for number in itertools.count(1):
        yield base / f"{stem}.{number}{suffix}"


def _check_folder(base: Path) -> None:
    if base.exists() and not base.is_dir():
        raise UsageError(
            f"{base} is a file, not a folder",
            hint="give a folder to archive into (made if missing)",
        )


def archive_type(
    pool: CouchTokenPool,
    t_type: str,
    base: Path,
    *,
    compress: bool,
    total: Optional[int] = None,
) -> TypeArchive:
    """Archive every token of ``t_type`` into ``base``: the first free name of
    ``tokens_<type>.tar.gz``, ``tokens_<type>.1.tar.gz``, ... or, without ``compress``, of the
    folders ``<type>``, ``<type>.1``, ... (``<type>`` through :func:`safe_name`).

    The tokens are read a page at a time with their attachments and streamed into the
    archive, so memory stays bounded whatever their number. An existing archive is never
    replaced or added to. The tarball is written under a temporary name in a private folder
    and renamed when complete.

    ``total``: the type's token count, for the progress bar (counted here when not given).

    Raises:
        UsageError: ``base`` is a file.
        LrtError: the archive cannot be written (the message names the folder).
    """
    _check_folder(base)
    if total is None:  # for the progress bar; a caller that counted already passes it
        total = sum(pool.counts(t_type).values())
    try:
        base.mkdir(parents=True, exist_ok=True)
        out = (
            _tarball(pool, t_type, base, total) if compress else _folder(pool, t_type, base, total)
        )
    except OSError as exc:
        raise _cannot_write(base, exc) from None
    log.info("archived %d tokens of type %s into %s", out.count, t_type, out.path)
    return out


def _stream(pool: CouchTokenPool, t_type: str, out: _Writer, into: Archived, total: int) -> None:
    with progress_bar(total, "archiving", unit="token", leave=False) as bar:
        for doc in _type_docs(pool, t_type):
            _archive_doc(pool, doc, out, into)
            bar.update(1)
    out.close()


def _folder(pool: CouchTokenPool, t_type: str, base: Path, total: int) -> TypeArchive:
    """Into the first of ``<type>``, ``<type>.1``, ... that does not exist yet."""
    for folder in _candidates(base, safe_name(t_type), ""):
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        out = TypeArchive(path=folder)
        _stream(pool, t_type, FolderWriter(folder), out, total)
        out.files = [folder]
        return out
    raise AssertionError("unreachable")  # pragma: no cover - _candidates never ends


def _tarball(pool: CouchTokenPool, t_type: str, base: Path, total: int) -> TypeArchive:
    """Into the first of ``tokens_<type>.tar.gz``, ``tokens_<type>.1.tar.gz``, ... that does
    not exist yet, written in a private folder that is removed afterwards."""
    stem = safe_name(t_type)
    staging = Path(tempfile.mkdtemp(prefix=f".tokens_{stem}.", suffix=".partial", dir=base))
    try:
        out = TypeArchive()
        partial = staging / "archive.tar.gz"
        _stream(pool, t_type, TarWriter(partial, stem), out, total)
        for tarball in _candidates(base, f"tokens_{stem}", ".tar.gz"):
            try:
                tarball.open("xb").close()  # reserve the name: an existing file is never replaced
            except FileExistsError:
                continue
            partial.replace(tarball)
            out.path, out.files = tarball, [tarball]
            return out
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    raise AssertionError("unreachable")  # pragma: no cover - _candidates never ends


@dataclass
class Deletion:
    """What :func:`delete_archived` did.

    ``deleted``: gone. ``kept``: not finished when archived (not asked to be deleted), with
    the state they were archived in. ``changed``: written (or deleted) after they were
    archived, so the archive does not hold their last version; kept. ``failed``: the server
    refused, with its reason.
    """

    deleted: List[str] = field(default_factory=list)
    kept: Dict[str, TokenState] = field(default_factory=dict)
    changed: List[str] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.failed)


def delete_archived(
    pool: CouchTokenPool, archived: Archived, *, all_states: bool = False
) -> Deletion:
    """Delete the archived revisions of the finished (done, error) tokens of ``archived``;
    with ``all_states``, of every archived token. A token written since is kept.

    The revisions are read back from the ledger and deleted a batch at a time, with progress.
    Nothing is logged: the caller reports the :class:`Deletion` (every failure included).
    """
    chosen = None if all_states else FINISHED
    outcome = Deletion()
    if chosen is not None:
        outcome.kept = dict(archived.ledger.states_of(chosen, inside=False))
    wanted = archived.count - len(outcome.kept)
    with progress_bar(wanted, "deleting", unit="token", leave=False) as bar:
        for batch in archived.ledger.batches(BATCH, states=chosen):
            result = pool.delete_revisions(batch)
            outcome.deleted.extend(result.changed)
            outcome.changed.extend([*result.unchanged, *result.missing])
            outcome.failed.update(result.failed)
            bar.update(len(batch))
    return outcome
