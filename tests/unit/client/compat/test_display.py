"""The notebook reprs of view rows and token sets: plain-text and HTML tables, the same rows,
escaped, cut to ten rows, never a secret."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, Iterator, List, Sequence

import pytest

from grid_lrt.client.compat.display import MAX_CELL, Table, cell, html_table, text_table
from grid_lrt.client.token import Row, TokenSet, ViewResults
from grid_lrt.shared.couch import CouchUnreachableError
from grid_lrt.shared.schema import TokenState


def overview(**counts: int) -> ViewResults:
    return ViewResults(
        "demo", "overview_total", [Row({"key": k, "value": v}) for k, v in counts.items()]
    )


def token_rows(n: int, view: str = "todo") -> ViewResults:
    ids = [f"t_demo_SB{k:03d}" for k in range(n)]
    return ViewResults("demo", view, [Row({"id": i, "key": i, "value": i}) for i in ids])


def test_overview_is_a_state_table_with_total() -> None:
    assert repr(overview(done=2, todo=49)) == (
        "<ViewResults '_design/demo/_view/overview_total' rows=2>\n"
        "state  tokens\n"
        "-----  ------\n"
        "done        2\n"
        "todo       49\n"
        "-----  ------\n"
        "total      51"
    )
    page = overview(done=2, todo=49)._repr_html_()
    assert page.startswith('<div class="grid-lrt">') and page.count("<table>") == 1
    assert "<tr><td>done</td><td>2</td></tr><tr><td>todo</td><td>49</td></tr>" in page
    assert "<tfoot><tr><th>total</th><th>51</th></tr></tfoot>" in page
    assert "&lt;ViewResults &#x27;_design/demo/_view/overview_total&#x27; rows=2&gt;" in page


def test_status_view_shows_ids_only_and_the_first_ten() -> None:
    text = repr(token_rows(25))
    lines = text.splitlines()
    assert lines[0] == "<ViewResults '_design/demo/_view/todo' rows=25>"
    assert lines[1:3] == ["id", "-" * len("t_demo_SB000")]
    assert lines[3:13] == [f"t_demo_SB{k:03d}" for k in range(10)]
    assert lines[13:] == ["... and 15 more"]
    page = token_rows(25)._repr_html_()
    assert page.count("<tr><td>") == 10 and "<p>... and 15 more</p>" in page
    assert "t_demo_SB010" not in text + page
    exactly_ten = repr(token_rows(10))
    assert "more" not in exactly_ten and "t_demo_SB009" in exactly_ten


def test_key_and_value_columns_appear_when_they_differ_from_the_id() -> None:
    rows = ViewResults(
        "demo", "by_obs", [Row({"id": "t_a", "key": ["OBSID", "L1"], "value": {"n": 1}})]
    )
    assert repr(rows).splitlines()[1].split() == ["id", "key", "value"]
    assert '["OBSID", "L1"]' in repr(rows) and '{"n": 1}' in repr(rows)
    counts = ViewResults("demo", "sizes", [Row({"key": ["a", 1], "value": 3})])
    assert repr(counts).splitlines()[1].split() == ["key", "value"]  # not states: no total
    assert "total" not in repr(counts)


def test_values_are_escaped_cut_and_on_one_line() -> None:
    nasty = "<script>alert('x')</script>\n" + "y" * 200
    rows = ViewResults("d<e>mo", "v&w", [Row({"id": "t_<b>", "key": "t_<b>", "value": nasty})])
    page = rows._repr_html_()
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "_design/d&lt;e&gt;mo/_view/v&amp;w" in page
    text = repr(rows)
    assert len(text.splitlines()) == 4 and "\n" not in cell(nasty)
    assert len(cell(nasty)) == MAX_CELL and cell(nasty).endswith("…")
    assert cell(3) == "3" and cell(None) == "null" and cell("plain") == "plain"


def test_empty_views_say_so() -> None:
    assert (
        repr(token_rows(0, "error")) == "<ViewResults '_design/demo/_view/error' rows=0>\n(no rows)"
    )
    assert "<p>(no rows)</p>" in token_rows(0)._repr_html_()


def test_the_table_helpers_agree() -> None:
    table = Table("title", ("name", "n"), [["a", 1], ["bb", 22]], more=3, footer=[["all", 26]])
    assert text_table(table).splitlines() == [
        "title",
        "name   n",
        "----  --",
        "a      1",
        "bb    22",
        "----  --",
        "all   26",
        "... and 3 more",
    ]
    assert html_table(table).count("<td>") == 4 and "... and 3 more" in html_table(table)


class FakePool:
    """What TokenSet's repr reads: ids, counts per state, documents."""

    def __init__(self, states: Dict[str, TokenState], fail: bool = False) -> None:
        self.states, self.fail = states, fail
        self.requests: List[str] = []

    def ids(self, t_type: str, state: Any = None) -> List[str]:
        self.requests.append("ids")
        if self.fail:
            raise CouchUnreachableError("cannot reach the CouchDB server at http://127.0.0.1:9")
        return sorted(self.states)

    def counts(self, t_type: str) -> Dict[TokenState, int]:
        self.requests.append("counts")
        counts = dict.fromkeys(TokenState, 0)
        for state in self.states.values():
            counts[state] += 1
        return counts

    def docs(self, ids: Sequence[str]) -> Iterator[Dict[str, Any]]:
        self.requests.append(f"docs {len(ids)}")
        fields = {
            TokenState.TODO: {},
            TokenState.LOCKED: {"lock": 1},
            TokenState.ERROR: {"lock": 1, "done": 1, "output": 1},
        }
        for token_id in ids:
            yield {"_id": token_id, **fields[self.states[token_id]]}


def token_set(pool: FakePool) -> TokenSet:
    th = SimpleNamespace(
        t_type="demo",
        pool=pool,
        database=SimpleNamespace(name="sksp_dev", url="http://admin:s3cret@127.0.0.1:5984"),
    )
    return TokenSet(th)  # type: ignore[arg-type]


def test_token_set_shows_counts_and_the_first_tokens_with_their_state() -> None:
    states = {f"t_demo_SB{k:03d}": TokenState.TODO for k in range(12)}
    states["t_demo_SB001"] = TokenState.ERROR
    states["t_demo_SB002"] = TokenState.LOCKED
    pool = FakePool(states)
    text = repr(token_set(pool))
    lines = text.splitlines()
    assert lines[0] == "<TokenSet type='demo' db='sksp_dev' tokens=12: todo 10, locked 1, error 1>"
    assert lines[1].split() == ["id", "state"]
    assert lines[3:6] == ["t_demo_SB000  todo", "t_demo_SB001  error", "t_demo_SB002  locked"]
    assert lines[-1] == "... and 2 more" and len(lines) == 3 + 10 + 1
    assert pool.requests == ["ids", "counts", "docs 10"]  # three requests, ten documents
    page = token_set(pool)._repr_html_()
    assert "<tr><td>t_demo_SB001</td><td>error</td></tr>" in page and "... and 2 more" in page
    assert "s3cret" not in text + page and "5984" not in text + page


def test_token_set_repr_never_raises() -> None:
    text = repr(token_set(FakePool({}, fail=True)))
    assert text.startswith("<TokenSet type='demo' db='sksp_dev'>\n(the tokens could not be read:")
    assert "(the tokens could not be read" in token_set(FakePool({}, fail=True))._repr_html_()
    assert (
        repr(token_set(FakePool({})))
        == "<TokenSet type='demo' db='sksp_dev' tokens=0>\n(no tokens)"
    )


@pytest.mark.parametrize("n", [0, 1, 10, 11])
def test_truncation_counts(n: int) -> None:
    more = [line for line in repr(token_rows(n)).splitlines() if "more" in line]
    assert more == ([f"... and {n - 10} more"] if n > 10 else [])
