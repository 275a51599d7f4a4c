"""``lrt-launcher``'s boundary: user mistakes are messages with exit 1, never tracebacks; the
password leaves the launcher's environment and every log line once it is read."""

from __future__ import annotations

import http.server
import logging
import os
import threading
from pathlib import Path
from typing import Iterator

import pytest

from grid_lrt.launcher.cli import main
from grid_lrt.shared.redact import forget_secrets

PASSWORD = "pa$s@w:rd%41"


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("PICASRC", str(tmp_path / "no-picasrc"))
    monkeypatch.setenv("PICAS_USR", "alice")
    monkeypatch.setenv("PICAS_USR_PWD", PASSWORD)
    monkeypatch.setenv("PICAS_DB", "alice_db")
    monkeypatch.setenv("LRT_WORKDIR", str(tmp_path / "jobs"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    forget_secrets()
    root.handlers[:] = handlers  # main() set up logging on the captured stderr
    for handler in root.handlers:
        for found in [f for f in handler.filters if type(f).__name__ == "SecretFilter"]:
            handler.removeFilter(found)
    root.setLevel(level)


class _WebPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>Welcome to our web site</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_page() -> Iterator[str]:
    """A loopback web server that answers every GET with an HTML page (HTTP 200)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        f"http://alice:{PASSWORD}@127.0.0.1:99999",
        "http://127.0.0.1:5984x",
        "http://[::1",
        f"alice:{PASSWORD}@127.0.0.1:5984",
    ],
)
def test_bad_url_is_exit_1_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    """Issue 9, finding 14: a bad port in PICAS_URL ended in a ValueError traceback."""
    monkeypatch.setenv("PICAS_URL", url)
    assert main(["run", "demo"]) == 1
    err = capsys.readouterr().err
    assert "lrt-launcher: error: PICAS_URL '" in err and "Traceback" not in err
    assert "hint: set PICAS_URL" in err
    assert PASSWORD not in err and "pa$s" not in err


def test_web_page_instead_of_couchdb_is_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], web_page: str
) -> None:
    """Issue 9, finding 14: a web page answering 200 ended in a JSONDecodeError traceback."""
    monkeypatch.setenv("PICAS_URL", web_page)
    assert main(["run", "demo"]) == 1
    err = capsys.readouterr().err
    assert f"the server at {web_page} answered HTTP 200 with text/html" in err
    assert "not CouchDB's description of the database 'alice_db'" in err
    assert "Traceback" not in err and PASSWORD not in err


def test_password_leaves_the_environment_and_the_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], web_page: str
) -> None:
    monkeypatch.setenv("PICAS_URL", web_page)
    assert main(["run", "demo"]) == 1
    assert "PICAS_USR_PWD" not in os.environ  # children inherit no password
    capsys.readouterr()
    logging.getLogger("grid_lrt.test").warning("the password is %s", PASSWORD)
    err = capsys.readouterr().err
    assert "the password is ***" in err and PASSWORD not in err
