"""`lrt launcher build -o FILE` and `lrt submit` on a fresh venv (README): when the installed
distributions do not suit the workers' Python, they download its wheels as --download does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

from grid_lrt.client.cli import launcher, submit
from grid_lrt.client.cli.main import main
from grid_lrt.client.zipapp import LauncherBuildError, wheels
from grid_lrt.client.zipapp.build import BuildResult
from tests.integration.client.conftest import CliEnv

TOO_NEW = "requests 2.34.2 (installed) requires Python >=3.10, but the launcher must run on 3.9"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """A build that fails from the installed distributions and works from wheels."""
    made: List[str] = []

    def build(
        output: Path, *, wheels: Optional[Path] = None, min_python: Tuple[int, int] = (3, 9)
    ) -> BuildResult:
        made.append(f"build {wheels.name if wheels else 'installed'}")
        if wheels is None:
            raise LauncherBuildError(TOO_NEW, hint="build with --download")
        output.write_bytes(b"PK")
        return BuildResult(output, 2, "0" * 64, min_python, {"requests": "2.32.4"}, source="w")

    def download(dest: Path, *, min_python: Tuple[int, int]) -> Path:
        made.append(f"download {'.'.join(map(str, min_python))}")
        dest.mkdir(parents=True, exist_ok=True)
        return dest

    monkeypatch.setattr(wheels, "build_zipapp", build)  # where the fallback lives
    monkeypatch.setattr(wheels, "download_wheels", download)
    monkeypatch.setattr(launcher, "download_wheels", download)  # lrt launcher build --download
    return made


def test_build_falls_back_to_downloading(
    calls: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grid-lrt-launcher.pyz"
    assert main(["launcher", "build", "-o", str(out)]) == 0
    assert calls == ["build installed", "download 3.9", "build wheels"]
    captured = capsys.readouterr()
    assert f"built   {out}" in captured.out
    assert "requires Python >=3.10" in captured.err and "downloading" in captured.err


def test_no_download_keeps_the_error(
    calls: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["launcher", "build", "-o", str(tmp_path / "x.pyz"), "--no-download"]) == 1
    assert calls == ["build installed"]
    assert "requires Python >=3.10" in capsys.readouterr().err


def test_given_wheels_never_download(
    calls: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    assert main(["launcher", "build", "-o", str(tmp_path / "x.pyz"), "--wheels", str(wheels)]) == 0
    assert calls == ["build wheels"]


class _Record:
    def __init__(self, launcher: Optional[Path]) -> None:
        self.launcher = launcher

    def to_doc(self) -> dict[str, str]:
        return {"launcher": str(self.launcher)}


def test_submit_builds_its_launcher_the_same_way(
    calls: List[str],
    cli_env: CliEnv,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("LRT_LAUNCHER_WHEELS", raising=False)
    given: List[bool] = []

    def fake_submit(*args: Any, launcher: Optional[Path] = None, **kwargs: Any) -> _Record:
        given.append(launcher is not None and launcher.read_bytes() == b"PK")
        return _Record(launcher)

    monkeypatch.setattr(submit, "submit_pilots", fake_submit)
    argv = ["submit", "--backend", "local", "--type", "fb", "--jobs", "1", "--json"]
    argv += ["--folder", str(tmp_path / "sub")]
    assert main(argv) == 0, capsys.readouterr().err
    assert calls == ["build installed", "download 3.9", "build wheels"]
    assert given == [True]  # the zipapp built from the downloaded wheels
