"""The testbed notebook's sections 3, 4a and 4b, ported by changing imports only, run to the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from grid_lrt.shared.couch import CouchDB
from tests.support.couchdb import CouchServer
from tests.support.paths import NOTEBOOKS

SCRIPT = NOTEBOOKS / "testbed_3_4.py"


def test_notebook_sections_3_4a_4b(couchdb_server: CouchServer, tmp_path: Path) -> None:
    for name in ("sksp_dev", "sksp_unittest"):
        db = CouchDB(
            couchdb_server.url, name, user=couchdb_server.user, password=couchdb_server.password
        )
        if db.exists():
            db.drop()
        db.create()
    env = dict(
        os.environ,
        HOME=str(tmp_path),
        USER="tester",
        PICAS_URL=couchdb_server.url,
        PICAS_USR=couchdb_server.user,
        PICAS_USR_PWD=couchdb_server.password,
        PICAS_DB="sksp_dev",
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    # Section 3: the notebook's printed values.
    for expected in (
        "L229507\nsara\n51\n",
        "Should return Different OBSID than previous items:\nDifferent OBSID than previous items",
        "\ngsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/L229507_SB100_uv.dppp.MS_3d78b8f1.tar\n",
        "\nhttps://lofar-download.grid.sara.nl/lofigrid/SRMFifoGet.py?surl=srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/L229507_SB100_uv.dppp.MS_3d78b8f1.tar\n",
        "\nsrm://srm.grid.sara.nl:8443/srm/managerv2?SFN=/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/L229507_SB100_uv.dppp.MS_3d78b8f1.tar\n",
        "['100', '110', '120', '130', '140', '150']",
        "d_10['100'].OBSID = L229507",
        "['100', '150']",
    ):
        assert expected in out
    d10_150 = out.split("d_10['150'] =\n", 1)[1].splitlines()[0]
    assert d10_150.count("srm://") == 1 and "L229507_SB150" in d10_150
    # Section 4a: ids, attachments, the counts through lock/reset/custom view/delete.
    for expected in (
        "manual_token_ID = t_jupyter_demo_tester_manual",
        "The two attached files are: ['srm_added_later.txt', 'srm_at_token_create.txt']",
        "['done', 'error', 'locked', 'overview_total', 'todo']",
        "There are 0 'locked' tokens\nThere are 2 'todo' tokens",
        "Lock status of the token: 0.\nScrub count of the token: 0.",
        "There are 0 'todo' tokens\nThere are 2 'locked' tokens\nLock status of the token: 1.",
        "Scrub count of the token: 1.\nThere are 2 'todo' tokens\nThere are 0 'locked' tokens",
        "<ViewDefinition '_design/jupyter_demo_tester/_view/demo_view'>",
        "There is 1 tokens in the demo_view",
        "There are 3 tokens in the demo_view",
        "There are 0 tokens in the demo_view",
    ):
        assert expected in out
    # Section 4b: 6 tokens from d_10, then 51 from d_1 (6 of them already existed).
    assert out.count("AND start_SB Value is") == 6
    assert "Token ID is t_jupyter_demo_tester_L000000_SB150 AND start_SB Value is 150" in out
    assert "['t_jupyter_demo_tester_L000000_SB100', 't_jupyter_demo_tester_L000000_SB101'," in out
    token_33 = out.split("'t_jupyter_demo_tester_L000000_SB109']\n", 1)[1].splitlines()[0]
    assert (
        "'_id': 't_jupyter_demo_tester_L000000_SB133'" in token_33
        and "'STARTSB': '133'" in token_33
    )
    assert "'status': 'queued'" in token_33 and "'srm.txt'" in token_33
    assert "There are 51 'todo' tokens\nThere are 0 'todo' tokens" in out
    assert "6 of 51 tokens already existed" in proc.stderr
