"""The StageIT simulator itself: token check, GraphQL validated by a real executor, answers
as graphene/DRF give them, the request record, the CLI verb, and nothing at import (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from grid_lrt.client.devtools.stageit_simulator import StageItSimulator
from grid_lrt.client.staging.stageit import StageItStager

TOKEN = "tok-sim-0d4c1e"


@pytest.fixture
def sim() -> Iterator[StageItSimulator]:
    with StageItSimulator(token=TOKEN, delay=3600) as s:
        yield s


def post(
    sim: StageItSimulator, path: str, body: object, token: str | None = TOKEN
) -> requests.Response:
    headers = {"Authorization": f"Token {token}"} if token else {}
    with requests.Session() as session:
        return session.post(
            sim.url + path, json=body, headers=headers, verify=str(sim.ca_file), timeout=10
        )


def test_token_is_checked(sim: StageItSimulator) -> None:
    none = post(sim, "requests/", {"surls": ["x"]}, token=None)
    assert none.status_code == 401 and "not provided" in none.json()["detail"]
    wrong = post(sim, "graphql/", {"query": "{ requests { edges { node { id } } } }"}, token="nope")
    assert wrong.status_code == 401 and wrong.json() == {"detail": "Invalid token."}
    assert [s.authorised for s in sim.requests_seen] == [False, False]
    assert sim.all_requests() == []
    assert TOKEN not in repr(sim.requests_seen)


def test_graphql_is_validated_against_the_schema(sim: StageItSimulator) -> None:
    bad_arg = post(
        sim, "graphql/", {"query": '{ requests(when_gte: "2020-01-01") { edges { node { id } } } }'}
    )
    assert bad_arg.status_code == 400
    assert "Unknown argument 'when_gte'" in bad_arg.json()["errors"][0]["message"]
    bad_field = post(sim, "graphql/", {"query": "{ request(id: 1) { status } }"})
    assert bad_field.status_code == 400 and "Cannot query field 'status'" in bad_field.text
    missing = post(sim, "graphql/", {"query": "{ request(id: 1) { id } }"})
    assert missing.status_code == 200 and missing.json()["data"] == {"request": None}
    assert missing.json()["errors"][0]["message"] == "Request matching query does not exist."
    assert post(sim, "graphql/", {}).status_code == 400


def test_rest_answers_and_refusals(sim: StageItSimulator) -> None:
    link = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/L1/L1_SB000.tar"
    created = post(sim, "requests/", {"surls": [link], "notify": False, "request_type": "stage"})
    assert created.status_code == 201 and created.json()["surls"] == [link]
    assert post(sim, "requests/", {"surls": []}).json() == {"surls": ["This field is required."]}
    other = post(sim, "requests/", {"surls": [link], "request_type": "archive"})
    assert other.status_code == 400
    assert post(sim, "nothing/", {}).status_code == 404
    sim.hold(created.json()["id"])
    assert sim.get(created.json()["id"]).status == "on hold"
    assert sim.files_in_flight() == 1


def test_small_limits_and_file_scoped_macaroons() -> None:
    links = [
        f"srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/L1/L1_SB{i}.tar"
        for i in range(3)
    ]
    with StageItSimulator(
        token=TOKEN, delay=0, max_files_per_request=2, max_files_in_flight=3, macaroon_scope="file"
    ) as sim:
        assert post(sim, "requests/", {"surls": links}).status_code == 400
        assert post(sim, "requests/", {"surls": links[:2]}).status_code == 201
        sim.tick()
        node = sim.all_requests()[0]
        assert node.status == "success" and len(node.macaroons) == 1
        from grid_lrt.client.devtools import macaroons

        content = node.macaroons[0]["content"]
        assert macaroons.parse(content).caveat("path") == [
            "/pnfs/grid.sara.nl/data/lofar/L1/L1_SB0.tar",
            "/pnfs/grid.sara.nl/data/lofar/L1/L1_SB1.tar",
        ]


def test_lrt_dev_stageit_simulator(tmp_path: Path) -> None:
    rc = tmp_path / "rc"
    env = dict(os.environ, LRT_SIM_STAGEIT_TOKEN=TOKEN)
    code = "from grid_lrt.client.cli.main import run; run()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "dev",
            "stageit-simulator",
            "--delay",
            "0.1",
            "--stagingrc",
            str(rc),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = lines[0].strip()
        assert url.startswith("https://127.0.0.1:") and url.endswith("/stageit/api/staging/")
        assert str(rc) in lines[1] and "CA bundle" in lines[2]
        ca = lines[2].split(":", 1)[1].strip()
        text = rc.read_text()
        assert f"api_token={TOKEN}" in text and "hostname=127.0.0.1:" in text
        assert rc.stat().st_mode & 0o077 == 0
        host = text.split("hostname=")[1].strip()
        os.environ["REQUESTS_CA_BUNDLE"] = ca
        try:
            stager = StageItStager(token=TOKEN, host=host)
            assert stager.submit(
                ["srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/L1/a.tar"]
            ).request_id
            stager.close()
        finally:
            del os.environ["REQUESTS_CA_BUNDLE"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _out, err = proc.communicate(timeout=60)  # a loaded CI machine is slow
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # its threads' stacks, for the message
            time.sleep(1)
            proc.kill()  # never leave it running (its pipes would warn in a later test)
            _out, err = proc.communicate()
            pytest.fail(f"the simulator did not stop within 60 s of Ctrl-C: {err[-2000:]}")
    assert proc.returncode == 0, err
    assert TOKEN not in lines[0] + lines[2] + lines[3] + err


def test_import_does_no_io(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import builtins, io, pathlib, socket
        def refuse(*a, **k):
            raise AssertionError("I/O at import")
        builtins.open = io.open = refuse
        pathlib.Path.read_text = pathlib.Path.is_file = refuse
        socket.socket.connect = refuse
        from grid_lrt.client.staging import stageit, stageitcreds, stageit_http, services
        from grid_lrt.client.compat import stager_access
        import sys
        assert "requests" not in sys.modules, "requests imported at import time"
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
