"""The per-type design document ``_design/<type>`` and the ids a view or state names.

grid-lrt's own code reads the database-wide ``_design/grid_lrt`` (``shared/views.py``); the
per-type views (``todo``, ``locked``, ``done``, ``error``, ``overview_total`` and the custom ones
``TokenHandler.add_view`` makes) are GRID_LRT's, kept for notebooks and Fauxton users. This
module manages them and answers "which tokens does VIEW name?", the question behind
``lrt tokens list/reset/delete TYPE VIEW``: a state name is answered from the database-wide
view (no per-type view needed), any other name from ``_design/<type>``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

from grid_lrt.shared import views
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState

__all__ = ["STATES", "TypeViews"]

#: State names, as the views and the CLI spell them.
STATES: Dict[str, TokenState] = {state.value: state for state in TokenState}

ViewDefs = Dict[str, Dict[str, str]]


class TypeViews:
    """``_design/<t_type>`` of one pool: its views, and the tokens they list."""

    def __init__(self, pool: CouchTokenPool, t_type: str) -> None:
        if not t_type or "/" in t_type:
            raise UsageError(f"invalid token type {t_type!r}: it must be non-empty, without '/'")
        self.pool = pool
        self.t_type = t_type
        self.ddoc_id = f"_design/{t_type}"

    # -- definitions ---------------------------------------------------------------------------

    def definitions(self) -> ViewDefs:
        """The view definitions of ``_design/<type>`` (one GET; empty when it does not exist)."""
        ddoc = self.pool.get(self.ddoc_id)
        return dict(ddoc.get("views", {})) if ddoc is not None else {}

    def _edit(self, edit: Callable[[Dict[str, Any]], None]) -> None:
        def apply(ddoc: Dict[str, Any]) -> bool:
            ddoc.setdefault("views", {})
            edit(ddoc["views"])
            ddoc["grid_lrt_schema"] = views.SCHEMA_VERSION
            return True

        if self.pool.update_one(self.ddoc_id, apply, default=self._new) is None:
            raise UsageError(f"{self.ddoc_id} kept changing under us; try again")

    def _new(self) -> Dict[str, Any]:
        return views.type_design_doc(self.t_type, partitioned_db=self.pool.partitioned)

    def set(self, new_views: ViewDefs) -> None:
        """Add or replace views (the design document is made when missing)."""
        self._edit(lambda defs: defs.update(new_views))

    def add_overview(self) -> None:
        """``overview_total``: token counts per state (the states never overlap)."""
        self.set({views.OVERVIEW: views.overview_view(self.t_type)})

    def add_status_views(self) -> None:
        """The ``todo``, ``locked``, ``done`` and ``error`` views."""
        self.set({name: views.state_view(self.t_type, STATES[name]) for name in views.STATUS_VIEWS})

    def remove(self, name: str) -> None:
        """Remove one view; a UsageError naming the existing ones when there is none."""
        self.require(name, self.definitions())
        self._edit(lambda defs: defs.pop(name, None))

    def clear(self) -> None:
        """Remove every view (the design document stays)."""
        self._edit(lambda defs: defs.clear())

    def drop(self) -> None:
        """Delete ``_design/<type>`` itself."""
        self.pool.delete([self.ddoc_id])

    def require(self, name: str, defs: ViewDefs) -> Dict[str, str]:
        """The definition of view ``name`` in ``defs``, or a UsageError naming the others."""
        if name not in defs:
            known = ", ".join(sorted(defs)) or "none"
            raise UsageError(
                f"view {name!r} does not exist in {self.ddoc_id} of database "
                f"{self.pool.name!r}; existing views: {known}",
                hint="give a state: todo, locked, done, error or waiting (other views are "
                "made from Python, TokenHandler.add_view)",
            )
        return defs[name]

    # -- rows and ids --------------------------------------------------------------------------

    def rows(self, name: str, defs: Optional[ViewDefs] = None) -> List[Dict[str, Any]]:
        """The rows (``id``, ``key``, ``value``) of a view; reduce views grouped."""
        definition = self.require(name, self.definitions() if defs is None else defs)
        params: Dict[str, Any] = {"group": True} if "reduce" in definition else {}
        return list(self.pool.db.view(self.t_type, name, **params)["rows"])

    def ids(self, view: str, key: Optional[Sequence[Any]] = None) -> List[str]:
        """Ids of the tokens in ``view`` (a state name or a view), optionally only those whose
        field ``key[0]`` equals ``key[1]``.

        The state names work even before ``add_status_views()``: they are answered from the
        database-wide view.
        """
        defs = self.definitions()
        if view in STATES and view not in defs:
            ids = self.pool.ids(self.t_type, STATES[view])
        else:
            ids = [str(row["id"]) for row in self.rows(view, defs) if row.get("id")]
        if key is None:
            return ids
        field, value = key[0], key[1]
        return [doc["_id"] for doc in self.pool.docs(ids) if doc.get(field) == value]
