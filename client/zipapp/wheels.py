"""``pip download`` the wheels the launcher zipapp bundles, for the worker's Python.

The client's own distributions may need a newer Python than the workers' (requests >= 2.33
needs 3.10); ``lrt launcher build --download`` and the nox ``tests`` session fetch releases that
admit the worker floor instead, both through :func:`download_wheels`::

    python -m grid_lrt.client.zipapp.wheels DIR [--min-python X.Y]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from . import WORKER_MIN_PYTHON, LauncherBuildError, dotted, python_version

__all__ = ["download_wheels", "main"]


def download_wheels(
    dest: Path, *, min_python: Tuple[int, int] = WORKER_MIN_PYTHON, requirement: str = "requests"
) -> Path:
    """``pip download`` pure-Python wheels of ``requirement`` and its dependencies.

    Raises:
        LauncherBuildError: pip failed (no network, no matching release ...).
    """
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--only-binary=:all:", "--python-version", dotted(min_python),
        "--implementation", "py", "--abi", "none", "--platform", "any",
        "--dest", str(dest), requirement,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise LauncherBuildError(
            f"pip download of {requirement} for Python {dotted(min_python)} failed: {tail}",
            hint="check the network access to the package index, or pass --wheels DIR",
        )
    return dest


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m grid_lrt.client.zipapp.wheels DIR``: download, print the wheels, exit 0/1."""
    parser = argparse.ArgumentParser(
        prog="python -m grid_lrt.client.zipapp.wheels",
        description="Download the wheels the launcher zipapp bundles, for the worker's Python.",
    )
    parser.add_argument("dest", type=Path, metavar="DIR", help="folder to save the wheels in")
    parser.add_argument(
        "--min-python",
        type=python_version,
        default=WORKER_MIN_PYTHON,
        metavar="X.Y",
        help=f"the worker's Python (default: {dotted(WORKER_MIN_PYTHON)})",
    )
    args = parser.parse_args(argv)
    try:
        folder = download_wheels(args.dest, min_python=args.min_python)
    except LauncherBuildError as err:
        print(f"error: {err.message}\nhint: {err.hint}", file=sys.stderr)
        return 1
    for wheel in sorted(folder.glob("*.whl")):
        print(wheel.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
