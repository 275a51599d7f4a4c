"""The worker launcher as one self-contained zipapp (``lrt launcher build``).

The zipapp holds ``grid_lrt.shared`` and ``grid_lrt.launcher`` (never ``grid_lrt.client``)
plus the pure-Python distributions they import, so that ``python3 grid-lrt-launcher.pyz run
TYPE`` works on a worker with a bare Python (:data:`WORKER_MIN_PYTHON` or newer).

* :mod:`.dists`: which distributions are bundled, read from the installed metadata or from
  wheels, checked against the worker's Python, compiled code stripped;
* :mod:`.build`: the deterministic archive, its ``__main__`` and the check run;
* :mod:`.wheels`: ``pip download`` of the wheels for the worker's Python (also run by nox:
  ``python -m grid_lrt.client.zipapp.wheels DIR``).

This package imports none of its modules, so that ``python -m`` runs them without a warning.
"""

from __future__ import annotations

import argparse
import re
from typing import Tuple

from grid_lrt.shared.errors import LrtError

__all__ = ["WORKER_MIN_PYTHON", "LauncherBuildError", "dotted", "python_version"]

WORKER_MIN_PYTHON: Tuple[int, int] = (3, 9)
"""The oldest Python on a worker node (EL9); the zipapp refuses anything older."""


class LauncherBuildError(LrtError):
    """The zipapp cannot be built from what is installed or given."""


def dotted(version: Tuple[int, ...]) -> str:
    """``(3, 9)`` → ``"3.9"``."""
    return ".".join(str(part) for part in version)


def python_version(text: str) -> Tuple[int, int]:
    """``"3.9"`` → ``(3, 9)``; an argparse ``type`` (``--min-python``).

    Raises:
        argparse.ArgumentTypeError: not ``X.Y``.
    """
    found = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"expected a Python version X.Y, got {text!r}")
    return int(found.group(1)), int(found.group(2))
