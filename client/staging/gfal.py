"""gfal2 backend of the staging port: bring-online and ``user.status`` checks.

Works for every protocol gfal2 has a plugin for: ``srm://`` (dCache at the LTA sites),
``https://``/``davs://`` endpoints with the WLCG Tape REST API, ``mock://`` (tests) and
``file://`` (which has no tape: ``user.status`` there is an error).

::

    GfalStager.submit(surls)  ──▶ ONE ctx.bring_online(surls, pin, timeout, async=True)
    GfalStager.status(req)    ──▶ ONE ctx.bring_online_poll(pending, token)
                                   EAGAIN per file = still on tape, None = staged
    check_states(surls)       ──▶ getxattr(url, "user.status") for many files at once,
                                   one gfal2 context per worker thread
                                   (grid_lrt.shared.locality.read_user_status, as the launcher)

gfal2's ``GError`` never leaves this module: calls raise :class:`GfalError` (a
:class:`~grid_lrt.client.staging.base.StagingError`), and :func:`check_states` reports each
file's failure as :attr:`FileState.ERROR` plus a message.
"""

from __future__ import annotations

import errno
import logging
import re
import sys
import sysconfig
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from grid_lrt.client.staging.base import FileState, StageRequest, StageStatus, StagingError
from grid_lrt.shared.errors import LrtError
from grid_lrt.shared.locality import read_user_status

__all__ = [
    "GFAL2_INSTALL_HINT",
    "PROXY_HINT",
    "FileCheck",
    "GfalError",
    "GfalMissingError",
    "GfalStager",
    "GridProxyError",
    "check_states",
    "describe_error",
    "gfal2_install_hint",
    "load_gfal2",
    "new_context",
]

log = logging.getLogger(__name__)

GFAL2_INSTALL_HINT = (
    "install Debian's bindings and plugins: `apt-get install python3-gfal2 gfal2-plugin-file "
    "gfal2-plugin-http gfal2-plugin-srm`; in a virtualenv also link the module in: "
    "ln -s \"$(dpkg -L python3-gfal2 | grep '\\.so$')\" <venv>/lib/python3.11/site-packages/"
)


def gfal2_install_hint() -> str:
    """:data:`GFAL2_INSTALL_HINT` for this Python: in a virtualenv (PyPI's gfal2-python does
    not build against Debian bookworm's gfal2), the exact command that links Debian's module
    into this venv's site-packages."""
    if sys.prefix == sys.base_prefix:
        return GFAL2_INSTALL_HINT.split("; in a virtualenv", 1)[0]
    site = sysconfig.get_paths()["purelib"]
    return GFAL2_INSTALL_HINT.replace("<venv>/lib/python3.11/site-packages/", f"{site}/")


PROXY_HINT = "renew your grid proxy: voms-proxy-init --voms lofar:/lofar/user"

#: One checked file: (url, state, error text; "" unless the state is ERROR).
FileCheck = Tuple[str, FileState, str]

#: gfal2 says a file is not staged yet.
_PENDING = errno.EAGAIN
_PROXY_ERRNOS = {
    getattr(errno, "EKEYEXPIRED", 127),
    getattr(errno, "EKEYREJECTED", 129),
    getattr(errno, "ENOKEY", 126),
}
_PROXY_TEXT = re.compile(
    r"proxy|credential|GSS|globus_gsi|X509_USER|voms|certificate (has )?expired|"
    r"could not (load|find) .*(cert|key)",
    re.IGNORECASE,
)
_GRID_SCHEMES = ("srm:", "gsiftp:", "root:", "xroot:")


class GfalError(StagingError):
    """A gfal2 call failed; ``errno`` is gfal2's error number (0 if unknown)."""

    def __init__(self, message: str, *, hint: str = "", errno: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.errno = errno


class GridProxyError(GfalError):
    """No valid grid proxy (missing, expired, or without the LOFAR VO)."""


class GfalMissingError(LrtError):
    """The gfal2 Python bindings cannot be imported."""


def load_gfal2() -> Any:
    """Import and return the ``gfal2`` module, with its logging silenced.

    Raises:
        GfalMissingError: The bindings are not installed in this Python.
    """
    try:
        import gfal2
    except ImportError as exc:
        raise GfalMissingError(
            f"gfal2 Python bindings not found for {sys.executable}", hint=gfal2_install_hint()
        ) from exc
    logging.getLogger("gfal2").setLevel(logging.CRITICAL)
    gfal2.set_verbose(gfal2.verbose_level.normal)
    return gfal2


def new_context(*, http_insecure: bool = False) -> Any:
    """Create a gfal2 context (one per thread: contexts must not be shared between threads).

    Args:
        http_insecure: Skip TLS verification for https/davs (tests only; prefer
            ``X509_CERT_DIR``).
    """
    ctx = load_gfal2().creat_context()
    if http_insecure:
        ctx.set_opt_boolean("HTTP PLUGIN", "INSECURE", True)
    return ctx


def _is_proxy_problem(url: str, code: int, message: str) -> bool:
    if code in _PROXY_ERRNOS or _PROXY_TEXT.search(message):
        return True
    return code in (errno.EACCES, errno.EPERM) and url.lower().startswith(_GRID_SCHEMES)


def describe_error(url: str, exc: BaseException) -> Tuple[str, bool]:
    """Return (one-line message, is-a-proxy-problem) for a gfal2 ``GError`` about ``url``."""
    code = int(getattr(exc, "code", 0) or 0)
    message = str(getattr(exc, "message", "") or exc).strip()
    proxy = _is_proxy_problem(url, code, message)
    name = errno.errorcode.get(code, str(code))
    text = f"{message} ({name})" if code else message
    if proxy:
        text = f"{text}; grid proxy missing or expired: {PROXY_HINT}"
    return text, proxy


def _translate(url: str, action: str, exc: BaseException) -> GfalError:
    text, proxy = describe_error(url, exc)
    code = int(getattr(exc, "code", 0) or 0)
    msg = f"gfal2 {action} failed for {url}: {text}"
    if proxy:
        return GridProxyError(msg, hint=PROXY_HINT, errno=code)
    return GfalError(msg, errno=code)


def _parse_state(value: str) -> Tuple[FileState, str]:
    text = value.strip()
    try:
        return FileState(text), ""
    except ValueError:
        return FileState.ERROR, f"unexpected user.status {text!r}"


def check_states(
    surls: Sequence[str],
    *,
    workers: int = 16,
    context_factory: Optional[Callable[[], Any]] = None,
) -> List[FileCheck]:
    """Read ``user.status`` of many files concurrently, at most ``workers`` at a time.

    Every file gets a result, in input order: a failed check is ``FileState.ERROR`` with the
    reason (an expired grid proxy says how to renew it), never an exception.

    Args:
        surls: gfal2 URLs (``srm://…?SFN=``, ``https://``, ``davs://``, ``mock://``, ``file://``).
        workers: Upper bound on concurrent checks (threads, one gfal2 context each).
        context_factory: Makes a gfal2 context (default :func:`new_context`).

    Raises:
        GfalMissingError: The gfal2 bindings are not installed.
    """
    gfal2 = load_gfal2()
    factory = context_factory or new_context
    local = threading.local()

    def one(url: str) -> FileCheck:
        ctx = getattr(local, "ctx", None)
        if ctx is None:
            ctx = local.ctx = factory()
        try:
            value, error = read_user_status(ctx, url, gfal2.GError)
        except gfal2.GError as exc:
            return url, FileState.ERROR, describe_error(url, exc)[0]
        if error is not None:  # LOST or UNAVAILABLE, told as an error: keep its text
            return url, FileState(value), describe_error(url, error)[0]
        state, problem = _parse_state(value)
        return url, state, problem

    urls = list(surls)
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(urls)))) as pool:
        return list(pool.map(one, urls))


class GfalStager:
    """:class:`~grid_lrt.client.staging.base.Stager` on gfal2 bring-online (SRM, Tape REST).

    Args:
        pintime: Seconds the files should stay on disk once staged.
        timeout: Seconds the service may take for the whole request.
        context_factory: Makes the gfal2 context (default :func:`new_context`).

    Raises:
        GfalMissingError: The gfal2 bindings are not installed.
    """

    name = "gfal"

    def __init__(
        self,
        *,
        pintime: int = 7 * 24 * 3600,
        timeout: int = 24 * 3600,
        context_factory: Optional[Callable[[], Any]] = None,
    ) -> None:
        self._gfal2 = load_gfal2()
        self.pintime = int(pintime)
        self.timeout = int(timeout)
        self._ctx = (context_factory or new_context)()
        self._lock = threading.Lock()

    def submit(self, surls: Sequence[str]) -> StageRequest:
        """Ask for all ``surls`` in ONE asynchronous bring-online call.

        Files gfal2 refuses at once land in ``StageRequest.errors``.

        Raises:
            StagingError: Nothing to stage.
            GfalError: The whole request was refused (``GridProxyError`` for credentials).
        """
        urls = [str(u).strip() for u in surls if str(u).strip()]
        if not urls:
            raise StagingError("nothing to stage: the list of SURLs is empty")
        with self._lock:
            try:
                results, token = self._ctx.bring_online(urls, self.pintime, self.timeout, True)
            except self._gfal2.GError as exc:
                raise _translate(urls[0], "bring_online", exc) from exc
        request = StageRequest(backend=self.name, request_id=str(token or ""), surls=urls)
        for url, result in zip(urls, results):
            if result is not None:
                request.errors[url] = describe_error(url, result)[0]
        log.debug(
            "bring_online %d files: token %r, %d refused", len(urls), token, len(request.errors)
        )
        return request

    def _poll(self, request: StageRequest) -> Dict[str, Optional[BaseException]]:
        """Poll the files not failed yet: url -> None (on disk) or the GError."""
        pending = [u for u in request.surls if u not in request.errors]
        if not pending:
            return {}
        with self._lock:
            try:
                results = self._ctx.bring_online_poll(pending, request.request_id)
            except self._gfal2.GError as exc:
                raise _translate(pending[0], "bring_online_poll", exc) from exc
        if not isinstance(results, list):  # a single URL may come back as 0/1
            results = [None if results else self._gfal2.GError("not yet on disk", _PENDING)]
        return dict(zip(pending, results))

    def status(self, request: StageRequest) -> StageStatus:
        """Poll the request once; per-file failures are added to ``request.errors``.

        Raises:
            GfalError: The poll itself failed.
        """
        polled = self._poll(request)
        waiting = False
        cancelled = 0
        for url, result in polled.items():
            if result is None:
                continue
            code = int(getattr(result, "code", 0) or 0)
            if code == _PENDING:
                waiting = True
                continue
            if code == errno.ECANCELED:
                cancelled += 1
            request.errors[url] = describe_error(url, result)[0]
        if waiting:
            return StageStatus.IN_PROGRESS
        failed = sum(1 for u in request.surls if u in request.errors)
        if failed == 0:
            return StageStatus.SUCCESS
        if cancelled and cancelled == failed:
            return StageStatus.ABORTED
        return StageStatus.FAILED if failed == len(request.surls) else StageStatus.PARTIAL

    def online(self, request: StageRequest) -> List[str]:
        """The request's files the service reports on disk now (one poll call).

        Raises:
            GfalError: The poll itself failed.
        """
        polled = self._poll(request)
        return [u for u in request.surls if u in polled and polled[u] is None]

    def failed(self, request: StageRequest) -> Dict[str, str]:
        """The request's files gfal2 refused so far, with gfal2's message."""
        return dict(request.errors)

    def active_files(self) -> int:
        """gfal2 keeps no list of a user's requests: 0 (no in-flight limit applies)."""
        return 0

    def abort(self, request: StageRequest) -> None:
        """Cancel the request's files that have not failed.

        Raises:
            GfalError: gfal2 refused the abort.
        """
        pending = [u for u in request.surls if u not in request.errors]
        if not pending:
            return
        with self._lock:
            try:
                results = self._ctx.abort_bring_online(pending, request.request_id)
            except self._gfal2.GError as exc:
                raise _translate(pending[0], "abort_bring_online", exc) from exc
        failures = [describe_error(u, r)[0] for u, r in zip(pending, results or []) if r]
        if failures:
            raise GfalError(
                f"abort of request {request.request_id} failed for {len(failures)} "
                f"file(s): {failures[0]}"
            )

    def release(self, request: StageRequest) -> None:
        """Unpin the request's files (they may go back to tape-only).

        Raises:
            GfalError: gfal2 refused the release.
        """
        with self._lock:
            try:
                self._ctx.release(list(request.surls), request.request_id)
            except self._gfal2.GError as exc:
                raise _translate(request.surls[0], "release", exc) from exc
