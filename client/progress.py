"""Progress bars for long operations, on stderr: tqdm's, which draws a widget in Jupyter
(``tqdm.auto``) and a text bar at a terminal.

A bar is shown only where someone watches: at a terminal or in a notebook, not in a pipe, a
log file or a batch job's output (tqdm's ``disable=None``), and never under ``lrt -q``
(:func:`set_quiet`). Results stay on stdout; a bar never mixes with them.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Optional, Tuple, TypeVar

__all__ = ["NoBar", "progress_bar", "set_quiet", "while_waiting"]


class NoBar:
    """Stands in for a bar where none is wanted (a context manager with ``update``)."""

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


T = TypeVar("T")

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


def while_waiting(desc: str, call: Callable[[], T], *, after: float = 1.0) -> T:
    """``call()``; when it takes longer than ``after`` seconds (a view index built cold on a
    big database can take minutes), a bar with the time waited so far until it returns.

    The call runs in a daemon thread, so Ctrl-C ends the wait at once; its exception is
    raised here."""
    answers: queue.Queue[Tuple[bool, Any]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            answers.put((True, call()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            answers.put((False, exc))

    threading.Thread(target=run, name=f"lrt-wait-{desc}", daemon=True).start()
    try:
        found = answers.get(timeout=after)
    except queue.Empty:
        with progress_bar(None, desc, unit="s", bar_format="{desc}: {elapsed}") as bar:
            while True:
                try:
                    found = answers.get(timeout=0.5)
                    break
                except queue.Empty:
                    bar.refresh()
    ok, value = found
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
