"""Token documents of chunks of subbands: one token per ``{first subband: [links]}`` entry.

The documents are made lazily (:func:`iter_chunk_tokens`), so that
:func:`~grid_lrt.client.tokendocs.create_tokens` writes them a batch at a time and a pool of a
million tokens never sits in memory at once; every key and id is checked first, so a mistake
writes nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.schema import inline_attachment, make_token_id, new_token

__all__ = ["Chunks", "check_finite", "chunk_tokens", "find_non_finite", "iter_chunk_tokens"]

Chunks = Union[Mapping[Any, Any], Iterable[Tuple[Any, Any]]]


def find_non_finite(value: Any, path: str) -> Optional[Tuple[str, float]]:
    """``(where, number)`` of the first NaN or infinity in ``value`` (nested dicts and lists
    included; ``where`` like ``field.key[2]``), or None. JSON has no such numbers: CouchDB
    would refuse the whole request with ``invalid_json``, naming nothing."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, Mapping):
        items: Iterable[Tuple[str, Any]] = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, item in items:
        found = find_non_finite(item, where)
        if found:
            return found
    return None


def check_finite(fields: Mapping[str, Any]) -> None:
    """Refuse token fields holding NaN or infinity, naming the field.

    Raises:
        UsageError: a field (or a value nested in it) is not a finite number.
    """
    for name, value in fields.items():
        found = find_non_finite(value, str(name))
        if found:
            raise UsageError(
                f"token field {found[0]!r} is {found[1]}: not a finite number",
                hint="JSON (and so CouchDB) has no NaN or infinity; give a number, a string, "
                "or leave the field out",
            )


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
    """One token document per chunk (key: first subband number, value: its links); the list
    of :func:`iter_chunk_tokens`."""
    return list(
        iter_chunk_tokens(
            t_type,
            chunks,
            fields,
            id_prefix=id_prefix,
            id_append=id_append,
            key_name=key_name,
            file_upload=file_upload,
            hold=hold,
        )
    )


def iter_chunk_tokens(
    t_type: str,
    chunks: Chunks,
    fields: Mapping[str, Any],
    *,
    id_prefix: str = "SB",
    id_append: str = "L000000",
    key_name: str = "STARTSB",
    file_upload: Optional[str] = None,
    hold: str = "",
) -> Iterator[Dict[str, Any]]:
    """One token document per chunk, made as they are consumed (:func:`create_tokens` writes
    them a batch at a time: a million tokens never sit in memory at once).

    ``hold`` (e.g. ``"staging"``) creates them held (state ``waiting``): no launcher takes
    them until ``lrt stage release`` finds all their files online.

    Every key and id is checked before the first document is made, so a mistake writes
    nothing.

    Raises:
        UsageError: a key is not a subband number, two chunks map to the same id, or a field
            is NaN or infinite.
    """
    check_finite(fields)
    items = _items(chunks)
    step = fields.get("PIPELINE_STEP")
    ids: List[Tuple[str, str]] = []
    for key, _links in items:
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise UsageError(
                f"key {key!r} of the token dict is not a subband number",
                hint="use slice_dicts(srmlist.sbn_dict()) or integer-like keys",
            ) from None
        label = f"{number:03d}"
        append = id_append + (f"_{step}" if step else "") + f"_{id_prefix}{label}"
        ids.append((make_token_id(t_type, append), label))
    duplicates = sorted(i for i, n in Counter(token_id for token_id, _ in ids).items() if n > 1)
    if duplicates:
        raise UsageError(
            f"{len(duplicates)} token ids would be created twice, e.g. {duplicates[0]}",
            hint="the dict keys map to the same id; check id_prefix/id_append/keys",
        )
    return _documents(
        t_type, items, ids, fields, key_name=key_name, file_upload=file_upload, hold=hold
    )


def _documents(
    t_type: str,
    items: List[Tuple[Any, Any]],
    ids: List[Tuple[str, str]],
    fields: Mapping[str, Any],
    *,
    key_name: str,
    file_upload: Optional[str],
    hold: str,
) -> Iterator[Dict[str, Any]]:
    for (_key, links), (token_id, label) in zip(items, ids):
        doc = new_token(t_type, token_id, fields)
        doc[key_name] = label
        if hold:
            doc["held"] = hold
        if file_upload:
            text = "".join(f"{link}\n" for link in links)
            doc["_attachments"] = {
                file_upload: inline_attachment(text.encode("utf-8"), "text/plain")
            }
        yield doc
