"""Upload a token's results (the job's ``Output/`` folder) and verify them.

Two token layouts, as GRID_LRT had them:

* **v1** ``upload`` block (GRID_PiCaS_Launcher ``upload_results.py``)::

      "upload": {"location": "gsiftp://host/lofar/$OBSID", "template": "${PIPELINE_STEP}_$DATE",
                 "add_date": true, "date_granularity": "hour", "gzip": true, "overwrite": false}

  ``Output/`` becomes one tarball ``<location>/<template>.tar`` (``.tar.gz`` with ``gzip``),
  made in the launcher's work folder with members in sorted order (paths relative to
  ``Output/``). ``$DATE`` is the UTC time at ``date_granularity`` when ``add_date`` is set,
  else empty; the template defaults to the token's ``_id``; without ``location`` the token's
  ``RESULTS_DIR`` is used. Folders inside the template (``$OBSID/x``) are created.
* **v0** ``RESULTS_DIR`` (a folder URL): every file of ``Output/`` goes to
  ``RESULTS_DIR/<relative path>``; subfolders are created, ``RESULTS_DIR`` itself must exist.

``$VARS``/``${VARS}`` in both come from the pipeline environment; an unknown one fails the
token (never an upload to a path with a literal ``$``). A token with neither layout uploads
nothing: the pipeline may upload by itself, so this is no error (a WARNING is logged and
``Results_location`` stays empty).

Results are stored exactly once per token (:mod:`.upload_commit`): every file goes first to a
temporary ``<final>.lrt-a<attempt>.part`` next to its final name; once all are there, the
caller's ``commit`` records the final URLs in the token (fenced: only while the token is still
ours), and only then is each temporary moved to its final name. A final name that an earlier
attempt of the same token committed is replaced, one that already holds the same content is
kept; any other existing file is left alone (33).

Every upload is verified: the storage's adler32 of the target must equal the local file's
(the size where the storage reports no checksum); a mismatch is uploaded once more with
overwrite, then fails (retries and verification: :mod:`.upload_copy`). Codes: 30 nothing in
``Output/``, 31 upload or move fails (after ``attempts`` tries for transient errors) or a bad
template, 32 pools full, 33 the final name holds another token's or run's file (and
``overwrite`` is not set), 34 parent folder missing, 35 checksum mismatch, 13 no adapter for
the scheme on this worker.
"""

from __future__ import annotations

import gzip
import logging
import tarfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable, List, Mapping, Optional, Tuple
from urllib.parse import quote

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage.base import Storage
from grid_lrt.launcher.templating import TemplateError, date_stamp, expand
from grid_lrt.launcher.upload_commit import Committer, Result
from grid_lrt.launcher.upload_copy import Uploader
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.redact import redact_url

__all__ = ["make_tarball", "output_files", "upload_results"]

log = logging.getLogger(__name__)

_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n", ""})


def output_files(output_dir: Path) -> List[Path]:
    """The files under ``output_dir`` (recursively, symlinks followed), sorted.

    Raises:
        TokenFailure: ``NO_UPLOAD_FILES`` (30) when the folder is missing or holds no file.
    """
    files = sorted(p for p in output_dir.rglob("*") if p.is_file()) if output_dir.is_dir() else []
    if not files:
        state = "is empty" if output_dir.is_dir() else "does not exist"
        raise TokenFailure(
            ErrorCode.NO_UPLOAD_FILES,
            f"nothing to upload: {output_dir} {state}",
            hint="the pipeline must write its results into Output/ in the job folder",
        )
    return files


def _write_tar(files: List[Path], root: Path, stream: Any) -> None:
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.GNU_FORMAT, dereference=True) as tar:
        for path in files:
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = int(info.mtime)
            with path.open("rb") as fh:
                tar.addfile(info, fh)


def make_tarball(files: List[Path], root: Path, dest: Path, *, compress: bool = False) -> Path:
    """Write ``files`` (paths under ``root``) into the tar ``dest``, reproducibly.

    Members are in the order given, named relative to ``root``, with owner ``0/0`` and no
    user names; a gzip header carries no name and no time. Symlinks are stored as the files
    they point to.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as raw:
        if compress:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream:
                _write_tar(files, root, stream)
        else:
            _write_tar(files, root, raw)
    return dest


def _flag(value: Any, name: str) -> bool:
    """A boolean option of the upload block (JSON bool, or a string such as "true")."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TokenFailure(
        ErrorCode.UPLOAD_FAILED,
        f"upload.{name} is {value!r}, not true or false",
        hint=f"set upload.{name} to true or false in the token",
    )


def _expand(template: str, variables: Mapping[str, str], what: str) -> str:
    try:
        return expand(template, variables, what=what)
    except TemplateError as exc:
        raise TokenFailure(ErrorCode.UPLOAD_FAILED, exc.message, hint=exc.hint) from exc


def _join(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel.lstrip("/")


def _v1_target(
    token: Mapping[str, Any], upload: Mapping[str, Any], env: Mapping[str, str], now: datetime
) -> Tuple[str, str, bool]:
    """(location, template path with suffix, overwrite) of a v1 upload block."""
    location = upload.get("location") or token.get("RESULTS_DIR")
    if not isinstance(location, str) or not location.strip():
        raise TokenFailure(
            ErrorCode.UPLOAD_FAILED,
            "the token's upload block has no location (and the token no RESULTS_DIR)",
            hint='add "location": "<folder URL>" to the upload block',
        )
    template = upload.get("template") or token.get("_id") or "results"
    add_date = _flag(upload.get("add_date", False), "add_date")
    stamp = date_stamp(now, str(upload.get("date_granularity") or "")) if add_date else ""
    variables = {**env, "DATE": stamp}
    location = _expand(location.strip(), variables, "upload location").rstrip("/")
    name = _expand(str(template).strip(), variables, "upload template").strip("/")
    if not name or any(part in ("", ".", "..") for part in name.split("/")):
        raise TokenFailure(
            ErrorCode.UPLOAD_FAILED,
            f"upload template {template!r} expands to {name!r}, which is no file name",
        )
    name += ".tar.gz" if _flag(upload.get("gzip", False), "gzip") else ".tar"
    return location, name, _flag(upload.get("overwrite", False), "overwrite")


@dataclass
class _Plan:
    """Where one token's results go: the adapter, the files, the overwrite policy."""

    storage: Storage
    results: List[Result]
    overwrite: bool
    location: str


def _plan_v1(
    token: Mapping[str, Any],
    upload: Mapping[str, Any],
    files: List[Path],
    *,
    output_dir: Path,
    env: Mapping[str, str],
    now: datetime,
    workdir: Path,
    uploader: Uploader,
) -> _Plan:
    location, name, overwrite = _v1_target(token, upload, env, now)
    target = _join(location, name)
    storage = uploader.storage(target)
    uploader.require_folder(storage, location, "upload location")
    folder = str(PurePosixPath(name).parent)
    if folder != ".":
        uploader.makedirs(storage, _join(location, folder))
    tarball = workdir / PurePosixPath(name).name
    try:
        make_tarball(files, output_dir, tarball, compress=name.endswith(".gz"))
    except OSError as exc:
        raise TokenFailure(
            ErrorCode.UPLOAD_FAILED,
            f"cannot make the results tarball {tarball}: {exc}",
            hint="check the free space in the launcher's work folder",
        ) from exc
    log.info("uploading %d result files as %s", len(files), redact_url(target))
    return _Plan(storage, [Result(tarball, target, tarball.name)], overwrite, target)


def _plan_v0(
    results_dir: str, files: List[Path], output_dir: Path, env: Mapping[str, str], up: Uploader
) -> _Plan:
    base = _expand(results_dir.strip(), env, "RESULTS_DIR").rstrip("/")
    storage = up.storage(base)
    up.require_folder(storage, base, "RESULTS_DIR")
    rels = [f.relative_to(output_dir).as_posix() for f in files]
    folders = sorted({str(PurePosixPath(r).parent) for r in rels} - {"."})
    for folder in folders:
        up.makedirs(storage, _join(base, quote(folder)))
    log.info("uploading %d result files to %s", len(files), redact_url(base))
    results = [Result(path, _join(base, quote(rel)), rel) for path, rel in zip(files, rels)]
    return _Plan(storage, results, False, base)


def upload_results(
    token: Mapping[str, Any],
    output_dir: Path,
    env: Mapping[str, str],
    *,
    storage_for: Callable[[str], Storage],
    workdir: Path,
    attempt: int,
    commit: Callable[[List[str]], None],
    now: Optional[datetime] = None,
    attempts: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Upload ``output_dir`` where the token says, commit it, and return ``Results_location``.

    Args:
        token: The token document (its ``upload`` block or ``RESULTS_DIR``, ``_id``, and the
            ``results_commit`` of an earlier attempt), as it is before this attempt's commit.
        output_dir: The job's ``Output/`` folder.
        env: The pipeline environment (token keys exported), for ``$VARS``.
        storage_for: Returns the storage adapter for a URL (by scheme).
        workdir: Where the v1 tarball is made (outside ``output_dir``).
        attempt: This attempt's number: it names the temporaries (``<final>.lrt-a<N>.part``).
        commit: Called once, after every temporary is uploaded and verified and before any is
            moved, with the final URLs (without credentials); it writes ``results_commit``
            into the token, fenced (raising ``TokenLostError`` when the token is no longer
            ours). Not called when nothing is uploaded.
        now: The time for ``$DATE`` (default: now, UTC).
        attempts: Tries per upload or move for transient errors (timeouts, 5xx, pools full).
        backoff: Seconds before the second try; doubled for each further one.
        sleep: Waits between tries (tests pass a no-op).

    Returns:
        The tarball's URL (v1), ``RESULTS_DIR`` expanded (v0), or ``""`` when the token names
        no destination (nothing uploaded; a WARNING is logged); credentials redacted.

    Raises:
        TokenFailure: 30, 31, 32, 33, 34, 35 or 13, as in the module docstring.
        Exception: Whatever ``commit`` raised; no result was moved to its final name.
    """
    files = output_files(output_dir)
    uploader = Uploader(storage_for, attempts=attempts, backoff=backoff, sleep=sleep)
    started = time.monotonic()
    upload = token.get("upload")
    results_dir = token.get("RESULTS_DIR")
    if isinstance(upload, Mapping) and upload:
        moment = now if now is not None else datetime.now(timezone.utc)
        plan = _plan_v1(
            token,
            upload,
            files,
            output_dir=output_dir,
            env=env,
            now=moment,
            workdir=workdir,
            uploader=uploader,
        )
        made = [r.src for r in plan.results]
    elif isinstance(results_dir, str) and results_dir.strip():
        plan = _plan_v0(results_dir, files, output_dir, env, uploader)
        made = []
    else:
        log.warning(
            "%d result file(s) in %s not uploaded: the token has no upload block and no "
            "RESULTS_DIR (fine if the pipeline uploads its own results; otherwise they go "
            "with the job directory unless the launcher runs with --keep-jobdirs)",
            len(files),
            output_dir,
        )
        return ""
    committer = Committer(
        uploader,
        plan.storage,
        attempt=attempt,
        token=token,
        overwrite=plan.overwrite,
        commit=commit,
    )
    try:
        committer.run(plan.results)
    finally:
        for path in made:
            path.unlink(missing_ok=True)
    log.info(
        "uploaded %d files (%d bytes) in %.1f s: Results_location %s",
        uploader.files,
        uploader.bytes,
        time.monotonic() - started,
        redact_url(plan.location),
    )
    return redact_url(plan.location)
