"""Small tables for notebooks: the plain-text and HTML reprs of the compat objects.

A view's rows (:class:`~.viewresults.ViewResults`) and a :class:`~.tokenset.TokenSet` show
themselves as a table of at most :data:`MAX_ROWS` rows, ``... and N more`` below it: as text
in a terminal (``__repr__``), as an HTML ``<table>`` in Jupyter (``_repr_html_``). Both are
drawn by :func:`text_table` and :func:`html_table` from the same :class:`Table`, so they
always say the same. Every value is cut to :data:`MAX_CELL` characters, control characters
become spaces, and the HTML escapes everything it shows. The tables hold ids, states, view
keys and values, never a server URL or a login.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any, List, Sequence

__all__ = ["MAX_CELL", "MAX_ROWS", "Table", "cell", "html_table", "text_table"]

#: Rows a table shows; the rest are counted ("... and N more").
MAX_ROWS = 10
#: Characters a cell shows; a longer value ends in "…".
MAX_CELL = 60

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def cell(value: Any) -> str:
    """``value`` as one short line: strings as they are, anything else as JSON (or str)."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, sort_keys=True, default=str)
        except (TypeError, ValueError):  # a circular structure, a key JSON cannot have
            text = str(value)
    text = _CONTROL.sub(" ", text)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


@dataclass
class Table:
    """What a repr shows: a title line, column headers, the rows shown and how many were not.

    ``footer`` rows (a total) come after a rule; ``note`` replaces the table when there is
    nothing to show (``(no rows)``) or the rows could not be read.
    """

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]] = ()
    more: int = 0
    footer: Sequence[Sequence[Any]] = ()
    note: str = ""

    def cells(self, rows: Sequence[Sequence[Any]]) -> List[List[str]]:
        return [[cell(value) for value in row] for row in rows]


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def text_table(table: Table) -> str:
    """The table as aligned plain text (numbers right-aligned), under its title."""
    lines = [table.title]
    if table.note:
        return "\n".join([*lines, table.note])
    body, footer = table.cells(table.rows), table.cells(table.footer)
    widths = [len(header) for header in table.headers]
    for row in body + footer:
        widths = [max(width, len(text)) for width, text in zip(widths, row)]
    right = [
        bool(table.rows) and all(_numeric(row[i]) for row in table.rows)
        for i in range(len(table.headers))
    ]

    def line(texts: Sequence[str]) -> str:
        parts = [
            text.rjust(width) if align else text.ljust(width)
            for text, width, align in zip(texts, widths, right)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines += [line(table.headers), rule, *(line(row) for row in body)]
    if footer:
        lines += [rule, *(line(row) for row in footer)]
    if table.more:
        lines.append(f"... and {table.more} more")
    return "\n".join(lines)


def html_table(table: Table) -> str:
    """The table as an HTML ``<table>`` under its title, every value escaped."""
    esc = html.escape
    parts = [f'<div class="grid-lrt"><p><code>{esc(table.title)}</code></p>']
    if table.note:
        parts.append(f"<p>{esc(table.note)}</p></div>")
        return "".join(parts)
    parts.append("<table><thead><tr>")
    parts += [f"<th>{esc(header)}</th>" for header in table.headers]
    parts.append("</tr></thead><tbody>")
    for row in table.cells(table.rows):
        parts.append("<tr>" + "".join(f"<td>{esc(text)}</td>" for text in row) + "</tr>")
    parts.append("</tbody>")
    if table.footer:
        parts.append("<tfoot>")
        for row in table.cells(table.footer):
            parts.append("<tr>" + "".join(f"<th>{esc(text)}</th>" for text in row) + "</tr>")
        parts.append("</tfoot>")
    parts.append("</table>")
    if table.more:
        parts.append(f"<p>... and {table.more} more</p>")
    parts.append("</div>")
    return "".join(parts)
