"""GRID_LRT's ``GRID_LRT.token`` import path: ``TokenHandler`` and ``TokenSet``.

Notebooks port by changing ``GRID_LRT.token`` to ``grid_lrt.client.token`` (and the server
URL). The classes live in :mod:`grid_lrt.client.compat`, as façades over the core.
"""

from __future__ import annotations

from grid_lrt.client.compat.tokenhandler import TokenHandler
from grid_lrt.client.compat.tokenset import TokenSet
from grid_lrt.client.compat.viewresults import Row, ViewDefinition, ViewResults
from grid_lrt.client.tokendocs import content_type_of, read_upload

__all__ = [
    "Row",
    "TokenHandler",
    "TokenSet",
    "ViewDefinition",
    "ViewResults",
    "content_type_of",
    "read_upload",
]
