"""``lrt launcher build``: the worker launcher as one self-contained file (a zipapp)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, Optional

from grid_lrt.shared.errors import UsageError

from ..zipapp import WORKER_MIN_PYTHON, python_version
from ..zipapp.build import BuildResult, check_zipapp
from ..zipapp.wheels import build_with_fallback, download_wheels
from .globalopts import json_option
from .output import print_json

__all__ = ["register"]

_FLOOR = ".".join(map(str, WORKER_MIN_PYTHON))

_DESCRIPTION = f"""\
Build grid-lrt-launcher.pyz: grid_lrt.shared, grid_lrt.launcher and the pure-Python code of
what they import (requests and its dependencies, PyYAML), in one file that runs with a bare
Python on the worker:

  python3 grid-lrt-launcher.pyz run TYPE

The dependencies come from this Python's installed distributions, or from the wheels in
--wheels DIR; --download fetches wheels for the worker's Python with pip first. When the
installed ones do not suit the workers' Python (a fresh venv's requests may need 3.10), the
build downloads as --download does, unless --no-download. Compiled
modules are left out: PyYAML's C accelerator (it falls back to Python), charset_normalizer
when it has no pure-Python code (requests works without it).
Every bundled distribution must support --min-python (default {_FLOOR}, the worker floor).
The same inputs give the same bytes.
"""


_EXAMPLES = """\
examples:
  lrt launcher build -o grid-lrt-launcher.pyz
  lrt launcher build -o grid-lrt-launcher.pyz --download     # wheels for the workers' Python
  lrt launcher build --check
"""


def register(subparsers: Any) -> None:
    launcher = subparsers.add_parser(
        "launcher",
        help="build the worker launcher zipapp",
        description="The worker-node launcher (lrt-launcher) as a file for the jobs to ship.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = launcher.add_subparsers(dest="verb", metavar="VERB", required=True)
    build = verbs.add_parser(
        "build",
        help="write grid-lrt-launcher.pyz",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("grid-lrt-launcher.pyz"),
        help="file to write (default: %(default)s)",
    )
    build.add_argument(
        "--wheels",
        type=Path,
        metavar="DIR",
        help="take the dependencies from the wheels in DIR (with --download: save them there)",
    )
    build.add_argument(
        "--download",
        action="store_true",
        help="pip download the wheels for --min-python first (needs the package index)",
    )
    build.add_argument(
        "--no-download",
        action="store_true",
        help="never run pip: fail when the installed distributions do not suit --min-python "
        "(by default the build then downloads, as --download does)",
    )
    build.add_argument(
        "--min-python",
        type=python_version,
        default=WORKER_MIN_PYTHON,
        metavar="X.Y",
        help=f"oldest Python the zipapp must run on (default: {_FLOOR})",
    )
    build.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and run the result with this Python (--version); "
        "-o is not written",
    )
    json_option(build, "print the result as JSON")
    build.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="lrt-launcher-build-") as tmp:
        wheels: Optional[Path] = args.wheels
        if args.download:
            wheels = download_wheels(wheels or Path(tmp) / "wheels", min_python=args.min_python)
        elif wheels is not None and not wheels.is_dir():
            raise UsageError(f"--wheels {wheels}: not a folder")
        output: Path = Path(tmp) / args.output.name if args.check else args.output
        if output.is_dir():
            raise UsageError(f"-o {output}: is a folder", hint="give the file to write")
        if not output.parent.is_dir():
            raise UsageError(f"{output.parent} does not exist", hint="create the folder first")
        result = build_with_fallback(
            output,
            wheels=wheels,
            min_python=args.min_python,
            no_download=args.no_download,
            download_to=Path(tmp) / "wheels",
        )
        check = check_zipapp(result.path) if args.check else None
        _report(result, check, as_json=args.json)
    return 0


def _report(result: BuildResult, check: Optional[str], *, as_json: bool) -> None:
    need = ".".join(map(str, result.min_python))
    if as_json:
        data = {
            "path": None if check is not None else str(result.path),
            "size": result.size,
            "sha256": result.sha256,
            "min_python": need,
            "bundled": result.bundled,
            "omitted": list(result.omitted),
            "without_accelerator": list(result.without_accelerator),
            "source": result.source,
        }
        if check is not None:
            data["check"] = check
        print_json(data)
        return
    where = "(checked in a temporary folder, not kept)" if check is not None else result.path
    print(f"built   {where}")
    print(f"size    {result.size} bytes")
    print(f"sha256  {result.sha256}")
    print(f"python  >= {need}")
    print("bundles " + ", ".join(f"{k} {v}" for k, v in result.bundled.items()))
    if result.without_accelerator:
        names = ", ".join(result.without_accelerator)
        print(f"pure    {names} (compiled accelerator left out; pure-Python fallback)")
    if result.omitted:
        print("omitted " + ", ".join(result.omitted) + " (compiled only; requests works without)")
    if check is not None:
        print(f"check   OK: {check.splitlines()[-1] if check else '(no output)'}")
