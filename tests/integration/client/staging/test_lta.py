"""The LTA stager client against the loopback simulator, through a real ``ServerProxy``."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path
from typing import Iterator, List

import pytest

from grid_lrt.client.devtools.lta_simulator import LtaSimulator
from grid_lrt.client.staging import stage_all_LTA, stager_access
from grid_lrt.client.staging.base import StageRequest, StageStatus, wait_until_done
from grid_lrt.client.staging.errors import SrmFileError
from grid_lrt.client.staging.lta import LtaConnectionError, LtaStager, parse_status, redact_url
from grid_lrt.client.staging.ltacreds import LtaCredentialsError, get_staging_creds

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507"
JUELICH = "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/projects/x/1"
PASSWORD = "s3cr3t-Pa55w0rd"


def sara(n: int, obsid: str = "L229507", extra: str = "") -> List[str]:
    return [f"{SARA}/{obsid}_SB{i:03d}_uv{extra}.MS.tar" for i in range(n)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home directory and no LTA variables in the environment."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    for var in ("LOFAR_LTA_USER", "LOFAR_LTA_PWD", "LRT_LTA_URL"):
        monkeypatch.delenv(var, raising=False)
    return h


@pytest.fixture
def sim(home: Path) -> Iterator[LtaSimulator]:
    with LtaSimulator(user="alice", password=PASSWORD, delay=0.05, linger=30) as s:
        yield s


@pytest.fixture
def stager(sim: LtaSimulator) -> LtaStager:
    return LtaStager(sim.url, user="alice", password=PASSWORD, timeout=10)


@pytest.fixture
def default_via_env(sim: LtaSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LRT_LTA_URL", sim.url)
    monkeypatch.setenv("LOFAR_LTA_USER", "alice")
    monkeypatch.setenv("LOFAR_LTA_PWD", PASSWORD)
    stager_access.set_default_stager(None)
    yield
    stager_access.set_default_stager(None)


def _wait(stager: LtaStager, request: StageRequest) -> List[StageStatus]:
    seen: List[StageStatus] = []

    def note(status: StageStatus, online: int, total: int) -> None:
        if not seen or seen[-1] != status:
            seen.append(status)

    final = wait_until_done(stager, request, timeout=10, interval=0.01, progress=note)
    assert final == seen[-1]
    return seen


# ---- requests ---------------------------------------------------------------------------


def test_submit_progresses_to_success(sim: LtaSimulator, stager: LtaStager) -> None:
    online: List[List[str]] = []
    sim.on_online = online.append
    links = sara(3)
    request = stager.submit(links)
    assert request.backend == "lta" and request.surls == links
    seen = _wait(stager, request)
    order = [StageStatus.NEW, StageStatus.SCHEDULED, StageStatus.IN_PROGRESS, StageStatus.SUCCESS]
    assert seen[-1] is StageStatus.SUCCESS
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert len(seen) >= 3  # the intermediate states were seen
    assert sorted(stager.online(request)) == sorted(links)
    # SURLs went out as given (the LTA matches the catalogue's plain srm:// form), and the
    # hook saw them.
    sent = stager.surls_online(request)
    assert sent == links
    assert online == [sent]
    progress = stager.progress()[request.request_id]
    assert progress["Status"] == "success"
    assert progress["File count"] == "3" and progress["Percent done"] == "100"
    assert progress["Location"] == "sara" and progress["User id"] == "alice"
    assert stager.srm_token(request)
    assert stager.storage_info()


def test_surls_in_the_gfal_form_are_not_in_the_catalogue(sim: LtaSimulator) -> None:
    """The simulator matches SURLs as the LTA does: the ``srm/managerv2?SFN=`` form of a
    catalogued file is unknown to it, so such a request never stages (issue 9, finding 15)."""
    plain = sara(2)
    gfal = [s.replace(":8443/pnfs/", ":8443/srm/managerv2?SFN=/pnfs/") for s in plain]
    proxy = LtaStager(sim.url, user="alice", password=PASSWORD)
    failed = proxy.submit(gfal)
    assert _wait(proxy, failed)[-1] is StageStatus.FAILED
    assert proxy.surls_online(failed) == []
    mixed = proxy.submit([gfal[0], plain[1]])
    assert _wait(proxy, mixed)[-1] is StageStatus.PARTIAL
    assert proxy.surls_online(mixed) == [plain[1]]


def test_failing_variants(stager: LtaStager) -> None:
    partial = stager.submit(sara(2) + sara(1, extra="_fail"))
    failed = stager.submit(sara(2, extra="_fail"))
    assert _wait(stager, partial)[-1] is StageStatus.PARTIAL
    assert len(stager.online(partial)) == 2
    assert _wait(stager, failed)[-1] is StageStatus.FAILED
    assert stager.online(failed) == []


def test_abort_and_reschedule(stager: LtaStager) -> None:
    request = stager.submit(sara(2))
    stager.abort(request)
    assert stager.status(request) is StageStatus.ABORTED
    stager.reschedule(request)
    assert _wait(stager, request)[-1] is StageStatus.SUCCESS


def test_unknown_and_forgotten_ids_are_finished_or_unknown(home: Path) -> None:
    for fault in (False, True):
        with LtaSimulator(
            user="u", password=PASSWORD, delay=0.02, linger=0.1, unknown_status_fault=fault
        ) as s:
            stager = LtaStager(s.url, user="u", password=PASSWORD)
            assert stager.status(987654) is StageStatus.FINISHED_OR_UNKNOWN
            request = stager.submit(sara(1))
            deadline = time.monotonic() + 5
            while stager.status(request) is not StageStatus.FINISHED_OR_UNKNOWN:
                assert time.monotonic() < deadline, "finished request never forgotten"
                time.sleep(0.02)
            assert request.request_id not in stager.progress()


def test_5000_surls_make_one_call(sim: LtaSimulator, stager: LtaStager) -> None:
    request = stager.submit(sara(5000, obsid="L123456")[:5000])
    assert sim.calls["add_getid"] == 1
    assert stager.progress()[request.request_id]["File count"] == "5000"


def test_status_words() -> None:
    assert parse_status("partial success") is StageStatus.PARTIAL
    assert parse_status(None) is StageStatus.FINISHED_OR_UNKNOWN
    assert parse_status("on hold") is StageStatus.ON_HOLD  # issue 11: shown, not finished
    assert not StageStatus.ON_HOLD.finished
    assert parse_status("whatever else") is StageStatus.SCHEDULED
    assert redact_url("https://u:p@host/x") == "https://***@host/x"


# ---- errors -----------------------------------------------------------------------------


def _all_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_wrong_password_is_a_credentials_error(sim: LtaSimulator) -> None:
    wrong = "Wr0ng-" + PASSWORD
    stager = LtaStager(sim.url, user="alice", password=wrong)
    with pytest.raises(LtaCredentialsError) as info:
        stager.submit(sara(1))
    text = _all_text(info.value) + info.value.hint + repr(stager)
    assert wrong not in text and PASSWORD not in text
    assert "refused the credentials" in str(info.value)
    assert "LOFAR_LTA_PWD" in info.value.hint and ".stagingrc" in info.value.hint
    assert sim.calls["401"] == 1 and sim.calls["add_getid"] == 0


def test_password_in_url_is_not_shown(sim: LtaSimulator) -> None:
    url = sim.url.replace("http://", f"http://alice:{PASSWORD}@")
    stager = LtaStager(url, user="alice", password=PASSWORD)
    assert PASSWORD not in repr(stager) and PASSWORD not in stager.url
    assert stager.status(stager.submit(sara(1))) is not StageStatus.FAILED


def test_unreachable_url_is_a_clear_error(home: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stager = LtaStager(f"http://bob:{PASSWORD}@127.0.0.1:{port}/xmlrpc", user="b", password="x")
    with pytest.raises(LtaConnectionError) as info:
        stager.submit(sara(1))
    assert "Cannot reach the LTA stager" in str(info.value)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert PASSWORD not in _all_text(info.value)


# ---- credentials ------------------------------------------------------------------------


def test_credentials_lookup_order(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOFAR_LTA_USER", "env-user")
    monkeypatch.setenv("LOFAR_LTA_PWD", "env-pw")
    assert get_staging_creds() == ("env-user", "env-pw")
    (home / ".stagingrc").write_text("user=rc-user\npassword=rc=pw\n")
    assert get_staging_creds() == ("rc-user", "rc=pw")
    (home / ".awe").mkdir()
    awe = home / ".awe" / "Environment.cfg"
    awe.write_text("database_user : awe-user\ndatabase_password : awe:pw\n")
    assert get_staging_creds() == ("awe-user", "awe:pw")
    assert get_staging_creds("arg-user", "arg-pw") == ("arg-user", "arg-pw")
    # Environment.cfg exists without the keys: .stagingrc is skipped, the variables still count.
    awe.write_text("something : else\n")
    assert get_staging_creds() == ("env-user", "env-pw")


def test_no_credentials_names_files_and_variables(home: Path) -> None:
    with pytest.raises(LtaCredentialsError) as info:
        get_staging_creds()
    text = str(info.value) + info.value.hint
    for needle in ("~/.awe/Environment.cfg", "~/.stagingrc", "LOFAR_LTA_USER", "LOFAR_LTA_PWD"):
        assert needle in text
    # and the stager reports it at the first call, not at construction
    stager = LtaStager("http://127.0.0.1:9/xmlrpc")
    with pytest.raises(LtaCredentialsError):
        stager.status(1)


def test_import_does_no_io(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import builtins, io, pathlib, socket
        def refuse(*a, **k):
            raise AssertionError("I/O at import")
        builtins.open = io.open = refuse
        pathlib.Path.read_text = pathlib.Path.is_file = refuse
        socket.socket.connect = refuse
        from grid_lrt.client.staging import stager_access, stage_all_LTA, lta, ltacreds
        from grid_lrt.client.compat import stager_access, stage_all_LTA, state_all
        """
    )
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


# ---- the seed module API ----------------------------------------------------------------


@pytest.mark.usefixtures("default_via_env")
def test_stage_one_surl_string(sim: LtaSimulator) -> None:
    stageid = stager_access.stage(sara(1)[0])
    assert isinstance(stageid, int)
    assert stager_access.get_progress()[str(stageid)]["File count"] == "1"
    assert stager_access.get_status(stageid) in {"new", "scheduled", "in progress", "success"}
    assert stager_access.get_srm_token(stageid)
    assert stager_access.get_status(424242) == "finished or unknown"
    assert stager_access.reschedule(stageid) is True
    stager_access.abort(stageid)
    assert stager_access.get_status(stageid) == "aborted"
    assert stager_access.get_surls_online(stageid) == []
    assert stager_access.get_storage_info()


@pytest.mark.usefixtures("default_via_env")
def test_stage_all_lta_main(sim: LtaSimulator, tmp_path: Path) -> None:
    srm = tmp_path / "srm.txt"
    srm.write_text("\n".join(sara(4)) + "\n")
    assert stage_all_LTA.location(srm) == "sara"
    stageid = stage_all_LTA.main(srm)
    assert sim.calls["add_getid"] == 1
    assert stage_all_LTA.get_stage_status(stageid) != "finished or unknown"
    assert stager_access.get_progress()[str(stageid)]["File count"] == "4"


def test_stage_all_lta_refuses_mixed_and_unknown(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(f"{sara(1)[0]}\n{JUELICH}/L229507_SB001_uv.MS.tar\n")
    with pytest.raises(SrmFileError, match=r"line 2"):
        stage_all_LTA.main(mixed)
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("srm://srm.example.org:8443/pnfs/example.org/L229507_SB000.tar\n")
    with pytest.raises(SrmFileError, match=r"line 1"):
        stage_all_LTA.location(unknown)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(SrmFileError, match="no SURLs"):
        stage_all_LTA.main(empty)
