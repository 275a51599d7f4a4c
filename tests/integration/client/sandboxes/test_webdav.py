"""Uploading a built sandbox to a real https WebDAV server (the loopback tape archive:
wsgidav with ``Want-Digest``), and the launcher fetching it back with its checksum."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from grid_lrt.client.sandboxes import (
    DestinationTakenError,
    OverwritePolicy,
    build_sandbox,
    destination_url,
    upload_tarball,
)
from grid_lrt.launcher import storage
from grid_lrt.launcher.sandbox import fetch_sandbox
from tests.support.archive_server import running_archive
from tests.support.gitkit import Repos, commit, write_config


@pytest.fixture(scope="module")
def webdav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One https WebDAV server for the module (needs no gfal2)."""
    with running_archive(tmp_path_factory.mktemp("webdav"), delay=1.0) as server:
        yield server


@pytest.fixture
def dav_base(webdav: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh folder URL on the server, with the client trusting its certificate."""
    for name, value in webdav.client_env.items():
        monkeypatch.setenv(name, value)
    storage.clear_cache()
    return webdav.url(f"sbx-{uuid.uuid4().hex[:10]}")


@pytest.mark.parametrize("scheme", ["https", "davs"])
def test_upload_to_webdav_verify_and_fetch_with_the_launcher(
    tmp_path: Path, repos: Repos, dav_base: str, webdav: Any, scheme: str
) -> None:
    build = build_sandbox(write_config(tmp_path / "s.cfg", repos.base_url), tmp_path / "out")
    url = destination_url(dav_base.replace("https://", f"{scheme}://"), build.loc, "s.tar.gz")
    done = upload_tarball(build.path, url)
    assert done.action == "uploaded"
    assert done.verified[0] == "size" and len(done.verified) == 2  # + a checksum read back
    on_disk = webdav.root / url.split("/", 3)[3]
    assert on_disk.read_bytes() == build.path.read_bytes()

    jobdir = tmp_path / "job"
    jobdir.mkdir()
    token = {"_id": "t1", "SBXloc": url, "SBXchecksum": done.checksum}
    assert fetch_sandbox(token, jobdir, storage_for=storage.storage_for, attempts=1)
    assert (jobdir / "master.sh").read_text().startswith("#!/bin/bash")
    assert (jobdir / "tokvar.cfg").is_file()


def test_overwrite_policies_on_webdav(tmp_path: Path, repos: Repos, dav_base: str) -> None:
    cfg = write_config(tmp_path / "s.cfg", repos.base_url)
    first = build_sandbox(cfg, tmp_path / "one")
    url = destination_url(dav_base, first.loc, first.path.name)
    upload_tarball(first.path, url)
    assert upload_tarball(first.path, url, policy=OverwritePolicy.KEEP_IF_SAME).action == "kept"
    commit(repos.base, {"master.sh": "#!/bin/bash\necho v2\n"}, "v2")
    second = build_sandbox(cfg, tmp_path / "two")
    with pytest.raises(DestinationTakenError):
        upload_tarball(second.path, url)
    with pytest.raises(DestinationTakenError, match="other content"):
        upload_tarball(second.path, url, policy=OverwritePolicy.KEEP_IF_SAME)
    done = upload_tarball(second.path, url, policy=OverwritePolicy.REPLACE)
    assert done.action == "replaced" and done.checksum == second.checksum
    assert storage.storage_for(url).size(url) == second.size
