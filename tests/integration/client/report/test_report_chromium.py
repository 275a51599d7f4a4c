"""``lrt report`` on the real server, the page rendered by headless Chromium.

The tokens (every state, with times, outputs, hosts and batch jobs, as the launcher writes
them) go to the CouchDB-compatible test server; ``lrt report`` reads them back through the
pool. Chromium then loads the page from disk: its DOM must show the run's numbers and its
screenshot must not be blank. Without Chromium the test skips, and under ``CI=true`` fails.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from grid_lrt.client.cli.main import main
from grid_lrt.shared.schema import new_token
from tests.integration.client.conftest import CliEnv
from tests.support.helpers import in_ci
from tests.unit.client.report.kit import HOSTILE, T0, campaign, ran, words

INSTALL = "apt-get install -y --no-install-recommends chromium"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable (skip without it; fail without it under CI=true)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if in_ci():
        pytest.fail(f"CI=true but chromium is not installed: {INSTALL}", pytrace=False)
    pytest.skip(f"chromium is not installed ({INSTALL})")


def headless(chromium: str, profile: Path, *args: str) -> str:
    """Run headless Chromium once (its own profile folder) and return its stdout."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def colours_of(png: Path) -> np.ndarray[Any, Any]:
    """The distinct RGB colours (0-255) of a PNG, read with matplotlib's image reader."""
    pixels = imread(png)
    rgb = np.rint(pixels[..., :3] * 255).astype(np.int16).reshape(-1, 3)
    return np.unique(rgb, axis=0)


@pytest.fixture
def run_tokens(cli_env: CliEnv) -> CliEnv:
    """The unit tests' campaign of type ``cal`` (12 tokens), and one more in error whose id
    and host name are markup."""
    docs = [d for d in campaign() if d["type"] == "cal"]
    hostile = new_token("cal", HOSTILE["_id"])
    ran(hostile, start=T0 + 30, code=21, host=HOSTILE["hostname"], job="job.6")
    result = cli_env.pool.create([*docs, hostile])
    assert result.ok, result
    return cli_env


def test_report_in_headless_chromium(
    run_tokens: CliEnv, chromium: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    started = time.monotonic()
    assert main(["report", "cal", "-o", str(page)]) == 0
    made = time.monotonic() - started
    assert capsys.readouterr().out.strip() == f"wrote {page}: 13 tokens of 1 type(s)"

    started = time.monotonic()
    dom = headless(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    shot = tmp_path / "report.png"
    headless(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        "--hide-scrollbars",
        page.as_uri(),
    )
    rendered = time.monotonic() - started

    text = words(dom)
    assert "13 tokens: 3 done, 4 in error, 2 locked, 2 todo, 2 waiting." in text
    assert "21 Download fails 3" in text
    assert "99 Generic pipeline failure 1 t_cal_e2" in text
    assert "wn3 2 1 0" in text  # host, errors, requeued attempts, done
    assert HOSTILE["_id"] in text and HOSTILE["hostname"] in text  # shown as text ...
    assert "<script" not in dom.lower()  # ... never as an element Chromium made

    assert imread(shot).shape[:2] == (2000, 1200)
    colours = colours_of(shot)
    assert len(colours) > 20, f"a blank screenshot: {len(colours)} colours"
    green = np.array([0x43, 0xA0, 0x47])  # the done bars of the state figure
    assert (np.abs(colours - green).max(axis=1) <= 8).any(), "no figure on the screenshot"
    print(f"lrt report {made:.1f} s; chromium dump-dom + screenshot {rendered:.1f} s")


def test_a_type_without_tokens_is_an_error_not_an_empty_page(
    run_tokens: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    assert main(["report", "cal", "nosuchtype", "-o", str(page)]) == 2
    err = capsys.readouterr().err
    assert "error: no tokens of type nosuchtype in database" in err
    assert "hint: types in this database: cal" in err
    assert not page.exists()
