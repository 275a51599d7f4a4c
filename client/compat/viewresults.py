"""Seed-compatible view objects: ``th.views[name]`` and the rows of ``list_tokens_from_view``.

The rows show themselves as a small table (:mod:`.display`): the token ids of a status view,
or the count per state of ``overview_total``, in a terminal and, as HTML, in Jupyter.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, overload

from grid_lrt.shared.schema import TokenState

from .display import MAX_ROWS, Table, html_table, text_table

__all__ = ["Row", "ViewDefinition", "ViewResults"]


class Row(Dict[str, Any]):
    """A view row: ``row["key"]`` and ``row.key`` both work (couchdb-python rows did)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)

    @property
    def id(self) -> str:
        return str(self.get("id", ""))

    @property
    def key(self) -> Any:
        return self.get("key")

    @property
    def value(self) -> Any:
        return self.get("value")


class ViewResults:
    """The rows of one view query: iterable, indexable, ``len()`` works."""

    def __init__(self, t_type: str, view_name: str, rows: List[Row]) -> None:
        self.t_type = t_type
        self.view_name = view_name
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> List[Row]: ...

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]

    def __repr__(self) -> str:
        return text_table(self._table())

    def _repr_html_(self) -> str:
        return html_table(self._table())

    def _table(self) -> Table:
        """The first rows as a table under ``<ViewResults '<path>' rows=N>``.

        Rows of a map/reduce view (no ids) are ``key | value``; when the keys are states (the
        overview views), ``state | tokens`` with the total. Token rows show the id, and the key
        and value only where a row's differ from its id (a status view emits ``(id, id)``).
        """
        title = f"<ViewResults '_design/{self.t_type}/_view/{self.view_name}' rows={len(self)}>"
        if not self.rows:
            return Table(title, (), note="(no rows)")
        shown, more = self.rows[:MAX_ROWS], max(0, len(self.rows) - MAX_ROWS)
        if all("id" not in row for row in self.rows):
            pairs: List[List[Any]] = [[row.key, row.value] for row in shown]
            if all(_is_state(row.key) and _is_count(row.value) for row in self.rows):
                total = sum(int(row.value) for row in self.rows)
                return Table(title, ("state", "tokens"), pairs, more, footer=[["total", total]])
            return Table(title, ("key", "value"), pairs, more)
        columns = ["id"] + [
            name for name in ("key", "value") if any(row.get(name) != row.id for row in self.rows)
        ]
        rows = [[row.id if name == "id" else row.get(name) for name in columns] for row in shown]
        return Table(title, columns, rows, more)


_STATES = frozenset(state.value for state in TokenState)


def _is_state(key: Any) -> bool:
    return isinstance(key, str) and key in _STATES


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class ViewDefinition:
    """A named view of ``_design/<type>`` (what ``th.views[name]`` holds)."""

    def __init__(self, t_type: str, name: str, *, reduce: bool = False) -> None:
        self.t_type = t_type
        self.name = name
        #: True for map/reduce views (counts), whose rows are not tokens.
        self.reduce = reduce

    @property
    def path(self) -> str:
        return f"_design/{self.t_type}/_view/{self.name}"

    def __repr__(self) -> str:
        return f"<ViewDefinition '{self.path}'>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ViewDefinition) and (self.t_type, self.name) == (
            other.t_type,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.t_type, self.name))
