"""Write the launcher zipapp: our two packages, the bundled distributions, a ``__main__``.

Only Python files and data go in (no compiled module: :mod:`.dists` strips them), so one
zipapp serves every worker platform.

The archive is a plain zipapp (a shebang line, then a zip with ``__main__.py`` at its root)
written with fixed timestamps and permissions in sorted order, so the same inputs give the same
bytes. ``zipapp.create_archive`` is not used because it records each file's mtime and mode.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Optional, Tuple

from . import WORKER_MIN_PYTHON, LauncherBuildError, dotted
from .dists import EXTENSIONS, Loader, collect, constant, skipped

__all__ = ["BuildResult", "build_zipapp", "check_zipapp"]

_OUR_PACKAGES = ("grid_lrt.shared", "grid_lrt.launcher")
_SHEBANG = b"#!/usr/bin/env python3\n"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_WARNING_NO_CHARDET = "Unable to find acceptable character detection dependency"


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_zipapp` wrote."""

    path: Path
    size: int
    sha256: str
    min_python: Tuple[int, int]
    bundled: Dict[str, str]
    """Distribution name → version, for every bundled distribution."""
    omitted: Tuple[str, ...] = ()
    """Optional distributions left out (compiled only)."""
    source: str = "installed"
    """``installed`` or the wheel folder used."""
    without_accelerator: Tuple[str, ...] = ()
    """Bundled distributions whose optional compiled accelerator was left out (PyYAML)."""


def _our_packages() -> Dict[str, Loader]:
    files: Dict[str, Loader] = {}
    for package in _OUR_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise LauncherBuildError(f"cannot find the package {package}")
        root = Path(next(iter(spec.submodule_search_locations)))
        target = package.replace(".", "/")
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and not skipped(rel) and not path.name.endswith(EXTENSIONS):
                files[f"{target}/{rel}"] = path.read_bytes
    if "grid_lrt/launcher/cli.py" not in files:
        raise LauncherBuildError("grid_lrt/launcher/cli.py is missing from the package tree")
    return files


def _our_metadata(min_python: Tuple[int, int]) -> Dict[str, Loader]:
    """A minimal dist-info, so that ``importlib.metadata.version("grid-lrt")`` works in the zip."""
    try:
        version = importlib.metadata.version("grid-lrt")
    except importlib.metadata.PackageNotFoundError:
        return {}  # running from a source tree that is not installed: the launcher says "zipapp"
    text = (
        "Metadata-Version: 2.1\nName: grid-lrt\n"
        f"Version: {version}\nRequires-Python: >={dotted(min_python)}\n"
        "Summary: grid-lrt worker launcher (zipapp: grid_lrt.shared, grid_lrt.launcher)\n"
    )
    return {f"grid_lrt-{version}.dist-info/METADATA": constant(text.encode("utf-8"))}


def _main_py(min_python: Tuple[int, int], silence_chardet: bool) -> bytes:
    # Must parse on any Python (even 2.7) so that an old interpreter reaches the version check.
    need = dotted(min_python)
    lines = [
        "# -*- coding: utf-8 -*-",
        '"""grid-lrt worker launcher (zipapp built by `lrt launcher build`)."""',
        "import sys",
        "",
        f"if sys.version_info < {tuple(min_python)!r}:",
        "    sys.stderr.write(",
        f'        "error: grid-lrt-launcher needs Python {need} or newer; "',
        '        "%s is Python %s\\n" % (sys.executable, sys.version.split()[0])',
        "    )",
        f'    sys.stderr.write("hint: run it with python{need} or a newer python3\\n")',
        "    sys.exit(1)",
        "",
    ]
    if silence_chardet:
        lines += [
            "import warnings",
            "",
            "# charset_normalizer is not bundled (compiled only); requests works without it.",
            f"warnings.filterwarnings('ignore', message={_WARNING_NO_CHARDET!r})",
            "",
        ]
    lines += ["from grid_lrt.launcher.cli import run", "", "run()", ""]
    return "\n".join(lines).encode("utf-8")


def _write_zip(target: Path, entries: Dict[str, Loader]) -> None:
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with tmp.open("wb") as raw:
            raw.write(_SHEBANG)
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in sorted(entries):
                    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.create_system = 3
                    info.external_attr = 0o100644 << 16
                    archive.writestr(info, entries[name]())
        tmp.chmod(0o755)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def build_zipapp(
    output: Path,
    *,
    wheels: Optional[Path] = None,
    min_python: Tuple[int, int] = WORKER_MIN_PYTHON,
) -> BuildResult:
    """Write the launcher zipapp to ``output`` (replaced atomically).

    Args:
        output: the ``.pyz`` file to write; its folder must exist.
        wheels: take the dependencies from the wheels in this folder instead of the
            distributions installed for this interpreter.
        min_python: the oldest Python the zipapp must run on; the bundled distributions must
            admit it, and the zipapp refuses older interpreters with a message (exit 1).

    Raises:
        LauncherBuildError: a dependency is missing, too new for ``min_python``, or compiled only.
    """
    dists, omitted = collect(wheels, min_python)
    entries = _our_packages()
    entries["grid_lrt/__init__.py"] = constant(b'"""grid-lrt (worker part only)."""\n')
    entries["__main__.py"] = constant(_main_py(min_python, silence_chardet=bool(omitted)))
    entries.update(_our_metadata(min_python))
    for dist in dists:
        clash = sorted(set(dist.files) & set(entries))
        if clash:
            raise LauncherBuildError(f"{dist.name} would overwrite {clash[0]}")
        entries.update(dist.files)
        entries.update(dist.meta)
    output = Path(output)
    _write_zip(output, entries)
    data = output.read_bytes()
    return BuildResult(
        path=output,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        min_python=min_python,
        bundled={d.name: d.version for d in dists},
        omitted=tuple(omitted),
        source=str(wheels) if wheels else "installed",
        without_accelerator=tuple(d.name for d in dists if d.accelerator_left_out),
    )


def check_zipapp(path: Path, args: Iterable[str] = ("--version",)) -> str:
    """Run ``path`` with this Python, isolated from site-packages; return its output.

    Raises:
        LauncherBuildError: the zipapp exits non-zero.
    """
    command = [sys.executable, "-I", "-S", str(path), *args]
    with tempfile.TemporaryDirectory(prefix="lrt-launcher-check-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise LauncherBuildError(
            f"{path.name} {' '.join(args)} exited {done.returncode} on Python "
            f"{sys.version.split()[0]}: {output[-500:]}",
            hint="does grid_lrt.launcher.cli accept these arguments?",
        )
    return output
