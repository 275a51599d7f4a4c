"""Fixtures of the sandbox integration tests (real git repositories in tmp_path)."""

from __future__ import annotations

from tests.support.gitkit import repos  # noqa: F401  (registers the fixture)
