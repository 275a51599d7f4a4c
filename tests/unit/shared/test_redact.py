"""``shared/redact.py``: the one place that takes credentials out of URLs and messages."""

from __future__ import annotations

import io
import logging
from typing import Iterator
from urllib.parse import quote, quote_plus

import pytest

from grid_lrt.shared.redact import SecretFilter, add_secret, forget_secrets, redact, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("davs://alice:s3cret@host:443/p?q=1#f", "davs://***@host:443/p?q=1#f"),
        ("https://token@host/x", "https://***@host/x"),
        ("https://a@b:c@host/x", "https://***@host/x"),  # the last @ ends the userinfo
        ("https://host/p", "https://host/p"),
        ("srm://srm.grid.sara.nl:8443/pnfs/x", "srm://srm.grid.sara.nl:8443/pnfs/x"),
        ("/plain/path", "/plain/path"),
        ("", ""),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_replaces_every_userinfo_in_a_message() -> None:
    text = redact("GET https://alice:s3cret@host/p failed; see srm://bob@x/y and /a@b")
    assert text == "GET https://***@host/p failed; see srm://***@x/y and /a@b"


def test_the_client_and_the_launcher_use_the_same_functions() -> None:
    """Not a worker test: the client needs Python 3.11."""
    from grid_lrt.client.staging import lta
    from grid_lrt.launcher.storage import common

    assert lta.redact_url is redact_url
    assert common.redact_url is redact_url and common.redact is redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # issue 9, finding 11: the tail of a password holding '@' was left
        ("GET https://u:p@ss@host/x failed", "GET https://***@host/x failed"),
        (
            "davs://alice:a@b:c@d@host:443/p and https://h/q",
            "davs://***@host:443/p and https://h/q",
        ),
        ("https://u:p@ss@host", "https://***@host"),
        ("//a@b c@d", "//***@b c@d"),  # whitespace ends a URL
    ],
)
def test_redact_takes_the_whole_userinfo(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.fixture
def secret() -> Iterator[str]:
    value = "pa$s@w:rd%/x"
    add_secret(value)
    yield value
    forget_secrets()


def test_a_known_secret_is_redacted_by_value(secret: str) -> None:
    """A secret the launcher knows never shows, in whatever form it reached a message."""
    for shown in (secret, quote(secret, safe=""), quote_plus(secret), quote(secret)):
        text = redact(f"cannot upload to davs://evil/{shown}/x: refused")
        assert text == "cannot upload to davs://evil/***/x: refused", shown
        assert redact_url(f"davs://evil/{shown}") == "davs://evil/***"


def test_short_secrets_are_not_registered() -> None:
    add_secret("ab")
    try:
        assert redact("a b ab abc") == "a b ab abc"
    finally:
        forget_secrets()


def test_secret_filter_redacts_log_records(secret: str) -> None:
    log = logging.getLogger("test.redact")
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(SecretFilter())
    log.addHandler(handler)
    try:
        log.warning("password %s in %s", secret, "a message")
        try:
            raise ValueError(f"bad {secret}")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    stream = handler.stream
    assert isinstance(stream, io.StringIO)
    out = stream.getvalue()
    assert "password *** in a message" in out and "bad ***" in out
    assert secret not in out
