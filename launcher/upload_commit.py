"""Exactly-once results: upload under attempt-scoped names, commit in the token, then move.

An attempt never writes a final result name directly. For the result files (v0: each file of
``Output/``; v1: the tarball), :class:`Committer`:

1. looks at each final name first (one ``exists``; none with the v1 ``overwrite``):

   * absent: to be uploaded and moved there without overwrite;
   * present with the same content (adler32, or the size where the storage reports no
     checksum): success as it is, nothing uploaded;
   * present and named by ``results_commit`` of an *earlier* attempt of this token (as the
     token was before this attempt's commit): to be replaced;
   * otherwise: 33 at once, naming the file, which belongs to another token or run. Nothing
     is uploaded, so that file never gets into this token's commit record;

2. uploads each file to be moved to the temporary ``<final>.lrt-a<attempt>.part`` next to its
   final name (the suffix appended to the final URL: :func:`part_url`), with overwrite, so that
   a leftover of this same attempt is replaced, and verifies it (:class:`~.upload_copy.Uploader`);
3. calls ``commit(final_urls)`` once with every final URL, without ``user:password@``
   (:func:`plain_url`): the run loop writes ``results_commit = {"attempt": N, "urls": [...]}``
   into the token, fenced, so it raises ``TokenLostError`` when the token is no longer ours.
   Any exception from it aborts: nothing is moved, and this attempt's temporaries are removed
   (best effort);
4. moves each temporary to its final name. A name that was free and is taken now (a writer
   won a race with us) is decided again as in step 1, and another token's file is then 33
   (its URL is in this commit record: the one case left where a later attempt of this token
   would replace it). On a 33 or any failure, this attempt's remaining temporaries are removed;
   finals already moved stay (the commit names them).

How atomic a move is depends on the storage (``Storage.rename``): ``file://`` (``os.link``,
``os.replace``) and WebDAV ``MOVE`` with ``Overwrite: F|T`` (HttpStorage, builtin https/davs)
are atomic. Through gfal2 (gsiftp, srm, root, https/davs via davix) a move without overwrite
is check-then-rename, and one with overwrite remove-then-rename. A storage that cannot rename
at all (``RenameUnsupportedError``: a web server without WebDAV ``MOVE``; a gfal2 plugin
without rename, such as ``mock://``) gets the documented best effort: the local file is
uploaded again under its final name (same overwrite decision, verified) and the temporary is
removed; the final name then holds a partial file while that upload runs.

Temporaries of earlier attempts have other names, so they never block a re-run. Those of the
attempt that committed are removed once this attempt has stored its results; others stay (the
Storage contract has no listing) and match ``*.lrt-a*.part``. An interrupt (SIGTERM: a
BaseException) leaves this attempt's temporaries too: stopping quickly matters more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, FrozenSet, List, Mapping, Tuple
from urllib.parse import urlsplit, urlunsplit

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage.base import (
    DestinationExistsError,
    RenameUnsupportedError,
    SourceNotFoundError,
    Storage,
    StorageError,
)
from grid_lrt.launcher.upload_copy import Uploader, upload_failure
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.redact import redact, redact_url

__all__ = ["Committer", "Result", "part_url", "plain_url", "prior_commit"]

#: The logger of :mod:`.upload`: the log lines name it, as the other upload steps do.
log = logging.getLogger("grid_lrt.launcher.upload")

Commit = Callable[[List[str]], None]


def part_url(final_url: str, attempt: int) -> str:
    """The temporary name of ``final_url`` for ``attempt``: ``<final>.lrt-a<attempt>.part``."""
    return f"{final_url}.lrt-a{attempt}.part"


def plain_url(url: str) -> str:
    """``url`` without its ``user:password@`` part (what the token may store)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def prior_commit(token: Mapping[str, Any], attempt: int) -> Tuple[int, FrozenSet[str]]:
    """``(attempt, urls)`` of the token's ``results_commit`` when an earlier attempt wrote it,
    else ``(0, frozenset())`` (none, malformed, or of this attempt or a later one)."""
    record = token.get("results_commit")
    if not isinstance(record, Mapping):
        return 0, frozenset()
    earlier = record.get("attempt")
    urls = record.get("urls")
    if isinstance(earlier, bool) or not isinstance(earlier, int) or not isinstance(urls, list):
        return 0, frozenset()
    if not 0 < earlier < attempt:
        return 0, frozenset()
    return earlier, frozenset(u for u in urls if isinstance(u, str))


@dataclass(frozen=True)
class Result:
    """One result file: the local ``src``, its ``final`` URL, ``name`` for messages."""

    src: Path
    final: str
    name: str


#: What :meth:`Committer.run` found at a final name before uploading (see the module docstring).
NEW, SAME, REPLACE = "new", "same", "replace"


@dataclass
class Committer:
    """Uploads, commits and moves the result files of one attempt (the module docstring).

    Args:
        uploader: Retries, verification and removal for this ``upload_results`` call.
        storage: The adapter of the finals (and their temporaries, in the same folders).
        attempt: This attempt's number (the token's ``attempt``).
        token: The token as it was before this attempt's commit (its ``results_commit``).
        overwrite: The v1 block's ``overwrite``: finals are replaced whoever wrote them.
        commit: Writes the commit record into the token (fenced).
    """

    uploader: Uploader
    storage: Storage
    attempt: int
    token: Mapping[str, Any]
    overwrite: bool
    commit: Commit
    renames: bool = field(default=True, init=False)

    def run(self, results: List[Result]) -> None:
        """Check the final names, upload the temporaries, commit, then move them.

        Raises:
            TokenFailure: 33 for a final name that holds another token's or run's file; 31-35
                or 13 from an upload, a move or a storage query.
            Exception: Whatever ``commit`` raised (``TokenLostError``): nothing was moved.
        """
        prior_attempt, prior_urls = prior_commit(self.token, self.attempt)
        plan = [(result, self._found(result, prior_urls)) for result in results]
        moves = [(result, found) for result, found in plan if found != SAME]
        sent = moved = 0  # moves[moved:sent] have (or may have) a temporary
        try:
            for result, _ in moves:
                sent += 1
                self.uploader.upload(self.storage, result.src, self._part(result), overwrite=True)
            self.commit([plain_url(r.final) for r in results])
            log.info("committed %d result file(s) of attempt %d", len(results), self.attempt)
            for result, found in moves:
                self._publish(result, replace=found == REPLACE, prior_urls=prior_urls)
                moved += 1
        except Exception:
            for result, _ in moves[moved:sent]:
                self.uploader.remove(self.storage, self._part(result))
            raise
        for result in results:  # what the committed earlier attempt left unmoved
            if prior_attempt and plain_url(result.final) in prior_urls:
                self.uploader.remove(self.storage, part_url(result.final, prior_attempt))

    def _part(self, result: Result) -> str:
        return part_url(result.final, self.attempt)

    def _found(self, result: Result, prior_urls: FrozenSet[str]) -> str:
        """NEW, SAME or REPLACE for the final name of ``result``, before anything is uploaded,
        so that another token's file never gets into this attempt's commit record.

        Raises:
            TokenFailure: 33 (the final name holds another token's or run's file), or 31 as
                :func:`upload_failure` maps a failed query.
        """
        if self.overwrite:
            return REPLACE
        try:
            present = self.storage.exists(result.final)
        except StorageError as exc:
            raise upload_failure(exc, f"cannot check {redact_url(result.final)}") from exc
        if not present:
            return NEW
        if self.uploader.same(self.storage, result.src, result.final):
            log.info("%s already holds this result", redact_url(result.final))
            return SAME
        if plain_url(result.final) in prior_urls:
            return REPLACE
        raise self._taken(result)

    def _taken(self, result: Result) -> TokenFailure:
        return TokenFailure(
            ErrorCode.UPLOAD_EXISTS,
            f"cannot store {result.name}: {redact_url(result.final)} exists with other content, "
            "and no earlier attempt of this token committed it: it belongs to another token or run",
            hint="remove it or choose another RESULTS_DIR / upload location "
            "(or set overwrite in the upload block)",
        )

    def _publish(self, result: Result, *, replace: bool, prior_urls: FrozenSet[str]) -> None:
        """Move ``result``'s temporary to its final name (replacing it when ``replace``).

        A final name that was free and is taken now (another writer won a race) is decided
        again: the same content is success, an earlier attempt's file is replaced, another
        file is 33.

        Raises:
            TokenFailure: 33, or as the move.
        """
        safe = redact_url(result.final)
        if replace:
            log.info("replacing %s (an earlier attempt's, or overwrite is set)", safe)
            self._move(result, overwrite=True)
            return
        try:
            self._move(result, overwrite=False)
            return
        except DestinationExistsError:
            pass
        if self.uploader.same(self.storage, result.src, result.final):
            log.info("%s arrived meanwhile with this same content", safe)
            self.uploader.remove(self.storage, self._part(result))
            return
        if plain_url(result.final) in prior_urls:
            self._move(result, overwrite=True)
            return
        raise self._taken(result)

    def _move(self, result: Result, *, overwrite: bool) -> None:
        """The temporary to the final name: a rename, or the best effort where there is none.

        Raises:
            DestinationExistsError: The final exists and not ``overwrite``.
            TokenFailure: As :meth:`Uploader.rename` / :meth:`Uploader.upload` map it.
        """
        part = self._part(result)
        if self.renames:
            try:
                self.uploader.rename(self.storage, part, result.final, overwrite=overwrite)
                return
            except RenameUnsupportedError as exc:
                self.renames = False
                log.warning(
                    "%s; uploading the results again under their final names instead "
                    "(best effort: not atomic)",
                    redact(exc.message),
                )
            except SourceNotFoundError as exc:
                # A retried move whose first try went through finds no temporary.
                if self.uploader.same(self.storage, result.src, result.final):
                    return
                raise upload_failure(exc, f"cannot move the uploaded {result.name}") from exc
        self.uploader.upload(
            self.storage, result.src, result.final, overwrite=overwrite, count=False
        )
        self.uploader.remove(self.storage, part)
