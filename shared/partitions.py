"""Partitioned databases (Apache CouchDB 3): one partition per OBSID.

In a partitioned database every document id but a design document's is
``<partition>:<rest>`` (the partition is everything before the first colon), and a view of a
*partitioned* design document is read one partition at a time,
``/db/_partition/<partition>/_design/<ddoc>/_view/<view>``, from that partition's shard range
alone instead of from a copy of every shard. Design documents default to partitioned there:
one that must answer across partitions says ``"options": {"partitioned": false}``.

grid-lrt's layout on such a database:

* a token's partition is its ``OBSID`` field (the observation its subbands come from), or its
  type when it has none; made safe for an id (:func:`partition_key`), and put in front of the
  GRID_LRT id when the token is created (:func:`placed`), so ``t_cal_L654321_SB000`` becomes
  ``L654321:t_cal_L654321_SB000``;
* ``_design/grid_lrt`` (claims across the whole pool, leases, the ``_changes`` filter) and the
  seed's ``_design/<type>`` documents are global;
* ``_design/grid_lrt_part`` holds the same ``tokens`` view, partitioned: a launcher or an
  overview given a partition (``--db-partition L654321``) claims and counts there only.

Servers without partitions (pouchdb-server, CouchDB 2) ignore ``?partitioned=true`` and have no
``props.partitioned``: everything stays global and ids unchanged.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional

from .errors import UsageError

__all__ = [
    "PARTITION_FIELD",
    "is_partitioned",
    "partition_key",
    "partition_of",
    "placed",
    "require_partition",
]

#: The token field whose value names a token's partition (its observation).
PARTITION_FIELD = "OBSID"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_MAX = 100


def is_partitioned(info: Mapping[str, Any]) -> bool:
    """Whether the database described by ``info`` (``GET /db``) is partitioned."""
    props = info.get("props")
    return isinstance(props, dict) and props.get("partitioned") is True


def partition_key(doc: Mapping[str, Any]) -> str:
    """The partition of a token: its ``OBSID`` (else its type), with every character that
    is not a letter, digit, ``_``, ``.`` or ``-`` made ``_``; a leading ``_`` (reserved by
    CouchDB) becomes ``p_``."""
    raw = doc.get(PARTITION_FIELD)
    if raw is None or raw == "":
        raw = doc.get("type", "")
    key = _UNSAFE.sub("_", str(raw))[:_MAX] or "none"
    return "p" + key if key.startswith("_") else key


def partition_of(token_id: str) -> Optional[str]:
    """The partition named in ``token_id`` (before its first colon), or None."""
    head, sep, _ = token_id.partition(":")
    return head if sep and head else None


def placed(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """``doc`` as a partitioned database stores it: its id prefixed by its partition, unless
    it names a partition already (then it is kept: placing twice changes nothing)."""
    token_id = str(doc["_id"])
    if token_id.startswith("_design/") or partition_of(token_id) is not None:
        return doc
    out: Dict[str, Any] = dict(doc)
    out["_id"] = f"{partition_key(doc)}:{token_id}"
    return out


def require_partition(partition: str) -> str:
    """``partition`` when it can name one (``--db-partition``), else a :class:`UsageError`."""
    if not partition or _UNSAFE.search(partition) or partition.startswith("_"):
        raise UsageError(
            f"{partition!r} cannot name a partition",
            hint="a partition is a token's OBSID as its id shows it (letters, digits, _ . -, "
            "not starting with _), e.g. --db-partition L654321",
        )
    return partition
