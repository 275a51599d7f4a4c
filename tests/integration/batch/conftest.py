"""Fixtures of the batch-system tests: the client's PiCaS environment (``cli_env``)."""

from __future__ import annotations

from tests.integration.client.conftest import cli_env  # noqa: F401  (registers the fixture)
