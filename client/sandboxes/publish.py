"""Publishing a sandbox: upload it, read it back, write ``SBXloc``/``SBXchecksum`` into tokens.

Uploads go through the launcher's storage port (:func:`grid_lrt.launcher.storage.storage_for`:
``file://``, ``https://``/``davs://`` WebDAV, and with gfal2 ``gsiftp://``, ``srm://``...), or
over ssh for ``scp://host/path`` and ``host:path`` destinations (:mod:`.scp`). The parent
folder is created first.

What happens when the destination already exists is the caller's explicit choice,
:class:`OverwritePolicy`:

* ``refuse`` (the default): :class:`~.errors.DestinationTakenError`, nothing touched;
* ``replace``: the file is overwritten;
* ``keep-if-same``: the file is kept when it has the same size and checksum (sha256 or
  adler32, whichever the storage tells; read back in full when it tells neither), else
  refused as for ``refuse``.

After the upload the file is read back where the storage can tell: its size always, its
sha256 or adler32 when the storage reports one; a difference is
:class:`~.errors.UploadVerifyError`.

Uploads to ``gsiftp://`` and ``srm://`` need a grid proxy; with ``authorize`` (the default)
:func:`find_grid_proxy` checks that one exists before anything is sent.
"""

from __future__ import annotations

import enum
import logging
import os
import posixpath
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from grid_lrt.launcher.checksums import same_checksum
from grid_lrt.launcher.storage import Storage, StorageError, storage_for
from grid_lrt.launcher.storage.common import scheme_of
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import BulkResult, TokenPool
from grid_lrt.shared.redact import redact_url

from .errors import DestinationTakenError, GridProxyMissingError, UploadVerifyError
from .scp import is_scp, parse_scp, scp_argv, ssh_argv, ssh_run
from .tarball import checksums_of

__all__ = [
    "PROXY_SCHEMES",
    "OverwritePolicy",
    "Upload",
    "destination_url",
    "find_grid_proxy",
    "record_in_tokens",
    "upload_tarball",
]

log = logging.getLogger(__name__)

#: Schemes whose uploads need a grid (X.509) proxy.
PROXY_SCHEMES = frozenset({"gsiftp", "srm"})
_PROXY_HINT = "create one with: voms-proxy-init --voms lofar:/lofar/user --valid 168:00"


class OverwritePolicy(str, enum.Enum):
    """What to do when the destination exists."""

    REFUSE = "refuse"
    REPLACE = "replace"
    KEEP_IF_SAME = "keep-if-same"


@dataclass(frozen=True)
class Upload:
    """What an upload did: ``action`` is ``uploaded``, ``replaced`` or ``kept``; ``verified``
    names what was read back from the storage and matched (``size``, ``sha256``, ``adler32``)."""

    url: str
    size: int
    checksum: str
    action: str
    verified: Tuple[str, ...]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "url": redact_url(self.url),
            "size": self.size,
            "checksum": self.checksum,
            "action": self.action,
            "verified": list(self.verified),
        }


def destination_url(base: str, loc: str, filename: str) -> str:
    """``<base>/<loc>/<filename>`` (``loc`` may be empty); a plain path ``base`` becomes file://.

    Raises:
        UsageError: An empty base.
    """
    base = base.strip()
    if not base:
        raise UsageError("no upload destination given", hint="give --to URL")
    if base.startswith("/") and "://" not in base:
        base = Path(base).as_uri()
    parts = [base.rstrip("/"), *(p for p in loc.strip("/").split("/") if p), filename]
    return "/".join(parts)


def find_grid_proxy(environ: Optional[Mapping[str, str]] = None) -> Path:
    """The grid proxy file: ``$X509_USER_PROXY``, else ``/tmp/x509up_u<uid>``.

    Raises:
        GridProxyMissingError: Neither exists (or it is empty).
    """
    env = os.environ if environ is None else environ
    named = env.get("X509_USER_PROXY", "").strip()
    path = Path(named) if named else Path(f"/tmp/x509up_u{os.getuid()}")  # noqa: S108
    try:
        ok = path.is_file() and path.stat().st_size > 0
    except OSError:
        ok = False
    if not ok:
        where = f"X509_USER_PROXY={named}" if named else str(path)
        raise GridProxyMissingError(
            f"no grid proxy found ({where}): uploads to gsiftp:// and srm:// need one",
            hint=_PROXY_HINT + " (or use UnauthorizedSandbox / another destination)",
        )
    return path


def _parent(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return posixpath.dirname(url)
    return f"{scheme}://{posixpath.dirname(rest)}"


def _remote_checksum(storage: Storage, url: str) -> Tuple[str, Optional[str]]:
    """``(algorithm, value)`` the storage reports for ``url`` (sha256, else adler32)."""
    for algorithm in ("sha256", "adler32"):
        try:
            value = storage.checksum(url, algorithm)
        except StorageError as exc:
            log.debug("%s checksum of %s unknown: %s", algorithm, redact_url(url), exc)
            continue
        if value:
            return algorithm, value
    return "", None


def _same_content(storage: Storage, url: str, size: int, sha256: str, adler32: str) -> bool:
    if storage.size(url) != size:
        return False
    algorithm, value = _remote_checksum(storage, url)
    if value is not None:
        return same_checksum(value, sha256 if algorithm == "sha256" else adler32, algorithm)
    with tempfile.TemporaryDirectory(prefix="lrt-sandbox-compare-") as tmp:
        copy = Path(tmp) / "remote"
        storage.download(url, copy)
        return checksums_of(copy)[1] == sha256


def _verify(storage: Storage, url: str, size: int, sha256: str, adler32: str) -> Tuple[str, ...]:
    safe = redact_url(url)
    remote_size = storage.size(url)
    if remote_size != size:
        raise UploadVerifyError(
            f"{safe} has {remote_size} bytes after the upload, the tarball {size}",
            hint="upload again with --replace; the storage may have cut the transfer",
        )
    algorithm, value = _remote_checksum(storage, url)
    if value is None:
        return ("size",)
    expected = sha256 if algorithm == "sha256" else adler32
    if not same_checksum(value, expected, algorithm):
        raise UploadVerifyError(
            f"{safe}: the storage reports {algorithm} {value}, the tarball has {expected}",
            hint="upload again with --replace",
        )
    return ("size", algorithm)


def _taken(url: str, why: str) -> DestinationTakenError:
    return DestinationTakenError(
        f"{redact_url(url)} already exists{why}",
        hint="--replace overwrites it; --keep-if-same keeps it when it is the same tarball "
        "(Python: overwrite='replace' or 'keep-if-same')",
    )


def upload_tarball(
    tarball: Path,
    url: str,
    *,
    policy: OverwritePolicy = OverwritePolicy.REFUSE,
    authorize: bool = True,
    storage_of: Callable[[str], Storage] = storage_for,
) -> Upload:
    """Upload ``tarball`` to ``url`` (a file URL, or an scp destination), then verify it.

    Raises:
        DestinationTakenError: ``url`` exists and ``policy`` says not to replace it.
        GridProxyMissingError: A gsiftp/srm URL with ``authorize`` and no proxy.
        UploadVerifyError: The copy read back differs.
        StorageError: The storage refused or failed (its message and hint say why).
        SandboxError: An scp/ssh command failed.
    """
    policy = OverwritePolicy(policy)
    size, sha256, adler32 = checksums_of(tarball)
    checksum = f"sha256:{sha256}"
    if is_scp(url):
        return _scp_upload(tarball, url, policy, size, sha256)
    if authorize and scheme_of(url) in PROXY_SCHEMES:
        find_grid_proxy()
    storage = storage_of(url)
    action = "uploaded"
    if storage.exists(url):
        if policy is OverwritePolicy.REFUSE:
            raise _taken(url, "")
        if policy is OverwritePolicy.KEEP_IF_SAME:
            if not _same_content(storage, url, size, sha256, adler32):
                raise _taken(url, " with other content")
            verified = _verify(storage, url, size, sha256, adler32)
            log.info("%s already holds this tarball: kept", redact_url(url))
            return Upload(url, size, checksum, "kept", verified)
        action = "replaced"
    else:
        storage.makedirs(_parent(url))
    storage.upload(tarball, url, overwrite=policy is OverwritePolicy.REPLACE)
    verified = _verify(storage, url, size, sha256, adler32)
    log.info("sandbox %s to %s (verified: %s)", action, redact_url(url), ", ".join(verified))
    return Upload(url, size, checksum, action, verified)


def _scp_upload(
    tarball: Path, dest: str, policy: OverwritePolicy, size: int, sha256: str
) -> Upload:
    target = parse_scp(dest)
    url = str(target)

    def remote_sha() -> Optional[str]:
        done = ssh_run(ssh_argv(target, "sha256sum", target.path), f"read {url}", check=False)
        return done.stdout.split()[0] if done.returncode == 0 and done.stdout.strip() else None

    action = "uploaded"
    exists = ssh_run(ssh_argv(target, "test", "-e", target.path), f"check {url}", check=False)
    if exists.returncode == 0:
        if policy is OverwritePolicy.REFUSE:
            raise _taken(url, "")
        if policy is OverwritePolicy.KEEP_IF_SAME:
            if remote_sha() != sha256:
                raise _taken(url, " with other content")
            return Upload(url, size, f"sha256:{sha256}", "kept", ("sha256",))
        action = "replaced"
    else:
        ssh_run(
            ssh_argv(target, "mkdir", "-p", posixpath.dirname(target.path) or "."),
            f"create the folder of {url}",
        )
    ssh_run(scp_argv(tarball, target), f"copy the sandbox to {url}")
    got = remote_sha()
    if got is None:
        return Upload(url, size, f"sha256:{sha256}", action, ())
    if got != sha256:
        raise UploadVerifyError(f"{url}: sha256 {got} after the copy, the tarball has {sha256}")
    return Upload(url, size, f"sha256:{sha256}", action, ("sha256",))


def record_in_tokens(pool: TokenPool, t_type: str, url: str, checksum: str) -> BulkResult:
    """Set ``SBXloc=url`` and ``SBXchecksum=checksum`` in every token of ``t_type``, in bulk.

    Raises:
        UsageError: ``url`` carries credentials (they would be stored in every token).
    """
    if redact_url(url) != url:
        raise UsageError(
            "the sandbox URL holds a user or password; it would be written into every token",
            hint="give the storage URL without credentials (the launcher has its own)",
        )

    def locate(doc: Dict[str, Any]) -> bool:
        if doc.get("SBXloc") == url and doc.get("SBXchecksum") == checksum:
            return False
        doc["SBXloc"] = url
        doc["SBXchecksum"] = checksum
        return True

    return pool.update(pool.ids(t_type), locate)
