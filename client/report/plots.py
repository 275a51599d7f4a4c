"""The report's figures, drawn with matplotlib's Agg backend into PNG bytes.

No pyplot: each figure is a ``matplotlib.figure.Figure`` on its own Agg canvas, so nothing
global (no backend switch, no open-figure registry) changes in the caller's process, and no
display is needed. Labels that come from tokens (host names, batch job ids) are drawn with
``parse_math=False`` (a ``$`` in a host name is text, not TeX) and shortened.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Dict, List, Sequence, Tuple

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from grid_lrt.shared.schema import TokenState

from .collect import Tally, TypeReport, timeline

__all__ = ["durations_png", "failures_png", "states_png", "timeline_png"]

#: Colours of the states (and of the timeline's series), the same on every figure.
COLOURS: Dict[str, str] = {
    TokenState.WAITING.value: "#9e9e9e",
    TokenState.TODO.value: "#42a5f5",
    TokenState.LOCKED.value: "#ffb300",
    "running": "#ffb300",
    TokenState.DONE.value: "#43a047",
    TokenState.ERROR.value: "#e53935",
    "requeued": "#8e24aa",
}
_LABEL_CHARS = 32


def _label(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _names(ax: Axes, positions: Sequence[int], names: Sequence[str]) -> None:
    """Names from tokens on the bars, top to bottom, as plain text (never mathtext)."""
    ax.set_yticks(positions, labels=[_label(n) for n in names], parse_math=False)
    ax.invert_yaxis()


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # a host name in a script the bundled font lacks: drawn as boxes, not a warning
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def states_png(reports: Sequence[TypeReport]) -> bytes:
    """Horizontal stacked bars: the tokens of each type per state."""
    fig = Figure(figsize=(8, 0.6 * len(reports) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(reports)))
    left = [0] * len(reports)
    for state in TokenState:
        widths = [r.counts[state] for r in reports]
        ax.barh(positions, widths, left=left, color=COLOURS[state.value], label=state.value)
        left = [a + b for a, b in zip(left, widths)]
    _names(ax, positions, [r.t_type for r in reports])
    ax.set_xlabel("tokens")
    ax.legend(ncols=5, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return _png(fig)


def timeline_png(report: TypeReport) -> bytes:
    """Tokens running at each moment, and attempts ended done/error/requeued so far."""
    moments, series = timeline(report.intervals, report.now)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    when = [dt.datetime.fromtimestamp(m, tz=dt.timezone.utc) for m in moments]
    for name in ("running", "done", "error", "requeued"):
        values = series[name]
        if any(values):
            ax.step(when, values, where="post", color=COLOURS[name], label=name)  # type: ignore[arg-type]
    locator = AutoDateLocator(tz=dt.timezone.utc)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, tz=dt.timezone.utc)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("tokens")
    ax.set_ylim(bottom=0)
    ax.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return _png(fig)


def durations_png(pipeline: Sequence[float], staging: Sequence[float]) -> bytes:
    """Histograms (minutes) of pipeline run times and, when known, staging waits."""
    panels: List[Tuple[str, Sequence[float], str]] = [("pipeline run time", pipeline, "#1e88e5")]
    if staging:
        panels.append(("staging wait", staging, "#9e9e9e"))
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, values, colour) in zip(axes, panels):
        ax.hist([v / 60.0 for v in values], bins=min(30, max(5, len(values) // 3)), color=colour)
        ax.set_title(title)
        ax.set_xlabel("minutes")
        ax.set_ylabel("tokens")
    return _png(fig)


def failures_png(title: str, rows: Sequence[Tuple[str, Tally]]) -> bytes:
    """Horizontal bars per host (or batch job): errors, requeued attempts and done tokens."""
    fig = Figure(figsize=(8, 0.35 * len(rows) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(rows)))
    left = [0] * len(rows)
    for key in ("error", "requeued", "done"):
        widths = [int(getattr(tally, key)) for _, tally in rows]
        ax.barh(positions, widths, left=left, color=COLOURS[key], label=key)
        left = [a + b for a, b in zip(left, widths)]
    _names(ax, positions, [name for name, _ in rows])
    ax.set_title(title)
    ax.set_xlabel("tokens / attempts")
    ax.legend(ncols=3, loc="lower right", frameon=False)
    return _png(fig)
