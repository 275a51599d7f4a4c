"""The testbed notebook's section 2 (staging), imports changed, against the LTA simulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.shared import surl
from tests.support.paths import DATA, NOTEBOOKS
from tests.support.tape_archive import TapeArchive


def test_notebook_section_2(gfal2_module: Any, tmp_path: Path) -> None:
    links = (DATA / "srm_50_sara.txt").read_text().split()
    with TapeArchive(tmp_path / "archive", delay=3600, tape_prefixes=("/pnfs/",)) as tape:
        for link in links:
            target = tape.root / surl.path_of(link).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")

        def online(surls: list[str]) -> None:
            tape.make_online([surl.path_of(s) for s in surls])

        with LtaSimulator(user="u", password="lta-pw", delay=2.0, on_online=online) as lta:
            env = dict(
                os.environ,
                HOME=str(tmp_path),
                LRT_LTA_URL=lta.url,
                LOFAR_LTA_USER="u",
                LOFAR_LTA_PWD="lta-pw",
                LRT_STATUS_DOOR=tape.base_url,
                **tape.client_env,
            )
            proc = subprocess.run(
                [sys.executable, str(NOTEBOOKS / "testbed_2.py")],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert lta.calls["add_getid"] == 1
    stage_id = re.search(r"^(\d+)$", out, flags=re.M)
    assert stage_id, out
    assert re.search(r"^(new|scheduled)$", out, flags=re.M)
    assert f"'{stage_id.group(1)}': {{'Status':" in out and "'File count': '51'" in out
    assert "Location': 'sara'" in out
    assert out.count("NEARLINE") >= 51, "the verbose state check prints every file"
    assert "percent staged: 0.0" in out
    assert f"Staging request {stage_id.group(1)} has status: success" in out
    assert "percent staged: 100.0" in out
    assert "lta-pw" not in out + proc.stderr
