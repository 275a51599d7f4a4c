"""Errors of SURL lists. Link-refusal errors are also ``AttributeError``, as in GRID_LRT."""

from __future__ import annotations

from grid_lrt.shared.errors import ConfigError, LrtError

__all__ = [
    "InvalidLinkError",
    "LocationMismatchError",
    "ObsidMismatchError",
    "SrmFileError",
    "SrmListError",
    "SubbandError",
]


class SrmListError(LrtError, AttributeError):
    """A link was refused by a :class:`SurlList` (an ``AttributeError``, as in GRID_LRT)."""

    def __init__(self, message: str, *, hint: str = "", detail: str = "") -> None:
        super().__init__(message, hint=hint)
        #: The specific values involved, e.g. "this list holds L229507; the link has L583139".
        self.detail = detail


class ObsidMismatchError(SrmListError):
    """The link belongs to another observation than the links already in the list."""


class LocationMismatchError(SrmListError):
    """The link is on another LTA site than the links already in the list."""


class InvalidLinkError(SrmListError):
    """The item is not a SURL, has no OBSID, or is on an unknown site."""


class SubbandError(SrmListError):
    """A subband cannot be found in a link, or a subband key is not a number."""


class SrmFileError(ConfigError, SrmListError):
    """A link file cannot be read or has a bad line; the message names the file and line."""
