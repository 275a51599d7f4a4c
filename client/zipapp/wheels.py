"""``pip download`` the wheels the launcher zipapp bundles, for the worker's Python.

The client's own distributions may need a newer Python than the workers' (requests >= 2.33
needs 3.10); ``lrt launcher build --download`` and the nox ``tests`` session fetch releases that
admit the worker floor instead, both through :func:`download_wheels`::

    python -m grid_lrt.client.zipapp.wheels DIR [--min-python X.Y] [--if-incomplete]

Two downloads, because PyPI has no pure-Python wheel of PyYAML:

* ``requests`` and its dependencies as pure-Python (``py3-none-any``) wheels;
* each distribution of :data:`~.dists.ACCELERATORS` (PyYAML) as the CPython wheel for the
  worker's Python on manylinux x86_64, without its dependencies (it has none). The build
  strips its compiled accelerator, so the platform of that wheel does not matter.

The wheels land in a temporary folder first; each then replaces any other version of its
distribution in DIR, so that the build finds exactly one of each.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from . import WORKER_MIN_PYTHON, LauncherBuildError, dotted, python_version
from .build import BuildResult, build_zipapp
from .dists import ACCELERATORS, DEPENDENCIES

log = logging.getLogger(__name__)

__all__ = [
    "PLATFORMS",
    "PURE_ROOTS",
    "build_with_fallback",
    "download_wheels",
    "main",
    "missing_wheels",
]

PURE_ROOTS: Tuple[str, ...] = ("requests",)
"""Downloaded as pure-Python wheels, with their dependencies (pip resolves them)."""

PLATFORMS: Tuple[str, ...] = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
"""Platform tags accepted for the accelerated distributions' wheels."""

_PIP = (sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check")


def _distribution(wheel: Path) -> Optional[str]:
    try:
        return str(parse_wheel_filename(wheel.name)[0])
    except InvalidWheelFilename:
        return None


def missing_wheels(folder: Path) -> List[str]:
    """The bundled distributions that do not have exactly one wheel in ``folder``."""
    found = [_distribution(w) for w in folder.glob("*.whl")] if folder.is_dir() else []
    return [name for name in DEPENDENCIES if found.count(canonicalize_name(name)) != 1]


def _pip(arguments: List[str], what: str, python: Tuple[int, int]) -> None:
    done = subprocess.run([*_PIP, *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise LauncherBuildError(
            f"pip download of {what} for Python {dotted(python)} failed: {tail}",
            hint="check the network access to the package index, or pass --wheels DIR",
        )


def _move_into(downloaded: Path, dest: Path) -> None:
    """Move every wheel into ``dest``, removing the other versions of its distribution."""
    for wheel in sorted(downloaded.glob("*.whl")):
        name = _distribution(wheel)
        for old in dest.glob("*.whl"):
            if _distribution(old) == name and old.name != wheel.name:
                old.unlink()
        shutil.move(str(wheel), str(dest / wheel.name))


def download_wheels(dest: Path, *, min_python: Tuple[int, int] = WORKER_MIN_PYTHON) -> Path:
    """``pip download`` the wheels of every bundled distribution for Python ``min_python``.

    Args:
        dest: the folder to save them in (created; other versions of the same distributions
            in it are removed).
        min_python: the worker's Python.

    Returns:
        ``dest``.

    Raises:
        LauncherBuildError: pip failed (no network, no matching release ...).
    """
    dest.mkdir(parents=True, exist_ok=True)
    version = dotted(min_python)
    with tempfile.TemporaryDirectory(prefix=".lrt-wheels-", dir=str(dest)) as tmp:
        common = ["--only-binary=:all:", "--python-version", version, "--dest", tmp]
        pure = ["--implementation", "py", "--abi", "none", "--platform", "any"]
        _pip([*common, *pure, *PURE_ROOTS], " ".join(PURE_ROOTS), min_python)
        if ACCELERATORS:
            abi = f"cp{min_python[0]}{min_python[1]}"
            platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
            binary = ["--no-deps", "--implementation", "cp", "--abi", abi, *platforms]
            names = sorted(ACCELERATORS)
            _pip([*common, *binary, *names], " ".join(names), min_python)
        _move_into(Path(tmp), dest)
    return dest


def build_with_fallback(
    output: Path,
    *,
    wheels: Optional[Path] = None,
    min_python: Tuple[int, int] = WORKER_MIN_PYTHON,
    no_download: bool = False,
    download_to: Path,
) -> BuildResult:
    """Build; from the installed distributions, fall back to wheels fetched with pip into
    ``download_to`` when they cannot make a zipapp for the workers (a venv's newest requests
    needs Python 3.10, the workers may have 3.9), unless ``no_download``."""
    need = ".".join(map(str, min_python))
    try:
        return build_zipapp(output, wheels=wheels, min_python=min_python)
    except LauncherBuildError as err:
        if wheels is not None or no_download:
            raise
        log.warning(
            "%s; downloading the wheels for Python %s with pip instead (as --download does)",
            err.message,
            need,
        )
    try:
        fetched = download_wheels(download_to, min_python=min_python)
    except LauncherBuildError as err:
        raise LauncherBuildError(
            err.message,
            hint="the installed distributions do not suit the workers' Python either: pass "
            f"--wheels DIR (wheels for Python {need}), or --min-python X.Y",
        ) from None
    return build_zipapp(output, wheels=fetched, min_python=min_python)


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m grid_lrt.client.zipapp.wheels DIR``: download, list the wheels; exit 0/1."""
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
    parser.add_argument(
        "--if-incomplete",
        action="store_true",
        help="do nothing when DIR already holds one wheel of each bundled distribution",
    )
    args = parser.parse_args(argv)
    if args.if_incomplete and not missing_wheels(args.dest):
        print(f"{args.dest}: complete, nothing downloaded")
        return 0
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
