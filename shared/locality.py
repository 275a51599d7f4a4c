"""Where a file is (disk, tape, gone): the one locality vocabulary, and the ``user.status`` read.

dCache and gfal2 name a file's locality with the words of :class:`Locality`; both the login
node (``lrt stage``, ``state_all``: :class:`~grid_lrt.client.staging.base.FileState` is this
class) and the worker (the launcher refuses inputs that are only on tape or gone) use them:

======================  =========  =========  ==================================================
value                   on_disk    gone       meaning
======================  =========  =========  ==================================================
ONLINE                  yes                   on disk only
ONLINE_AND_NEARLINE     yes                   on disk, with a copy on tape
NEARLINE                                      only on tape: stage it first (``only_on_tape``)
LOST                               yes        the storage lost it
UNAVAILABLE                        yes        the storage cannot reach it (pool down)
ERROR                                         the check failed (client only: see its text)
======================  =========  =========  ==================================================

gfal2 tells the locality through the extended attribute ``user.status``
(:func:`read_user_status`), except that its http plugin (WLCG Tape REST API) reports LOST and
UNAVAILABLE files as an error ("locality reported as LOST"), which :func:`read_user_status`
turns back into the value. It takes the gfal2 context and error class as arguments, so this
module never imports gfal2 (the worker may have none).

Runs on the worker's Python (3.9+) with the standard library only.
"""

from __future__ import annotations

import enum
import re
from typing import Any, NamedTuple, Optional, Type

__all__ = ["USER_STATUS", "Locality", "UserStatus", "read_user_status"]

#: The extended attribute gfal2 answers with the locality.
USER_STATUS = "user.status"

#: gfal2's http plugin reports these localities as errors (ENOENT), not as a value.
_IN_ERROR = re.compile(r"locality reported as (LOST|UNAVAILABLE)")


class Locality(str, enum.Enum):
    """Locality of one file, as gfal2's ``user.status`` reports it (a ``str``: compares as one)."""

    ONLINE = "ONLINE"
    NEARLINE = "NEARLINE"
    ONLINE_AND_NEARLINE = "ONLINE_AND_NEARLINE"
    UNAVAILABLE = "UNAVAILABLE"
    LOST = "LOST"
    #: The check itself failed (no such file, no credentials, ...); see the error text.
    ERROR = "ERROR"

    @property
    def on_disk(self) -> bool:
        """A copy is on disk: it can be read now (ONLINE or ONLINE_AND_NEARLINE)."""
        return self in (Locality.ONLINE, Locality.ONLINE_AND_NEARLINE)

    @property
    def only_on_tape(self) -> bool:
        """The file must be staged before it can be read (NEARLINE)."""
        return self is Locality.NEARLINE

    @property
    def gone(self) -> bool:
        """The data cannot be staged (LOST or UNAVAILABLE)."""
        return self in (Locality.LOST, Locality.UNAVAILABLE)

    @classmethod
    def of(cls, word: Optional[str]) -> Optional[Locality]:
        """The member named exactly ``word``; None for None or any other word."""
        try:
            return cls(word)
        except ValueError:
            return None


class UserStatus(NamedTuple):
    """One reading of ``user.status``."""

    #: The attribute's value, stripped (``""`` when empty); or LOST/UNAVAILABLE from the error.
    value: str
    #: The gfal2 error that carried the value (see the module docstring), else None.
    error: Optional[BaseException] = None


def read_user_status(ctx: Any, url: str, gerror: Type[BaseException]) -> UserStatus:
    """Read ``user.status`` of ``url`` with the gfal2 context ``ctx``.

    Args:
        ctx: A gfal2 context (anything with ``getxattr(url, name)``).
        url: The URL as gfal2 takes it (``srm://…?SFN=``, ``https://``, ``mock://``...).
        gerror: gfal2's error class (``gfal2.GError``).

    Returns:
        The value as the storage wrote it (stripped, not checked against :class:`Locality`);
        for an error that reports the file LOST or UNAVAILABLE, that word and the error.

    Raises:
        gerror: Any other gfal2 failure (no such file, no such attribute, no credentials).
    """
    try:
        value = ctx.getxattr(url, USER_STATUS)
    except gerror as exc:
        found = _IN_ERROR.search(str(getattr(exc, "message", "") or exc))
        if found is None:
            raise
        return UserStatus(found.group(1), exc)
    return UserStatus("" if value is None else str(value).strip())
