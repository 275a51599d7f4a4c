"""The sandbox exceptions: every failure of building or publishing a sandbox is one of these.

All are :class:`~grid_lrt.shared.errors.LrtError` subclasses, so ``lrt`` prints them as one
``error:`` line and a ``hint:`` line. Configuration mistakes are
:class:`~grid_lrt.shared.errors.ConfigError` (file, line and key named), as for tokens.
"""

from __future__ import annotations

from grid_lrt.shared.errors import LrtError

__all__ = [
    "DestinationTakenError",
    "GitError",
    "GridProxyMissingError",
    "SandboxError",
    "UploadVerifyError",
]


class SandboxError(LrtError):
    """Base of every sandbox failure (building, packing, uploading, recording)."""


class GitError(SandboxError):
    """A ``git`` command on one repository of the sandbox failed.

    ``repository`` is the sandbox folder the repository goes to (``.`` for the base
    repository), ``stderr`` what git said.
    """

    def __init__(self, message: str, *, repository: str, stderr: str = "", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.repository = repository
        self.stderr = stderr


class GridProxyMissingError(SandboxError):
    """An upload to gsiftp:// or srm:// needs a grid proxy, and none was found."""

    exit_status = 2


class DestinationTakenError(SandboxError):
    """The destination already holds a file and the overwrite policy says not to touch it."""

    exit_status = 2


class UploadVerifyError(SandboxError):
    """The uploaded file, read back from the storage, is not what was sent."""
