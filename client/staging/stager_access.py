"""GRID_LRT's ``GRID_LRT.Staging.stager_access`` import path.

The functions live in :mod:`grid_lrt.client.compat.stager_access`.
"""

from __future__ import annotations

from grid_lrt.client.compat.stager_access import (
    abort,
    default_stager,
    get_progress,
    get_srm_token,
    get_staging_creds,
    get_status,
    get_storage_info,
    get_surls_online,
    reschedule,
    set_default_stager,
    stage,
)

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
