"""GRID_LRT's ``GRID_LRT.Staging.stage_all_LTA`` import path.

The functions live in :mod:`grid_lrt.client.compat.stage_all_LTA`; this module re-exports them all.
"""

from __future__ import annotations

from grid_lrt.client.compat.stage_all_LTA import *  # noqa: F403 - the seed path re-exports every name
from grid_lrt.client.compat.stage_all_LTA import __all__  # noqa: F401
