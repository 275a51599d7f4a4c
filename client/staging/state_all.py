"""GRID_LRT's ``GRID_LRT.Staging.state_all`` import path.

The functions live in :mod:`grid_lrt.client.compat.state_all`.
"""

from __future__ import annotations

from grid_lrt.client.compat.state_all import (
    check_status,
    gfal_link,
    load_file_into_srmlist,
    main,
    percent_staged,
    read_links,
)

__all__ = [
    "check_status",
    "gfal_link",
    "load_file_into_srmlist",
    "main",
    "percent_staged",
    "read_links",
]
