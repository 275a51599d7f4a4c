"""gfal2 staging backend and state checks against the real gfal2 library.

file:// and mock:// need only the gfal2 plugins; the https tests use the loopback tape archive
(WebDAV + WLCG Tape REST), where files really go NEARLINE -> ONLINE.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, List

import pytest

from grid_lrt.client.staging import state_all
from grid_lrt.client.staging.base import FileState, StageStatus, wait_until_done
from grid_lrt.client.staging.gfal import GfalStager, check_states, describe_error

pytestmark = pytest.mark.usefixtures("gfal2_module")


def _write(archive: Any, *names: str) -> List[str]:
    for name in names:
        path = archive.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"lofar data " + name.encode())
    return [archive.url(n) for n in names]


def _poll(stager: GfalStager, request: Any, timeout: float = 20.0) -> StageStatus:
    return wait_until_done(stager, request, timeout=timeout, interval=0.2)


# ---- file:// and mock:// ------------------------------------------------------------------------


def test_file_url_has_no_user_status_error_not_crash(tmp_path: Path) -> None:
    data = tmp_path / "a.dat"
    data.write_text("x")
    [(url, state, error)] = check_states([data.as_uri()])
    assert url == data.as_uri()
    assert state is FileState.ERROR
    assert "ENODATA" in error


@pytest.mark.parametrize(
    "value", ["NEARLINE", "ONLINE", "ONLINE_AND_NEARLINE", "UNAVAILABLE", "LOST"]
)
def test_mock_user_status(value: str) -> None:
    url = f"mock://lta.example/L1/L1_SB000.MS.tar?size=10&user.status={value}"
    assert check_states([url]) == [(url, FileState(value), "")]


def test_mock_errors_are_per_file() -> None:
    good = "mock://h/ok?user.status=ONLINE"
    bad = "mock://h/missing?errno=2"
    odd = "mock://h/odd?user.status=WEIRD"
    results = check_states([bad, good, odd])
    assert [r[0] for r in results] == [bad, good, odd]
    assert results[0][1] is FileState.ERROR and "ENOENT" in results[0][2]
    assert results[1] == (good, FileState.ONLINE, "")
    assert results[2][1] is FileState.ERROR and "WEIRD" in results[2][2]


def test_expired_proxy_message_says_how_to_renew() -> None:
    class FakeGError(Exception):
        code, message = 13, "Could not load client credentials: proxy expired"

    text, proxy = describe_error("srm://srm.grid.sara.nl:8443/x", FakeGError())
    assert proxy
    assert "voms-proxy-init --voms lofar:/lofar/user" in text
    # An https EACCES without proxy words is an ordinary error.
    text, proxy = describe_error("https://h/x", type("E", (Exception,), {"code": 13})("denied"))
    assert not proxy


def test_mock_bring_online_async_then_success() -> None:
    urls = [f"mock://h/ok{i}?staging_time=1&time=0" for i in range(3)]
    stager = GfalStager()
    request = stager.submit(urls)
    assert request.request_id and request.errors == {}
    assert stager.status(request) is StageStatus.IN_PROGRESS
    started = time.monotonic()
    assert _poll(stager, request) is StageStatus.SUCCESS
    assert time.monotonic() - started < 5  # the mock counts whole seconds
    assert stager.online(request) == urls


def test_mock_staging_errno_is_per_file_partial() -> None:
    ok = "mock://h/ok?staging_time=1"
    late = "mock://h/late?staging_time=1&staging_errno=2"
    now = "mock://h/now?staging_errno=5"
    stager = GfalStager()
    request = stager.submit([ok, late, now])
    assert list(request.errors) == [now]
    assert _poll(stager, request) is StageStatus.PARTIAL
    assert set(request.errors) == {late, now}
    assert "ENOENT" in request.errors[late]
    assert stager.online(request) == [ok]


def test_mock_all_failed_and_abort() -> None:
    stager = GfalStager()
    request = stager.submit(["mock://h/a?staging_errno=2", "mock://h/b?staging_errno=2"])
    assert stager.status(request) is StageStatus.FAILED
    request = stager.submit(["mock://h/c?staging_time=30"])
    stager.abort(request)


def test_200_mock_urls_checked_concurrently() -> None:
    states = ["NEARLINE", "ONLINE", "ONLINE_AND_NEARLINE", "LOST"]
    urls = [f"mock://h/L1_SB{i:03d}.tar?user.status={states[i % 4]}" for i in range(200)]
    urls[7] = "mock://h/broken?errno=13"
    results = check_states(urls, workers=8)
    assert [r[0] for r in results] == urls
    assert results[7][1] is FileState.ERROR
    assert all(r[1] is FileState(states[i % 4]) for i, r in enumerate(results) if i != 7)


# ---- https tape archive (WLCG Tape REST) --------------------------------------------------------


def test_tape_file_nearline_then_staged_online(tape_archive: Any) -> None:
    [url] = _write(tape_archive, "tape/L1_SB000.MS.tar")
    assert check_states([url])[0][1] is FileState.NEARLINE
    stager = GfalStager(pintime=600, timeout=60)
    request = stager.submit([url])
    assert request.request_id and not request.errors
    assert tape_archive.stage_calls == 1
    assert _poll(stager, request) is StageStatus.SUCCESS
    state = check_states([url])[0][1]
    assert state.on_disk
    assert stager.online(request) == [url]


def test_tape_partial_with_failing_file(tape_archive: Any) -> None:
    ok, bad = _write(tape_archive, "tape/L1_SB001.tar", "tape/L1_SB002_fail.tar")
    stager = GfalStager()
    request = stager.submit([ok, bad])
    assert _poll(stager, request) is StageStatus.PARTIAL
    assert "mock staging failure" in request.errors[bad]


def test_make_online_flips_state(tape_archive: Any) -> None:
    disk, tape = _write(tape_archive, "disk/a.tar", "tape/b.tar")
    assert [r[1] for r in check_states([disk, tape])] == [FileState.ONLINE, FileState.NEARLINE]
    tape_archive.make_online(["tape/b.tar"])
    assert check_states([tape])[0][1] is FileState.ONLINE_AND_NEARLINE
    tape_archive.make_nearline([tape])
    assert check_states([tape])[0][1] is FileState.NEARLINE


def test_lost_and_missing_files(tape_archive: Any) -> None:
    [lost] = _write(tape_archive, "tape/L1_lost.tar")
    missing = tape_archive.url("tape/nothing.tar")
    results = check_states([lost, missing])
    assert results[0][1] is FileState.LOST
    assert results[1][1] is FileState.ERROR and "no such file" in results[1][2]


def test_client_and_launcher_read_the_same_user_status(tape_archive: Any) -> None:
    """One reader (shared/locality.py) behind ``check_states`` and ``Gfal2Storage.locality``."""
    from grid_lrt.launcher.storage import StorageError
    from grid_lrt.launcher.storage.gfal import Gfal2Storage

    urls = _write(tape_archive, "tape/L4_lost.tar", "tape/L4_SB000.tar", "disk/L4_SB001.tar")
    urls.append("mock://h/L4_SB002.tar?user.status=UNAVAILABLE")
    storage = Gfal2Storage()
    checked = check_states(urls)
    assert [state for _, state, _ in checked] == [
        FileState.LOST,  # the http plugin reports it as an error: the client keeps its text
        FileState.NEARLINE,
        FileState.ONLINE,
        FileState.UNAVAILABLE,
    ]
    assert "LOST" in checked[0][2] and [error for _, _, error in checked[1:]] == ["", "", ""]
    assert [storage.locality(url) for url in urls] == [state for _, state, _ in checked]
    missing = tape_archive.url("tape/nothing.tar")
    assert check_states([missing])[0][1] is FileState.ERROR
    with pytest.raises(StorageError, match="no such file"):  # no word: a failure, not None
        storage.locality(missing)


def test_state_all_main_on_https_links(tape_archive: Any, tmp_path: Path) -> None:
    urls = _write(tape_archive, "tape/L2_SB000.tar", "tape/L2_SB001.tar", "disk/L2_SB002.tar")
    tape_archive.make_online(["tape/L2_SB001.tar"])
    link_file = tmp_path / "links.txt"
    link_file.write_text("# staged?\n" + "\n".join(urls) + "\n\n")
    results = state_all.main(link_file, verbose=False)
    assert results == [
        ("L2_SB000.tar", "NEARLINE"),
        ("L2_SB001.tar", "ONLINE_AND_NEARLINE"),
        ("L2_SB002.tar", "ONLINE"),
    ]
    assert state_all.percent_staged(results) == pytest.approx(2 / 3)
    assert state_all.check_status(urls[0], verbose=False) == ("L2_SB000.tar", "NEARLINE")


def test_state_all_verbose_and_empty(tmp_path: Path) -> None:
    import io

    link_file = tmp_path / "links.txt"
    link_file.write_text("mock://h/d/L3_SB000.tar?user.status=ONLINE\nmock://h/x?errno=2\n")
    out = io.StringIO()
    results = state_all.main(link_file, stream=out)
    assert results == [("L3_SB000.tar", "ONLINE"), ("x", "ERROR")]
    assert "L3_SB000.tar" in out.getvalue() and "ENOENT" in out.getvalue()
    assert state_all.percent_staged([]) == 0.0
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert state_all.main(empty, verbose=False) == []


def test_state_all_srm_links_become_gfal_form() -> None:
    sara = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/L1_SB000_uv.MS.tar"
    assert state_all.gfal_link(sara).startswith("srm://srm.grid.sara.nl:8443/srm/managerv2?SFN=")
    assert state_all.gfal_link("davs://h/x") == "davs://h/x"
