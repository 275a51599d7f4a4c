"""Storage adapters and the choice between them: :func:`storage_for`.

With the gfal2 Python bindings importable, :class:`~.gfal.Gfal2Storage` handles every scheme
(``file``, ``http(s)``, ``dav(s)``, ``gsiftp``, ``srm``, ``root``, ``mock``...). Without them,
or with ``LRT_STORAGE=builtin``, the built-in adapters handle what needs no grid library::

    file://, /abs/path      -> LocalStorage
    http(s)://, dav(s)://   -> HttpStorage (requests; davs = https WebDAV)
    gsiftp://, srm://, ...  -> UnsupportedSchemeError (install python3-gfal2)

``LRT_STORAGE`` (or ``prefer=``): ``auto`` (default), ``gfal2`` (an error if the bindings are
missing) or ``builtin``. Adapters are cached per kind (and trust settings), so one run reuses
its gfal2 contexts and HTTP sessions.
"""

from __future__ import annotations

import os
import threading
from typing import Dict, Optional, Tuple

from grid_lrt.launcher.storage.base import (
    ChecksumMismatchError,
    DestinationExistsError,
    DestinationNotAccessibleError,
    FileOnTapeError,
    NoSpaceError,
    ParentMissingError,
    RenameUnsupportedError,
    SourceNotFoundError,
    Storage,
    StorageError,
    StorageUnavailableError,
    UnsupportedSchemeError,
)
from grid_lrt.launcher.storage.common import scheme_of
from grid_lrt.launcher.storage.local import LocalStorage
from grid_lrt.shared.errors import ConfigError
from grid_lrt.shared.redact import redact_url

__all__ = [
    "BUILTIN_SCHEMES",
    "ENV_VAR",
    "GFAL2_HINT",
    "GFAL2_SCHEMES",
    "BackendMissingError",
    "ChecksumMismatchError",
    "DestinationExistsError",
    "DestinationNotAccessibleError",
    "FileOnTapeError",
    "LocalStorage",
    "NoSpaceError",
    "ParentMissingError",
    "RenameUnsupportedError",
    "SourceNotFoundError",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "UnsupportedSchemeError",
    "backend_mode",
    "clear_cache",
    "describe_backend",
    "gfal2_version",
    "storage_for",
]

#: Environment variable choosing the backend: auto, gfal2 or builtin.
ENV_VAR = "LRT_STORAGE"
GFAL2_HINT = (
    "install the gfal2 Python bindings and plugins (Debian/Ubuntu: apt-get install python3-gfal2 "
    "gfal2-plugin-file gfal2-plugin-http gfal2-plugin-srm gfal2-plugin-gridftp; "
    "EL: dnf install python3-gfal2 gfal2-all)"
)
#: Scheme -> adapter kind without gfal2.
BUILTIN_SCHEMES: Dict[str, str] = {
    "file": "local",
    "http": "http",
    "https": "http",
    "dav": "http",
    "davs": "http",
}
#: Schemes handed to gfal2 when it is available.
GFAL2_SCHEMES = frozenset(
    {"file", "http", "https", "dav", "davs", "gsiftp", "srm", "root", "xroot", "mock", "s3", "s3s"}
)
_MODES = ("auto", "gfal2", "builtin")
#: Environment that changes how an adapter trusts servers or authenticates.
_TRUST_ENV = ("X509_CERT_DIR", "X509_USER_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

_lock = threading.Lock()
_cache: Dict[Tuple[str, Tuple[str, ...]], Storage] = {}
_gfal2_import: Dict[str, Optional[str]] = {}


class BackendMissingError(UnsupportedSchemeError):
    """``LRT_STORAGE=gfal2`` (or ``prefer="gfal2"``) but the gfal2 bindings cannot be imported."""


def gfal2_version() -> Optional[str]:
    """The gfal2 library version when the bindings import, else None (checked once)."""
    with _lock:
        if "version" not in _gfal2_import:
            try:
                import gfal2

                _gfal2_import["version"] = str(gfal2.get_version())
            except ImportError:
                _gfal2_import["version"] = None
        return _gfal2_import["version"]


def backend_mode(prefer: Optional[str] = None) -> str:
    """The backend in use: ``"gfal2"`` or ``"builtin"``.

    Args:
        prefer: ``auto``, ``gfal2`` or ``builtin``; None reads ``LRT_STORAGE`` (default auto).

    Raises:
        ConfigError: An unknown value.
        BackendMissingError: gfal2 was asked for but cannot be imported.
    """
    source = "prefer" if prefer is not None else ENV_VAR
    raw = prefer if prefer is not None else os.environ.get(ENV_VAR, "")
    mode = (raw or "auto").strip().lower()
    if mode not in _MODES:
        raise ConfigError(
            f"{source}={raw!r} is not a storage backend", hint=f"use one of: {', '.join(_MODES)}"
        )
    if mode == "builtin":
        return "builtin"
    available = gfal2_version() is not None
    if mode == "gfal2" and not available:
        raise BackendMissingError(
            f"{source}=gfal2 asks for the gfal2 storage backend, but the gfal2 Python bindings "
            "cannot be imported",
            hint=GFAL2_HINT,
        )
    return "gfal2" if available else "builtin"


def describe_backend(prefer: Optional[str] = None) -> str:
    """One line for the start-up log: ``"gfal2 2.21.3"`` or ``"builtin (no gfal2)"``.

    Raises:
        ConfigError, BackendMissingError: As :func:`backend_mode`.
    """
    if backend_mode(prefer) == "gfal2":
        return f"gfal2 {gfal2_version()}"
    if gfal2_version() is None:
        return "builtin (no gfal2)"
    return f"builtin (gfal2 {gfal2_version()} installed but not used)"


def _kind_for(url: str, mode: str) -> str:
    scheme = scheme_of(url)
    if mode == "gfal2" and scheme in GFAL2_SCHEMES:
        return "gfal2"
    kind = BUILTIN_SCHEMES.get(scheme)
    if kind is not None:
        return kind
    safe = redact_url(url)
    if mode == "gfal2" or scheme not in GFAL2_SCHEMES:
        raise UnsupportedSchemeError(
            f"no storage adapter for the {scheme}:// scheme ({safe})",
            url=safe,
            hint="supported: " + ", ".join(sorted(GFAL2_SCHEMES)),
        )
    if gfal2_version() is None:
        reason = "which is not installed on this worker"
        hint = GFAL2_HINT
    else:
        reason = f"which is installed but switched off ({ENV_VAR}=builtin or prefer='builtin')"
        hint = f"unset {ENV_VAR} (or set it to gfal2) to use gfal2; otherwise {GFAL2_HINT}"
    raise UnsupportedSchemeError(
        f"{scheme}:// URLs need gfal2, {reason} ({safe})", url=safe, hint=hint
    )


def _new(kind: str) -> Storage:
    if kind == "local":
        return LocalStorage()
    if kind == "http":
        from grid_lrt.launcher.storage.http import HttpStorage

        return HttpStorage()
    from grid_lrt.launcher.storage.gfal import Gfal2Storage

    return Gfal2Storage()


def storage_for(url: str, *, prefer: Optional[str] = None) -> Storage:
    """The adapter for ``url`` (a URL or a plain local path), reused across calls.

    Args:
        url: ``file://``, ``/abs/path``, ``https://``, ``davs://``, ``gsiftp://``, ``srm://``,
            ``root://``, ``mock://``...
        prefer: ``auto``, ``gfal2`` or ``builtin`` instead of ``LRT_STORAGE``.

    Raises:
        UnsupportedSchemeError: No adapter for this scheme here (the hint says what to install).
        BackendMissingError: gfal2 was asked for but cannot be imported.
        ConfigError: ``LRT_STORAGE``/``prefer`` has an unknown value.
    """
    kind = _kind_for(url, backend_mode(prefer))
    key = (kind, tuple(os.environ.get(name, "") for name in _TRUST_ENV))
    with _lock:
        storage = _cache.get(key)
        if storage is None:
            storage = _cache[key] = _new(kind)
        return storage


def clear_cache() -> None:
    """Forget the cached adapters (and the gfal2 import check); for tests."""
    with _lock:
        _cache.clear()
        _gfal2_import.clear()
