"""CouchDB design documents generated from the token schema (``schema.py``).

Two kinds of design document:

* **Database-wide** (``_design/grid_lrt``), used by grid-lrt's own code paths (launcher claims,
  overview counts, the CLI). Its view ``leases`` lists locked tokens by lease expiry (the
  reaper's query); its view ``tokens`` emits one row per token, keyed
  ``[type, state, _id]`` with the id as value and a ``_count`` reduce. A todo claim is a key
  range query, the overview is one ``group_level=2`` query, and CouchDB indexes one view for
  all token types instead of one view per type and state (its cost grows with the number of
  documents, not with types times documents).
  Its ``_changes`` filter ``todo`` passes the todo tokens of the type named by the
  request's ``type`` parameter.
* **Per type** (``_design/<type>``), the seed's views for notebooks and Fauxton users: ``todo``,
  ``locked``, ``done``, ``error`` (each emits ``(doc._id, doc._id)``; the launcher of old
  relies on the value being the id), ``overview_total`` (map/reduce whose categories are the
  states: they do not overlap and add up to the number of tokens of the type) and any custom
  view built from a condition string.

In a partitioned database (``partitions.py``) both kinds say ``options.partitioned: false``
(global), and ``_design/grid_lrt_part`` holds the ``tokens`` view once more, partitioned, for
claims and counts in one partition.

All JavaScript is ES5 (CouchDB 3's default engine) and embeds ``token.STATE_JS``.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from .schema import STATE_JS, TokenState

__all__ = [
    "DB_DDOC",
    "DB_VIEW",
    "LEASE_VIEW",
    "PART_DDOC",
    "SCHEMA_VERSION",
    "STATUS_VIEWS",
    "TODO_FILTER",
    "condition_map",
    "database_design_doc",
    "ddoc_for",
    "mapreduce_view",
    "overview_view",
    "partitioned_design_doc",
    "state_view",
    "type_design_doc",
]

#: Bumped whenever the generated JavaScript changes; stored in every design doc we write.
SCHEMA_VERSION = 6

DB_DDOC = "grid_lrt"
DB_VIEW = "tokens"
#: The partitioned twin of ``_design/grid_lrt`` (its ``tokens`` view only), in partitioned
#: databases.
PART_DDOC = "grid_lrt_part"


def ddoc_for(partition: Optional[str]) -> str:
    """The design document whose views are read in ``partition`` (None: database-wide)."""
    return DB_DDOC if partition is None else PART_DDOC


#: Locked tokens that carry a lease, keyed ``[type, lease_expires]`` with the value
#: ``[attempt, heartbeat]``: the expired ones are the key range ``[type, 0] .. [type, now]``
#: (see ``lease.py``); a lease whose last heartbeat is long ago has probably lost its launcher.
LEASE_VIEW = "leases"
#: The ``_changes`` filter of todo tokens of one type (``?filter=grid_lrt/todo&type=T``;
#: with ``&any=1`` every change of a token of the type; with ``&partition=P``, P's only):
#: idle launchers wait on it instead of querying the todo view again and again.
TODO_FILTER = "todo"
#: The seed's status views, in the order ``add_status_views`` creates them.
STATUS_VIEWS = ("todo", "locked", "done", "error")
OVERVIEW = "overview_total"


def _js_string(value: str) -> str:
    return json.dumps(value)


def _map(body: str) -> str:
    return "function (doc) {\n" + STATE_JS + "\n" + body + "\n}"


def _tokens_view() -> Dict[str, str]:
    return {
        "map": _map("  if (isToken(doc)) { emit([doc.type, stateOf(doc), doc._id], doc._id); }"),
        "reduce": "_count",
    }


def _scoped(ddoc: Dict[str, Any], partitioned: Optional[bool]) -> Dict[str, Any]:
    """``ddoc`` with ``options.partitioned`` set, when ``partitioned`` is not None (only a
    partitioned database takes the option: another one refuses ``true``)."""
    if partitioned is not None:
        ddoc["options"] = {"partitioned": partitioned}
    return ddoc


def database_design_doc(*, partitioned_db: bool = False) -> Dict[str, Any]:
    """``_design/grid_lrt``: one view over every token of every type (global in a
    partitioned database)."""
    ddoc = {
        "_id": f"_design/{DB_DDOC}",
        "language": "javascript",
        "grid_lrt_schema": SCHEMA_VERSION,
        "views": {
            DB_VIEW: _tokens_view(),
            LEASE_VIEW: {
                "map": _map(
                    '  if (isToken(doc) && stateOf(doc) === "locked" &&\n'
                    "      num(doc.lease_expires) > 0) {\n"
                    "    emit([doc.type, num(doc.lease_expires)],\n"
                    "         [num(doc.attempt), num(doc.heartbeat)]);\n"
                    "  }"
                ),
            },
        },
        "filters": {
            TODO_FILTER: "function (doc, req) {\n"
            + STATE_JS
            + "\n  return isToken(doc) && doc.type === String(req.query.type) &&"
            + '\n    (String(req.query.any) === "1" || stateOf(doc) === "todo") &&'
            + "\n    (!req.query.partition ||"
            + '\n     doc._id.indexOf(String(req.query.partition) + ":") === 0);'
            + "\n}"
        },
    }
    return _scoped(ddoc, False if partitioned_db else None)


def partitioned_design_doc() -> Dict[str, Any]:
    """``_design/grid_lrt_part``: the ``tokens`` view, partitioned (a partitioned database's
    claims and counts in one partition; ``_count`` is built in, as partitioned views need)."""
    ddoc = {
        "_id": f"_design/{PART_DDOC}",
        "language": "javascript",
        "grid_lrt_schema": SCHEMA_VERSION,
        "views": {DB_VIEW: _tokens_view()},
    }
    return _scoped(ddoc, True)


def _type_guard(t_type: str) -> str:
    return f"isToken(doc) && doc.type === {_js_string(t_type)}"


def state_view(t_type: str, state: TokenState) -> Dict[str, str]:
    """A seed status view: the tokens of ``t_type`` in ``state``, emitting ``(id, id)``."""
    return {
        "map": _map(
            f"  if ({_type_guard(t_type)} && stateOf(doc) === {_js_string(state.value)}) "
            "{ emit(doc._id, doc._id); }"
        )
    }


def overview_view(t_type: str, condition: str = "true") -> Dict[str, str]:
    """``overview_total``: one row per token keyed by its state, ``_count`` reduce.

    Query with ``group=true`` for ``{state: count}``. ``condition`` (JavaScript on ``doc``)
    narrows it to a subset, which is what ``add_mapreduce_view`` makes.
    """
    return {
        "map": _map(f"  if ({_type_guard(t_type)} && ({condition})) {{ emit(stateOf(doc), 1); }}"),
        "reduce": "_count",
    }


def mapreduce_view(t_type: str, condition: str) -> Dict[str, str]:
    """A "mini overview" restricted by ``condition`` (seed ``add_mapreduce_view``)."""
    return overview_view(t_type, condition)


def condition_map(
    t_type: str, condition: str, emit_value: str = "doc._id", emit_value2: str = "doc._id"
) -> Dict[str, str]:
    """A custom view: tokens of ``t_type`` for which ``condition`` holds (seed ``add_view``)."""
    return {
        "map": _map(
            f"  if ({_type_guard(t_type)}) {{ if ({condition}) "
            f"{{ emit({emit_value}, {emit_value2}); }} }}"
        )
    }


def type_design_doc(t_type: str, *, partitioned_db: bool = False) -> Dict[str, Any]:
    """A fresh ``_design/<type>`` with no views yet (they are added by name); global in a
    partitioned database."""
    ddoc = {
        "_id": f"_design/{t_type}",
        "language": "javascript",
        "grid_lrt_schema": SCHEMA_VERSION,
        "views": {},
    }
    return _scoped(ddoc, False if partitioned_db else None)
