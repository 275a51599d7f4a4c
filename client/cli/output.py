"""Rendering command results: aligned tables for people, one JSON document with ``--json``.

Results go to stdout; logs, progress and warnings go to stderr (through ``logging``).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional, Sequence, TextIO

from grid_lrt.shared.errors import UsageError

__all__ = ["confirm", "not_confirmed", "print_json", "print_table"]


def print_json(data: Any, out: Optional[TextIO] = None) -> None:
    out = out or sys.stdout
    json.dump(data, out, indent=2, sort_keys=False, default=str)
    out.write("\n")


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: Optional[TextIO] = None
) -> None:
    """Print rows under headers; numeric columns are right-aligned."""
    out = out or sys.stdout
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [
        all(isinstance(row[i], int) for row in rows) and bool(rows) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    out.write(line(headers) + "\n")
    out.write(line(["-" * w for w in widths]) + "\n")
    for row in cells:
        out.write(line(row) + "\n")


def confirm(question: str, *, assume_yes: bool) -> bool:
    """Ask ``question [y/N]`` on the terminal; without a terminal, only ``--yes`` says yes."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def not_confirmed(message: str) -> int:
    """After :func:`confirm` said no: declining at the terminal is no error (exit 0, a line
    on stderr); without a terminal to ask (and no ``--yes``) it is a usage mistake.

    Raises:
        UsageError: there was no terminal to ask.
    """
    if sys.stdin.isatty():
        print(f"answered no: {message}", file=sys.stderr)
        return 0
    raise UsageError(f"not confirmed: {message}", hint="pass --yes to confirm without a terminal")
