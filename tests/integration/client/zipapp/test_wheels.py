"""The wheels behind the zipapp: the project's one downloader (pip through its configured
index; here offline, from the nox wheel folder as a local index), PyYAML bundled without its
C accelerator, charset_normalizer left out when it is compiled only.

No test reaches the internet: pip runs with ``PIP_NO_INDEX=1`` and ``PIP_FIND_LINKS`` set to
``$LRT_LAUNCHER_WHEELS`` (what ``python -m grid_lrt.client.zipapp.wheels`` put there).
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Optional

import pytest

from grid_lrt.client.cli.main import main
from grid_lrt.client.zipapp import LauncherBuildError
from grid_lrt.client.zipapp.build import build_zipapp
from grid_lrt.client.zipapp.dists import DEPENDENCIES
from grid_lrt.client.zipapp.wheels import download_wheels, missing_wheels
from grid_lrt.client.zipapp.wheels import main as wheels_main
from tests.support.zipapp_kit import given_wheels, make_venv, no_wheels, run
from tests.support.zipapp_kit import worker_python as find_worker_python
from tests.support.zipapp_kit import worker_wheels as find_worker_wheels

CURRENT = (sys.version_info.major, sys.version_info.minor)


@pytest.fixture(scope="module")
def worker_wheels() -> Optional[Path]:
    return find_worker_wheels()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "v", find_worker_python())


@pytest.fixture
def bare_env(tmp_path: Path, venv: Path) -> Dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home)}


@pytest.fixture
def local_index(monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip sees only the wheel folder of ``$LRT_LAUNCHER_WHEELS`` (no network)."""
    folder = given_wheels()
    if folder is None:
        no_wheels("the downloader tests need a local index")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    return folder


# -- the downloader ------------------------------------------------------------------------------


def test_download_fetches_one_wheel_of_each_bundled_distribution(
    local_index: Path, tmp_path: Path
) -> None:
    dest = download_wheels(tmp_path / "wheels")
    names = sorted(p.name for p in dest.iterdir())
    assert missing_wheels(dest) == []
    assert len(names) == len(DEPENDENCIES)  # nothing else: the temporary folder is gone
    (pyyaml,) = [n for n in names if n.startswith("pyyaml-")]
    assert "-cp39-cp39-manylinux" in pyyaml  # PyPI has no pure-Python PyYAML wheel
    pure = [n for n in names if not n.startswith("pyyaml-")]
    assert all(n.endswith("-none-any.whl") for n in pure), pure
    result = build_zipapp(tmp_path / "x.pyz", wheels=dest)
    assert result.without_accelerator == ("pyyaml",)
    assert set(result.bundled) == set(DEPENDENCIES)


def test_download_replaces_other_versions_and_keeps_other_files(
    local_index: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "wheels"
    dest.mkdir()
    (dest / "idna-0.1-py3-none-any.whl").write_bytes(b"old")
    (dest / "notes.txt").write_text("mine\n")
    download_wheels(dest)
    assert not (dest / "idna-0.1-py3-none-any.whl").exists()
    assert len(list(dest.glob("idna-*.whl"))) == 1
    assert (dest / "notes.txt").read_text() == "mine\n"


def test_download_failure_says_what_pip_said(
    local_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-index"
    empty.mkdir()
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    with pytest.raises(LauncherBuildError) as caught:
        download_wheels(tmp_path / "wheels", min_python=(3, 9))
    assert "pip download of requests for Python 3.9 failed" in caught.value.message
    assert "--wheels DIR" in caught.value.hint


def test_module_entry_downloads_and_skips_a_complete_folder(
    local_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "wheels"
    assert missing_wheels(dest) == list(DEPENDENCIES)
    assert wheels_main([str(dest), "--if-incomplete"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == sorted(p.name for p in dest.glob("*.whl"))
    assert wheels_main([str(dest), "--if-incomplete"]) == 0
    assert "complete, nothing downloaded" in capsys.readouterr().out
    # the way noxfile.py runs it
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "grid_lrt.client.zipapp.wheels", str(dest),
         "--if-incomplete"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout


def test_cli_download_builds_from_the_downloaded_wheels(
    local_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, dest = tmp_path / "dl.pyz", tmp_path / "wheels"
    assert main(["launcher", "build", "--download", "--wheels", str(dest), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pure    pyyaml (compiled accelerator left out" in printed
    assert missing_wheels(dest) == []
    with zipfile.ZipFile(out) as archive:
        assert "yaml/__init__.py" in archive.namelist()


# -- compiled code -------------------------------------------------------------------------------


def test_installed_pyyaml_goes_in_without_its_accelerator(tmp_path: Path) -> None:
    """This interpreter's PyYAML has yaml/_yaml*.so and the _yaml shim; the zipapp neither."""
    files = [f.as_posix() for f in importlib.metadata.distribution("pyyaml").files or ()]
    has_accelerator = any(f.startswith("yaml/_yaml") and f.endswith(".so") for f in files)
    result = build_zipapp(tmp_path / "here.pyz", min_python=CURRENT)
    with zipfile.ZipFile(result.path) as archive:
        names = archive.namelist()
    assert "yaml/__init__.py" in names
    assert not [n for n in names if n.startswith(("yaml/_yaml", "_yaml/"))]
    assert result.without_accelerator == (("pyyaml",) if has_accelerator else ())
    script = (
        f"import sys; sys.path[:0] = [{str(result.path)!r}]\n"
        "import yaml\n"
        "assert yaml.__file__.startswith(sys.path[0]) and not yaml.__with_libyaml__\n"
        "print(yaml.safe_load('a: [1, b]'))\n"
    )
    done = run([sys.executable, "-I", "-S", "-W", "error", "-c", script], {"PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'a': [1, 'b']}"


def _wheels_from_installed(folder: Path) -> Path:
    """Wheels of the installed dependencies (enough for the builder: files + METADATA)."""
    folder.mkdir()
    for name in DEPENDENCIES:
        dist = importlib.metadata.distribution(name)
        stem = f"{name.replace('-', '_')}-{dist.version}"
        with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as wheel:
            for entry in dist.files or ():
                if not entry.as_posix().startswith(".."):
                    wheel.write(dist.locate_file(entry), entry.as_posix())  # type: ignore[arg-type]
    return folder


def _without_pure_md(source: Path, folder: Path) -> Path:
    """A copy of the wheel folder whose charset_normalizer has only a compiled ``md``."""
    shutil.copytree(source, folder)
    (wheel,) = folder.glob("charset_normalizer-*.whl")
    old = wheel.with_suffix(".old")
    wheel.rename(old)
    with zipfile.ZipFile(old) as src, zipfile.ZipFile(wheel, "w") as dst:
        for item in src.infolist():
            if item.filename != "charset_normalizer/md.py":
                dst.writestr(item, src.read(item))
        dst.writestr("charset_normalizer/md.cpython-39-x86_64-linux-gnu.so", b"\x7fELF")
    old.unlink()
    return folder


def test_compiled_only_charset_normalizer_is_left_out_quietly(
    worker_wheels: Optional[Path], tmp_path: Path, venv: Path, bare_env: Dict[str, str]
) -> None:
    source = worker_wheels or _wheels_from_installed(tmp_path / "installed")
    result = build_zipapp(
        tmp_path / "nocn.pyz", wheels=_without_pure_md(source, tmp_path / "wheels")
    )
    assert result.omitted == ("charset-normalizer",)
    with zipfile.ZipFile(result.path) as archive:
        assert not [n for n in archive.namelist() if n.startswith("charset_normalizer/")]
        main_py = archive.read("__main__.py").decode()
    preamble = main_py.split("from grid_lrt.launcher.cli import run")[0]
    python = str(venv / "bin" / "python")
    head = f"import sys\nsys.path[:0] = [{str(result.path)!r}]\n"
    # requests alone warns (an error under -W error) ...
    bare = run([python, "-W", "error", "-c", head + "import requests"], bare_env)
    assert bare.returncode != 0
    assert "character detection dependency" in bare.stderr
    # ... and the zipapp's __main__ preamble silences exactly that warning.
    quiet = run([python, "-W", "error", "-c", head + preamble + "import requests"], bare_env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
