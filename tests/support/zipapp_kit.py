"""Helpers for the launcher zipapp tests: the worker's Python, its wheels, a fresh virtualenv
with nothing of ours installed.

The worker floor is Python 3.9 (``~/.pyenv/versions/3.9*``; required under ``CI=true``). The
client's own ``requests``/``urllib3``/PyYAML may need a newer Python, so the zipapp under test
is built from wheels for 3.9: ``$LRT_LAUNCHER_WHEELS`` (the nox ``tests`` session fetches them
with ``python -m grid_lrt.client.zipapp.wheels``), else the installed distributions if they
admit 3.9. No test downloads anything: without either, the tests that need wheels skip (and
fail under CI).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, NoReturn, Optional

import pytest

from grid_lrt.client.zipapp import WORKER_MIN_PYTHON
from grid_lrt.client.zipapp.dists import DEPENDENCIES, admits_python

IN_CI = os.environ.get("CI") == "true"


def pyenv(version: str) -> Optional[str]:
    """``python{version}`` from pyenv's folder, else from PATH, else None."""
    found = sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}*/bin/python{version}"))
    return str(found[-1]) if found else shutil.which(f"python{version}")


def run(args: List[str], env: Dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command with exactly ``env``, capture its text output (60 s at most)."""
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=60, check=False, **kwargs
    )


def given_wheels() -> Optional[Path]:
    """``$LRT_LAUNCHER_WHEELS``, or None."""
    given = os.environ.get("LRT_LAUNCHER_WHEELS")
    return Path(given) if given else None


def no_wheels(why: str) -> NoReturn:
    """Skip (fail under CI): the test needs the wheel folder for the worker floor."""
    message = (
        f"{why}: set LRT_LAUNCHER_WHEELS to a folder made by "
        "`python -m grid_lrt.client.zipapp.wheels DIR` (the nox tests session does)"
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _installed_admit_floor() -> bool:
    return all(
        admits_python(importlib.metadata.metadata(n)["Requires-Python"] or "", WORKER_MIN_PYTHON)
        for n in DEPENDENCIES
    )


def worker_python() -> str:
    """The worker floor's interpreter (3.9); this one outside CI when there is none."""
    found = pyenv("3.9")
    if found:
        return found
    if IN_CI:
        pytest.fail("Python 3.9 (the worker floor) is missing: install it with pyenv")
    return sys.executable


def worker_wheels() -> Optional[Path]:
    """Wheels for the worker floor, or None when the installed distributions admit it."""
    given = given_wheels()
    if given is not None or _installed_admit_floor():
        return given
    no_wheels("the installed distributions need a newer Python than 3.9")


def make_venv(folder: Path, python: str) -> Path:
    """A fresh virtualenv (no pip, nothing installed) of ``python`` at ``folder``."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder
