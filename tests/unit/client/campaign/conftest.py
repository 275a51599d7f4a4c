"""A campaign folder with valid files, and a writer for campaign files to break."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

LINKS = "".join(
    f"srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/x/654321/"
    f"L654321_SB{n:03d}_uv.MS_{n:04x}.tar\n"
    for n in range(8)
)

VALID = """\
campaign: test_campaign
steps:
  - name: cal
    type: t_cal
    config: seed.cfg
    srm: links.txt
    size: 4
  - name: target
    type: t_target
    config: seed.cfg
    inputs-from: cal
    size: 2
    after: cal
    group_by: subband-group
"""

Writer = Callable[[str], Path]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "seed.cfg").write_text("apiVersion: 0\nToken:\n  PIPELINE: test\n")
    (tmp_path / "links.txt").write_text(LINKS)
    (tmp_path / "sbx").mkdir()
    (tmp_path / "sbx" / "master.sh").write_text("#!/bin/bash\necho hi\n")
    return tmp_path


@pytest.fixture
def write(folder: Path) -> Writer:
    def writer(text: str) -> Path:
        path = folder / "campaign.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return writer
