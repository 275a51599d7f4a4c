"""GRID_LRT's ``GRID_LRT.Staging.state_all`` import path.

The functions live in :mod:`grid_lrt.client.compat.state_all`; this module re-exports them all.
"""

from __future__ import annotations

from grid_lrt.client.compat.state_all import *  # noqa: F403 - the seed path re-exports every name
from grid_lrt.client.compat.state_all import __all__  # noqa: F401
