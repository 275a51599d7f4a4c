"""GRID_LRT's ``GRID_LRT.Staging.stager_access`` import path.

The functions live in :mod:`grid_lrt.client.compat.stager_access`; this module re-exports them all.
"""

from __future__ import annotations

from grid_lrt.client.compat.stager_access import *  # noqa: F403 - the seed path re-exports every name
from grid_lrt.client.compat.stager_access import __all__  # noqa: F401
