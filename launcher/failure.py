"""The one exception that ends a token with a documented code.

Every failure the launcher detects itself (sandbox, data, pipeline, upload) is raised as a
:class:`TokenFailure` carrying its :class:`~grid_lrt.shared.errors.ErrorCode`. The run loop
catches it and closes the token like a failed pipeline: ``done`` set, ``status = "error"``,
the code in ``output`` and the message in ``launcher_status``.
"""

from __future__ import annotations

from grid_lrt.shared.errors import ErrorCode, LrtError

__all__ = ["TokenFailure"]


class TokenFailure(LrtError):
    """A failure of this token's run, ending it with ``code``."""

    def __init__(self, code: ErrorCode, message: str, *, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.code = code

    def __str__(self) -> str:
        return f"[{int(self.code)} {self.code.name}] {self.message}"
