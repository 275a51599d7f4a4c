"""What an archive holds, per token: the revision and the state it was archived at.

:func:`~grid_lrt.client.token_archive.delete_archived` deletes exactly these revisions, so
the record must cover every archived token, and a type can have a million of them. Held in a
dict that costs about 250 bytes per token (250 MB per 10^6); here it goes into a private
temporary SQLite database instead (the standard library's ``sqlite3``), which SQLite keeps in
its page cache (a few MB) and spills to a file it deletes itself when the ledger is closed
or collected. Memory stays bounded whatever the number of tokens; reads come back in batches.
"""

from __future__ import annotations

import sqlite3
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, TypeVar

from grid_lrt.shared.schema import TokenState

__all__ = ["ArchiveLedger"]

V = TypeVar("V")

#: SQLite's page cache for a ledger, in KiB (``PRAGMA cache_size`` takes -KiB).
CACHE_KIB = 4096


class _Column(Mapping[str, V]):
    """A read-only mapping id -> one column of the ledger (``revisions`` or ``states``)."""

    QUERY = ""  # the SELECT of one column by id

    def __init__(self, ledger: ArchiveLedger) -> None:
        self._ledger = ledger

    def _convert(self, value: str) -> V:
        raise NotImplementedError

    def __getitem__(self, token_id: str) -> V:
        row = self._ledger.db.execute(self.QUERY, (token_id,)).fetchone()
        if row is None:
            raise KeyError(token_id)
        return self._convert(row[0])

    def __iter__(self) -> Iterator[str]:
        return iter(self._ledger)

    def __len__(self) -> int:
        return len(self._ledger)

    def __repr__(self) -> str:
        return f"<{type(self).__name__[1:].lower()} of {len(self)} archived tokens>"


class _Revisions(_Column[str]):
    QUERY = "SELECT rev FROM tokens WHERE id = ?"

    def _convert(self, value: str) -> str:
        return value


class _States(_Column[TokenState]):
    QUERY = "SELECT state FROM tokens WHERE id = ?"

    def _convert(self, value: str) -> TokenState:
        return TokenState(value)


class ArchiveLedger:
    """Per archived token, its revision and state, in the order they were archived.

    ``revisions`` and ``states`` are read-only mappings over it; :meth:`batches` reads it
    back a batch at a time. Adding a token twice keeps the last revision (the same token
    archived twice into one folder).
    """

    def __init__(self) -> None:
        # "" is SQLite's private temporary database: on disk only once its cache is full,
        # deleted by SQLite when the connection closes.
        self.db = sqlite3.connect("")
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE tokens (n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,"
            " rev TEXT NOT NULL, state TEXT NOT NULL)"
        )
        self.revisions: Mapping[str, str] = _Revisions(self)
        self.states: Mapping[str, TokenState] = _States(self)

    def add(self, token_id: str, rev: str, state: TokenState) -> None:
        self.db.execute(
            "INSERT INTO tokens (id, rev, state) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, state = excluded.state",
            (token_id, rev, state.value),
        )

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0])

    def __contains__(self, token_id: object) -> bool:
        query = "SELECT 1 FROM tokens WHERE id = ?"
        return self.db.execute(query, (token_id,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        for rows in self._pages(1000):
            for token_id, _, _ in rows:
                yield token_id

    def batches(
        self, size: int, *, states: Optional[Iterable[TokenState]] = None, inside: bool = True
    ) -> Iterator[Dict[str, str]]:
        """Batches of at most ``size`` tokens, id -> archived revision; with ``states``,
        only the tokens archived in one of them (``inside=False``: in none of them)."""
        for rows in self._pages(size, states, inside):
            if rows:
                yield {token_id: rev for token_id, rev, _ in rows}

    def states_of(
        self, states: Iterable[TokenState], *, inside: bool = True
    ) -> Iterator[Tuple[str, TokenState]]:
        """``(id, state)`` of the tokens archived in one of ``states`` (or in none)."""
        for rows in self._pages(1000, states, inside):
            for token_id, _, state in rows:
                yield token_id, TokenState(state)

    def _pages(
        self, size: int, states: Optional[Iterable[TokenState]] = None, inside: bool = True
    ) -> Iterator[List[Tuple[str, str, str]]]:
        """Rows in archive order, a page of ``size`` at a time, filtered by state (keyset
        paging: no cursor stays open while the caller works, so it may add in between)."""
        wanted = None if states is None else {s.value for s in states}
        last = 0
        while True:
            rows = self.db.execute(
                "SELECT n, id, rev, state FROM tokens WHERE n > ? ORDER BY n LIMIT ?",
                (last, size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [
                (str(n_id), str(rev), str(state))
                for _, n_id, rev, state in rows
                if wanted is None or (state in wanted) == inside
            ]

    def close(self) -> None:
        self.db.close()
