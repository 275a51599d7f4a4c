"""``TokenPool.delete_revisions`` (added for ``lrt tokens archive --delete``, issue 9 finding 8):
a document is deleted only at the revision given; one written since is kept, never re-read."""

from __future__ import annotations

from typing import Any, Dict

from grid_lrt.shared.schema import new_token
from tests.integration.client.conftest import CliEnv


def test_only_the_given_revisions_are_deleted(cli_env: CliEnv) -> None:
    pool = cli_env.pool
    assert pool.create([new_token("rv", f"t_{n}") for n in "abcd"]).ok
    revs = {doc["_id"]: cli_env.db[doc["_id"]].rev for doc in pool.docs(["t_a", "t_b", "t_c"])}

    def touch(doc: Dict[str, Any]) -> bool:
        doc["note"] = "written after the revision was read"
        return True

    assert pool.update(["t_b"], touch).changed == ["t_b"]
    assert pool.delete(["t_c"]).changed == ["t_c"]
    guard = (
        "function (doc) { if (doc._deleted && doc._id === 't_d') { throw({forbidden: 'no'}); } }"
    )
    cli_env.db.save({"_id": "_design/guard", "validate_doc_update": guard})
    revs["t_d"] = cli_env.db["t_d"].rev
    result = pool.delete_revisions(revs)
    assert result.changed == ["t_a"]
    assert sorted(result.unchanged) == ["t_b", "t_c"], "changed or gone since: left as they are"
    assert list(result.failed) == ["t_d"] and "forbidden" in result.failed["t_d"]
    assert pool.ids("rv") == ["t_b", "t_d"]
    assert cli_env.db["t_b"]["note"] == "written after the revision was read"
