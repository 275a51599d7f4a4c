"""Issue 11's "done when", end to end on loopback: a 2,400-file list goes to the StageIT
simulator in requests of at most 1,000 files while the user's files in flight stay at most
5,000 (3,000 are already in flight, on hold); the rest waits in the local queue that
``lrt stage watch`` feeds. Tokens stay held until their files are online (a file that fails
to stage keeps its token held, with the service's reason); ``lrt stage macaroons`` keeps the
requests' macaroons and ``lrt submit --backend local`` hands them to the pilots, which read
every input over https from a door that checks them; a token whose macaroon has expired
ends with code 21. The API token and the macaroons are in no output, log, token, argv or
job environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.demodata import make_archive
from grid_lrt.client.devtools.stageit_simulator import StageItSimulator
from grid_lrt.client.staging.base import StageRequest
from grid_lrt.client.staging.stageit import StageItStager
from grid_lrt.shared import surl
from grid_lrt.shared.errors import ErrorCode
from grid_lrt.shared.schema import TokenState
from tests.integration.client.conftest import CliEnv
from tests.support.archive_server import running_archive
from tests.support.helpers import documents_text
from tests.support.launcher_kit import make_sandbox, wait_for
from tests.support.procscan import processes_holding
from tests.support.zipapp_kit import worker_python

TOKEN = "stageit-api-token-7f3c2a91e0d4"
BASE = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc9_001/{o}/L{o}_SB{sb:04d}_uv.MS.tar"
OBSID, OTHER, LATE = 654321, 111111, 777777
MASTER = (
    "#!/bin/bash\nset -eu\n"
    'find Input -type f | sort | xargs cat | wc -c > "Output/$TOKEN.bytes"\n'
    'sleep "${SLEEP:-0}"\n'
)


@pytest.fixture(scope="module")
def python39() -> str:
    return worker_python()


@pytest.fixture
def world(
    cli_env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Dict[str, Any]]:
    """The StageIT simulator, an https door that checks its macaroons, ~/.stagingrc."""
    secret = b"door-and-stageit-secret"
    with (
        running_archive(
            tmp_path / "door", delay=3600, tape_prefixes=("/pnfs/",), macaroon_secret=secret
        ) as door,
        StageItSimulator(
            token=TOKEN, delay=0.2, doors=door.base_url, macaroon_secret=secret
        ) as sim,
    ):
        sim.on_online = lambda surls: door.make_online([surl.path_of(s) for s in surls])
        sim.write_stagingrc(cli_env.home / ".stagingrc")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.ca_file))
        monkeypatch.setenv("X509_CERT_DIR", str(door.cert_dir))
        monkeypatch.setenv("LRT_STAGE_DIR", str(tmp_path / "stage-book"))
        monkeypatch.setenv("LRT_DATA_DOOR", door.base_url)
        monkeypatch.setenv("LRT_HEARTBEAT", "1")
        monkeypatch.setenv("LRT_LEASE", "15")
        monkeypatch.setenv("LRT_LINGER", "0")
        yield {"sim": sim, "door": door, "tmp": tmp_path}


def _links(obsid: int, count: int, fail: Set[int] = frozenset()) -> List[str]:  # type: ignore[assignment]
    return [
        BASE.format(o=obsid, sb=sb).replace("_uv", "_uv_fail" if sb in fail else "_uv")
        for sb in range(count)
    ]


def _archive_files(door: Any, links: List[str]) -> None:
    """A small subband tarball per SURL, at its path in the door's folder."""
    make_archive(door.root, links)


def _cli(capsys: pytest.CaptureFixture[str], seen: List[str], *args: str) -> str:
    with pytest.MonkeyPatch.context() as mp:
        if args[0] == "submit":
            # The pilots talk to the door only. Both test servers' self-signed certificates
            # have the subject 127.0.0.1, so with the simulator's in REQUESTS_CA_BUNDLE OpenSSL
            # would check the door's against it (X509_CERT_DIR) and refuse it.
            mp.delenv("REQUESTS_CA_BUNDLE", raising=False)
        code = main(list(args))
    out = capsys.readouterr()
    seen.append(out.out + out.err)
    assert code == 0, out.out + out.err
    return out.out


def _tokens(env: CliEnv, t_type: str, srm: Path, tmp: Path, sleep: str, seen: List[str],
            capsys: pytest.CaptureFixture[str], size: int = 100) -> List[str]:  # fmt: skip
    _cli(capsys, seen, "tokens", "create", t_type, "--srm", str(srm), "--size", str(size), "--hold")
    ids = env.pool.ids(t_type)
    sandbox = make_sandbox(
        tmp / f"{t_type}.tar.gz",
        {"master.sh": MASTER, "tokvar.cfg": "_id: $TOKEN\nSLEEP: $SLEEP\n"},
    )
    results = tmp / f"results-{t_type}"
    results.mkdir()

    def locate(doc: Dict[str, Any]) -> bool:
        doc.update(SBXloc=sandbox.as_uri(), RESULTS_DIR=results.as_uri() + "/", SLEEP=sleep)
        return True

    env.pool.update(ids, locate)
    return ids


def _pilots_done(folder: Path, count: int, secrets: List[str], hits: Set[str]) -> None:
    def done() -> bool:
        hits.update(processes_holding(secrets))
        return len(list((folder / "logs").glob("*.exit"))) == count

    wait_for(done, timeout=240, what="the local pilots to finish")


def test_stageit_campaign_end_to_end(
    python39: str,
    world: Dict[str, Any],
    cli_env: CliEnv,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim, door, tmp = world["sim"], world["door"], world["tmp"]
    seen: List[str] = []
    # 3,000 files of earlier requests are in flight (on hold for maintenance)
    earlier = StageItStager(token=TOKEN, host=sim.host, timeout=10)
    held = [
        earlier.submit(part)
        for part in (_links(OTHER, 3000)[i : i + 1000] for i in (0, 1000, 2000))
    ]
    for request in held:
        sim.hold(request.request_id)

    links = _links(OBSID, 2400, fail={2399})
    _archive_files(door, [link for link in links if "_fail" not in link])
    srm = tmp / "srm.txt"
    srm.write_text("\n".join(links) + "\n")
    ids = _tokens(cli_env, "sky", srm, tmp, "0", seen, capsys)
    assert len(ids) == 24 and cli_env.pool.counts("sky")[TokenState.WAITING] == 24

    submitted = json.loads(_cli(capsys, seen, "stage", "submit", str(srm), "--json"))
    assert submitted["service"] == "stageit"
    assert [r["files"] for r in submitted["submitted"]] == [1000, 1000]
    assert (submitted["queued_requests"], submitted["queued_files"]) == (1, 400)
    assert sim.files_in_flight() == 5000
    assert all(len(r.surls) <= 1000 for r in sim.all_requests())

    status = _cli(capsys, seen, "stage", "status", held[0].request_id)
    assert "on hold" in status and f"lrt stage reschedule {held[0].request_id}" in status
    for request in held:
        _cli(capsys, seen, "stage", "reschedule", request.request_id)
    assert main(["stage", "watch", "sky", "--interval", "0.5", "--timeout", "120"]) == 0
    watched = capsys.readouterr().out
    seen.append(watched)
    assert "(from the queue)" in watched and "failed to stage" in watched
    assert max(len(r.surls) for r in sim.all_requests()) <= 1000
    counts = cli_env.pool.counts("sky")
    assert (counts[TokenState.TODO], counts[TokenState.WAITING]) == (23, 1)
    (failed_id,) = cli_env.pool.ids("sky", TokenState.WAITING)
    reason = cli_env.pool.get(failed_id)["launcher_status"]  # type: ignore[index]
    assert "staging failed for 1 file(s)" in reason and "_fail" in reason

    ours = [str(r["id"]) for r in submitted["submitted"]] + [
        line.split()[1] for line in watched.splitlines() if line.startswith("submitted ")
    ]
    assert len(ours) == 3
    kept = _cli(capsys, seen, "stage", "macaroons", *ours)
    assert "kept" in kept and door.base_url in kept
    secrets = [TOKEN] + [
        m.content for rid in ours for m in earlier.macaroons(StageRequest("stageit", rid))
    ]
    assert len(secrets) == 4

    folder = tmp / "pilots"
    _cli(capsys, seen, "submit", "--backend", "local", "--type", "sky", "--jobs", "2",
         "--worker-python", python39, "--folder", str(folder))  # fmt: skip
    hits: Set[str] = set()
    _pilots_done(folder, 2, secrets, hits)
    docs = list(cli_env.pool.docs(ids))
    released = [d for d in docs if d["_id"] != failed_id]
    logs = "\n".join(p.read_text() for p in (folder / "logs").glob("*.log"))
    assert {d["output"] for d in released} == {0}, logs[-3000:]
    assert len(list((tmp / "results-sky").iterdir())) == 23
    assert not door.refusals
    assert all(
        a and a.startswith("Bearer ")
        for m, p, a in door.seen
        if m == "GET" and p.startswith("/pnfs")
    )

    # A token whose macaroon expires while the pilot works on another one: code 21.
    # Two tokens of 10 files whose pipelines sleep past the macaroon's 10 s: the first one's
    # downloads are done long before it expires, the second one's start after.
    sim.macaroon_lifetime = 10
    late = _links(LATE, 20)
    _archive_files(door, late)
    late_srm = tmp / "late.txt"
    late_srm.write_text("\n".join(late) + "\n")
    late_ids = _tokens(cli_env, "late", late_srm, tmp, "12", seen, capsys, size=10)
    late_request = json.loads(_cli(capsys, seen, "stage", "submit", str(late_srm), "--json"))
    assert main(["stage", "watch", "late", "--interval", "0.5", "--timeout", "60"]) == 0
    seen.append(capsys.readouterr().out)
    late_id = str(late_request["submitted"][0]["id"])
    _cli(capsys, seen, "stage", "macaroons", late_id)
    secrets += [m.content for m in earlier.macaroons(StageRequest("stageit", late_id))]
    late_folder = tmp / "late-pilot"
    _cli(capsys, seen, "submit", "--backend", "local", "--type", "late", "--jobs", "1",
         "--worker-python", python39, "--folder", str(late_folder))  # fmt: skip
    _pilots_done(late_folder, 1, secrets, hits)
    outcomes = sorted(d["output"] for d in cli_env.pool.docs(late_ids))
    assert outcomes == [0, int(ErrorCode.DOWNLOAD_FAILED)], (
        late_folder / "logs" / "pilot-1.log"
    ).read_text()[-3000:]
    expired = next(d for d in cli_env.pool.docs(late_ids) if d["output"])
    assert (
        "expired at" in expired["launcher_status"]
        and "lrt stage macaroons" in expired["launcher_status"]
    )

    # no secret anywhere
    logs += "\n".join(p.read_text() for p in (late_folder / "logs").glob("*.log"))
    book = "\n".join(p.read_text() for p in (tmp / "stage-book").glob("*.json*"))
    tokens = documents_text(cli_env.server, cli_env.name, ids + late_ids)
    for secret in secrets:
        assert secret not in "\n".join(seen), "in a command's output"
        assert secret not in logs, "in a pilot's log"
        assert secret not in tokens, "in a token"
        assert secret not in book, "in the staging book"
    assert hits == set(), f"in a process's argv or environment: {sorted(hits)}"
