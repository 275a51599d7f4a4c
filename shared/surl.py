"""What grid-lrt knows about the LOFAR Long Term Archive sites, and SURL conversions.

The per-site knowledge is data: one :class:`Site` row per LTA site in :data:`SITES`. Everything
else (recognising a link's site, turning an ``srm://`` SURL into the ``gsiftp://``, ``https://``
or gfal form and back) is derived from that table, so a changed hostname is a one-line edit.

The login node (srm lists, staging) and the worker (downloads) both use this module, so it is
standard library only and runs on Python 3.9.

Example::

    >>> link = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/L229507_SB100_uv.MS.tar"
    >>> site_of(link).name, obsid_of(link), subband_of(link)
    ('sara', 'L229507', '100')
    >>> to_gsiftp(link)
    'gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/L229507_SB100_uv.MS.tar'

Differences from GRID_LRT's ``srmlist`` (on purpose):

* ``normalise`` always applies the Poznań ``//lofar`` fix, also to the first link of a list.
* ``to_gfal`` of a ``gsiftp://`` link gives the full ``…:8443/srm/managerv2?SFN=/…`` form, and
  only the port after the host is rewritten (GRID_LRT replaced every ``8443`` in the link).
* A link without an OBSID or of an unknown site raises an error naming the link.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Mapping, Tuple

from .errors import LrtError, UsageError

__all__ = [
    "SITES",
    "NoObsidError",
    "NoSubbandError",
    "NotASurlError",
    "Site",
    "SurlError",
    "UnknownSiteError",
    "find_site",
    "is_surl",
    "normalise",
    "obsid_of",
    "path_of",
    "site_of",
    "subband_of",
    "to_gfal",
    "to_gsiftp",
    "to_https",
    "to_srm",
]

#: What the gfal/SRM client needs between the srm host:port and the file path.
SRM_MANAGER_PATH = "/srm/managerv2?SFN="


class SurlError(LrtError, ValueError):
    """A link cannot be understood or converted; the message names the link."""


class UnknownSiteError(SurlError):
    """The link belongs to none of the LTA sites in :data:`SITES`."""


class NotASurlError(SurlError):
    """The text is not an ``srm://``/``gsiftp://`` link of a form this module can convert."""


class NoObsidError(SurlError):
    """The link holds no LOFAR observation id (``L`` followed by digits)."""


class NoSubbandError(SurlError):
    """The subband pattern does not match the link."""


@dataclass(frozen=True)
class Site:
    """One LTA site: how to recognise its links and how to build each form of a link.

    Attributes:
        name: Short name used everywhere (``sara``, ``juelich``, ``poznan``).
        domain: Substring of a host name that identifies the site.
        srm_prefix: ``srm://host:port`` of the SRM door, without a trailing slash.
        gsiftp_prefix: ``gsiftp://host:port`` of the GridFTP door.
        https_prefix: Download URL prefix; the plain ``srm://`` SURL is appended to it.
        legacy_gsiftp_prefixes: Former GridFTP doors; their links are still recognised.
    """

    name: str
    domain: str
    srm_prefix: str
    gsiftp_prefix: str
    https_prefix: str
    legacy_gsiftp_prefixes: Tuple[str, ...] = ()

    @property
    def gfal_prefix(self) -> str:
        """``srm://host:port/srm/managerv2?SFN=``, the prefix of the gfal form."""
        return self.srm_prefix + SRM_MANAGER_PATH


#: The LTA sites by name. Hostnames as of 2019 (GRID_LRT master); the former GridFTP doors
#: are kept so old link files still convert.
SITES: Mapping[str, Site] = types.MappingProxyType(
    {
        "sara": Site(
            name="sara",
            domain="grid.sara.nl",
            srm_prefix="srm://srm.grid.sara.nl:8443",
            gsiftp_prefix="gsiftp://gridftp.grid.sara.nl:2811",
            https_prefix="https://lofar-download.grid.sara.nl/lofigrid/SRMFifoGet.py?surl=",
        ),
        "juelich": Site(
            name="juelich",
            domain="fz-juelich.de",
            srm_prefix="srm://lofar-srm.fz-juelich.de:8443",
            gsiftp_prefix="gsiftp://lofar-gridftp.fz-juelich.de:2811",
            https_prefix="https://lofar-download.fz-juelich.de/webserver-lofar/SRMFifoGet.py?surl=",
            legacy_gsiftp_prefixes=("gsiftp://dcachepool12.fz-juelich.de:2811",),
        ),
        "poznan": Site(
            name="poznan",
            domain="lofar.psnc.pl",
            srm_prefix="srm://lta-head.lofar.psnc.pl:8443",
            gsiftp_prefix="gsiftp://gridftp.lofar.psnc.pl:2811",
            https_prefix="https://lta-download.lofar.psnc.pl/lofigrid/SRMFifoGet.py?surl=",
            legacy_gsiftp_prefixes=("gsiftp://door02.lofar.psnc.pl:2811",),
        ),
    }
)

_SURL_RE = re.compile(r"(?:srm|gsiftp)://[A-Za-z0-9.-]+(?::[0-9]+)?/\S+")
_AUTHORITY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://([^/?#]*))(.*)$", re.DOTALL)
_OBSID_RE = re.compile(r"L[0-9]+")
_DOUBLE_PNFS_RE = re.compile(r"//(?=pnfs(?:/|$))")
_DOUBLE_LOFAR_RE = re.compile(r"//(?=lofar(?:/|$))")
_EXAMPLE = (
    "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/"
    "<project>/<id>/L<id>_SB000_uv.MS_<hash>.tar"
)


def _split(link: str) -> Tuple[str, str, str]:
    """Split ``scheme://host:port/rest`` into (``scheme://host:port``, host, ``/rest``)."""
    match = _AUTHORITY_RE.match(link)
    if match is None:
        return "", "", link
    return match.group(1), match.group(2).rsplit(":", 1)[0].lower(), match.group(3)


def is_surl(text: str) -> bool:
    """Tell whether ``text`` is one ``srm://`` or ``gsiftp://`` link (host, optional port, path).

    Args:
        text: The candidate link; surrounding whitespace is not allowed.

    Returns:
        True for e.g. ``srm://srm.grid.sara.nl:8443/pnfs/…``; False for ``file://`` links,
        bare paths, text with spaces, or a link without a path.
    """
    return _SURL_RE.fullmatch(text) is not None


def find_site(link: str) -> Site | None:
    """Return the site of ``link``, or None when no site in :data:`SITES` matches.

    The site's domain is looked for in the link's host (``https`` download links count too);
    text without ``scheme://`` is searched as a whole.
    """
    _, host, _ = _split(link.strip())
    haystack = host or link
    for site in SITES.values():
        if site.domain in haystack:
            return site
    return None


def site_of(link: str) -> Site:
    """Return the LTA site a link belongs to.

    Raises:
        UnknownSiteError: The link's host belongs to none of the sites in :data:`SITES`.
    """
    site = find_site(link)
    if site is None:
        known = ", ".join(f"{s.name} (*{s.domain})" for s in SITES.values())
        msg = f"Link {link!r} is not on a known LTA site."
        raise UnknownSiteError(msg, hint=f"Known sites: {known}.")
    return site


def obsid_of(link: str) -> str:
    """Return the observation id of a link: the first ``L`` followed by digits, e.g. ``L229507``.

    Raises:
        NoObsidError: The link holds no ``L<digits>``.
    """
    match = _OBSID_RE.search(link)
    if match is None:
        msg = f"Link {link!r} holds no LOFAR observation id (L followed by digits)."
        raise NoObsidError(msg, hint=f"LTA file names look like {_EXAMPLE}.")
    return match.group(0)


def subband_of(link: str, pref: str = "SB", suff: str = "_") -> str:
    """Return the text between ``pref`` and ``suff`` (regular expressions), e.g. ``'100'``.

    The pattern is ``pref + '(.+?)' + suff``, as in GRID_LRT. It is tried on the file name first
    and then on the whole link.

    Args:
        link: The link.
        pref: Regular expression before the subband number.
        suff: Regular expression after it, e.g. ``r'\\.'`` for ``…_ABN_123.tar``.

    Raises:
        NoSubbandError: The pattern matches neither the file name nor the link.
        UsageError: ``pref``/``suff`` do not form a valid regular expression.
    """
    pattern = pref + "(.+?)" + suff
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        msg = f"Subband pattern {pattern!r} is not a valid regular expression: {exc}."
        raise UsageError(msg) from exc
    match = regex.search(link.rsplit("/", 1)[-1]) or regex.search(link)
    if match is None:
        msg = f"Subband pattern {pattern!r} does not match link {link!r}."
        hint = "The default pref='SB', suff='_' matches names like ...L229507_SB100_uv.MS...."
        raise NoSubbandError(msg, hint=hint)
    return match.group(1)


def normalise(link: str) -> str:
    """Return ``link`` stripped, with ``//pnfs`` → ``/pnfs`` and (Poznań) ``//lofar`` → ``/lofar``.

    Only the part after ``scheme://host:port`` is touched, so ``srm://lofar-srm…`` stays intact.
    """
    link = link.strip()
    head, _, rest = _split(link)
    rest = _DOUBLE_PNFS_RE.sub("/", rest)
    site = find_site(link)
    if site is not None and site.name == "poznan":
        rest = _DOUBLE_LOFAR_RE.sub("/", rest)
    return head + rest


def _rest_after(link: str, prefix: str) -> str | None:
    """Return what follows ``prefix`` in ``link`` if it is a path (starts with ``/``)."""
    if not link.startswith(prefix):
        return None
    rest = link[len(prefix) :]
    return rest if len(rest) > 1 and rest.startswith("/") else None


def _path_of(link: str) -> Tuple[Site, str]:
    """Return the site and the file path (``/pnfs/…``) of any form of a link of a known site."""
    link = normalise(link)
    site = site_of(link)
    https_rest = link[len(site.https_prefix) :] if link.startswith(site.https_prefix) else None
    if https_rest is not None:
        return _path_of(https_rest)
    prefixes = (site.gfal_prefix, site.srm_prefix, site.gsiftp_prefix)
    for prefix in prefixes + site.legacy_gsiftp_prefixes:
        rest = _rest_after(link, prefix)
        if rest is not None:
            return site, rest
    msg = f"Link {link!r} does not start with {site.srm_prefix}/ or {site.gsiftp_prefix}/."
    raise NotASurlError(msg, hint=f"A {site.name} link looks like {site.srm_prefix}/<path>.")


def path_of(link: str) -> str:
    """The storage path of a link of a known site (``/pnfs/...`` or ``/lofar/...``).

    Raises:
        UnknownSiteError: The link is on no known site.
        NotASurlError: The link is not in one of the site's known forms.
    """
    return _path_of(link)[1]


def to_srm(link: str) -> str:
    """Return the plain ``srm://`` SURL of a gsiftp, gfal, https or srm link.

    This is the inverse of :func:`to_gsiftp`, :func:`to_https` and :func:`to_gfal`.

    Raises:
        UnknownSiteError: The link is on no known site.
        NotASurlError: The link is not in one of the site's known forms.
    """
    site, path = _path_of(link)
    return site.srm_prefix + path


def to_gsiftp(link: str) -> str:
    """Return the ``gsiftp://`` form, for globus-url-copy and uberftp.

    Raises:
        UnknownSiteError: The link is on no known site.
        NotASurlError: The link is not in one of the site's known forms.
    """
    site, path = _path_of(link)
    return site.gsiftp_prefix + path


def to_https(link: str) -> str:
    """Return the ``https://`` download link (site prefix + plain ``srm://`` SURL), for wget.

    Raises:
        UnknownSiteError: The link is on no known site.
        NotASurlError: The link is not in one of the site's known forms.
    """
    site, path = _path_of(link)
    return site.https_prefix + site.srm_prefix + path


def to_gfal(link: str) -> str:
    """Return the gfal/SRM form ``srm://host:8443/srm/managerv2?SFN=/path``.

    Raises:
        UnknownSiteError: The link is on no known site.
        NotASurlError: The link is not in one of the site's known forms.
    """
    site, path = _path_of(link)
    return site.gfal_prefix + path
