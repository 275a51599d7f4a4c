"""``--watch``: redrawn in place at a terminal, appended in a pipe, ends when final or at
Ctrl-C; and the progress bars stay out of ``lrt -q``."""

from __future__ import annotations

import io
import sys
import time
from typing import List, Tuple

import pytest

from grid_lrt.client.cli.watch import watch
from grid_lrt.client.progress import progress_bar, set_quiet, while_waiting


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _frames(*texts: str) -> Tuple[List[float], object]:
    slept: List[float] = []
    queue = list(texts)

    def render() -> Tuple[str, bool]:
        text = queue.pop(0)
        return text, not queue

    return slept, render


def test_a_pipe_gets_every_refresh_with_a_time_stamp() -> None:
    slept, render = _frames("todo 2\n", "todo 1\n", "todo 0\n")
    out = io.StringIO()
    assert watch(render, interval=0.5, out=out, sleep=slept.append) == 3  # type: ignore[arg-type]
    text = out.getvalue()
    assert slept == [0.5, 0.5]
    assert text.count("every 0.5 s, Ctrl-C stops]") == 2 and text.count(", final]") == 1
    assert "\x1b[" not in text and text.index("todo 2") < text.index("todo 0")


def test_a_terminal_is_redrawn_in_place() -> None:
    slept, render = _frames("a\nb\n", "c\nd\n")
    out = _Terminal()
    watch(render, interval=1, out=out, sleep=slept.append)  # type: ignore[arg-type]
    assert "\x1b[3F\x1b[J" in out.getvalue()  # up over the two lines and the stamp


def test_limit_and_ctrl_c_end_it() -> None:
    def never() -> Tuple[str, bool]:
        return "x", False

    assert watch(never, interval=1, limit=3, out=io.StringIO(), sleep=lambda _s: None) == 3

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    assert watch(never, interval=1, out=io.StringIO(), sleep=interrupt) == 1


def test_no_progress_bar_under_quiet() -> None:
    set_quiet(True)
    try:
        with progress_bar(10, "x") as bar:
            assert bar.disable
    finally:
        set_quiet(False)


def test_a_slow_call_shows_the_time_waited_and_a_quick_one_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert while_waiting("counting", lambda: 42, after=0.5) == 42
    assert screen.getvalue() == ""
    assert while_waiting("counting", lambda: time.sleep(1.2) or 7, after=0.3) == 7
    assert "counting: 00:0" in screen.getvalue()


def test_the_calls_error_is_raised_in_the_caller() -> None:
    def fail() -> int:
        raise ValueError("no such view")

    with pytest.raises(ValueError, match="no such view"):
        while_waiting("counting", fail, after=0.2)
