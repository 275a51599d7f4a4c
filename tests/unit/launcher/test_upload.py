"""Result upload (``upload_results``): v1 upload block, v0 RESULTS_DIR, templating, codes 30-35.

Destinations are file:// folders in tmp_path, written through LocalStorage (builtin) and,
where the bindings exist, Gfal2Storage: both run the same tests. The codes that need a
storage answering "pools full" or reporting a wrong checksum (32, 35) are covered against a
real HTTP server in tests/integration/test_transfers.py.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import re
import tarfile
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from grid_lrt.launcher.failure import TokenFailure
from grid_lrt.launcher.storage import Storage, storage_for
from grid_lrt.launcher.templating import TemplateError, date_stamp, expand
from grid_lrt.launcher.upload import make_tarball, upload_results
from grid_lrt.shared.errors import ErrorCode

StorageFor = Callable[[str], Storage]
NOW = datetime(2024, 3, 5, 14, 7, 9)
ENV = {"OBSID": "L229507", "PIPELINE_STEP": "pref_cal1", "TOKEN": "t_1"}


def _no_sleep(seconds: float) -> None:
    del seconds


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "job" / "Output"
    (out / "plots").mkdir(parents=True)
    (out / "L229507_SB100.MS" / "table").mkdir(parents=True)
    (out / "summary.txt").write_text("all good\n")
    (out / "plots" / "gains.png").write_bytes(b"\x89PNG" + bytes(range(200)))
    (out / "L229507_SB100.MS" / "table" / "data").write_bytes(b"\x00\x01" * 5000)
    return out


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "storage" / "results"
    folder.mkdir(parents=True)
    return folder


def _upload(
    token: Dict[str, Any], output: Path, store: StorageFor, tmp_path: Path, **kwargs: Any
) -> str:
    kwargs.setdefault("sleep", _no_sleep)
    commits: List[List[str]] = []
    return upload_results(
        token,
        output,
        ENV,
        storage_for=store,
        now=NOW,
        workdir=tmp_path / "work",
        attempt=1,
        commit=commits.append,
        **kwargs,
    )


def _members(tarball: Path) -> Dict[str, bytes]:
    with tarfile.open(tarball) as tar:
        out: Dict[str, bytes] = {}
        for info in tar.getmembers():
            handle = tar.extractfile(info)
            assert handle is not None
            out[info.name] = handle.read()
        return out


# ---- templating ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "stamp"),
    [
        ("hour", "2024-03-05_14-00"),
        ("minute", "2024-03-05_14-07"),
        ("month", "2024-03"),
        ("week", "2024-W10"),
        ("day", "2024-03-05"),
        ("", "2024-03-05"),
        ("HOUR", "2024-03-05_14-00"),
    ],
)
def test_date_stamp(granularity: str, stamp: str) -> None:
    assert date_stamp(NOW, granularity) == stamp


def test_expand_variables() -> None:
    assert expand("a/$OBSID/${PIPELINE_STEP}_x", ENV) == "a/L229507/pref_cal1_x"
    with pytest.raises(TemplateError) as excinfo:
        expand("a/$OBSID_x", ENV)  # the name runs on: OBSID_x
    assert excinfo.value.name == "OBSID_x"
    with pytest.raises(TemplateError):
        expand("a/$/b", ENV)
    with pytest.raises(TemplateError):
        expand("a/${OBSID", ENV)
    with pytest.raises(TemplateError):
        expand("a/$X", {"X": "cost$5"})  # a '$' coming in through a value


# ---- nothing to upload, no destination -----------------------------------------------------------


def test_missing_or_empty_output_is_30(tmp_path: Path) -> None:
    token = {"RESULTS_DIR": tmp_path.as_uri()}
    store = partial(storage_for, prefer="builtin")
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, tmp_path / "Output", store, tmp_path)
    assert excinfo.value.code is ErrorCode.NO_UPLOAD_FILES
    assert "does not exist" in excinfo.value.message
    (tmp_path / "Output" / "empty-subfolder").mkdir(parents=True)
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, tmp_path / "Output", store, tmp_path)
    assert excinfo.value.code is ErrorCode.NO_UPLOAD_FILES
    assert "is empty" in excinfo.value.message


def test_no_destination_uploads_nothing_and_warns(
    output: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="grid_lrt.launcher.upload")
    store = partial(storage_for, prefer="builtin")
    assert _upload({"_id": "t_1", "upload": {}}, output, store, tmp_path) == ""
    assert any("not uploaded" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "work").exists()


# ---- v1 upload block -----------------------------------------------------------------------------


def test_v1_tarball_with_date_and_vars(
    output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    upload: Dict[str, Any] = {
        "location": results.as_uri() + "/",
        "template": "${OBSID}_$PIPELINE_STEP_$DATE",
        "add_date": True,
        "date_granularity": "hour",
    }
    token = {"_id": "t_1", "upload": upload}
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, store, tmp_path)  # $PIPELINE_STEP_ is not set
    assert excinfo.value.code is ErrorCode.UPLOAD_FAILED
    assert "$PIPELINE_STEP_" in excinfo.value.message
    assert not list(results.iterdir())

    upload["template"] = "${OBSID}_${PIPELINE_STEP}_$DATE"
    location = _upload(token, output, store, tmp_path)
    assert location == results.as_uri() + "/L229507_pref_cal1_2024-03-05_14-00.tar"
    tarball = results / "L229507_pref_cal1_2024-03-05_14-00.tar"
    assert _members(tarball) == {
        "L229507_SB100.MS/table/data": b"\x00\x01" * 5000,
        "plots/gains.png": b"\x89PNG" + bytes(range(200)),
        "summary.txt": b"all good\n",
    }
    assert not list((tmp_path / "work").iterdir())  # the local tarball is removed


def test_v1_without_add_date_gzip_and_subfolder(
    output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    token = {
        "_id": "t_1",
        "upload": {"location": results.as_uri(), "template": "$OBSID/res$DATE", "gzip": "true"},
    }
    location = _upload(token, output, store, tmp_path)
    assert location == results.as_uri() + "/L229507/res.tar.gz"
    data = (results / "L229507" / "res.tar.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert b"summary.txt" in gzip.decompress(data)


def test_v1_template_defaults_to_token_id_and_location_to_results_dir(
    output: Path, results: Path, tmp_path: Path
) -> None:
    token = {"_id": "t_L1_SB000", "RESULTS_DIR": results.as_uri(), "upload": {"gzip": False}}
    location = _upload(token, output, partial(storage_for, prefer="builtin"), tmp_path)
    assert location.endswith("/results/t_L1_SB000.tar")
    assert (results / "t_L1_SB000.tar").is_file()


def test_tarball_is_reproducible(output: Path, tmp_path: Path) -> None:
    files = sorted(p for p in output.rglob("*") if p.is_file())
    digests = []
    for name in ("a.tar.gz", "b.tar.gz"):
        tarball = make_tarball(files, output, tmp_path / name, compress=True)
        digests.append(hashlib.sha256(tarball.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == [
        "L229507_SB100.MS/table/data",
        "plots/gains.png",
        "summary.txt",
    ]
    assert {(i.uid, i.gid, i.uname, i.gname) for i in infos} == {(0, 0, "", "")}


def test_v1_existing_target_is_33_unless_overwrite(
    output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    (results / "old.tar").write_bytes(b"an older run")
    upload: Dict[str, Any] = {"location": results.as_uri(), "template": "old"}
    token = {"_id": "t_1", "upload": upload}
    sleeps: List[float] = []
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, store, tmp_path, sleep=sleeps.append)
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert sleeps == []  # not retried
    assert (results / "old.tar").read_bytes() == b"an older run"

    upload["overwrite"] = True
    _upload(token, output, store, tmp_path)
    assert "summary.txt" in _members(results / "old.tar")


def test_v1_missing_location_is_34(output: Path, tmp_path: Path, store: StorageFor) -> None:
    missing = (tmp_path / "storage" / "nowhere").as_uri()
    token = {"_id": "t_1", "upload": {"location": missing, "template": "x"}}
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, store, tmp_path)
    assert excinfo.value.code is ErrorCode.UPLOAD_NO_PARENT
    assert "nowhere" in excinfo.value.message


def test_v1_persistent_failure_is_31_after_retries(
    output: Path,
    results: Path,
    store: StorageFor,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A folder stands where the tarball should go: replacing it fails on every try.
    (results / "res.tar" / "inside").mkdir(parents=True)
    token = {
        "_id": "t_1",
        "upload": {"location": results.as_uri(), "template": "res", "overwrite": True},
    }
    sleeps: List[float] = []
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, store, tmp_path, backoff=1.0, sleep=sleeps.append)
    assert excinfo.value.code is ErrorCode.UPLOAD_FAILED
    assert "attempt 3 of 3" in excinfo.value.message
    assert sleeps == [1.0, 2.0]
    retries = [
        r
        for r in caplog.records
        if r.name == "grid_lrt.launcher.upload" and r.levelno >= logging.WARNING
    ]
    assert [r.levelname for r in retries] == ["WARNING", "WARNING"]
    for record, tail in zip(retries, ["attempt 2 of 3 in 1.0 s", "attempt 3 of 3 in 2.0 s"]):
        assert re.fullmatch(rf"upload of res\.tar failed \(.+\); {tail}", record.getMessage())


@pytest.mark.parametrize(
    ("upload", "needle"),
    [
        ({"location": "$NOPE/x", "template": "a"}, "$NOPE"),
        ({"location": "file:///tmp", "template": "a", "gzip": "maybe"}, "upload.gzip"),
        ({"template": "a"}, "no location"),
        ({"location": "file:///tmp", "template": "../a"}, "no file name"),
    ],
)
def test_v1_bad_block_is_31(
    output: Path, tmp_path: Path, upload: Dict[str, Any], needle: str
) -> None:
    with pytest.raises(TokenFailure) as excinfo:
        _upload({"upload": upload}, output, partial(storage_for, prefer="builtin"), tmp_path)
    assert excinfo.value.code is ErrorCode.UPLOAD_FAILED
    assert needle in excinfo.value.message


def test_gsiftp_without_gfal2_is_13(output: Path, tmp_path: Path) -> None:
    token = {"upload": {"location": "gsiftp://gridftp.example.org:2811/data", "template": "a"}}
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, partial(storage_for, prefer="builtin"), tmp_path)
    assert excinfo.value.code is ErrorCode.TRANSFER_TOOL_MISSING


# ---- v0 RESULTS_DIR ------------------------------------------------------------------------------


def test_v0_uploads_each_file_keeping_subfolders(
    output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    token = {"RESULTS_DIR": results.as_uri() + "/$OBSID/"}
    (results / "L229507").mkdir()
    assert _upload(token, output, store, tmp_path) == results.as_uri() + "/L229507"
    base = results / "L229507"
    assert (base / "summary.txt").read_text() == "all good\n"
    assert (base / "plots" / "gains.png").read_bytes() == b"\x89PNG" + bytes(range(200))
    assert (base / "L229507_SB100.MS" / "table" / "data").stat().st_size == 10000


@pytest.mark.parametrize(
    "backend",
    ["builtin", pytest.param("gfal2", marks=pytest.mark.gfal2)],
)
def test_v0_file_names_are_escaped_in_urls(
    output: Path, results: Path, tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    if backend == "gfal2":
        request.getfixturevalue("gfal2_module")
    (output / "with space #1.txt").write_text("spaced")
    _upload(
        {"RESULTS_DIR": results.as_uri()}, output, partial(storage_for, prefer=backend), tmp_path
    )
    assert (results / "with space #1.txt").read_text() == "spaced"


def test_v0_missing_results_dir_is_34(output: Path, tmp_path: Path, store: StorageFor) -> None:
    token = {"RESULTS_DIR": (tmp_path / "storage" / "absent").as_uri()}
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, store, tmp_path)
    assert excinfo.value.code is ErrorCode.UPLOAD_NO_PARENT
    assert "RESULTS_DIR" in excinfo.value.message
    assert not (tmp_path / "storage" / "absent").exists()


def test_v0_existing_file_is_33(
    output: Path, results: Path, store: StorageFor, tmp_path: Path
) -> None:
    (results / "summary.txt").write_text("from an earlier attempt")
    with pytest.raises(TokenFailure) as excinfo:
        _upload({"RESULTS_DIR": results.as_uri()}, output, store, tmp_path)
    assert excinfo.value.code is ErrorCode.UPLOAD_EXISTS
    assert (results / "summary.txt").read_text() == "from an earlier attempt"


def test_v0_unknown_variable_is_31(output: Path, results: Path, tmp_path: Path) -> None:
    token = {"RESULTS_DIR": results.as_uri() + "/${CAL_OBSID}"}
    with pytest.raises(TokenFailure) as excinfo:
        _upload(token, output, partial(storage_for, prefer="builtin"), tmp_path)
    assert excinfo.value.code is ErrorCode.UPLOAD_FAILED
    assert "$CAL_OBSID" in excinfo.value.message
    assert not list(results.iterdir())


def test_upload_log_lines(
    output: Path, results: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="grid_lrt.launcher.upload")
    _upload(
        {"RESULTS_DIR": results.as_uri()}, output, partial(storage_for, prefer="builtin"), tmp_path
    )
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("uploaded ") and " to file://" in m for m in messages) == 3
    assert any(m.startswith("uploaded 3 files") for m in messages)
