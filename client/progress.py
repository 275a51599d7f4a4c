"""Progress bars for long operations, on stderr: tqdm's, which draws a widget in Jupyter
(``tqdm.auto``) and a text bar at a terminal.

A bar is shown only where someone watches: at a terminal or in a notebook, not in a pipe, a
log file or a batch job's output (tqdm's ``disable=None``), and never under ``lrt -q``
(:func:`set_quiet`). Results stay on stdout; a bar never mixes with them.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["progress_bar", "set_quiet"]

_quiet = False


def set_quiet(quiet: bool) -> None:
    """``lrt -q``: no bars at all."""
    global _quiet  # noqa: PLW0603 - one process-wide switch, set once by the CLI
    _quiet = quiet


def progress_bar(total: Optional[int], desc: str, unit: str = "it", **options: Any) -> Any:
    """A tqdm bar of ``total`` ``unit`` s (use it as a context manager; ``update(n)``)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=True if _quiet else None,
        leave=options.pop("leave", True),
        dynamic_ncols=True,
        **options,
    )
