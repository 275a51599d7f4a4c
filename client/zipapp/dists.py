"""The distributions bundled in the launcher zipapp: found, checked and stripped.

They come from the distributions installed for this interpreter, or from wheels in a folder
(:mod:`.wheels` downloads them for the worker's Python). Either way every distribution must
admit the worker's oldest Python in its ``Requires-Python``: a client on 3.11 often has
releases (requests >= 2.33, urllib3 >= 2.7) that need 3.10, and a zipapp built from those
fails on a 3.9 worker at ``import urllib3``.

Compiled extension modules are left out; what happens then depends on the distribution:

* a compiled module with a pure-Python twin (``md.py`` next to ``md.cpython-*.so``): the twin
  is used;
* a compiled *accelerator* the package itself can do without (:data:`ACCELERATORS`: PyYAML's
  ``yaml/_yaml``, whose absence makes ``yaml`` use its pure-Python loader): the distribution is
  bundled without it, together with the shims that only re-export it (the top-level
  ``_yaml``). PyPI has no pure-Python PyYAML wheel, so its platform wheel or its installed
  copy is stripped this way;
* a package whose compiled modules have neither is left out when it is optional
  (charset_normalizer: requests then uses its own fallback, and the zipapp's ``__main__``
  silences the warning about it); otherwise the build fails.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from . import LauncherBuildError, dotted

__all__ = [
    "ACCELERATORS",
    "DEPENDENCIES",
    "EXTENSIONS",
    "Accelerator",
    "Dist",
    "Loader",
    "admits_python",
    "collect",
    "constant",
    "skipped",
    "worker_environment",
]

DEPENDENCIES: Tuple[str, ...] = (
    "requests",
    "urllib3",
    "idna",
    "certifi",
    "charset-normalizer",
    "pyyaml",
)
"""Distributions bundled in the zipapp: ``requests`` and what it requires, and PyYAML
(``tokvar.cfg``)."""


@dataclass(frozen=True)
class Accelerator:
    """Compiled modules a distribution can do without: its package falls back to Python."""

    modules: Tuple[str, ...]
    """The compiled modules, as archive paths without the suffix (``yaml/_yaml``)."""
    shims: Tuple[str, ...] = ()
    """Top-level packages or modules that only re-export them (``_yaml``): left out too."""


ACCELERATORS: Dict[str, Accelerator] = {
    "pyyaml": Accelerator(modules=("yaml/_yaml",), shims=("_yaml",)),
}
"""Distribution → its optional compiled accelerator (bundled without it)."""

EXTENSIONS = (".so", ".pyd", ".dylib")
"""File name endings of compiled modules (never bundled)."""

_OPTIONAL = frozenset({"charset-normalizer"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo", "~")
_LICENSE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)

Loader = Callable[[], bytes]
"""Returns a file's bytes when the archive is written."""


@dataclass
class Dist:
    """One distribution as it goes into the archive."""

    name: str
    version: str
    requires_python: str
    requires: List[Requirement]
    """Requires-Dist entries (markers not yet evaluated)."""
    files: Dict[str, Loader] = field(default_factory=dict)
    """Every importable file (posix path from the archive root) → its bytes."""
    meta: Dict[str, Loader] = field(default_factory=dict)
    """dist-info METADATA and licence files."""
    accelerator_left_out: bool = False
    """Bundled without its compiled accelerator (:data:`ACCELERATORS`)."""


def constant(data: bytes) -> Loader:
    """A loader that returns ``data``."""
    return lambda: data


def admits_python(requires_python: str, python: Tuple[int, int]) -> bool:
    """Whether a ``Requires-Python`` specifier admits Python ``python`` (checked at ``X.Y.0``).

    Raises:
        LauncherBuildError: the specifier is not a PEP 440 version specifier.
    """
    try:
        specifier = SpecifierSet(requires_python)
    except InvalidSpecifier as exc:
        raise LauncherBuildError(f"cannot read Requires-Python {requires_python!r}") from exc
    return specifier.contains(Version(f"{dotted(python)}.0"), prereleases=True)


def worker_environment(python: Tuple[int, int]) -> Dict[str, str]:
    """The PEP 508 marker environment of a worker running Python ``python`` (at ``X.Y.0``).

    The platform entries are this machine's (a Linux login node, like the workers); no extra
    is requested, so requirements of extras are not needed.
    """
    environment = {key: str(value) for key, value in default_environment().items()}
    environment.update(
        python_version=dotted(python), python_full_version=f"{dotted(python)}.0", extra=""
    )
    return environment


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


def _dist_from_metadata(text: str, where: str) -> Dist:
    meta = Parser().parsestr(text, headersonly=True)
    try:
        requires = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    except InvalidRequirement as exc:
        raise LauncherBuildError(
            f"{meta['Name']} ({where}): cannot read Requires-Dist: {exc}"
        ) from exc
    return Dist(
        name=canonicalize_name(str(meta["Name"])),
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
    where = f"installed for {sys.executable}"
    dist = _dist_from_metadata(found.read_text("METADATA") or "", where)
    for entry in found.files or ():
        path = Path(str(found.locate_file(entry)))
        _add_file(dist, entry.as_posix(), path.read_bytes)
    if not dist.files:
        raise LauncherBuildError(
            f"{name} {dist.version} is installed without a file list (RECORD)",
            hint="install it with pip, or build with --wheels DIR / --download",
        )
    return dist


def _wheel_of(path: Path) -> Optional[str]:
    """The distribution a wheel file name names, or None for another file name."""
    try:
        return str(parse_wheel_filename(path.name)[0])
    except InvalidWheelFilename:
        return None


def _from_wheels(folder: Path, name: str) -> Dist:
    wanted = canonicalize_name(name)
    wheels = [w for w in sorted(folder.glob("*.whl")) if _wheel_of(w) == wanted]
    if len(wheels) != 1:
        found = ", ".join(w.name for w in wheels) or "none"
        raise LauncherBuildError(
            f"need exactly one {wanted.replace('-', '_')} wheel in {folder}, found: {found}",
            hint="keep one version of each distribution in the wheel folder",
        )
    with zipfile.ZipFile(wheels[0]) as archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        metadata = [n for n in names if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(metadata) != 1:
            raise LauncherBuildError(f"{wheels[0].name} has no single dist-info/METADATA")
        text = archive.read(metadata[0]).decode("utf-8")
        dist = _dist_from_metadata(text, f"in {wheels[0].name}")
        for member in names:
            _add_file(dist, member, constant(archive.read(member)))
    return dist


def _module_base(path: str) -> str:
    """``yaml/_yaml.cpython-39-x86_64-linux-gnu.so`` → ``yaml/_yaml``."""
    folder, _, filename = path.rpartition("/")
    module = filename.split(".", 1)[0]
    return f"{folder}/{module}" if folder else module


def _strip_accelerator(dist: Dist) -> None:
    """Drop the distribution's optional accelerator and its shims (if it has one)."""
    accelerator = ACCELERATORS.get(dist.name)
    if accelerator is None:
        return
    for path in list(dist.files):
        top = path.split("/", 1)[0]
        shim = top in accelerator.shims or _module_base(path) in accelerator.shims
        compiled = path.endswith(EXTENSIONS) and _module_base(path) in accelerator.modules
        if shim or compiled:
            del dist.files[path]
            dist.accelerator_left_out = dist.accelerator_left_out or compiled


def _strip_compiled(dist: Dist) -> List[str]:
    """Drop compiled modules; return those that have no pure-Python twin."""
    _strip_accelerator(dist)
    missing = []
    for path in [p for p in dist.files if p.endswith(EXTENSIONS)]:
        del dist.files[path]
        base = _module_base(path)
        if base.endswith("__mypyc"):
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
                hint=f"build with --download (wheels for Python {need}, via pip), "
                "or --wheels DIR, or raise the floor with --min-python",
            )
        missing = _strip_compiled(dist)
        if missing and canonicalize_name(name) in _OPTIONAL:
            omitted.append(dist.name)
            continue
        if missing:
            raise LauncherBuildError(
                f"{dist.name} {dist.version} ({where}) ships compiled modules without a "
                f"pure-Python version: {', '.join(missing)}",
                hint="use a pure-Python (py3-none-any) wheel with --wheels DIR or --download, "
                "or, if the package falls back to Python without them, list them in "
                "grid_lrt.client.zipapp.dists.ACCELERATORS",
            )
        dists.append(dist)
    _check_requirements(dists, omitted, min_python)
    return dists, omitted


def _check_requirements(dists: List[Dist], omitted: List[str], python: Tuple[int, int]) -> None:
    """Every requirement a worker on ``python`` needs is bundled in an admitted version.

    Raises:
        LauncherBuildError: a needed distribution is not bundled, or its version does not
            satisfy the requirement.
    """
    environment = worker_environment(python)
    versions = {d.name: d.version for d in dists}
    for dist in dists:
        for requirement in dist.requires:
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            needed = canonicalize_name(requirement.name)
            if needed in omitted:
                continue
            if needed not in versions:
                raise LauncherBuildError(
                    f"{dist.name} {dist.version} requires {needed}, which the launcher does not "
                    "bundle",
                    hint="add it to grid_lrt.client.zipapp.dists.DEPENDENCIES",
                )
            if not _satisfies(requirement.specifier, versions[needed]):
                raise LauncherBuildError(
                    f"{dist.name} {dist.version} requires {requirement}, but the launcher would "
                    f"bundle {needed} {versions[needed]}",
                    hint="use matching versions (--download fetches a consistent set)",
                )


def _satisfies(specifier: SpecifierSet, version: str) -> bool:
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False
