"""The corpus's shared fixture: the seeded login-node database (tests/corpus/client_kit.py)."""

from __future__ import annotations

from tests.corpus.client_kit import client_db  # noqa: F401  (registers the fixture)
