"""Fixtures the client's unit tests share."""

from __future__ import annotations

import pytest

from grid_lrt.client.staging.srmlist import srmlist
from tests.unit.client.surls import SARA_FILE


@pytest.fixture
def s_list() -> srmlist:
    """The notebook's way: read the file, split on whitespace, append each link."""
    result = srmlist()
    for item in SARA_FILE.read_text().split():
        result.append(item)
    return result
