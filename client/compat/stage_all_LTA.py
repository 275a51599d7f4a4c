"""GRID_LRT's ``stage_all_LTA`` API (same names): stage the SURLs of a link file at the LTA.

One request is one site and one observation: :meth:`SurlList.from_file
<grid_lrt.client.staging.surllist.SurlList.from_file>` refuses a file that mixes sites or OBSIDs
with an error naming the file and the line (split the file, e.g. ``lrt srm split``, or let
``lrt stage submit`` send one request per site/OBSID). SURLs are sent as given: the LTA
matches its catalogue's plain ``srm://host:8443/pnfs/...`` form.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Union

from grid_lrt.client.compat import stager_access
from grid_lrt.client.staging.errors import SrmFileError
from grid_lrt.client.staging.surllist import SurlList

__all__ = ["get_stage_status", "location", "main", "read_request_file"]

log = logging.getLogger(__name__)


def read_request_file(filename: Union[str, Path]) -> SurlList:
    """Read a link file for one staging request (one site, one OBSID, at least one link).

    Raises:
        SrmFileError: Unreadable file, a bad line, mixed sites or OBSIDs (naming the line),
            or no links at all.
    """
    links = SurlList.from_file(filename)
    if not links:
        raise SrmFileError(
            f"{filename} holds no SURLs; there is nothing to stage.",
            hint="Put one srm:// link per line in the file.",
        )
    return links


def location(filename: Union[str, Path]) -> str:
    """The LTA site of the links in ``filename``: ``'sara'``, ``'juelich'`` or ``'poznan'``.

    Raises:
        SrmFileError: The file cannot be read, a link is on an unknown site, or sites are mixed.
    """
    site = read_request_file(filename).lta_location
    assert site is not None  # from_file refuses links of unknown sites
    return site


def main(filename: Union[str, Path], test: bool = False) -> int:
    """Stage every SURL of ``filename`` in one LTA request and return the stage id.

    Args:
        filename: Link file, one SURL per line (one site and one OBSID).
        test: Kept for GRID_LRT compatibility; ignored.

    Raises:
        SrmFileError: See :func:`read_request_file`.
        StagingError: The LTA refused the request or cannot be reached.
    """
    links = read_request_file(filename)
    stageid = stager_access.stage(list(links))
    log.info(
        "staging %d SURLs of %s at %s: stage id %s",
        len(links),
        links.obsid,
        links.lta_location,
        stageid,
    )
    return stageid


def get_stage_status(stageid: Union[int, str]) -> str:
    """Status of a stage request (``'finished or unknown'`` once the LTA has forgotten it)."""
    return stager_access.get_status(stageid)
