"""The testbed notebook's section 2 (staging), imports changed, against the LTA simulator, and
unchanged against the StageIT simulator with only ~/.stagingrc changed (an ``api_token=`` /
``hostname=`` file): the credentials choose the service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.devtools.stageit_simulator import StageItSimulator
from grid_lrt.shared import surl
from tests.support.paths import DATA, NOTEBOOKS
from tests.support.tape_archive import TapeArchive

STAGEIT_TOKEN = "nb-stageit-token-8d1f0a"
#: Seconds per request step: the two state checks of 51 files (gfal2) must finish before the
#: request does (3 steps) to print "percent staged: 0.0"; 2 s was too short on a loaded machine.
DELAY = 4.0


@pytest.mark.parametrize("service", ["lta", "stageit"])
def test_notebook_section_2(gfal2_module: Any, tmp_path: Path, service: str) -> None:
    links = (DATA / "srm_50_sara.txt").read_text().split()
    with TapeArchive(tmp_path / "archive", delay=3600, tape_prefixes=("/pnfs/",)) as tape:
        for link in links:
            target = tape.root / surl.path_of(link).lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")

        def online(surls: list[str]) -> None:
            tape.make_online([surl.path_of(s) for s in surls])

        lta_online = online if service == "lta" else None
        stageit_online = online if service == "stageit" else None
        with (
            LtaSimulator(user="u", password="lta-pw", delay=DELAY, on_online=lta_online) as lta,
            StageItSimulator(token=STAGEIT_TOKEN, delay=DELAY, on_online=stageit_online) as stageit,
        ):
            if service == "stageit":  # the one difference: an API token in ~/.stagingrc
                stageit.write_stagingrc(tmp_path / ".stagingrc")
            env = dict(
                os.environ,
                HOME=str(tmp_path),
                LRT_LTA_URL=lta.url,
                LOFAR_LTA_USER="u",
                LOFAR_LTA_PWD="lta-pw",
                LRT_STATUS_DOOR=tape.base_url,
                **tape.client_env,
                # requests' variable only: SSL_CERT_FILE would also replace the CAs gfal2
                # (davix, OpenSSL) trusts the tape archive with
                REQUESTS_CA_BUNDLE=stageit.client_env["REQUESTS_CA_BUNDLE"],
            )
            for var in ("LOFAR_LTA_TOKEN", "LOFAR_LTA_HOST", "LRT_STAGEIT_URL", "SSL_CERT_FILE"):
                env.pop(var, None)
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
    stage_id = re.search(r"^(\d+)$", out, flags=re.M)
    assert stage_id, out
    sid = stage_id.group(1)
    assert re.search(r"^(new|scheduled)$", out, flags=re.M)
    if service == "lta":
        assert lta.calls["add_getid"] == 1 and not stageit.requests_seen
        assert f"'{sid}': {{'Status':" in out and "'File count': '51'" in out
        assert "Location': 'sara'" in out
    else:
        assert sum(lta.calls.values()) == 0
        assert stageit.calls["POST requests/"] == 1
        (post,) = [s for s in stageit.requests_seen if s.path == "requests/"]
        assert post.body["surls"] == links and post.body["request_type"] == "stage"
        assert f"'{sid}': {{'id': '{sid}'" in out and out.count("{'surl': 'srm://") == 51
    assert out.count("NEARLINE") >= 51, "the verbose state check prints every file"
    assert "percent staged: 0.0" in out
    assert f"Staging request {sid} has status: success" in out
    assert "percent staged: 100.0" in out
    assert "lta-pw" not in out + proc.stderr
    assert STAGEIT_TOKEN not in out + proc.stderr
