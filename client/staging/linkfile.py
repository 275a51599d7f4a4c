"""Reading link files (one SURL per line) into :class:`~.surllist.SurlList` lists.

:meth:`SurlList.from_file <grid_lrt.client.staging.surllist.SurlList.from_file>` calls
:func:`read_link_file`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from grid_lrt.client.staging.errors import InvalidLinkError, SrmFileError, SrmListError

if TYPE_CHECKING:
    from grid_lrt.client.staging.surllist import SurlList

__all__ = ["EXAMPLE_LINK", "VALID_LINE", "read_link_file"]

_L = TypeVar("_L", bound="SurlList")

#: A typical LTA link, quoted in error hints.
EXAMPLE_LINK = (
    "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
    "L229507_SB100_uv.dppp.MS_3d78b8f1.tar"
)
#: What a line of a link file may hold, quoted when a line is refused.
VALID_LINE = (
    f"A valid line holds one srm:// or gsiftp:// link such as {EXAMPLE_LINK}, optionally "
    "followed by a second field; blank lines and lines starting with # are skipped."
)


def read_link_file(path: str | Path, into: _L) -> _L:
    """Append the links of ``path``, one per line, to ``into`` and return it.

    CRLF is fine; blank lines and ``#`` comments are skipped.

    Raises:
        SrmFileError: The file cannot be read, or a line is refused; the message names the
            file and the line number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SrmFileError(f"Cannot read srm list {path}: {exc}.") from exc
    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            into.append(stripped)
        except SrmListError as exc:
            reason = exc.message.rstrip(".!") + (f" ({exc.detail})" if exc.detail else "")
            msg = f"{path}, line {lineno}: {reason}."
            if isinstance(exc, InvalidLinkError):
                msg += " " + VALID_LINE
            raise SrmFileError(msg, hint=exc.hint or VALID_LINE, detail=exc.detail) from exc
    return into
