"""PiCaS credentials (``PICAS_*`` environment over ``~/.picasrc``); shared with the launcher.

The implementation lives in :mod:`grid_lrt.shared.credentials` because the worker-side launcher
reads the same variables and file. This module keeps the client's import path.
"""

from __future__ import annotations

from grid_lrt.shared.credentials import DEFAULT_URL, PicasCredentials, picas_cred, picasrc_path

__all__ = ["DEFAULT_URL", "PicasCredentials", "picas_cred", "picasrc_path"]
