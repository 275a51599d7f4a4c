"""GRID_LRT's ``GRID_LRT.Staging.stage_all_LTA`` import path.

The functions live in :mod:`grid_lrt.client.compat.stage_all_LTA`.
"""

from __future__ import annotations

from grid_lrt.client.compat.stage_all_LTA import (
    get_stage_status,
    location,
    main,
    read_request_file,
)

__all__ = [
    "get_stage_status",
    "location",
    "main",
    "read_request_file",
]
