"""Making token documents: one per chunk of a SURL list, attachments from files, in bulk.

:func:`chunk_tokens` builds the documents ``lrt tokens create`` and ``TokenSet`` write: the
config's ``Token`` fields, the first subband in ``key_name``, the chunk's links attached as
``srm.txt`` (inline, so a thousand tokens are one request, not two per token as GRID_LRT did),
and the GRID_LRT id ``t_<type>_<id_append>[_<PIPELINE_STEP>]_<id_prefix><key:03d>``.
:func:`create_tokens` writes them; running it again creates no duplicates and reports the ids
that existed already. It and :func:`bulk_update` show a progress bar (a widget in Jupyter, see
:mod:`grid_lrt.client.progress`) when asked to and there is more than one batch to write.

:func:`reset_mutator` is the reset of ``lrt tokens reset`` and ``TokenHandler.reset_tokens``;
with ``del_attach`` it drops only what a launcher attached while running the token
(:func:`is_run_attachment`: its logs and result plots), never the inputs (``srm.txt``,
parsets): a token without its inputs fails with code 20 when it runs again.
"""

from __future__ import annotations

import itertools
import logging
import mimetypes
import re
import time
from collections import Counter
from pathlib import Path
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Sized,
    TypeVar,
    Union,
)

from grid_lrt.shared.couch import DocumentNotFoundError
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import BulkResult, Mutator, TokenPool
from grid_lrt.shared.pool.bulk import BATCH
from grid_lrt.shared.schema import reset_for_retry

from .progress import NoBar, progress_bar
from .staging.release import hold_token
from .tokenchunks import check_finite, chunk_tokens, find_non_finite, iter_chunk_tokens

__all__ = [
    "bulk_update",
    "check_finite",
    "chunk_tokens",
    "content_type_of",
    "create_tokens",
    "drop_run_attachments",
    "dropped_summary",
    "find_non_finite",
    "in_batches",
    "is_run_attachment",
    "iter_chunk_tokens",
    "read_attachment",
    "read_upload",
    "reset_mutator",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


def read_upload(filehandle: Union[IO[Any], bytes, str, Path]) -> bytes:
    """The bytes of an attachment given as an open file (text or binary), bytes or a path."""
    if isinstance(filehandle, bytes):
        return filehandle
    if isinstance(filehandle, (str, Path)):
        return Path(filehandle).read_bytes()
    data = filehandle.read()
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def content_type_of(name: str) -> str:
    """MIME type for an attachment name (``.parset``/``.txt``/``.cfg`` are text)."""
    if name.endswith((".parset", ".txt", ".cfg", ".log")) or name.startswith("logs_"):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def in_batches(
    items: Sequence[T],
    write: Callable[[Sequence[T]], BulkResult],
    progress: Optional[str] = None,
    size: Optional[int] = None,
) -> BulkResult:
    """``write(items)``, or with ``progress`` (the bar's label) and more than ``size`` items
    (default ``BATCH``), ``write`` batch by batch under a progress bar, the results added up.
    The requests are the same either way: the pool writes ``BATCH`` documents per request."""
    size = size or BATCH
    if progress is None or len(items) <= size:
        return write(items)
    total = BulkResult()
    with progress_bar(len(items), progress, unit="token") as bar:
        for start in range(0, len(items), size):
            part = write(items[start : start + size])
            total.changed += part.changed
            total.unchanged += part.unchanged
            total.existing += part.existing
            total.missing += part.missing
            total.failed.update(part.failed)
            bar.update(min(size, len(items) - start))
    return total


def bulk_update(
    pool: TokenPool, ids: Iterable[str], mutate: Mutator, *, progress: Optional[str] = None
) -> BulkResult:
    """``pool.update(ids, mutate)``, with a progress bar labelled ``progress`` above a batch."""
    unique = list(dict.fromkeys(ids))  # as pool.update does, so a batch never repeats an id
    return in_batches(unique, lambda batch: pool.update(batch, mutate), progress)


def create_tokens(
    pool: TokenPool,
    docs: Iterable[Mapping[str, Any]],
    *,
    progress: Optional[str] = "creating tokens",
    total: Optional[int] = None,
) -> BulkResult:
    """Write new tokens in bulk, :data:`BATCH` at a time as ``docs`` yields them (a
    generator keeps memory at one batch); existing ids are reported (and logged), never
    touched.

    ``progress``: the label of a progress bar, shown above one batch; ``total``: the number
    of documents, for the bar (default ``len(docs)`` when it has one).

    Raises:
        UsageError: some ids are held by tokens of another type (reporting those as "already
            existed" would hide that these tokens were never made), or some tokens could not
            be written (the others were; re-running retries).
    """
    now = time.time()
    count = total if total is not None else (len(docs) if isinstance(docs, Sized) else None)
    result = BulkResult()
    wanted: Dict[str, Any] = {}  # id -> type, of the ids that existed already
    shown = progress is not None and (count is None or count > BATCH)
    bar_or_none = progress_bar(count, str(progress), unit="token") if shown else NoBar()
    with bar_or_none as bar:
        stream = iter(docs)
        while True:
            batch = [pool.placed(_held_since(doc, now)) for doc in itertools.islice(stream, BATCH)]
            if not batch:
                break
            part = pool.create(batch)
            result.changed += part.changed
            result.existing += part.existing
            result.failed.update(part.failed)
            if part.existing:
                types = {str(doc["_id"]): doc.get("type") for doc in batch}
                wanted.update((i, types.get(i)) for i in part.existing)
            bar.update(len(batch))
    if result.existing:
        _refuse_foreign(pool, wanted, result)
        log.warning(
            "%d of %d tokens already existed and were left untouched: %s%s",
            len(result.existing),
            len(result.changed) + len(result.existing) + len(result.failed),
            ", ".join(result.existing[:5]),
            " ..." if len(result.existing) > 5 else "",
        )
    if result.failed:
        raise UsageError(
            f"{len(result.failed)} tokens could not be created: "
            + "; ".join(f"{k}: {v}" for k, v in list(result.failed.items())[:5]),
            hint=f"{len(result.changed)} others were created; re-run to retry the rest",
        )
    return result


def _held_since(doc: Mapping[str, Any], now: float) -> Mapping[str, Any]:
    """A held token as it is written: ``times.held`` is its creation time (the report's
    staging waits start there); the documents themselves stay the same every time."""
    held = doc.get("held")
    if not held or not isinstance(held, str):
        return doc
    stamped = {**doc, "times": dict(doc.get("times") or {})}
    hold_token(stamped, held, now)
    return stamped


def _refuse_foreign(pool: TokenPool, wanted: Mapping[str, Any], result: BulkResult) -> None:
    foreign = {
        str(doc["_id"]): doc.get("type")
        for doc in pool.docs(result.existing)
        if doc.get("type") != wanted.get(str(doc["_id"]))
    }
    if foreign:
        token_id, t_type = next(iter(foreign.items()))
        raise UsageError(
            f"{len(foreign)} token ids are already used by tokens of another type, e.g. "
            f"{token_id} (type {t_type!r}); they were left untouched and not created",
            hint=f"{len(result.changed)} others were created; use a type name (or id_append) "
            "that differs in more than spaces or punctuation",
        )


def read_attachment(pool: TokenPool, token_id: str, name: str) -> bytes:
    """The bytes of attachment ``name`` of a token.

    Raises:
        UsageError: the token does not exist, or has no such attachment (the message lists
            the attachments it has): the server's 404 does not say which.
    """
    try:
        return pool.attachment(token_id, name)
    except DocumentNotFoundError:
        doc = pool.get(token_id)
    if doc is None:
        raise UsageError(f"token {token_id!r} does not exist in database {pool.name!r}")
    names = ", ".join(sorted(doc.get("_attachments") or {})) or "none"
    raise UsageError(f"token {token_id!r} has no attachment {name!r}; its attachments: {names}")


# -- resetting -------------------------------------------------------------------------------

#: The launcher's logs (``launcher/runner.py`` ``_logs``) and result plots (``_plots``).
_RUN_LOG = re.compile(r"attempt[0-9]+_std(?:out|err)\.log")
_RUN_PLOT_SUFFIXES = (".png", ".fits")


def is_run_attachment(name: str) -> bool:
    """True for what a launcher attaches to a token it ran: ``attempt<N>_stdout.log``,
    ``attempt<N>_stderr.log`` and the result plots (``*.png``, ``*.fits``)."""
    return bool(_RUN_LOG.fullmatch(name)) or name.lower().endswith(_RUN_PLOT_SUFFIXES)


def drop_run_attachments(doc: Dict[str, Any]) -> List[str]:
    """Remove the launcher's logs and plots from ``doc`` in place; return their names.

    Every other attachment (``srm.txt``, parsets, anything the user attached) stays.
    """
    attachments = doc.get("_attachments") or {}
    dropped = sorted(name for name in attachments if is_run_attachment(name))
    for name in dropped:
        del attachments[name]
    return dropped


def reset_mutator(del_attach: bool, dropped: Dict[str, List[str]]) -> Mutator:
    """The reset of a locked, done or error token back to todo (``scrub_count + 1``).

    With ``del_attach`` the launcher's logs and plots are dropped too, and their names are
    recorded in ``dropped[id]`` (the last round's, if a conflict made it run again).
    """

    def reset(doc: Dict[str, Any]) -> bool:
        if not reset_for_retry(doc):
            return False
        if del_attach:
            dropped[str(doc["_id"])] = drop_run_attachments(doc)
        return True

    return reset


def dropped_summary(dropped: Mapping[str, Sequence[str]], ids: Iterable[str]) -> str:
    """``"dropped 4 attachments (attempt1_stdout.log 2, ...)"`` for the tokens ``ids``."""
    names = Counter(name for token_id in ids for name in dropped.get(token_id, ()))
    if not names:
        return "dropped no attachments (no launcher logs or plots)"
    listed = ", ".join(f"{name} {count}" for name, count in sorted(names.items())[:8])
    more = ", ..." if len(names) > 8 else ""
    return f"dropped {sum(names.values())} attachments ({listed}{more})"
