"""Build the worker launcher as one self-contained zipapp (``lrt launcher build``).

The file holds ``grid_lrt.shared`` and ``grid_lrt.launcher`` (never ``grid_lrt.client``) under
``grid_lrt/``, plus the pure-Python distributions ``requests`` needs, at the top of the archive.
``python3 grid-lrt-launcher.pyz run TYPE`` then works on a worker with a bare Python.

The dependencies come from the distributions installed for this interpreter, or from wheels in
a folder (``pip download`` makes them; :func:`download_wheels` does it for the worker's
Python). Either way every distribution must admit the worker's oldest Python
(:data:`WORKER_MIN_PYTHON`) in its ``Requires-Python``: a client on 3.11 often has releases
(requests >= 2.33, urllib3 >= 2.7) that need 3.10, and a zipapp built from those fails on a 3.9
worker at ``import urllib3``.

Compiled extension modules are left out. A package whose compiled modules have no pure-Python
twin is left out when it is optional (charset_normalizer: requests then uses its own fallback,
and the zipapp's ``__main__`` silences the warning about it); otherwise the build fails.

The archive is a plain zipapp (a shebang line, then a zip with ``__main__.py`` at its root)
written with fixed timestamps and permissions in sorted order, so the same inputs give the same
bytes. ``zipapp.create_archive`` is not used because it records each file's mtime and mode.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import operator
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from grid_lrt.shared.errors import LrtError

__all__ = [
    "DEPENDENCIES",
    "WORKER_MIN_PYTHON",
    "BuildResult",
    "LauncherBuildError",
    "admits_python",
    "build_zipapp",
    "check_zipapp",
    "download_wheels",
]

WORKER_MIN_PYTHON: Tuple[int, int] = (3, 9)
"""The oldest Python on a worker node (EL9); the zipapp refuses anything older."""

DEPENDENCIES: Tuple[str, ...] = ("requests", "urllib3", "idna", "certifi", "charset-normalizer")
"""Distributions bundled in the zipapp: ``requests`` and what it requires."""

_OPTIONAL = frozenset({"charset-normalizer"})
_OUR_PACKAGES = ("grid_lrt.shared", "grid_lrt.launcher")
_SHEBANG = b"#!/usr/bin/env python3\n"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_EXTENSIONS = (".so", ".pyd", ".dylib")
_SKIPPED_SUFFIXES = (".pyc", ".pyo", "~")
_LICENSE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)
_WARNING_NO_CHARDET = "Unable to find acceptable character detection dependency"

Loader = Callable[[], bytes]
_COMPARE: Dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


class LauncherBuildError(LrtError):
    """The zipapp cannot be built from what is installed or given."""


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


@dataclass
class _Dist:
    name: str
    version: str
    requires_python: str
    requires: List[str]
    files: Dict[str, Loader] = field(default_factory=dict)
    """Every importable file (posix path from the archive root) → its bytes."""
    meta: Dict[str, Loader] = field(default_factory=dict)
    """dist-info METADATA and licence files."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dotted(version: Tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _constant(data: bytes) -> Loader:
    return lambda: data


def _version_tuple(text: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def _pad(version: Tuple[int, ...], length: int) -> Tuple[int, ...]:
    return version + (0,) * (length - len(version))


def _clause_admits(op: str, spec: str, python: Tuple[int, ...]) -> bool:
    wildcard = spec.endswith(".*")
    want = _version_tuple(spec[:-2] if wildcard else spec)
    if wildcard or op == "~=":
        prefix = want if wildcard else want[:-1]
        match = _pad(python, len(prefix))[: len(prefix)] == prefix
        if op == "~=":
            return match and _pad(python, len(want)) >= want
        return match if op == "==" else not match
    size = max(len(want), len(python))
    return bool(_COMPARE[op](_pad(python, size), _pad(want, size)))


def admits_python(requires_python: str, python: Tuple[int, int]) -> bool:
    """Whether a ``Requires-Python`` specifier admits Python ``python`` (checked at ``X.Y.0``).

    Raises:
        LauncherBuildError: the specifier is not a plain comma-separated version list.
    """
    version = (*python, 0)
    for clause in filter(None, (c.strip() for c in requires_python.split(","))):
        found = re.fullmatch(r"(~=|===|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*(?:\.\*)?)", clause)
        if not found:
            raise LauncherBuildError(f"cannot read Requires-Python {requires_python!r}")
        if not _clause_admits(found.group(1), found.group(2), version):
            return False
    return True


def _skipped(path: str) -> bool:
    parts = path.split("/")
    return (
        "__pycache__" in parts
        or any(p.startswith(".") for p in parts)
        or path.endswith(_SKIPPED_SUFFIXES)
    )


def _is_meta(relpath: str) -> bool:
    """METADATA and licence files inside a ``*.dist-info`` folder."""
    inner = relpath.split("/", 1)[1] if "/" in relpath else ""
    return inner == "METADATA" or inner.startswith("licenses/") or bool(_LICENSE.match(inner))


def _dist_from_metadata(text: str) -> _Dist:
    meta = Parser().parsestr(text, headersonly=True)
    requires = [r for r in meta.get_all("Requires-Dist") or [] if "extra" not in r]
    return _Dist(
        name=_norm(meta["Name"]),
        version=str(meta["Version"]),
        requires_python=str(meta.get("Requires-Python") or ""),
        requires=requires,
    )


def _add_file(dist: _Dist, relpath: str, loader: Loader) -> None:
    top = relpath.split("/", 1)[0]
    if relpath.startswith("../") or _skipped(relpath) or top.endswith(".data"):
        return
    if top.endswith(".dist-info"):
        if _is_meta(relpath):
            dist.meta[relpath] = loader
        return
    dist.files[relpath] = loader


def _installed(name: str) -> _Dist:
    try:
        found = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError as exc:
        raise LauncherBuildError(
            f"{name} is not installed for {sys.executable}",
            hint="install grid-lrt with its dependencies, or build with --wheels DIR / --download",
        ) from exc
    dist = _dist_from_metadata(found.read_text("METADATA") or "")
    for entry in found.files or ():
        path = Path(str(found.locate_file(entry)))
        _add_file(dist, entry.as_posix(), path.read_bytes)
    if not dist.files:
        raise LauncherBuildError(
            f"{name} {dist.version} is installed without a file list (RECORD)",
            hint="install it with pip, or build with --wheels DIR / --download",
        )
    return dist


def _from_wheels(folder: Path, name: str) -> _Dist:
    prefix = _norm(name).replace("-", "_")
    wheels = [w for w in sorted(folder.glob("*.whl")) if _norm(w.name.split("-")[0]) == _norm(name)]
    if len(wheels) != 1:
        found = ", ".join(w.name for w in wheels) or "none"
        raise LauncherBuildError(
            f"need exactly one {prefix} wheel in {folder}, found: {found}",
            hint="keep one version of each distribution in the wheel folder",
        )
    with zipfile.ZipFile(wheels[0]) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        metadata = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(metadata) != 1:
            raise LauncherBuildError(f"{wheels[0].name} has no single dist-info/METADATA")
        dist = _dist_from_metadata(archive.read(metadata[0]).decode("utf-8"))
        for member in names:
            _add_file(dist, member, _constant(archive.read(member)))
    return dist


def _strip_compiled(dist: _Dist) -> List[str]:
    """Drop compiled modules; return those that have no pure-Python twin."""
    missing = []
    for path in [p for p in dist.files if p.endswith(_EXTENSIONS)]:
        del dist.files[path]
        folder, _, filename = path.rpartition("/")
        module = filename.split(".", 1)[0]
        base = f"{folder}/{module}" if folder else module
        if module.endswith("__mypyc"):
            continue  # mypyc's runtime helper, used only by the compiled modules
        if f"{base}.py" not in dist.files and f"{base}/__init__.py" not in dist.files:
            missing.append(path)
    return missing


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
            if path.is_file() and not _skipped(rel) and not path.name.endswith(_EXTENSIONS):
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
        f"Version: {version}\nRequires-Python: >={_dotted(min_python)}\n"
        "Summary: grid-lrt worker launcher (zipapp: grid_lrt.shared, grid_lrt.launcher)\n"
    )
    return {f"grid_lrt-{version}.dist-info/METADATA": _constant(text.encode("utf-8"))}


def _main_py(min_python: Tuple[int, int], silence_chardet: bool) -> bytes:
    # Must parse on any Python (even 2.7) so that an old interpreter reaches the version check.
    need = _dotted(min_python)
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


def _collect(wheels: Optional[Path], min_python: Tuple[int, int]) -> Tuple[List[_Dist], List[str]]:
    dists, omitted = [], []
    for name in DEPENDENCIES:
        dist = _from_wheels(wheels, name) if wheels else _installed(name)
        where = f"in {wheels}" if wheels else f"installed for {sys.executable}"
        if not admits_python(dist.requires_python, min_python):
            need = _dotted(min_python)
            raise LauncherBuildError(
                f"{dist.name} {dist.version} ({where}) requires Python {dist.requires_python}, "
                f"but the launcher must run on Python {need}",
                hint=f"build with --download (pure-Python wheels for Python {need}, via pip), "
                "or --wheels DIR, or raise the floor with --min-python",
            )
        missing = _strip_compiled(dist)
        if missing and _norm(name) in _OPTIONAL:
            omitted.append(dist.name)
            continue
        if missing:
            raise LauncherBuildError(
                f"{dist.name} {dist.version} ({where}) ships compiled modules without a "
                f"pure-Python version: {', '.join(missing)}",
                hint="use a pure-Python (py3-none-any) wheel with --wheels DIR or --download",
            )
        dists.append(dist)
    bundled = {d.name for d in dists} | set(omitted)
    for dist in dists:
        for requirement in dist.requires:
            needed = _norm(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
            if needed not in bundled and ";" not in requirement:
                raise LauncherBuildError(
                    f"{dist.name} {dist.version} requires {needed}, which the launcher does not "
                    "bundle",
                    hint="add it to grid_lrt.client.launcher_build.DEPENDENCIES",
                )
    return dists, omitted


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
    dists, omitted = _collect(wheels, min_python)
    entries = _our_packages()
    entries["grid_lrt/__init__.py"] = _constant(b'"""grid-lrt (worker part only)."""\n')
    entries["__main__.py"] = _constant(_main_py(min_python, silence_chardet=bool(omitted)))
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
    )


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
        "--only-binary=:all:", "--python-version", _dotted(min_python),
        "--implementation", "py", "--abi", "none", "--platform", "any",
        "--dest", str(dest), requirement,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise LauncherBuildError(
            f"pip download of {requirement} for Python {_dotted(min_python)} failed: {tail}",
            hint="check the network access to the package index, or pass --wheels DIR",
        )
    return dest


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
