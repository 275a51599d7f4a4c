"""``archive_type`` of a large type (issue 13: archive 10^6 tokens in bounded memory).

A type is read a page at a time with the attachments inline (not one request per token),
streamed into the tarball (not written as files first, not remembered per member) and its
revisions kept in the ledger; ``delete_archived`` deletes them a batch at a time.
"""

from __future__ import annotations

import tarfile
import tracemalloc
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import yaml

from grid_lrt.client import token_archive
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState, inline_attachment, new_token
from tests.integration.client.conftest import CliEnv

TYPE = "big"


def fill(pool: CouchTokenPool, n: int, **fields: Any) -> List[str]:
    docs = []
    for i in range(n):
        doc = new_token(TYPE, f"tok_{i:05d}", dict(fields))
        doc["_attachments"] = {
            "srm.txt": inline_attachment(f"srm://x/{i}\n".encode(), "text/plain")
        }
        docs.append(doc)
    for start in range(0, n, 1000):
        assert pool.create(docs[start : start + 1000]).ok
    return [d["_id"] for d in docs]


@pytest.fixture
def requests_made(cli_env: CliEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[List[str]]:
    made: List[str] = []
    real = type(cli_env.pool.db).request

    def counting(self: Any, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        made.append(f"{method} {path}")
        return real(self, method, path, *args, **kwargs)

    monkeypatch.setattr(type(cli_env.pool.db), "request", counting)
    yield made


def test_a_type_is_read_in_pages_with_its_attachments(
    cli_env: CliEnv, tmp_path: Path, requests_made: List[str]
) -> None:
    ids = fill(cli_env.pool, 450)
    requests_made.clear()
    out = token_archive.archive_type(cli_env.pool, TYPE, tmp_path, compress=True)
    assert out.count == 450 and sorted(out.revisions) == ids
    reads = [r for r in requests_made if "_view" in r or "_all_docs" in r]
    assert len(reads) <= 450 // token_archive.PAGE + 3, f"{len(reads)} reads for 450 tokens"
    assert not [r for r in requests_made if "srm.txt" in r], "attachments came inline"
    with tarfile.open(out.path) as tar:
        names = tar.getnames()
        assert len(names) == len(set(names)) == 1 + 2 * 450, "the folder and two files each"
        dump = yaml.safe_load(tar.extractfile(f"{TYPE}/tok_00449.dump").read())  # type: ignore[union-attr]
        data = tar.extractfile(f"{TYPE}/tok_00449_attachment_srm.txt").read()  # type: ignore[union-attr]
    assert dump["_rev"] == out.revisions["tok_00449"]
    assert dump["_attachments"]["srm.txt"]["stub"] is True and data == b"srm://x/449\n"
    assert out.files == [out.path]


def test_archiving_a_type_keeps_the_heap_bounded(cli_env: CliEnv, tmp_path: Path) -> None:
    """1,500 tokens: before the streaming, the ids, revisions, states, files and the
    tarball's members grew Python's heap by ~5.7 MB (about 3.8 KB per token); now by about
    one page of documents (1.5 MB), whatever the number of tokens."""
    fill(cli_env.pool, 1500)
    assert cli_env.pool.create([new_token("warm", "w")]).ok
    # imports made on first use and the view index are kept outside the measurement
    token_archive.archive_type(cli_env.pool, "warm", tmp_path / "warm", compress=True)
    cli_env.pool.counts(TYPE)
    tracemalloc.start()
    try:
        out = token_archive.archive_type(cli_env.pool, TYPE, tmp_path, compress=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.count == 1500
    assert peak < 2_500_000, f"archiving 1,500 tokens peaked at {peak:,} bytes of heap"


def test_deleting_what_was_archived_goes_in_batches(
    cli_env: CliEnv, tmp_path: Path, requests_made: List[str]
) -> None:
    fill(cli_env.pool, 2100, lock=5, done=6, output=0)
    fill_todo = new_token(TYPE, "still_todo")
    assert cli_env.pool.create([fill_todo]).ok
    out = token_archive.archive_type(cli_env.pool, TYPE, tmp_path, compress=False)
    assert out.count == 2101 and out.states["still_todo"] is TokenState.TODO
    requests_made.clear()
    done = token_archive.delete_archived(cli_env.pool, out)
    assert len(done.deleted) == 2100 and done.ok
    assert done.kept == {"still_todo": TokenState.TODO}
    bulk = [r for r in requests_made if "_bulk_docs" in r]
    assert len(bulk) == 3, f"batches of {token_archive.BATCH}: {bulk}"
    assert cli_env.pool.ids(TYPE) == ["still_todo"]
    assert (tmp_path / TYPE / "tok_02099.dump").is_file() and out.files == [tmp_path / TYPE]
