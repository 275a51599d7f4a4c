"""The distributions bundled in the launcher zipapp: found, checked and stripped.

They come from the distributions installed for this interpreter, or from wheels in a folder
(:mod:`.wheels` downloads them for the worker's Python). Either way every distribution must
admit the worker's oldest Python in its ``Requires-Python``: a client on 3.11 often has
releases (requests >= 2.33, urllib3 >= 2.7) that need 3.10, and a zipapp built from those
fails on a 3.9 worker at ``import urllib3``.

Compiled extension modules are left out. A package whose compiled modules have no pure-Python
twin is left out when it is optional (charset_normalizer: requests then uses its own fallback,
and the zipapp's ``__main__`` silences the warning about it); otherwise the build fails.
"""

from __future__ import annotations

import importlib.metadata
import operator
import re
import sys
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import LauncherBuildError, dotted

__all__ = [
    "DEPENDENCIES",
    "EXTENSIONS",
    "Dist",
    "Loader",
    "admits_python",
    "collect",
    "constant",
    "skipped",
]

DEPENDENCIES: Tuple[str, ...] = ("requests", "urllib3", "idna", "certifi", "charset-normalizer")
"""Distributions bundled in the zipapp: ``requests`` and what it requires."""

EXTENSIONS = (".so", ".pyd", ".dylib")
"""File name endings of compiled modules (never bundled)."""

_OPTIONAL = frozenset({"charset-normalizer"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", "~")
_LICENSE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)

Loader = Callable[[], bytes]
"""Returns a file's bytes when the archive is written."""

_COMPARE: Dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "===": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass
class Dist:
    """One distribution as it goes into the archive."""

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


def constant(data: bytes) -> Loader:
    """A loader that returns ``data``."""
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


def skipped(path: str) -> bool:
    """Caches, hidden files and byte code: never bundled."""
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


def _dist_from_metadata(text: str) -> Dist:
    meta = Parser().parsestr(text, headersonly=True)
    requires = [r for r in meta.get_all("Requires-Dist") or [] if "extra" not in r]
    return Dist(
        name=_norm(meta["Name"]),
        version=str(meta["Version"]),
        requires_python=str(meta.get("Requires-Python") or ""),
        requires=requires,
    )


def _add_file(dist: Dist, relpath: str, loader: Loader) -> None:
    top = relpath.split("/", 1)[0]
    if relpath.startswith("../") or skipped(relpath) or top.endswith(".data"):
        return
    if top.endswith(".dist-info"):
        if _is_meta(relpath):
            dist.meta[relpath] = loader
        return
    dist.files[relpath] = loader


def _installed(name: str) -> Dist:
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


def _from_wheels(folder: Path, name: str) -> Dist:
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
            _add_file(dist, member, constant(archive.read(member)))
    return dist


def _strip_compiled(dist: Dist) -> List[str]:
    """Drop compiled modules; return those that have no pure-Python twin."""
    missing = []
    for path in [p for p in dist.files if p.endswith(EXTENSIONS)]:
        del dist.files[path]
        folder, _, filename = path.rpartition("/")
        module = filename.split(".", 1)[0]
        base = f"{folder}/{module}" if folder else module
        if module.endswith("__mypyc"):
            continue  # mypyc's runtime helper, used only by the compiled modules
        if f"{base}.py" not in dist.files and f"{base}/__init__.py" not in dist.files:
            missing.append(path)
    return missing


def collect(wheels: Optional[Path], min_python: Tuple[int, int]) -> Tuple[List[Dist], List[str]]:
    """The distributions to bundle, compiled code stripped, and the optional ones left out.

    Args:
        wheels: read the wheels in this folder instead of the installed distributions.
        min_python: every distribution must admit this Python.

    Raises:
        LauncherBuildError: a dependency is missing, too new for ``min_python``, compiled only,
            or requires a distribution that is not bundled.
    """
    dists, omitted = [], []
    for name in DEPENDENCIES:
        dist = _from_wheels(wheels, name) if wheels else _installed(name)
        where = f"in {wheels}" if wheels else f"installed for {sys.executable}"
        if not admits_python(dist.requires_python, min_python):
            need = dotted(min_python)
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
                    hint="add it to grid_lrt.client.zipapp.dists.DEPENDENCIES",
                )
    return dists, omitted
