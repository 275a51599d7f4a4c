"""How much one archive may unpack to: total size, member count, compression ratio.

A small archive can unpack to a full disk (a "zip bomb": gigabytes of zeros compress a
thousandfold) or to millions of empty files. :class:`LimitCounter` adds up the sizes the
archive declares, member by member, while the member list is read, so an archive over a
limit is refused before anything is written and before the rest of a compressed stream is
decompressed:

=====================  ===============================  ====================================
limit                  default                          setting
=====================  ===============================  ====================================
total unpacked size    256 GiB                          ``LRT_UNPACK_MAX_BYTES``
members                100,000                          ``LRT_UNPACK_MAX_MEMBERS``
compression ratio      100 (unpacked size / file size)  ``LRT_UNPACK_MAX_RATIO``; applies
                                                        only above 100 MiB unpacked
=====================  ===============================  ====================================

0 switches a limit off. A tar member's declared size is exactly what is written; a zip
member is never read past its declared size (``zipfile`` stops there), so the declared sizes
bound what lands on disk. The refusal is :class:`ArchiveLimitError`; the launcher ends the
token with 26 ``SANDBOX_UNSAFE`` (not retryable: the same archive is refused again).
"""

from __future__ import annotations

import dataclasses

from grid_lrt.shared.errors import LrtError

__all__ = ["DEFAULT_LIMITS", "ArchiveLimitError", "LimitCounter", "UnpackLimits"]

_GIB = 1 << 30
_MIB = 1 << 20


@dataclasses.dataclass(frozen=True)
class UnpackLimits:
    """The limits of one extraction (0: no limit)."""

    max_bytes: int = 256 * _GIB
    """Total size of the members' data."""
    max_members: int = 100_000
    """Members of any kind (folders and links count)."""
    max_ratio: int = 100
    """Total size / the archive file's size, checked once the total is over ``ratio_floor``."""
    ratio_floor: int = 100 * _MIB
    """Below this total, any ratio is fine (a small text file of zeros compresses well)."""


DEFAULT_LIMITS = UnpackLimits()


class ArchiveLimitError(LrtError):
    """The archive unpacks to more than a limit allows; nothing was written.

    Attributes:
        setting: The ``LRT_*`` variable that raises the limit.
    """

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(
            message,
            hint=f"if the archive is genuine, raise {setting} on the launcher (0: no limit)",
        )
        self.setting = setting


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


class LimitCounter:
    """Counts the members of one archive as they are read; raises at the first limit passed."""

    def __init__(self, limits: UnpackLimits, archive: str, archive_size: int) -> None:
        self.limits = limits
        self.archive = archive
        self.archive_size = max(1, archive_size)
        self.members = 0
        self.total = 0

    def add(self, size: int) -> None:
        """One more member holding ``size`` bytes of data.

        Raises:
            ArchiveLimitError: the archive now passes a limit.
        """
        limits = self.limits
        self.members += 1
        self.total += max(0, size)
        if limits.max_members and self.members > limits.max_members:
            raise ArchiveLimitError(
                f"{self.archive} holds more than {limits.max_members} members; "
                "nothing was extracted",
                setting="LRT_UNPACK_MAX_MEMBERS",
            )
        if limits.max_bytes and self.total > limits.max_bytes:
            raise ArchiveLimitError(
                f"{self.archive} unpacks to more than {_size(limits.max_bytes)}; "
                "nothing was extracted",
                setting="LRT_UNPACK_MAX_BYTES",
            )
        ratio = self.total / self.archive_size
        if limits.max_ratio and self.total > limits.ratio_floor and ratio > limits.max_ratio:
            raise ArchiveLimitError(
                f"{self.archive} ({_size(self.archive_size)}) unpacks to more than "
                f"{limits.max_ratio} times its size (at least {_size(self.total)}): "
                "a decompression bomb? Nothing was extracted",
                setting="LRT_UNPACK_MAX_RATIO",
            )
