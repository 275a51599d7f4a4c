"""The launcher end to end over https/WebDAV: a real launcher process, the real CouchDB-compatible
server, and the loopback tape archive (wsgidav over TLS, Want-Digest checksums, WLCG Tape REST)
serving the sandbox, the input data and receiving the results.

One launcher run per transfer backend drains several tokens:

* ``LRT_STORAGE=gfal2``: the real gfal2 bindings (davix for https/davs, the mock plugin);
* ``LRT_STORAGE=builtin``: the fallback without gfal2 (``requests``; davs = https WebDAV).

The builtin backend cannot see tape state (plain HTTP has no ``user.status``): a file that
the archive reports NEARLINE is simply fetched with GET, which this archive (like a dCache door
that stages on read) answers, so the token runs to ``done``. ``mock://`` has no builtin adapter:
the token ends with 13 (transfer tool missing). Both are asserted below as what the fallback
does.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any, Dict

import pytest

from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.schema import TokenState, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import (
    launcher_env,
    make_sandbox,
    marker_lines,
    run_launcher,
    save_tokens,
    token_doc,
)

SURL_DIR = "/pnfs/grid.sara.nl/data/lofar/ops/projects/lc0_012/229507"
SURL_HOST = "srm://srm.grid.sara.nl:8443"
MEMBER = "L229507_SB001_uv.MS"
TARRED = f"{MEMBER}_8d9ea7c0.tar"


def _put(root: Path, rel: str, data: bytes) -> Path:
    target = root / rel.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _tar_with(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _davs(url: str) -> str:
    return url.replace("https://", "davs://", 1)


@pytest.mark.parametrize("backend", ["gfal2", "builtin"])
def test_launcher_over_https_webdav(
    backend: str,
    tape_archive: Any,
    couchdb_server: CouchServer,
    couch_db_name: str,
    tmp_path: Path,
) -> None:
    archive = tape_archive
    root: Path = archive.root
    t_type = f"http_{backend}"
    db: CouchDB = couch(couchdb_server, couch_db_name)

    # The archive: a sandbox, disk files, a tape file, a SURL tree for the data door, results.
    make_sandbox(root / "sandboxes" / "pref.tar.gz")
    disk = {f"SB00{n}.MS": f"visibilities {n}\n".encode() * 200 for n in range(2)}
    for name, data in disk.items():
        _put(root, f"data/{name}", data)
    on_tape = b"only on tape\n" * 100
    _put(root, "tape/L229507/SB002.MS", on_tape)
    surl_data = b"subband one, through the data door\n" * 100
    _put(root, f"{SURL_DIR}/{TARRED}", _tar_with(MEMBER, surl_data))
    results = root / "results"
    for name in ("ok", "nearline", "surl", "v1"):
        (results / name).mkdir(parents=True)

    sandbox_https = archive.url("sandboxes/pref.tar.gz")
    common = {"OBSID": "L229507", "MODE": "ok", "SBXloc": sandbox_https}
    srm_ok = "\n".join(_davs(archive.url(f"data/{name}")) for name in disk)
    tokens: Dict[str, Dict[str, Any]] = {
        # https:// sandbox, davs:// data, results to a davs:// folder of the archive.
        "ok": {
            "srm": srm_ok,
            "STARTSB": "000",
            "RESULTS_DIR": _davs(archive.url("results/ok")) + "/",
        },
        # One disk file and one NEARLINE file: gfal2 sees the tape state before any copy.
        "nearline": {
            "srm": archive.url("data/SB000.MS") + "\n" + archive.url("tape/L229507/SB002.MS"),
            "STARTSB": "002",
            "RESULTS_DIR": _davs(archive.url("results/nearline")),
        },
        # A SURL, mapped through LRT_DATA_DOOR to the archive; a tar input is extracted.
        "surl": {
            "srm": f"# data of SB001\n{SURL_HOST}{SURL_DIR}/{TARRED}\n",
            "STARTSB": "001",
            "RESULTS_DIR": _davs(archive.url("results/surl")),
        },
        # The v1 upload block: one gzipped tarball in a $OBSID folder made on the archive.
        "v1": {
            "srm": _davs(archive.url("data/SB001.MS")),
            "STARTSB": "011",
            "upload": {
                "location": _davs(archive.url("results/v1")),
                "template": "$OBSID/${STARTSB}_results",
                "gzip": True,
            },
        },
        # Tape states of the gfal2 mock plugin (no builtin adapter for mock://).
        "mock_nearline": {"srm": "mock://host/f?size=100&user.status=NEARLINE", "STARTSB": "003"},
        "mock_lost": {"srm": "mock://host/f?size=100&user.status=LOST", "STARTSB": "004"},
    }
    ids = {name: f"t_{t_type}_{name}" for name in tokens}
    save_tokens(
        db,
        [token_doc(t_type, ids[name], **common, **fields) for name, fields in tokens.items()],
    )

    env = launcher_env(
        couchdb_server,
        couch_db_name,
        tmp_path,
        LRT_STORAGE=backend,
        LRT_DATA_DOOR=archive.base_url,
        **archive.client_env,
    )
    started = time.monotonic()
    proc = run_launcher(env, t_type, timeout=90)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    transfers = "gfal2" if backend == "gfal2" else "builtin"
    assert f"transfers: {transfers}" in proc.stderr
    docs = {name: db.get(ids[name]) for name in tokens}
    outputs = {name: doc.get("output") for name, doc in docs.items()}
    statuses = {name: str(doc.get("launcher_status") or "") for name, doc in docs.items()}

    expected = {
        "ok": 0,
        "surl": 0,
        "v1": 0,
        # builtin: plain HTTP has no tape state, so the NEARLINE file is fetched (see above).
        "nearline": int(ErrorCode.DATA_NOT_STAGED) if backend == "gfal2" else 0,
        "mock_nearline": (
            int(ErrorCode.DATA_NOT_STAGED)
            if backend == "gfal2"
            else int(ErrorCode.TRANSFER_TOOL_MISSING)
        ),
        "mock_lost": (
            int(ErrorCode.DATA_LOST) if backend == "gfal2" else int(ErrorCode.TRANSFER_TOOL_MISSING)
        ),
    }
    assert outputs == expected, statuses
    for name, doc in docs.items():
        assert doc["done"] > 0, name
        wanted = TokenState.DONE if expected[name] == 0 else TokenState.ERROR
        assert state_of(doc) is wanted, (name, doc.get("launcher_status"))

    # https:// sandbox + davs:// data + davs:// results: every file arrived with its content.
    ok = docs["ok"]
    assert ok["Results_location"].rstrip("/") == _davs(archive.url("results/ok"))
    for name, data in disk.items():
        assert (results / "ok" / f"{name}.out").read_bytes() == data
    assert (results / "ok" / "plot_000.png").read_bytes() == b"PNGDATA"
    assert "Output_plot_000.png" in ok["_attachments"]
    stdout = db.get_attachment(ids["ok"], "attempt1_stdout.log").decode()
    assert "OBSID=L229507 STARTSB=000" in stdout

    # The SURL went through the data door; the tar input was extracted into Input/.
    assert (results / "surl" / f"{MEMBER}.out").read_bytes() == surl_data
    assert not (results / "surl" / f"{TARRED}.out").exists()

    # The v1 block: results/v1/L229507/011_results.tar.gz with Output/ inside.
    tarball = results / "v1" / "L229507" / "011_results.tar.gz"
    assert docs["v1"]["Results_location"] == _davs(
        archive.url(f"results/v1/L229507/{tarball.name}")
    )
    with tarfile.open(tarball, "r:gz") as tar:
        members = sorted(tar.getnames())
        extracted = tar.extractfile("SB001.MS.out")
        assert extracted is not None
        assert extracted.read() == disk["SB001.MS"]
    assert members == ["SB001.MS.out", "plot_011.png"]

    if backend == "gfal2":
        nearline = statuses["nearline"]
        assert "tape/L229507/SB002.MS" in nearline and "NEARLINE" in nearline, nearline
        assert "data/SB000.MS" not in nearline  # only the file on tape is named
        assert not any((results / "nearline").iterdir())  # the pipeline never ran
        assert "LOST" in statuses["mock_lost"]
    else:
        assert (results / "nearline" / "SB002.MS.out").read_bytes() == on_tape
        assert "mock://" in statuses["mock_nearline"] and "gfal2" in statuses["mock_nearline"]
    assert archive.stage_calls == 0  # the launcher checks tape state, it never stages
    assert archive.locality("tape/L229507/SB002.MS") == "TAPE"

    ran = sorted(line.split()[1] for line in marker_lines(env) if line.startswith("done"))
    assert ran == sorted(ids[name] for name, code in expected.items() if code == 0)
    assert not list((tmp_path / "jobs").iterdir())
    assert elapsed < 45, f"the launcher took {elapsed:.1f} s for {len(tokens)} tokens"
