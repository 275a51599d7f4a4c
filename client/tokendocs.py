"""Making token documents: one per chunk of a SURL list, attachments from files, in bulk.

:func:`chunk_tokens` builds the documents ``lrt tokens create`` and ``TokenSet`` write: the
config's ``Token`` fields, the first subband in ``key_name``, the chunk's links attached as
``srm.txt`` (inline, so a thousand tokens are one request, not two per token as GRID_LRT did),
and the GRID_LRT id ``t_<type>_<id_append>[_<PIPELINE_STEP>]_<id_prefix><key:03d>``.
:func:`create_tokens` writes them; running it again creates no duplicates and reports the ids
that existed already.
"""

from __future__ import annotations

import logging
import mimetypes
from collections import Counter
from pathlib import Path
from typing import IO, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import BulkResult, TokenPool
from grid_lrt.shared.schema import inline_attachment, make_token_id, new_token

__all__ = ["chunk_tokens", "content_type_of", "create_tokens", "read_upload"]

log = logging.getLogger(__name__)

Chunks = Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]]


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


def _items(chunks: Chunks) -> List[Tuple[Any, Any]]:
    if isinstance(chunks, Mapping):
        return list(chunks.items())
    return list(chunks)


def chunk_tokens(
    t_type: str,
    chunks: Chunks,
    fields: Mapping[str, Any],
    *,
    id_prefix: str = "SB",
    id_append: str = "L000000",
    key_name: str = "STARTSB",
    file_upload: Optional[str] = None,
    hold: str = "",
) -> List[Dict[str, Any]]:
    """One token document per chunk (key: first subband number, value: its links).

    ``hold`` (e.g. ``"staging"``) creates them held (state ``waiting``): no launcher takes
    them until ``lrt stage release`` finds all their files online.

    Raises:
        UsageError: a key is not a subband number, or two chunks map to the same id.
    """
    docs = []
    step = fields.get("PIPELINE_STEP")
    for key, links in _items(chunks):
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise UsageError(
                f"key {key!r} of the token dict is not a subband number",
                hint="use slice_dicts(srmlist.sbn_dict()) or integer-like keys",
            ) from None
        label = f"{number:03d}"
        append = id_append + (f"_{step}" if step else "") + f"_{id_prefix}{label}"
        doc = new_token(t_type, make_token_id(t_type, append), fields)
        doc[key_name] = label
        if hold:
            doc["held"] = hold
        if file_upload:
            text = "".join(f"{link}\n" for link in links)
            doc["_attachments"] = {
                file_upload: inline_attachment(text.encode("utf-8"), "text/plain")
            }
        docs.append(doc)
    duplicates = sorted(i for i, n in Counter(d["_id"] for d in docs).items() if n > 1)
    if duplicates:
        raise UsageError(
            f"{len(duplicates)} token ids would be created twice, e.g. {duplicates[0]}",
            hint="the dict keys map to the same id; check id_prefix/id_append/keys",
        )
    return docs


def create_tokens(pool: TokenPool, docs: Sequence[Mapping[str, Any]]) -> BulkResult:
    """Write new tokens in bulk; existing ids are reported (and logged), never touched.

    Raises:
        UsageError: some tokens could not be written (the others were; re-running retries).
    """
    result = pool.create(docs)
    if result.existing:
        log.warning(
            "%d of %d tokens already existed and were left untouched: %s%s",
            len(result.existing),
            len(docs),
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
