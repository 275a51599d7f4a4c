"""``srm.txt``, the list of a token's input links: one link per line, read into :class:`InputLink`.

Blank lines and ``#`` comments are ignored; every other line must be one URL naming a file,
and no two lines may land in the same local file (code 20 ``NO_DOWNLOAD_FILE`` otherwise).

SURLs (``srm://`` of an LTA site) are turned into the transfer protocol asked for with
:mod:`grid_lrt.shared.surl`: ``auto`` copies over GridFTP (``gsiftp://``, what GRID_LRT's
``download.sh`` did with ``globus-url-copy``), ``https`` uses the site's download service,
``srm`` the full SRM form (``srm://host:8443/srm/managerv2?SFN=/path``). The tape state is
always asked with the SRM form, because GridFTP and the https download service cannot tell it.
Other links (``file://``, ``https://``, ``davs://``, ``gsiftp://`` of other hosts,
``mock://``) are used as written. A ``door`` replaces the site of every SURL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional
from urllib.parse import unquote, urlsplit

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.shared import surl
from grid_lrt.shared.errors import ErrorCode, UsageError
from grid_lrt.shared.redact import redact_url

__all__ = ["PROTOCOLS", "InputLink", "parse_links"]

#: Transfer protocols for SURLs (see the module docstring).
PROTOCOLS = ("auto", "https", "srm")


@dataclass(frozen=True)
class InputLink:
    """One line of ``srm.txt``, ready to copy.

    Attributes:
        line: Line number in ``srm.txt`` (1-based).
        link: The link as written (stripped; SURLs normalised).
        url: The URL to copy from.
        locality_url: The URL to ask for the tape state.
        name: The local file name (basename of the link's path).
    """

    line: int
    link: str
    url: str
    locality_url: str
    name: str


def _fail20(line: int, text: str, why: str, hint: str = "") -> TokenFailure:
    return TokenFailure(
        ErrorCode.NO_DOWNLOAD_FILE, f"srm.txt line {line}: {text!r} {why}", hint=hint
    )


def _basename(path: str) -> str:
    """The file name at the end of ``path`` ("" for a folder path ending in ``/``)."""
    return unquote(path.rsplit("/", 1)[-1])


def _parse_line(number: int, text: str, protocol: str, door: Optional[str] = None) -> InputLink:
    """Turn one non-empty, non-comment line into an :class:`InputLink`."""
    if any(c.isspace() for c in text):
        raise _fail20(number, text, "holds spaces: write one link per line")
    if surl.is_surl(text) and surl.find_site(text) is not None:
        link = surl.normalise(text)
        try:
            path = surl.path_of(link)
            srm_form = surl.to_gfal(link)
            if door:
                srm_form = url = door.rstrip("/") + path
            elif protocol == "https":
                url = surl.to_https(link)
            elif protocol == "srm":
                url = srm_form
            else:
                url = surl.to_gsiftp(link)
        except surl.SurlError as exc:
            raise _fail20(number, text, f"cannot be converted: {exc.message}", exc.hint) from exc
        return InputLink(number, link, url, srm_form, _basename(path))
    parts = urlsplit(text)
    if "://" not in text or not parts.scheme:
        raise _fail20(
            number,
            redact_url(text),
            "is not a URL",
            "write srm://..., gsiftp://..., https://..., davs://... or file:///abs/path",
        )
    name = _basename(parts.path)
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise _fail20(number, redact_url(text), "does not name a file")
    return InputLink(number, text, text, text, name)


def parse_links(
    srm_text: Optional[str], *, protocol: str = "auto", door: Optional[str] = None
) -> List[InputLink]:
    """Read ``srm.txt``: one link per line; blank lines and ``#`` comments are ignored.

    Args:
        srm_text: The attachment's text, or None when the token has none.
        protocol: ``auto``, ``https`` or ``srm`` (how SURLs are copied).
        door: A URL prefix that replaces every SURL's site (``door + /pnfs/...``), for
            both the copy and the tape state: a local mirror, a test archive or the demo.

    Raises:
        TokenFailure: ``NO_DOWNLOAD_FILE`` (20) when there is no file, no link, a line that is
            not a link, or two links that would land in the same local file.
        UsageError: ``protocol`` is not one of :data:`PROTOCOLS`.
    """
    if protocol not in PROTOCOLS:
        raise UsageError(
            f"unknown transfer protocol {protocol!r}", hint=f"use one of {', '.join(PROTOCOLS)}"
        )
    if srm_text is None:
        raise TokenFailure(
            ErrorCode.NO_DOWNLOAD_FILE,
            "the token has no srm.txt attachment listing its input data",
            hint="attach the list of input links as srm.txt (lrt tokens create --srm-file)",
        )
    links: List[InputLink] = []
    seen: Dict[str, int] = {}
    for number, raw in enumerate(srm_text.splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        link = _parse_line(number, text, protocol, door)
        if link.name in seen:
            raise _fail20(
                number,
                redact_url(text),
                f"downloads to {link.name!r}, like line {seen[link.name]}",
                "each input must have its own file name",
            )
        seen[link.name] = number
        links.append(link)
    if not links:
        raise TokenFailure(
            ErrorCode.NO_DOWNLOAD_FILE,
            "srm.txt is empty: it lists no input link",
            hint="put one link per line in srm.txt",
        )
    return links
