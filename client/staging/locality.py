"""Where to ask a storage for a file's locality (``user.status``).

SURLs are asked through SRM in their gfal form (``srm://host:8443/srm/managerv2?SFN=/path``) or,
when a WebDAV door of the same namespace is given (``door=`` or ``$LRT_STATUS_DOOR``), through
``<door>/path`` over https/davs with the WLCG Tape REST API (dCache offers both). Anything that
is not a SURL of a known site (https, davs, file, mock URLs) is used as it is.
"""

from __future__ import annotations

import os
from typing import Optional

from grid_lrt.shared import surl

__all__ = ["ENV_DOOR", "status_url"]

ENV_DOOR = "LRT_STATUS_DOOR"


def status_url(link: str, door: Optional[str] = None) -> str:
    """The URL to read ``user.status`` of ``link`` from."""
    text = link.strip()
    if not surl.is_surl(text):
        return text
    door = door or os.environ.get(ENV_DOOR) or None
    if door:
        return door.rstrip("/") + surl.path_of(text)
    return surl.to_gfal(surl.normalise(text))
