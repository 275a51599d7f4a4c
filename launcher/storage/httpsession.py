"""How :class:`~.http.HttpStorage` talks to servers: trusted TLS sessions and RFC 3230 digests.

Trust: certificates are always verified. ``X509_CERT_DIR`` (the grid CA folder with
``<hash>.0`` links, which gfal2 uses too) is trusted in addition to the system CAs;
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` work as usual in requests. ``X509_USER_PROXY`` (a grid
proxy holding certificate and key) is sent as the client certificate when the file exists.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import requests
import requests.adapters

from grid_lrt.launcher.checksums import normalize_checksum

__all__ = ["DIGESTS", "TRUST_HINT", "new_session", "parse_digest", "trust_settings"]

#: Want-Digest names (RFC 3230 / RFC 5843) and how their Digest values are encoded.
DIGESTS: Dict[str, Tuple[str, str]] = {
    "adler32": ("adler32", "hex"),
    "md5": ("md5", "base64"),
    "sha256": ("sha-256", "base64"),
}

TRUST_HINT = (
    "the server certificate is not trusted: set X509_CERT_DIR to the CA folder "
    "(/etc/grid-security/certificates on grid workers) or REQUESTS_CA_BUNDLE to a CA file"
)


class _TrustAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose TLS connections verify against a given SSL context."""

    def __init__(self, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)


def trust_settings() -> Tuple[str, str]:
    """What decides how sessions trust and authenticate: (X509_CERT_DIR, X509_USER_PROXY)."""
    return os.environ.get("X509_CERT_DIR", ""), os.environ.get("X509_USER_PROXY", "")


def new_session(cert_dir: str, proxy: str) -> requests.Session:
    """A session that verifies TLS against the system CAs plus ``cert_dir`` (if a folder).

    Args:
        cert_dir: ``X509_CERT_DIR`` (hashed CA folder) or "".
        proxy: ``X509_USER_PROXY`` (sent as client certificate when the file exists) or "".
    """
    session = requests.Session()
    session.headers["User-Agent"] = "grid-lrt-launcher"
    if cert_dir and Path(cert_dir).is_dir():
        context = ssl.create_default_context()
        context.load_verify_locations(capath=cert_dir)
        adapter = _TrustAdapter(context)
        session.mount("https://", adapter)
    if proxy and Path(proxy).is_file():
        session.cert = proxy
    return session


def parse_digest(header: str, algorithm: str = "adler32", encoding: str = "hex") -> Optional[str]:
    """The value for ``algorithm`` in an RFC 3230 ``Digest`` header, as lower-case hex.

    ``"adler32=0a1b2c3d, md5=<base64>"`` → ``"0a1b2c3d"``; adler32 is zero padded to 8 digits,
    base64 values (md5, sha-256) are turned into hex. None when absent or unreadable.
    """
    algo = algorithm.strip().lower()
    wanted = DIGESTS.get(algo, (algo, encoding))[0]
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or name.strip().lower() != wanted:
            continue
        value = value.strip().strip('"')
        if encoding == "base64":
            try:
                return base64.b64decode(value, validate=True).hex()
            except (binascii.Error, ValueError):
                return None
        text = normalize_checksum(value, algo)
        return text if text and all(c in "0123456789abcdef" for c in text) else None
    return None
