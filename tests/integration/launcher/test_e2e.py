"""The launcher end to end: real launcher processes, the real CouchDB-compatible server, real
sandboxes and data through the transfer layer (file:// here; https/davs in test_launcher_http).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from grid_lrt.client.token import TokenHandler, TokenSet
from grid_lrt.shared.couch import CouchDB
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.schema import TokenState, inline_attachment, new_token, state_of
from tests.support.couchdb import CouchServer
from tests.support.helpers import couch
from tests.support.launcher_kit import (
    launcher_env,
    make_inputs,
    make_sandbox,
    marker_lines,
    run_launcher,
    start_launcher,
    status_of,
    wait_for,
)

TYPE = "L229507_pref_cal1"


@pytest.fixture
def db(couchdb_server: CouchServer, couch_db_name: str) -> CouchDB:
    return couch(couchdb_server, couch_db_name)


@pytest.fixture
def env(couchdb_server: CouchServer, couch_db_name: str, tmp_path: Path) -> Dict[str, str]:
    return launcher_env(couchdb_server, couch_db_name, tmp_path)


def _token(token_id: str, *, srm: str = "", t_type: str = TYPE, **fields: Any) -> Dict[str, Any]:
    doc = new_token(t_type, token_id, {"OBSID": "L229507", "STARTSB": "000", **fields})
    if srm:
        doc["_attachments"] = {"srm.txt": inline_attachment(srm.encode(), "text/plain")}
    return doc


def _save(db: CouchDB, docs: List[Dict[str, Any]]) -> None:
    assert all(r.get("ok") for r in db.bulk_docs(docs)), "could not create the test tokens"


def test_tokenset_is_processed_end_to_end(
    couchdb_server: CouchServer, couch_db_name: str, env: Dict[str, str], tmp_path: Path
) -> None:
    """The foundation's TokenSet makes the tokens; two launchers drain them."""
    sandbox = make_sandbox(tmp_path / "sandboxes" / "pref_cal1.tar.gz")
    results = tmp_path / "results"
    results.mkdir()
    config = tmp_path / "pref_cal1.cfg"
    config.write_text(
        "apiVersion: 0\n"
        "Token:\n"
        "  status: queued\n"
        "  OBSID: L229507\n"
        "  MODE: ok\n"
        f"  SBXloc: {sandbox.as_uri()}\n"
        f"  RESULTS_DIR: {results.as_uri()}/\n"
    )
    links = {
        sb: make_inputs(
            tmp_path / "archive", [f"L229507_SB{n:03d}_uv.MS.tar.txt" for n in range(sb, sb + 3)]
        )
        for sb in (0, 10, 20, 30)
    }
    th = TokenHandler(
        TYPE,
        srv=couchdb_server.url,
        uname=couchdb_server.user,
        pwd=couchdb_server.password,
        dbn=couch_db_name,
    )
    ts = TokenSet(th, config)
    ts.create_dict_tokens(links, id_append="L229507", file_upload="srm.txt")
    ids = ts.tokens
    assert len(ids) == 4

    first = start_launcher(env, TYPE)
    second = run_launcher(env, TYPE)
    _out, first_err = first.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (0, 0), first_err + second.stderr

    db = couch(couchdb_server, couch_db_name)
    for token_id in ids:
        doc = db.get(token_id)
        assert state_of(doc) is TokenState.DONE, (token_id, doc.get("launcher_status"))
        assert doc["output"] == 0
        assert doc["status"] == "done"
        assert doc["Results_location"].rstrip("/") == results.as_uri().rstrip("/")
        for phase in (
            "locked",
            "downloading",
            "running",
            "uploading_results",
            "done",
        ):
            assert phase in doc["times"], phase
        assert doc["times"]["running"] <= doc["times"]["done"]
        assert "attempt1_stdout.log" in doc["_attachments"]
        assert "attempt1_stderr.log" not in doc["_attachments"]  # empty logs are left out
        stdout = db.get_attachment(token_id, "attempt1_stdout.log").decode()
        assert f"OBSID=L229507 STARTSB={doc['STARTSB']}" in stdout
        assert f"Output_plot_{doc['STARTSB']}.png" in doc["_attachments"]
    uploaded = sorted(p.name for p in results.rglob("*") if p.is_file())
    assert len([n for n in uploaded if n.endswith(".out")]) == 12
    starts = [line for line in marker_lines(env) if line.startswith("start")]
    assert sorted(line.split()[1] for line in starts) == sorted(ids)  # each token ran once
    assert not list((tmp_path / "jobs").iterdir())  # job directories cleaned up


CASES = {
    # token id suffix: (token fields, srm.txt, expected output)
    "ok": ({}, "INPUT", 0),
    "pipeline_fails": ({"MODE": "fail"}, "INPUT", 7),
    "empty_sandbox": ({"SBXloc": "EMPTY"}, "INPUT", int(ErrorCode.SANDBOX_EMPTY)),
    "no_srm": ({}, "", int(ErrorCode.NO_DOWNLOAD_FILE)),
    "missing_input": ({}, "MISSING", int(ErrorCode.DOWNLOAD_FAILED)),
    "sandbox_checksum": (
        {"SBXchecksum": "adler32:00000001"},
        "INPUT",
        int(ErrorCode.SANDBOX_CHECKSUM_MISMATCH),
    ),
    "unsafe_sandbox": ({"SBXloc": "UNSAFE"}, "INPUT", int(ErrorCode.SANDBOX_UNSAFE)),
    "sandbox_missing": ({"SBXloc": "NOWHERE"}, "INPUT", int(ErrorCode.SANDBOX_DOWNLOAD_FAILED)),
    "no_pipeline": ({"SBXloc": "", "command": ""}, "INPUT", int(ErrorCode.PIPELINE_MISSING)),
    "nothing_to_upload": ({"MODE": "noout"}, "INPUT", int(ErrorCode.NO_UPLOAD_FILES)),
    "results_exist": ({"RESULTS_DIR": "EXISTS"}, "INPUT", int(ErrorCode.UPLOAD_EXISTS)),
    "results_no_parent": ({"RESULTS_DIR": "NOPARENT"}, "INPUT", int(ErrorCode.UPLOAD_NO_PARENT)),
    "walltime": (
        {"MODE": "sleep", "SLEEP": "20", "walltime": 1},
        "INPUT",
        int(ErrorCode.PIPELINE_WALLTIME),
    ),
    "command": ({"SBXloc": "", "command": "echo from-command > Output/r.txt"}, "INPUT", 0),
}


def test_every_documented_code_path_ends_in_the_token(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    sandbox = make_sandbox(tmp_path / "sbx" / "good.tar.gz")
    empty = tmp_path / "sbx" / "empty.tar"
    empty.write_bytes(b"")
    unsafe = make_sandbox(tmp_path / "sbx" / "unsafe.tar.gz", {"../escape.sh": "echo hi"})
    good_input = make_inputs(tmp_path / "data", ["SB000.MS"])[0]
    results = tmp_path / "results"
    (results / "exists").mkdir(parents=True)
    (results / "exists" / "SB000.MS.out").write_text("from an earlier run")
    subst = {
        "EMPTY": empty.as_uri(),
        "UNSAFE": unsafe.as_uri(),
        "NOWHERE": (tmp_path / "sbx" / "nowhere.tar").as_uri(),
        "INPUT": good_input,
        "MISSING": (tmp_path / "data" / "gone.MS").as_uri(),
        "EXISTS": (results / "exists").as_uri(),
        "NOPARENT": (results / "no" / "such" / "dir").as_uri(),
    }
    docs = []
    for name, (fields, srm, _code) in CASES.items():
        values = {
            "SBXloc": sandbox.as_uri(),
            "RESULTS_DIR": (results / name).as_uri(),
            "MODE": "ok",
            **fields,
        }
        values = {k: subst.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
        if name not in ("results_exist", "results_no_parent"):
            (results / name).mkdir()
        docs.append(_token(f"t_{name}", srm=subst.get(srm, srm), **values))
    _save(db, docs)

    done = run_launcher(env, TYPE, "--walltime", "60", timeout=240)
    assert done.returncode == 0, done.stderr

    got = {name: db.get(f"t_{name}") for name in CASES}
    for name, (_fields, _srm, code) in CASES.items():
        doc = got[name]
        assert doc["output"] == code, (name, doc.get("launcher_status"))
        assert doc["done"] > 0, name
        assert doc["status"] == ("done" if code == 0 else "error"), name
        if code not in (0, 7):
            assert doc["launcher_status"], name  # the launcher says what went wrong
    assert (
        "boom: pipeline failed"
        in db.get_attachment("t_pipeline_fails", "attempt1_stderr.log").decode()
    )
    assert (results / "command" / "r.txt").read_text().strip() == "from-command"
    assert (results / "exists" / "SB000.MS.out").read_text() == "from an earlier run"


def test_two_launchers_race_for_one_token_and_one_wins(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    sandbox = make_sandbox(tmp_path / "sbx.tar.gz")
    (tmp_path / "results").mkdir()
    _save(
        db,
        [
            _token(
                "t_only",
                srm=make_inputs(tmp_path / "d", ["a.MS"])[0],
                MODE="ok",
                SBXloc=sandbox.as_uri(),
                RESULTS_DIR=(tmp_path / "results").as_uri(),
            )
        ],
    )
    racers = [start_launcher(env, TYPE) for _ in range(2)]
    for proc in racers:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    starts = [line for line in marker_lines(env) if line.startswith("start")]
    assert starts == ["start t_only 1"]
    doc = db.get("t_only")
    assert (doc["attempt"], doc["output"], doc["scrub_count"]) == (1, 0, 0)


def _sleeping_token(db: CouchDB, tmp_path: Path, seconds: int) -> None:
    sandbox = make_sandbox(tmp_path / "sbx.tar.gz")
    (tmp_path / "results").mkdir(exist_ok=True)
    _save(
        db,
        [
            _token(
                "t_long",
                srm=make_inputs(tmp_path / "d", ["a.MS"])[0],
                MODE="sleep",
                SLEEP=str(seconds),
                SBXloc=sandbox.as_uri(),
                RESULTS_DIR=(tmp_path / "results").as_uri(),
            )
        ],
    )


def test_sigterm_puts_the_token_back_and_exits_143(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    _sleeping_token(db, tmp_path, 60)
    proc = start_launcher(env, TYPE)
    wait_for(lambda: status_of(db, "t_long") == "running", what="the pipeline to run")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert time.monotonic() - started < 15  # grace 2 s, not the pipeline's 60 s
    doc = db.get("t_long")
    assert state_of(doc) is TokenState.TODO
    assert (doc["scrub_count"], doc["lock"], doc["attempt"]) == (1, 0, 1)
    assert "SIGTERM" in doc["history"][-1]["reason"]
    assert "attempt1_stdout.log" in doc["_attachments"]  # the interrupted attempt's log stays


def test_sigterm_to_every_process_of_the_job_puts_the_token_back(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    """Issue 10: a batch system that ends a job (Slurm's time limit, scancel) signals every
    process of it at once, so the pipeline can die of SIGTERM before the launcher's handler
    has run. The token used to end in error with the pipeline's 143; it goes back to todo."""
    _sleeping_token(db, tmp_path, 60)
    proc = start_launcher(env, TYPE)
    wait_for(lambda: status_of(db, "t_long") == "running", what="the pipeline to run")
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    (pipeline,) = [int(pid) for pid in children]
    os.killpg(pipeline, signal.SIGTERM)  # the pipeline's group first, as the batch system may
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    doc = db.get("t_long")
    assert state_of(doc) is TokenState.TODO, (doc.get("output"), err[-2000:])
    assert (doc["scrub_count"], doc["lock"]) == (1, 0)
    assert "SIGTERM" in doc["history"][-1]["reason"]


def test_kill_9_then_lease_expiry_then_another_launcher_completes_once(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    _sleeping_token(db, tmp_path, 3)
    victim = start_launcher(env, TYPE)
    wait_for(lambda: status_of(db, "t_long") == "running", what="the pipeline to run")
    victim.kill()  # SIGKILL: no handler runs, the token stays locked
    victim.communicate(timeout=30)
    locked = db.get("t_long")
    assert state_of(locked) is TokenState.LOCKED
    # Before the lease runs out, a launcher told not to linger finds no work and leaves the
    # token alone.
    early = run_launcher(dict(env, LRT_LINGER="0"), TYPE)
    assert early.returncode == 0
    assert db.get("t_long")["attempt"] == 1
    wait_for(lambda: time.time() > locked["lease_expires"] + 0.2, what="the lease to expire")
    rescuer = run_launcher(env, TYPE)
    assert rescuer.returncode == 0, rescuer.stderr
    doc = db.get("t_long")
    assert state_of(doc) is TokenState.DONE
    assert (doc["attempt"], doc["scrub_count"], doc["output"]) == (2, 1, 0)
    assert "lease expired" in doc["history"][0]["reason"]
    # The killed launcher's orphaned pipeline may have finished too, but its results went
    # nowhere: only attempt 2 completed through a launcher.
    done_lines = [line for line in marker_lines(env) if line.startswith("done t_long 2")]
    assert len(done_lines) == 1


def test_a_launcher_waits_for_a_dead_launchers_lease_and_completes_the_token(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    """Issue 9, finding 7: the todo view is empty, but a lease of a dead launcher is running
    out: a launcher started now waits for it (within --linger) instead of exiting."""
    _sleeping_token(db, tmp_path, 3)
    victim = start_launcher(env, TYPE)
    wait_for(lambda: status_of(db, "t_long") == "running", what="the pipeline to run")
    victim.kill()
    victim.communicate(timeout=30)
    lease_expires = db.get("t_long")["lease_expires"]
    started = time.time()
    assert started < lease_expires, "the machine was too slow for the test's lease"
    patient = run_launcher(dict(env, LRT_LINGER="60"), TYPE)
    assert patient.returncode == 0, patient.stderr
    doc = db.get("t_long")
    assert state_of(doc) is TokenState.DONE
    assert (doc["attempt"], doc["scrub_count"]) == (2, 1)
    assert "waiting" in patient.stderr and "lease" in patient.stderr
    assert time.time() >= lease_expires  # it did wait for the lease, it did not steal it


def test_a_launcher_does_not_wait_for_a_live_launchers_lease(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    _sleeping_token(db, tmp_path, 12)
    busy = start_launcher(env, TYPE)
    wait_for(lambda: status_of(db, "t_long") == "running", what="the pipeline to run")
    started = time.monotonic()
    idle = run_launcher(dict(env, LRT_LINGER="60"), TYPE)
    assert idle.returncode == 0 and "no todo tokens left" in idle.stderr
    assert time.monotonic() - started < 8  # it saw the lease renewed: its launcher lives
    assert status_of(db, "t_long") == "running"
    busy.terminate()
    busy.communicate(timeout=60)


def test_a_launcher_does_not_wait_beyond_its_linger(
    db: CouchDB, env: Dict[str, str], tmp_path: Path
) -> None:
    _sleeping_token(db, tmp_path, 3)
    victim = start_launcher(dict(env, LRT_LEASE="60", LRT_HEARTBEAT="5"), TYPE)
    wait_for(lambda: status_of(db, "t_long") == "running", what="the pipeline to run")
    victim.kill()
    victim.communicate(timeout=30)
    started = time.monotonic()
    quick = run_launcher(dict(env, LRT_LINGER="2"), TYPE)
    assert quick.returncode == 0 and "no todo tokens left" in quick.stderr
    assert time.monotonic() - started < 30  # the 60 s lease is beyond the 2 s linger
    assert db.get("t_long")["attempt"] == 1


def test_without_credentials_exit_1_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PICAS_")}
    env["PICASRC"] = str(tmp_path / "none")
    result = run_launcher(env, TYPE)
    assert result.returncode == 1
    assert "PICAS_USR" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_server_exit_1_with_a_message(
    couchdb_server: CouchServer, tmp_path: Path
) -> None:
    env = launcher_env(
        couchdb_server, "x", tmp_path, PICAS_URL="http://127.0.0.1:9", LRT_OUTAGE="3"
    )
    result = run_launcher(env, TYPE, timeout=120)
    assert result.returncode == 1
    assert "cannot reach the CouchDB server" in result.stderr
    assert "Traceback" not in result.stderr
    assert couchdb_server.password not in result.stderr if couchdb_server.password else True


def test_no_work_exits_0(db: CouchDB, env: Dict[str, str]) -> None:
    result = run_launcher(env, TYPE)
    assert result.returncode == 0
    assert "no todo tokens left" in result.stderr
