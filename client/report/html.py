"""The report as one self-contained HTML page.

Self-contained: the style is inline, the figures are PNG ``data:`` URLs, and the page loads
nothing (no script, no font, no stylesheet from anywhere). A Content-Security-Policy says so
to the browser as well: even a bug in the escaping here could not run a script.

Every text that comes from a token (ids, host names, batch job ids, ``held`` reasons,
``launcher_status``, codes) is untrusted and goes through :func:`html.escape`, quotes included.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from typing import Iterable, List, Mapping, Optional, Sequence, Tuple

from grid_lrt.shared.schema import TokenState

from . import plots
from .collect import Spread, Tally, TypeReport

__all__ = ["CSP", "render"]

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_STYLE = """
body { font-family: system-ui, -apple-system, "DejaVu Sans", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #212121; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #1e88e5; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; }
th, td { border: 1px solid #cfd8dc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #eceff1; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: .5em 0; }
.muted { color: #757575; } .ids { font-family: monospace; font-size: .9em; word-break: break-all; }
.state-done { color: #2e7d32; } .state-error { color: #c62828; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: str = "") -> str:
    """A table; ``numeric``: one letter per column, ``n`` for right-aligned numbers."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = ' class="n"' if numeric[i : i + 1] == "n" else ""
            text = cell if isinstance(cell, _Raw) else _e(cell)
            cells.append(f"<td{css}>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Raw(str):
    """Markup made here (already escaped), put into a table cell as it is."""


def _spread_row(name: str, spread: Optional[Spread]) -> List[object]:
    if spread is None:
        return [name, 0, "", "", "", ""]
    return [
        name,
        spread.count,
        _duration(spread.minimum),
        _duration(spread.median),
        _duration(spread.mean),
        _duration(spread.maximum),
    ]


def _counts(reports: Sequence[TypeReport]) -> str:
    rows = [[r.t_type, *(r.counts[s] for s in TokenState), r.total] for r in reports]
    if len(reports) > 1:
        totals = [sum(r.counts[s] for r in reports) for s in TokenState]
        rows.append(["all", *totals, sum(totals)])
    return _table(["type", *(s.value for s in TokenState), "total"], rows, "-nnnnnn")


def _errors(report: TypeReport) -> str:
    groups = report.error_groups()
    if not groups:
        return '<p class="muted">No token is in error.</p>'
    rows = []
    for group in groups:
        ids = ", ".join(_e(i) for i in group.token_ids)
        more = group.count - len(group.token_ids)
        if more > 0:
            ids += f" <span class='muted'>and {more} more</span>"
        rows.append(
            [group.code, group.meaning, group.count, _Raw(f"<span class='ids'>{ids}</span>")]
        )
    return _table(["code", "meaning", "tokens", "token ids"], rows, "--n-")


def _tallies(title: str, rows: Sequence[Tuple[str, Tally]]) -> str:
    if not rows:
        return f'<p class="muted">No {_e(title)} recorded on the tokens.</p>'
    table = _table(
        [title, "errors", "requeued attempts", "done"],
        [[name, t.error, t.requeued, t.done] for name, t in rows],
        "-nnn",
    )
    return table + _img(plots.failures_png(f"by {title}", rows), f"failures by {title}")


def _staging(report: TypeReport) -> str:
    parts = []
    if report.held_reasons:
        reasons = sorted(report.held_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        parts.append(_table(["held now, reason", "tokens"], reasons, "-n"))
    if report.staging_problems:
        items = sorted(report.staging_problems.items())[:20]
        parts.append(_table(["held token", "staging problem"], items))
    if report.staging_wait_seconds:
        parts.append(
            _table(
                ["", "tokens", "min", "median", "mean", "max"],
                [_spread_row("staging wait", report.staging_waits)],
                "-n",
            )
        )
    else:
        parts.append(
            '<p class="muted">No staging wait times on the tokens (they are known where '
            "<code>times</code> has <code>held</code>, and <code>released</code> or "
            "<code>locked</code>).</p>"
        )
    return "".join(parts)


def _scrubs(report: TypeReport) -> str:
    rows = sorted(report.scrub_counts.items())
    text = _table(["scrub_count", "tokens"], rows, "nn")
    if report.most_scrubbed:
        text += _table(["most reset token", "scrub_count"], report.most_scrubbed[:10], "-n")
    return text


def _section(report: TypeReport, anchor: str) -> str:
    out = [f'<section id="{_e(anchor)}"><h2>{_e(report.t_type)}</h2>']
    done, error = report.counts[TokenState.DONE], report.counts[TokenState.ERROR]
    out.append(
        f"<p><b>{report.total}</b> tokens: <span class='state-done'>{done} done</span>, "
        f"<span class='state-error'>{error} in error</span>, "
        f"{report.counts[TokenState.LOCKED]} locked, {report.counts[TokenState.TODO]} todo, "
        f"{report.counts[TokenState.WAITING]} waiting."
    )
    if report.stale_locks:
        out.append(
            f" Locked with an expired lease: <b>{report.stale_locks}</b> "
            "(<code>lrt tokens reset TYPE --stale</code>)."
        )
    out.append("</p><h3>Timeline</h3>")
    if report.intervals:
        out.append(_img(plots.timeline_png(report), f"timeline of {report.t_type}"))
    else:
        out.append('<p class="muted">No token of this type has been claimed yet.</p>')
    out.append("<h3>Durations</h3>")
    out.append(
        _table(
            ["", "tokens", "min", "median", "mean", "max"],
            [
                _spread_row("pipeline (running → upload)", report.pipeline),
                _spread_row("attempt (claim → end)", Spread.of(report.attempt_seconds)),
            ],
            "-n",
        )
    )
    if report.pipeline_seconds:
        out.append(
            _img(
                plots.durations_png(report.pipeline_seconds, report.staging_wait_seconds),
                f"durations of {report.t_type}",
            )
        )
    out += [
        "<h3>Staging</h3>",
        _staging(report),
        "<h3>Error codes</h3>",
        _errors(report),
        "<h3>Scrub counts</h3>",
        _scrubs(report),
        "<h3>Failures per host</h3>",
        _tallies("host", report.failing(report.hosts)),
        "<h3>Failures per batch job</h3>",
        _tallies("batch job", report.failing(report.batch_jobs)),
    ]
    out.append("</section>")
    return "".join(out)


def render(reports: Sequence[TypeReport], *, database: str, now: float) -> str:
    """The page for ``reports`` (one section per token type)."""
    types = ", ".join(r.t_type for r in reports)
    anchors = [f"type-{i}" for i in range(len(reports))]
    toc = "".join(
        f'<li><a href="#{a}">{_e(r.t_type)}</a> ({r.total} tokens)</li>'
        for a, r in zip(anchors, reports)
    )
    meta: Mapping[str, str] = {"database": database, "generated": _utc(now)}
    head = "".join(f"<b>{_e(k)}</b>: {_e(v)}<br>" for k, v in meta.items())
    body = [
        f"<h1>grid-lrt report: {_e(types)}</h1>",
        f"<p>{head}</p>",
        f"<ul>{toc}</ul>" if len(reports) > 1 else "",
        "<h2>Tokens per state</h2>",
        _counts(reports),
        _img(plots.states_png(reports), "tokens per state"),
        *(_section(r, a) for r, a in zip(reports, anchors)),
        '<p class="muted">Made by <code>lrt report</code>.</p>',
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>grid-lrt report: {_e(types)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
