"""GRID_LRT's ``GRID_LRT.Staging.srmlist`` import path.

``srmlist``, ``slice_dicts`` and ``load_file_into_srmlist`` come from
:mod:`grid_lrt.client.compat.srmlist`; :class:`SurlList` and the errors from the core
(:mod:`.surllist`, :mod:`.errors`).
"""

from __future__ import annotations

from grid_lrt.client.compat.srmlist import load_file_into_srmlist, slice_dicts, srmlist
from grid_lrt.client.staging.errors import (
    InvalidLinkError,
    LocationMismatchError,
    ObsidMismatchError,
    SrmFileError,
    SrmListError,
    SubbandError,
)
from grid_lrt.client.staging.surllist import SurlList

__all__ = [
    "InvalidLinkError",
    "LocationMismatchError",
    "ObsidMismatchError",
    "SrmFileError",
    "SrmListError",
    "SubbandError",
    "SurlList",
    "load_file_into_srmlist",
    "slice_dicts",
    "srmlist",
]
