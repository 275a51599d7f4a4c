"""``lrt report``: one self-contained HTML page about the tokens of one or more types.

``collect`` reads the tokens and computes the numbers, ``plots`` draws them (matplotlib, Agg,
PNG), ``html`` puts them on a page that loads nothing and escapes every token field.
"""

from __future__ import annotations

from .collect import TypeReport, collect

__all__ = ["TypeReport", "collect"]
