"""``shared/redact.py``: the one place that takes credentials out of URLs and messages."""

from __future__ import annotations

import pytest

from grid_lrt.shared.redact import redact, redact_url


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
