"""``client.report.html``: a self-contained page in which token fields are only ever text."""

from __future__ import annotations

import ast
import html
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from grid_lrt.client.report.collect import TypeReport, collect
from grid_lrt.client.report.html import CSP, render
from grid_lrt.shared.schema import new_token
from tests.unit.client.report.kit import (
    HOSTILE,
    HOSTILE_TYPE,
    NOW,
    T0,
    ListPool,
    campaign,
    parsed,
    ran,
    words,
)

ROOT = Path(__file__).resolve().parents[4]


def hostile_report() -> TypeReport:
    docs: List[Dict[str, Any]] = []
    error = new_token(HOSTILE_TYPE, HOSTILE["_id"], HOSTILE)
    ran(error, start=T0, code=21, host=HOSTILE["hostname"], job=HOSTILE["batch_job_id"])
    docs.append(error)
    odd = new_token(HOSTILE_TYPE, "t_odd", {"lock": 1, "done": 1, "status": "error"})
    odd["output"] = "<svg onload=alert(3)>"
    docs.append(odd)
    held = new_token(HOSTILE_TYPE, "t_held", {"held": "<iframe src=//evil>"})
    held["launcher_status"] = "staging failed: <object data=//evil>"
    docs.append(held)
    return collect(ListPool(docs), HOSTILE_TYPE, now=T0 + 600)


def test_token_fields_are_text_never_markup() -> None:
    page = render([hostile_report()], database="db<1>", now=T0 + 600)
    tags = parsed(page)
    names = {tag for tag, _ in tags.tags}
    allowed = {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "p",
        "b",
        "br",
        "span",
        "section",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "img",
        "code",
        "ul",
        "li",
        "a",
    }
    assert names <= allowed, names - allowed
    for tag, attrs in tags.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert (attrs["src"] or "").startswith("data:image/png;base64,")
    text = "".join(tags.text)
    shown = [
        HOSTILE["_id"],
        HOSTILE["hostname"],
        HOSTILE["batch_job_id"],
        HOSTILE_TYPE,
        "<svg onload=alert(3)>",
        "<iframe src=//evil>",
        "staging failed: <object data=//evil>",
        "db<1>",
    ]
    for value in shown:
        assert value in text, value
    assert html.escape(HOSTILE["_id"]) in page
    assert "<script" not in page.lower()


def test_page_loads_nothing_from_anywhere() -> None:
    page = render([collect(ListPool(campaign()), "cal", now=NOW)], database="db", now=NOW)
    tags = parsed(page)
    csp = [a["content"] for t, a in tags.tags if t == "meta" and "http-equiv" in a]
    assert csp == [CSP]
    for tag, attrs in tags.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value)
    assert {"script", "link", "iframe", "object", "embed"}.isdisjoint(t for t, _ in tags.tags)


def test_page_shows_the_numbers_of_the_run() -> None:
    report = collect(ListPool(campaign()), "cal", now=NOW)
    text = words(render([report], database="db", now=NOW))
    assert "12 tokens: 3 done, 3 in error, 2 locked, 2 todo, 2 waiting." in text
    assert "21 Download fails 2 t_cal_e1, t_cal_e3" in text
    assert "99 Generic pipeline failure 1 t_cal_e2" in text
    assert "wn3 2 1 0" in text  # host, errors, requeued attempts, done
    assert "job.3 2 1 0" in text
    assert "Locked with an expired lease: 1 (lrt tokens reset TYPE --stale)" in text
    assert "staging failed for 1 file(s)" in text


def test_several_types_have_a_total_row() -> None:
    docs = campaign()
    reports = [collect(ListPool(docs), t, now=NOW) for t in ("cal", "other")]
    text = words(render(reports, database="db", now=NOW))
    assert "all 2 3 2 3 3 13" in text  # waiting todo locked done error total


def test_lrt_does_not_import_matplotlib_until_it_reports() -> None:
    code = "import sys, grid_lrt.client.cli.main; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"


def test_worker_code_never_imports_matplotlib_or_the_report() -> None:
    for folder in ("shared", "launcher"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    assert not name.startswith(("matplotlib", "grid_lrt.client")), (path, name)
