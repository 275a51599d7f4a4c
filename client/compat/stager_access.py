"""GRID_LRT's ``stager_access`` API (same names) and ASTRON's 2.0 additions, on whichever LTA
service the credentials select (:func:`grid_lrt.client.staging.services.make_stager`).

An API token (``api_token=`` in ``~/.stagingrc``, or ``LOFAR_LTA_TOKEN``) selects StageIT;
otherwise user/password selects the old XML-RPC stager. Importing this module does nothing:
the default stager is made at the first call. Differences from GRID_LRT and ASTRON, on purpose:

* ``stage("srm://...")`` stages that one SURL (GRID_LRT staged every character).
* The XML-RPC stager forgets finished requests: ``get_status`` then gives
  ``'finished or unknown'`` instead of a crash.
* Errors are :class:`~grid_lrt.client.staging.base.StagingError` subclasses that never hold a
  password or token, never ``SystemExit`` (ASTRON's 2.0 exits, killing a notebook kernel).
* The 2.0-only functions on the XML-RPC stager raise :class:`NeedsStageItError`;
  ``get_storage_info`` on StageIT raises ``StageItNotOfferedError`` (2.0 deprecates it).
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Sequence, Union

from grid_lrt.client.staging.base import StagingError
from grid_lrt.client.staging.ltacreds import get_staging_creds
from grid_lrt.client.staging.services import LtaService, make_stager
from grid_lrt.client.staging.stageit import StageItStager
from grid_lrt.client.staging.stageitcreds import token_help

__all__ = [
    "NeedsStageItError",
    "abort",
    "default_stager",
    "get_gridftp_urls_requested",
    "get_macaroons",
    "get_progress",
    "get_srm_token",
    "get_staging_creds",
    "get_status",
    "get_storage_info",
    "get_surls_failed",
    "get_surls_online",
    "get_surls_pending",
    "get_surls_requested",
    "get_webdav_urls_requested",
    "reschedule",
    "set_default_stager",
    "stage",
]

StageId = Union[int, str]

_state: Dict[str, Optional[LtaService]] = {"default": None}
_lock = threading.Lock()


class NeedsStageItError(StagingError):
    """A function of ASTRON's 2.0 API called while the credentials select the XML-RPC stager."""


def default_stager() -> LtaService:
    """The module's stager (StageIT or XML-RPC, per the credentials), made at the first call."""
    with _lock:
        stager = _state["default"]
        if stager is None:
            stager = _state["default"] = make_stager()
        return stager


def set_default_stager(stager: Optional[LtaService]) -> None:
    """Use ``stager`` for the module functions (None: a fresh default at the next call).

    The stager used before is closed (its connections; it stays usable)."""
    with _lock:
        old, _state["default"] = _state["default"], stager
    if old is not None and old is not stager:
        old.close()


def _stageit(function: str) -> StageItStager:
    stager = default_stager()
    if not isinstance(stager, StageItStager):
        raise NeedsStageItError(
            f"{function} needs StageIT (an API token); the credentials found select the old "
            "XML-RPC stager, which does not offer it.",
            hint=token_help(),
        )
    return stager


def stage(surls: Union[str, Sequence[str]], send_notifications: Optional[bool] = None) -> int:
    """Ask the LTA to stage ``surls`` (one ``str`` is one SURL) in one request; return its id.

    ``send_notifications`` (StageIT only) overrides the stager's ``notify`` for this request.

    Raises:
        StagingError: The request was refused or the service is unreachable.
    """
    stager = default_stager()
    if isinstance(stager, StageItStager):
        return int(stager.submit(surls, notify=send_notifications).request_id)
    return int(stager.submit(surls).request_id)


def get_status(stageid: StageId) -> str:
    """Status of a request: ``'new'``, ``'scheduled'``, ``'in progress'``, ``'success'``,
    ``'partial'``, ``'failed'``, ``'aborted'``, ``'on hold'``, or (XML-RPC stager, which
    forgets finished requests) ``'finished or unknown'``."""
    return default_stager().status(stageid).value


def get_surls_online(stageid: StageId) -> List[str]:
    """The SURLs of the request that are staged."""
    return default_stager().surls_online(stageid)


def get_srm_token(stageid: StageId) -> Any:
    """The SRM request token of the request."""
    return default_stager().srm_token(stageid)


def reschedule(stageid: StageId) -> Any:
    """Ask the LTA to retry the request."""
    return default_stager().reschedule(stageid)


def abort(stageid: StageId) -> None:
    """Cancel the request."""
    default_stager().abort(stageid)


def get_progress(
    status: Optional[str] = None, exclude: bool = False, only_last24h: bool = False
) -> Dict[str, Dict[str, Any]]:
    """This user's requests by id. StageIT: ``{id: node}`` (``status`` a status code such as
    ``'S'``, ``exclude`` all but it, ``only_last24h``); XML-RPC stager: ``{id: {'Status',
    'File count', 'Percent done', ...}}`` (no filters: they need StageIT)."""
    stager = default_stager()
    if isinstance(stager, StageItStager):
        return stager.progress(status, exclude, only_last24h)
    if status or exclude or only_last24h:
        _stageit("get_progress with filters")
    return stager.progress()


def get_storage_info() -> Any:
    """SRM storage information (XML-RPC stager, support staff only; not offered by StageIT)."""
    return default_stager().storage_info()


def get_surls_requested(stageid: StageId) -> List[str]:
    """The SURLs the request asked for (StageIT only)."""
    return _stageit("get_surls_requested").surls_requested(stageid)


def get_surls_pending(stageid: StageId) -> List[str]:
    """The SURLs still being staged (StageIT only)."""
    return _stageit("get_surls_pending").surls_pending(stageid)


def get_surls_failed(stageid: StageId) -> Dict[str, str]:
    """The failed SURLs, each with StageIT's reason (StageIT only)."""
    return _stageit("get_surls_failed").failed(stageid)


def get_macaroons(stageid: StageId) -> List[Dict[str, str]]:
    """The request's download macaroons as ASTRON's 2.0 returns them: ``[{site: macaroon}]``."""
    return [{m.site: m.content} for m in _stageit("get_macaroons").macaroons(stageid)]


def get_webdav_urls_requested(stageid: StageId) -> Any:
    """The request's files as WebDAV URLs (StageIT's JSON; StageIT only)."""
    return _stageit("get_webdav_urls_requested").webdav_urls(stageid)


def get_gridftp_urls_requested(stageid: StageId) -> Any:
    """The request's files as GridFTP URLs (StageIT's JSON; StageIT only)."""
    return _stageit("get_gridftp_urls_requested").gridftp_urls(stageid)
