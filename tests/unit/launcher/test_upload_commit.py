"""Exactly-once results (issue 9, finding 3): temporaries, the commit, the moves, re-runs.

Real storages, as in test_upload.py: file:// folders in tmp_path through LocalStorage (builtin)
and Gfal2Storage. The token is a plain dict and ``commit`` writes ``results_commit`` into it the
way the run loop writes it into CouchDB, so a second ``upload_results`` on the same dict is the
next attempt of the same token after the first one "died" before its closing write. The same
cases over https/davs WebDAV are in tests/integration/launcher/test_transfers*.py.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage import Storage
from grid_lrt.launcher.upload import upload_results
from grid_lrt.launcher.upload_commit import part_url, plain_url, prior_commit
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.pool import TokenLostError

StorageFor = Callable[[str], Storage]
Commit = Callable[[List[str]], None]
NOW = datetime(2024, 3, 5, 14, 7, 9)


class _Killed(BaseException):
    """What ``kill -9`` is to a launcher: nothing after it runs (not even an ``except``)."""


def _no_sleep(seconds: float) -> None:
    del seconds


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "job" / "Output"
    (out / "plots").mkdir(parents=True)
    (out / "summary.txt").write_text("attempt one\n")
    (out / "plots" / "gains.png").write_bytes(b"\x89PNG" + bytes(range(200)))
    (out / "z_last.txt").write_text("the last file\n")
    return out


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "storage" / "results"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(params=["v0", "v1"])
def token(request: pytest.FixtureRequest, results: Path) -> Dict[str, Any]:
    """A token of each layout: v0 RESULTS_DIR (file by file), v1 upload block (one tarball)."""
    if request.param == "v0":
        return {"_id": "t_1", "RESULTS_DIR": results.as_uri(), "results_commit": {}}
    upload = {"location": results.as_uri(), "template": "res"}
    return {"_id": "t_1", "upload": upload, "results_commit": {}}


def _recorder(token: Dict[str, Any], attempt: int, calls: List[List[str]]) -> Commit:
    """The run loop's commit: ``results_commit`` into the token (here: the dict)."""

    def commit(urls: List[str]) -> None:
        calls.append(list(urls))
        token["results_commit"] = {"attempt": attempt, "urls": list(urls)}

    return commit


def _run(
    token: Dict[str, Any],
    output: Path,
    store: StorageFor,
    tmp_path: Path,
    attempt: int,
    commit: Optional[Commit] = None,
) -> str:
    return upload_results(
        token,
        output,
        {},
        storage_for=store,
        now=NOW,
        workdir=tmp_path / "work",
        attempt=attempt,
        commit=commit or _recorder(token, attempt, []),
        sleep=_no_sleep,
    )


def _files(results: Path) -> Dict[str, bytes]:
    """Every file under ``results`` (relative path → content), temporaries included."""
    return {
        p.relative_to(results).as_posix(): p.read_bytes()
        for p in sorted(results.rglob("*"))
        if p.is_file()
    }


def _finals(results: Path) -> Dict[str, bytes]:
    return {k: v for k, v in _files(results).items() if not k.endswith(".part")}


def _parts(results: Path) -> List[str]:
    return [k for k in _files(results) if k.endswith(".part")]


def _expected_finals(token: Dict[str, Any]) -> List[str]:
    if "upload" in token:
        return ["res.tar"]
    return ["plots/gains.png", "summary.txt", "z_last.txt"]


# ---- the order: every temporary, the commit, then the moves ------------------------------


def test_commit_sees_every_temporary_and_no_final(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    seen: List[Dict[str, Any]] = []

    def commit(urls: List[str]) -> None:
        seen.append({"urls": list(urls), "parts": _parts(results), "finals": _finals(results)})

    location = _run(token, output, store, tmp_path, attempt=3, commit=commit)
    names = _expected_finals(token)
    assert len(seen) == 1  # once, with every final URL
    assert seen[0]["urls"] == [f"{results.as_uri()}/{name}" for name in names]
    assert seen[0]["parts"] == sorted(f"{name}.lrt-a3.part" for name in names)
    assert seen[0]["finals"] == {}
    assert sorted(_finals(results)) == sorted(names)
    assert _parts(results) == []
    expected = results.as_uri() + ("/res.tar" if "upload" in token else "")
    assert location == expected  # Results_location: the committed result, not a temporary


def test_part_and_plain_urls() -> None:
    assert part_url("davs://h/r/res.tar", 7) == "davs://h/r/res.tar.lrt-a7.part"
    assert plain_url("davs://alice:s3cr@t@h:2880/r/x?y=1") == "davs://h:2880/r/x?y=1"
    assert plain_url("file:///r/x") == "file:///r/x"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"attempt": 2, "urls": ["a", "b", 3]}, (2, frozenset({"a", "b"}))),
        ({"attempt": 5, "urls": ["a"]}, (0, frozenset())),  # this attempt: not earlier
        ({"attempt": 9, "urls": ["a"]}, (0, frozenset())),  # a later attempt
        ({"attempt": True, "urls": ["a"]}, (0, frozenset())),
        ({"attempt": 2, "urls": "a"}, (0, frozenset())),
        ({}, (0, frozenset())),
        ("garbage", (0, frozenset())),
    ],
)
def test_prior_commit_is_an_earlier_attempts_only(record: Any, expected: Any) -> None:
    assert prior_commit({"results_commit": record}, 5) == expected


# ---- finding 3: re-runs of the same token -----------------------------------------------


def test_rerun_after_a_commit_replaces_the_results(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    _run(token, output, store, tmp_path, attempt=1)  # committed and moved, then died
    first = _finals(results)
    (output / "summary.txt").write_text("attempt two, other content\n")
    calls: List[List[str]] = []
    location = _run(token, output, store, tmp_path, 2, _recorder(token, 2, calls))
    assert location.startswith(results.as_uri())
    now = _finals(results)
    assert sorted(now) == sorted(first) and now != first
    if "upload" not in token:
        assert now["summary.txt"] == b"attempt two, other content\n"
    assert _parts(results) == []
    assert token["results_commit"] == {"attempt": 2, "urls": calls[0]}


def test_rerun_with_identical_content_succeeds(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    _run(token, output, store, tmp_path, attempt=1)
    first = _finals(results)
    inodes = {p: os.stat(results / p).st_ino for p in first}
    _run(token, output, store, tmp_path, attempt=2)
    assert _finals(results) == first
    assert {p: os.stat(results / p).st_ino for p in first} == inodes  # kept, not replaced
    assert _parts(results) == []
    # Identical content is success even when no commit of this token names the files.
    token["results_commit"] = {}
    _run(token, output, store, tmp_path, attempt=3)
    assert _finals(results) == first


def test_rerun_after_a_kill_between_commit_and_moves(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    calls: List[List[str]] = []
    record = _recorder(token, 1, calls)

    def commit_then_die(urls: List[str]) -> None:
        record(urls)
        raise _Killed

    with pytest.raises(_Killed):
        _run(token, output, store, tmp_path, 1, commit_then_die)
    assert _finals(results) == {}  # committed, nothing moved yet
    leftovers = _parts(results)
    assert leftovers == sorted(f"{n}.lrt-a1.part" for n in _expected_finals(token))
    if "upload" not in token:  # the kill came during the moves: one final is there already
        os.rename(results / "plots/gains.png.lrt-a1.part", results / "plots/gains.png")
    (output / "summary.txt").write_text("attempt two\n")
    _run(token, output, store, tmp_path, attempt=2)
    assert sorted(_finals(results)) == sorted(_expected_finals(token))
    assert _parts(results) == []  # the committed attempt's leftovers are removed too
    if "upload" not in token:
        assert _finals(results)["summary.txt"] == b"attempt two\n"


def test_leftovers_of_an_attempt_that_never_committed_do_not_block(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    _run(token, output, store, tmp_path, attempt=1)  # committed, moved, closing write lost
    for name in _expected_finals(token):  # attempt 2 was killed while uploading
        (results / f"{name}.lrt-a2.part").write_bytes(b"half an upload")
    changed = "res.tar" if "upload" in token else "summary.txt"
    (results / f"{changed}.lrt-a3.part").write_bytes(b"an earlier try of this attempt")
    (output / "summary.txt").write_text("attempt three\n")
    _run(token, output, store, tmp_path, attempt=3)
    assert sorted(_finals(results)) == sorted(_expected_finals(token))
    if "upload" not in token:
        assert _finals(results)["summary.txt"] == b"attempt three\n"
    # Attempt 2 never committed: its leftovers stay (no listing), attempt 3's own are gone.
    assert _parts(results) == sorted(f"{n}.lrt-a2.part" for n in _expected_finals(token))


# ---- what belongs to others is protected --------------------------------------------------


def test_a_final_of_another_token_or_run_is_33(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    name = "res.tar" if "upload" in token else "z_last.txt"
    (results / name).write_bytes(b"another token's result")
    # This token committed before, but other files: the existing one is not its own.
    token["results_commit"] = {"attempt": 1, "urls": [f"{results.as_uri()}/elsewhere.txt"]}
    with pytest.raises(TokenFailure) as excinfo:
        _run(token, output, store, tmp_path, attempt=2)
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert name in excinfo.value.message
    assert "another token or run" in excinfo.value.message
    assert (results / name).read_bytes() == b"another token's result"
    assert _parts(results) == []  # nothing uploaded
    # Refused before the commit: the file never gets into this token's record, so a re-run
    # (after a reset) refuses it again instead of replacing it.
    assert token["results_commit"]["urls"] == [f"{results.as_uri()}/elsewhere.txt"]
    with pytest.raises(TokenFailure) as excinfo:
        _run(token, output, store, tmp_path, attempt=3)
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert (results / name).read_bytes() == b"another token's result"


@pytest.mark.parametrize("content", [b"another writer's result", None])
def test_a_final_that_appears_during_the_commit(
    token: Dict[str, Any],
    output: Path,
    results: Path,
    store: StorageFor,
    tmp_path: Path,
    content: Optional[bytes],
) -> None:
    """Another writer takes a free final name between the check and the move."""
    name = _expected_finals(token)[-1]
    record = _recorder(token, 1, [])

    def commit_and_race(urls: List[str]) -> None:
        record(urls)
        data = (results / f"{name}.lrt-a1.part").read_bytes() if content is None else content
        (results / name).write_bytes(data)  # None: the same content as ours

    if content is None:
        _run(token, output, store, tmp_path, 1, commit_and_race)
        assert sorted(_finals(results)) == sorted(_expected_finals(token))
    else:
        with pytest.raises(TokenFailure) as excinfo:
            _run(token, output, store, tmp_path, 1, commit_and_race)
        assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
        assert (results / name).read_bytes() == content  # the winner's file stays
    assert _parts(results) == []


def test_overwrite_in_the_upload_block_replaces_any_file(
    output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    (results / "res.tar").write_bytes(b"another token's result")
    upload = {"location": results.as_uri(), "template": "res", "overwrite": True}
    token: Dict[str, Any] = {"_id": "t_1", "upload": upload, "results_commit": {}}
    _run(token, output, store, tmp_path, attempt=1)
    assert (results / "res.tar").read_bytes() != b"another token's result"
    assert _parts(results) == []


# ---- a commit that fails: nothing is moved ----------------------------------------------


def test_token_lost_at_the_commit_stores_nothing(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    _run(token, output, store, tmp_path, attempt=1)  # an earlier attempt's results
    first = _finals(results)

    def lost(urls: List[str]) -> None:
        raise TokenLostError("token t_1 is no longer ours")

    (output / "summary.txt").write_text("a zombie's results\n")
    with pytest.raises(TokenLostError):
        _run(token, output, store, tmp_path, 2, lost)
    assert _finals(results) == first  # nothing renamed over the committed results
    assert _parts(results) == []  # and the temporaries are gone
    assert not list((tmp_path / "work").glob("*"))  # nor the v1 tarball


def test_token_lost_at_the_first_commit_leaves_no_file(
    token: Dict[str, Any], output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    def lost(urls: List[str]) -> None:
        raise TokenLostError("token t_1 is no longer ours")

    with pytest.raises(TokenLostError):
        _run(token, output, store, tmp_path, 1, lost)
    assert _files(results) == {}
