"""Credentials out of URLs and messages: the one ``redact_url`` (and ``redact``) of grid-lrt.

A URL may carry ``user:password@`` (``https://alice:s3cret@host/``, a WebDAV door or the LTA
stager's endpoint). Every message, log line, exception attribute and ``Results_location``
that shows such a URL shows it through these functions, on the login node (LTA staging) and
on the worker (the storage adapters) alike:

* :func:`redact_url` for one URL: ``https://***@host/path`` (the rest unchanged);
* :func:`redact` for free text that may hold URLs (a library's error message):
  every ``//user:password@`` in it becomes ``//***@`` (up to the last ``@`` before the host,
  so a password holding ``@`` goes whole).

A secret the program knows by value (the launcher's PiCaS password) is registered with
:func:`add_secret`; from then on both functions also replace it, as typed and in its
percent-encoded forms, by ``***`` wherever it appears (a password that reached a path
through a template, a library message that quotes it). :class:`SecretFilter` does the same
for log records. Values shorter than :data:`MIN_SECRET` characters are not registered: they
would blank out ordinary words, not protect anything.

Runs on the worker's Python (3.9+) with the standard library only.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import List
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

__all__ = [
    "MIN_SECRET",
    "SecretFilter",
    "add_secret",
    "forget_secrets",
    "redact",
    "redact_url",
]

#: Shortest value :func:`add_secret` registers.
MIN_SECRET = 4

# The userinfo: everything after "//" up to the last "@" before a "/" or whitespace.
_CREDENTIALS = re.compile(r"(?<=//)[^/\s]+@(?=[^/@\s]*(?:[/\s]|$))")

_lock = threading.Lock()
_secrets: List[str] = []  # longest first, so that a longer form is replaced whole


def add_secret(value: str) -> None:
    """Redact ``value`` (and its percent-encoded forms) from now on, in this process."""
    if len(value) < MIN_SECRET:
        return
    forms = {value, quote(value, safe=""), quote(value), quote_plus(value)}
    with _lock:
        _secrets.extend(form for form in forms if form not in _secrets)
        _secrets.sort(key=len, reverse=True)


def forget_secrets() -> None:
    """Forget every registered secret (tests)."""
    with _lock:
        _secrets.clear()


def _by_value(text: str) -> str:
    with _lock:
        secrets = list(_secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def redact_url(url: str) -> str:
    """``url`` without its ``user:password@`` part (``https://***@host/...``)."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        url = urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))
    return _by_value(url)


def redact(text: str) -> str:
    """``text`` (an error message) with every ``//user:password@`` in it replaced by ``//***@``,
    and every registered secret by ``***``."""
    return _by_value(_CREDENTIALS.sub("***@", text))


class SecretFilter(logging.Filter):
    """A handler filter: registered secrets and URL credentials out of every record.

    The record's message (arguments merged) and its traceback text are redacted in place.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
