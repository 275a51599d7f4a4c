"""Credentials out of URLs and messages: the one ``redact_url`` (and ``redact``) of grid-lrt.

A URL may carry ``user:password@`` (``https://alice:s3cret@host/``, a WebDAV door or the LTA
stager's endpoint). Every message, log line, exception attribute and ``Results_location``
that shows such a URL shows it through these functions, on the login node (LTA staging) and
on the worker (the storage adapters) alike:

* :func:`redact_url` for one URL: ``https://***@host/path`` (the rest unchanged);
* :func:`redact` for free text that may hold URLs (a library's error message):
  every ``//user:password@`` in it becomes ``//***@``.

Runs on the worker's Python (3.9+) with the standard library only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact", "redact_url"]

_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]+@")


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@`` part (``https://***@host/...``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def redact(text: str) -> str:
    """``text`` (an error message) with every ``//user:password@`` in it replaced by ``//***@``."""
    return _CREDENTIALS.sub("***@", text)
