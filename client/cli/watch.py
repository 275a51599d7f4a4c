"""``--watch``: a table redrawn in place every few seconds until nothing more will change.

At a terminal the previous table is overwritten (the cursor moves up over it and the rest of
the screen is cleared); in a pipe or a file each refresh is appended under a time stamp, so
a log shows the history. It ends when ``render`` says the picture is final (no token can
change state by itself any more), after ``limit`` refreshes, or at Ctrl-C (exit 0: stopping
the watch is how it is used).
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Optional, TextIO, Tuple

__all__ = ["watch"]

#: Cursor to the start of the line ``n`` lines up, then clear to the end of the screen.
_UP_AND_CLEAR = "\x1b[{n}F\x1b[J"


def watch(
    render: Callable[[], Tuple[str, bool]],
    *,
    interval: float,
    limit: Optional[int] = None,
    out: Optional[TextIO] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Show ``render()``'s text every ``interval`` seconds until it returns ``final=True``;
    how many times it was shown."""
    stream = out if out is not None else sys.stdout
    in_place = stream.isatty()
    shown, lines = 0, 0
    try:
        while True:
            text, final = render()
            if in_place and lines:
                stream.write(_UP_AND_CLEAR.format(n=lines))
            elif shown:
                stream.write("\n")
            stamp = time.strftime("%H:%M:%S")
            footer = "final" if final else f"every {interval:g} s, Ctrl-C stops"
            block = f"{text.rstrip()}\n[{stamp}, {footer}]\n"
            stream.write(block)
            stream.flush()
            shown += 1
            lines = block.count("\n")
            if final or (limit is not None and shown >= limit):
                return shown
            sleep(interval)
    except KeyboardInterrupt:
        stream.write("\n")
        return shown
