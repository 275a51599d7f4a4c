"""The LTA staging service the credentials select (:func:`.stageitcreds.decide_service`).

An API token (``~/.stagingrc`` ``api_token=`` or ``LOFAR_LTA_TOKEN``) selects StageIT
(:class:`~.stageit.StageItStager`); otherwise a user/password selects the old XML-RPC stager
(:class:`~.lta.LtaStager`). Looked up at the call, never at import.
"""

from __future__ import annotations

from typing import Optional, Union

from grid_lrt.client.staging.lta import LtaStager
from grid_lrt.client.staging.stageit import StageItStager
from grid_lrt.client.staging.stageitcreds import decide_service

__all__ = ["LtaService", "make_stager", "service_name"]

#: Either LTA stager.
LtaService = Union[StageItStager, LtaStager]


def make_stager(*, timeout: Optional[float] = None) -> LtaService:
    """The stager of the service the credentials select (``timeout``: seconds per call,
    default each stager's own).

    Raises:
        NoStagingCredentialsError: Neither an API token nor a user/password was found.
    """
    choice = decide_service()
    if choice.stageit is not None:
        return StageItStager(creds=choice.stageit, timeout=60.0 if timeout is None else timeout)
    return LtaStager(
        user=choice.user, password=choice.password, timeout=120.0 if timeout is None else timeout
    )


def service_name() -> str:
    """``'stageit'`` or ``'lta'``, the :attr:`name` of the stager :func:`make_stager` makes."""
    return decide_service().name
