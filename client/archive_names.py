"""Safe file names for archived tokens: ``<id>.dump`` and ``<id>_attachment_<name>``, with
the id and the name escaped so that data in the database never chooses where a file goes
(see ``token_archive``)."""

from __future__ import annotations

import hashlib

__all__ = ["NAME_LIMIT", "attachment_file_name", "dump_file_name", "safe_name"]

#: Longest encoded id or attachment name in a file name (two of them and ``_attachment_``
#: stay below the 255 bytes of a file name on every common file system).
NAME_LIMIT = 100

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+@-")
_SEPARATOR = "_attachment_"


def _escaped(char: str) -> str:
    raw = char.encode("utf-8", "surrogatepass")
    return char if char in _SAFE else "".join(f"%{b:02X}" for b in raw)


def safe_name(text: str, *, limit: int = NAME_LIMIT) -> str:
    """``text`` as one safe file name component, reversibly where it is short enough.

    Every character outside ``A-Z a-z 0-9 _ . + @ -`` becomes ``%XX`` per UTF-8 byte (so
    ``/``, NUL and ``%`` itself are escaped); a leading ``.`` or ``-`` is escaped too (no
    ``.``/``..``, no hidden file, nothing that looks like an option). ``urllib.parse.unquote``
    gives ``text`` back. A result longer than ``limit`` (or an empty one) is cut after a whole
    character and ends in ``~`` and 16 hex digits of the SHA-256 of ``text``; ``~`` appears in
    no other result, so two different texts never share a name.
    """
    parts = [_escaped(char) for char in text]
    if parts and parts[0] in (".", "-"):
        parts[0] = f"%{ord(parts[0]):02X}"
    out = "".join(parts)
    if out and len(out) <= limit:
        return out
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    head, room = [], limit - len(digest) - 1
    for part in parts:
        room -= len(part)
        if room < 0:
            break
        head.append(part)
    return f"{''.join(head)}~{digest}"


def _id_part(token_id: str) -> str:
    """:func:`safe_name` of an id, with ``_attachment_`` escaped, so that the first
    ``_attachment_`` of a file name always ends the id (dump and attachment names never meet)."""
    out = safe_name(token_id)
    while _SEPARATOR in out:
        out = out.replace(_SEPARATOR, "%5F" + _SEPARATOR[1:])
    return out


def dump_file_name(token_id: str) -> str:
    """``<safe id>.dump``: the file of the token's document."""
    return f"{_id_part(token_id)}.dump"


def attachment_file_name(token_id: str, name: str) -> str:
    """``<safe id>_attachment_<safe name>``: the file of one attachment."""
    return f"{_id_part(token_id)}{_SEPARATOR}{safe_name(name)}"
