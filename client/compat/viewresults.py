"""Seed-compatible view objects: ``th.views[name]`` and the rows of ``list_tokens_from_view``."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Mapping, overload

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
        return f"<ViewResults '_design/{self.t_type}/_view/{self.view_name}' rows={len(self)}>"


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
