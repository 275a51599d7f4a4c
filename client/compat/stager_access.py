"""GRID_LRT's ``stager_access`` API (same names), on :class:`~.lta.LtaStager`.

Importing this module does nothing: the default stager (URL from ``LRT_LTA_URL`` or the ASTRON
endpoint, credentials from :func:`~.ltacreds.get_staging_creds`) is made at the first call.
Differences from GRID_LRT, on purpose:

* ``stage("srm://...")`` stages that one SURL (GRID_LRT staged every character).
* A stage id the LTA no longer knows gives ``'finished or unknown'`` instead of a crash.
* Errors are :class:`~.base.StagingError` subclasses that never hold the password.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Sequence, Union

from grid_lrt.client.staging.lta import LtaStager
from grid_lrt.client.staging.ltacreds import get_staging_creds

__all__ = [
    "abort",
    "default_stager",
    "get_progress",
    "get_srm_token",
    "get_staging_creds",
    "get_status",
    "get_storage_info",
    "get_surls_online",
    "reschedule",
    "set_default_stager",
    "stage",
]

_state: Dict[str, Optional[LtaStager]] = {"default": None}
_lock = threading.Lock()


def default_stager() -> LtaStager:
    """The module's :class:`LtaStager`, created at the first call."""
    with _lock:
        stager = _state["default"]
        if stager is None:
            stager = _state["default"] = LtaStager()
        return stager


def set_default_stager(stager: Optional[LtaStager]) -> None:
    """Use ``stager`` for the module functions (None: a fresh default at the next call)."""
    with _lock:
        _state["default"] = stager


def stage(surls: Union[str, Sequence[str]]) -> int:
    """Ask the LTA to stage ``surls`` (one ``str`` is one SURL) in one request; return its id.

    Raises:
        StagingError: The request was refused or the service is unreachable.
    """
    return int(default_stager().submit(surls).request_id)


def get_status(stageid: Union[int, str]) -> str:
    """Status of a request: ``'new'``, ``'scheduled'``, ``'in progress'``, ``'success'``, ...

    ``'finished or unknown'`` when the LTA has forgotten the request (it does so once finished).
    """
    return default_stager().status(stageid).value


def get_surls_online(stageid: Union[int, str]) -> List[str]:
    """The SURLs of the request that are staged."""
    return default_stager().surls_online(stageid)


def get_srm_token(stageid: Union[int, str]) -> Any:
    """The SRM request token of the request."""
    return default_stager().srm_token(stageid)


def reschedule(stageid: Union[int, str]) -> Any:
    """Ask the LTA to retry the request."""
    return default_stager().reschedule(stageid)


def abort(stageid: Union[int, str]) -> None:
    """Cancel the request."""
    default_stager().abort(stageid)


def get_progress() -> Dict[str, Dict[str, Any]]:
    """This user's requests: ``{id: {'Status', 'File count', 'Percent done', ...}}``."""
    return default_stager().progress()


def get_storage_info() -> Any:
    """SRM storage information (LTA support staff only)."""
    return default_stager().storage_info()
