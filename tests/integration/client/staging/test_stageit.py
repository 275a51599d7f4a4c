"""StageItStager against the loopback StageIT simulator (https, real graphql-core executor),
every method and every error mapping; no token in any message or log line (issue 11)."""

from __future__ import annotations

import datetime
import logging
import socket
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from grid_lrt.client.devtools import macaroons
from grid_lrt.client.devtools.stageit_simulator import StageItSimulator
from grid_lrt.client.staging.base import (
    StageRequest,
    StageStatus,
    StagingError,
    UnknownRequestError,
    wait_until_done,
)
from grid_lrt.client.staging.stageit import (
    StageItConnectionError,
    StageItCredentialsError,
    StageItMacaroon,
    StageItServiceError,
    StageItStager,
)
from grid_lrt.shared import surl

TOKEN = "tok-5be1d0c9a7f34e12-secret"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507"
JUELICH = "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/projects/x/1"
GFAL = "srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=/pnfs/grid.sara.nl/data/lofar/L1_SB0.tar"


def sara(n: int, extra: str = "", start: int = 0) -> List[str]:
    return [f"{SARA}/L229507_SB{i:04d}_uv{extra}.MS.tar" for i in range(start, start + n)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    for var in (
        "LOFAR_LTA_TOKEN",
        "LOFAR_LTA_HOST",
        "LRT_STAGEIT_URL",
        "LOFAR_LTA_USER",
        "LOFAR_LTA_PWD",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(var, raising=False)
    return h


@pytest.fixture
def sim(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StageItSimulator]:
    with StageItSimulator(token=TOKEN, delay=0.2, macaroon_lifetime=3600) as s:
        for key, value in s.client_env.items():
            monkeypatch.setenv(key, value)
        yield s


@pytest.fixture
def stager(sim: StageItSimulator) -> Iterator[StageItStager]:
    st = StageItStager(token=TOKEN, host=sim.host, timeout=10)
    yield st
    st.close()


def _wait(stager: StageItStager, request: StageRequest) -> List[StageStatus]:
    seen: List[StageStatus] = []

    def note(status: StageStatus, online: int, total: int) -> None:
        if not seen or seen[-1] != status:
            seen.append(status)

    wait_until_done(stager, request, timeout=10, interval=0.01, progress=note)
    return seen


def _no_token(err: BaseException) -> None:
    assert TOKEN not in str(err) + getattr(err, "hint", "") + repr(err)
    assert err.__context__ is None and err.__cause__ is None


# ---- the Stager port ------------------------------------------------------------------------


def test_submit_posts_asastron_and_progresses_to_success(
    sim: StageItSimulator, stager: StageItStager
) -> None:
    staged: List[List[str]] = []
    sim.on_online = staged.append
    links = sara(3)
    request = stager.submit([" " + links[0] + " ", links[1], links[0], "", links[2]])
    assert request.backend == "stageit" and request.surls == links
    (post,) = [s for s in sim.requests_seen if s.method == "POST" and s.path == "requests/"]
    assert post.body == {"surls": links, "notify": True, "request_type": "stage"}
    assert post.authorised and post.status == 201
    seen = _wait(stager, request)
    assert seen[-1] is StageStatus.SUCCESS and StageStatus.IN_PROGRESS in seen
    assert stager.online(request) == links == stager.surls_online(request.request_id)
    assert stager.failed(request) == {} and stager.surls_pending(request) == []
    assert staged == [links]
    assert stager.surls_requested(int(request.request_id)) == links
    assert sim.calls["POST graphql/"] >= 3


def test_notify_false_and_a_single_string(sim: StageItSimulator, home: Path) -> None:
    st = StageItStager(token=TOKEN, host=sim.host, notify=False)
    try:
        request = st.submit(sara(1)[0])
        st.submit(sara(1), notify=True)
    finally:
        st.close()
    posts = [s.body for s in sim.requests_seen if s.path == "requests/"]
    assert posts[0] == {"surls": sara(1), "notify": False, "request_type": "stage"}
    assert posts[1]["notify"] is True and request.surls == sara(1)


def test_bad_surls_end_partial_or_failed_with_reasons(stager: StageItStager) -> None:
    good = sara(2)
    bad = [GFAL, *sara(1, extra="_fail"), "srm://srm.example.org:8443/pnfs/x/L1_SB000.tar"]
    request = stager.submit(good + bad)
    assert set(stager.surls_pending(request)) == set(good + bad)
    assert _wait(stager, request)[-1] is StageStatus.PARTIAL
    assert stager.online(request) == good
    failed = stager.failed(request)
    assert set(failed) == set(bad)
    assert "catalogue" in failed[GFAL] and "tape" in failed[bad[1]]
    only_bad = stager.submit(bad)
    assert _wait(stager, only_bad)[-1] is StageStatus.FAILED
    assert stager.online(only_bad) == [] and set(stager.failed(only_bad)) == set(bad)


def test_abort(sim: StageItSimulator, stager: StageItStager) -> None:
    sim.delay = 3600
    request = stager.submit(sara(2))
    stager.abort(request)
    assert stager.status(request) is StageStatus.ABORTED
    put = sim.requests_seen[-2]
    assert (put.method, put.path, put.body, put.status) == (
        "PUT",
        f"requests/{request.request_id}/abort/",
        {},
        202,
    )


def test_hold_and_reschedule(sim: StageItSimulator, stager: StageItStager) -> None:
    sim.delay = 3600
    request = stager.submit(sara(2))
    sim.hold(request.request_id)
    status = stager.status(request)
    assert status is StageStatus.ON_HOLD and not status.finished
    answer = stager.reschedule(request)
    patch = [s for s in sim.requests_seen if s.method == "PATCH"][-1]
    assert patch.path == f"requests/{request.request_id}/"
    assert patch.body == {"current_status_code": "S"}
    assert answer["current_status_code"] == "S"
    assert stager.status(request) is StageStatus.SCHEDULED
    sim.delay = 0.2
    assert _wait(stager, request)[-1] is StageStatus.SUCCESS


def test_srm_token(stager: StageItStager) -> None:
    request = stager.submit(sara(1))
    token = stager.srm_token(request)
    assert isinstance(token, str) and token


def test_progress_and_its_filters(sim: StageItSimulator, stager: StageItStager) -> None:
    sim.delay = 3600
    first = stager.submit(sara(2))
    second = stager.submit(sara(3, start=10))
    stager.abort(second)
    nodes = stager.progress()
    assert set(nodes) == {first.request_id, second.request_id}
    node = nodes[first.request_id]
    assert {
        "id",
        "requestToken",
        "requestType",
        "when",
        "response",
        "currentStatusCode",
        "surls",
    } <= set(node)
    assert node["surls"] == [{"surl": s} for s in sara(2)] and node["currentStatusCode"] == "N"
    assert set(stager.progress("A")) == {second.request_id}
    assert set(stager.progress("A", exclude=True)) == {first.request_id}
    assert set(stager.progress(only_last24h=True)) == set(nodes)
    queries = [s.body["query"] for s in sim.requests_seen if s.path == "graphql/"]
    assert 'currentStatusCode_Ne: "A"' in queries[-2] and "when_Gte:" in queries[-1]
    assert "edges { node {" in queries[-1]


def test_active_files_counts_unfinished_requests(
    sim: StageItSimulator, stager: StageItStager
) -> None:
    sim.delay = 3600
    first = stager.submit(sara(4))
    stager.submit(sara(3, start=10))
    assert stager.active_files() == 7
    stager.abort(first)
    assert stager.active_files() == 3
    sim.delay = 0.01
    sim.tick()
    assert stager.active_files() == 0


def test_macaroons_per_site_checked_with_the_secret(
    sim: StageItSimulator, stager: StageItStager
) -> None:
    juelich = f"{JUELICH}/L229507_SB001_uv.MS.tar"
    request = stager.submit([*sara(2), juelich])
    assert stager.macaroons(request) == []  # not before the files are online
    _wait(stager, request)
    found = stager.macaroons(request)
    assert all(isinstance(m, StageItMacaroon) for m in found)
    by_site = {m.site: m for m in found}
    assert set(by_site) == {"sara", "juelich"}
    now = datetime.datetime.now(datetime.timezone.utc)
    for m in found:
        assert datetime.timedelta(minutes=50) < m.valid_until - now < datetime.timedelta(hours=1)
    path = surl.path_of(sara(1)[0])
    assert (
        macaroons.check(sim.macaroon_secret, by_site["sara"].content, site="sara", path=path)
        is None
    )
    assert macaroons.check(sim.macaroon_secret, by_site["juelich"].content, site="sara", path=path)
    assert macaroons.check(b"another secret", by_site["sara"].content, site="sara", path=path)
    assert by_site["sara"].content not in repr(found)


def test_webdav_and_gridftp_urls(sim: StageItSimulator, stager: StageItStager) -> None:
    sim.doors = {"sara": "https://127.0.0.1:2880"}
    links = sara(2)
    request = stager.submit([*links, GFAL])
    webdav = stager.webdav_urls(request)
    assert webdav == {s: "https://127.0.0.1:2880" + surl.path_of(s) for s in links}
    assert stager.gridftp_urls(request) == {s: surl.to_gsiftp(s) for s in links}


def test_base_url_override(sim: StageItSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRT_STAGEIT_URL", sim.url.rstrip("/"))
    st = StageItStager(token=TOKEN, host="sdc.invalid")
    try:
        assert st.url == sim.url
        assert st.status(st.submit(sara(1))) in (StageStatus.NEW, StageStatus.SCHEDULED)
    finally:
        st.close()


# ---- errors ---------------------------------------------------------------------------------


def test_wrong_token_is_a_credentials_error(sim: StageItSimulator) -> None:
    st = StageItStager(token="wrong-token-value", host=sim.host)
    with pytest.raises(StageItCredentialsError) as info:
        st.submit(sara(1))
    st.close()
    err = info.value
    assert "HTTP 401" in str(err) and "Invalid token" in str(err)
    assert "SDC portal" in err.hint and "~/.stagingrc" in err.hint
    assert "wrong-token-value" not in str(err) + err.hint
    assert sim.requests_seen[-1].authorised is False and sim.requests_seen[-1].status == 401


def test_403_is_a_credentials_error(sim: StageItSimulator, stager: StageItStager) -> None:
    sim.fail_next(403, {"detail": "You do not have permission to perform this action."})
    with pytest.raises(StageItCredentialsError, match="permission") as info:
        stager.status(1)
    _no_token(info.value)


def test_graphql_errors_carry_the_reason(stager: StageItStager) -> None:
    with pytest.raises(UnknownRequestError, match="Request matching query does not exist") as info:
        stager.status(999999)
    assert "knows no request 999999" in info.value.message
    _no_token(info.value)


def test_graphql_validation_errors_are_service_errors(stager: StageItStager) -> None:
    client = stager._client()
    with pytest.raises(StageItServiceError, match="Cannot query field 'nosuch'"):
        client.graphql("{ request(id: 1) { nosuch } }")
    with pytest.raises(StageItServiceError, match="Syntax Error"):
        client.graphql("{ request(id: ")


def test_other_http_errors_carry_the_service_message(
    sim: StageItSimulator, stager: StageItStager
) -> None:
    sim.fail_next(500, {"detail": "database is down for maintenance"})
    with pytest.raises(StageItServiceError, match=r"HTTP 500.*database is down") as info:
        stager.submit(sara(1))
    _no_token(info.value)
    with pytest.raises(StageItServiceError, match=r"HTTP 404.*Not found"):
        stager.abort(123456)
    with pytest.raises(StageItServiceError, match="HTTP 400"):
        stager._client().rest("POST", "requests/", {"surls": []})


def test_request_over_1000_files_is_refused_with_the_message(stager: StageItStager) -> None:
    with pytest.raises(
        StageItServiceError, match="at most 1000 files; this one holds 1001"
    ) as info:
        stager.submit(sara(1001))
    _no_token(info.value)
    assert stager.submit(sara(1000)).request_id


def test_more_than_5000_in_flight_is_refused_with_the_message(
    sim: StageItSimulator, stager: StageItStager
) -> None:
    sim.delay = 3600
    for k in range(5):
        stager.submit(sara(1000, start=1000 * k))
    assert stager.active_files() == 5000
    with pytest.raises(StageItServiceError, match="unfinished requests hold 5000 files"):
        stager.submit(sara(1, start=9000))
    stager.abort(stager.progress("N").popitem()[0])
    assert stager.submit(sara(1, start=9000)).request_id


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused(home: Path) -> None:
    st = StageItStager(token=TOKEN, host=f"127.0.0.1:{_closed_port()}", timeout=5)
    with pytest.raises(StageItConnectionError, match="Cannot reach StageIT") as info:
        st.status(1)
    _no_token(info.value)
    assert "hostname=" in info.value.hint


def test_untrusted_certificate_is_a_connection_error(
    sim: StageItSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in sim.client_env:
        monkeypatch.delenv(key)
    st = StageItStager(token=TOKEN, host=sim.host)
    with pytest.raises(StageItConnectionError, match="TLS") as info:
        st.status(1)
    st.close()
    _no_token(info.value)


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_each_ca_variable_is_honoured(
    sim: StageItSimulator, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for key in sim.client_env:
        monkeypatch.delenv(key)
    monkeypatch.setenv(variable, str(sim.ca_file))
    st = StageItStager(token=TOKEN, host=sim.host)
    try:
        assert st.submit(sara(1)).request_id
    finally:
        st.close()


def test_time_out_is_a_connection_error(sim: StageItSimulator) -> None:
    sim.answer_delay = 1.5
    st = StageItStager(token=TOKEN, host=sim.host, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(StageItConnectionError, match=r"no answer within 0.3 s") as info:
        st.status(1)
    st.close()
    assert time.monotonic() - started < 1.4
    _no_token(info.value)
    sim.answer_delay = 0


def test_every_failure_is_a_staging_error_and_no_token_is_logged(
    sim: StageItSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        st = StageItStager(token=TOKEN, host=sim.host, timeout=10)
        request = st.submit(sara(2))
        _wait(st, request)
        st.macaroons(request)
        st.progress()
        for call in (lambda: st.status(424242), lambda: st.abort(424242), st.storage_info):
            with pytest.raises(StagingError) as info:
                call()
            assert not isinstance(info.value, SystemExit)
            _no_token(info.value)
        st.close()
        bad = StageItStager(token=TOKEN + "x", host=sim.host)
        with pytest.raises(StagingError):
            bad.progress()
        bad.close()
    assert caplog.records and TOKEN not in caplog.text
