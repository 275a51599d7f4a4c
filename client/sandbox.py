"""GRID_LRT's ``GRID_LRT.sandbox`` import path: ``Sandbox`` and ``UnauthorizedSandbox``.

Notebooks port by changing ``GRID_LRT.sandbox`` to ``grid_lrt.client.sandbox``. The classes
live in :mod:`grid_lrt.client.compat.sandbox`, as façades over :mod:`grid_lrt.client.sandboxes`.
"""

from __future__ import annotations

from grid_lrt.client.compat.sandbox import (
    SEED_GSI_BASE,
    SEED_SSH_BASE,
    Sandbox,
    UnauthorizedSandbox,
)
from grid_lrt.client.sandboxes import SandboxBuild, SandboxError

__all__ = [
    "SEED_GSI_BASE",
    "SEED_SSH_BASE",
    "Sandbox",
    "SandboxBuild",
    "SandboxError",
    "UnauthorizedSandbox",
]
