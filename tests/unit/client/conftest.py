"""Fixtures the client's unit tests share."""

from __future__ import annotations

import logging
from pathlib import Path

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


#: The variables that name a setting of the login node (`lrt config show` reads them all).
SETTING_VARIABLES = (
    "PICASRC",
    "PICAS_URL",
    "PICAS_DB",
    "PICAS_USR",
    "PICAS_USR_PWD",
    "LOFAR_LTA_TOKEN",
    "LOFAR_LTA_HOST",
    "LOFAR_LTA_USER",
    "LOFAR_LTA_PWD",
    "LRT_STAGEIT_URL",
    "LRT_LTA_URL",
    "LRT_STAGE_DIR",
    "LRT_SUBMIT_DIR",
    "LRT_LAUNCHER_WHEELS",
    "LRT_STORAGE",
    "LRT_STATUS_DOOR",
)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory (HOME), none of the setting variables set, and the root
    logger's level and handlers restored after the test (`lrt` sets them up)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in SETTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    return home
