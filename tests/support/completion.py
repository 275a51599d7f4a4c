"""Tab completion of ``lrt`` as a shell asks for it: argcomplete's protocol in a subprocess.

The shell code of ``lrt completion bash`` runs ``lrt`` with ``_ARGCOMPLETE=1``, ``COMP_LINE``
and ``COMP_POINT`` set and reads the completions from file descriptor 8; argcomplete also
writes them to the file named by ``_ARGCOMPLETE_STDOUT_FILENAME`` (what its shell code does
with ``ARGCOMPLETE_USE_TEMPFILES``), which is what :func:`complete` reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional

#: What the console script ``lrt`` runs.
RUN_LRT = "from grid_lrt.client.cli.main import run; run()"


@dataclass
class Completion:
    """What one TAB produced."""

    words: List[str]
    stdout: str
    stderr: str
    returncode: int
    seconds: float


def complete(
    line: str, env: Optional[Mapping[str, str]] = None, *, point: Optional[int] = None
) -> Completion:
    """The completions of ``line`` with the cursor at ``point`` (default: its end).

    Args:
        line: The command line typed so far, e.g. ``"lrt tokens st"``.
        env: The environment of ``lrt`` (default: this process's).
    """
    with tempfile.TemporaryDirectory(prefix="lrt-complete-") as folder:
        out = Path(folder) / "completions"
        full = dict(os.environ if env is None else env)
        full.update(
            {
                "_ARGCOMPLETE": "1",  # the words start at the command, as for a console script
                "_ARGCOMPLETE_SHELL": "bash",
                "_ARGCOMPLETE_IFS": "\n",
                "_ARGCOMPLETE_SUPPRESS_SPACE": "1",
                "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
                "COMP_LINE": line,
                "COMP_POINT": str(len(line) if point is None else point),
                "COMP_TYPE": "9",  # a TAB
            }
        )
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", RUN_LRT],
            env=full,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        seconds = time.monotonic() - start
        text = out.read_text(encoding="utf-8") if out.exists() else ""
    words = [word.strip() for word in text.split("\n") if word.strip()]
    return Completion(words, proc.stdout, proc.stderr, proc.returncode, seconds)
