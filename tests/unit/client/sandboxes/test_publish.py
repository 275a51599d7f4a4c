"""Uploading to file:// with each overwrite policy; the proxy check; scp destinations."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_lrt.client.sandboxes import (
    DestinationTakenError,
    GridProxyMissingError,
    OverwritePolicy,
    destination_url,
    find_grid_proxy,
    upload_tarball,
    write_tarball,
)
from grid_lrt.client.sandboxes.scp import is_scp, parse_scp, scp_argv, ssh_argv
from grid_lrt.shared.errors import UsageError


def _tarball(tmp_path: Path, name: str, text: str) -> Path:
    tree = tmp_path / f"tree-{name}"
    tree.mkdir()
    (tree / "master.sh").write_text(text)
    return write_tarball(tree, tmp_path / f"{name}.tar.gz").path


def test_upload_creates_the_folder_and_verifies(tmp_path: Path) -> None:
    tar = _tarball(tmp_path, "a", "one")
    url = destination_url((tmp_path / "store").as_uri(), "SKSP/x", "a.tar.gz")
    done = upload_tarball(tar, url)
    # the storage says which checksum it can report: sha256 (builtin), adler32 (gfal2's file)
    assert done.action == "uploaded" and done.verified in (("size", "sha256"), ("size", "adler32"))
    assert (tmp_path / "store/SKSP/x/a.tar.gz").read_bytes() == tar.read_bytes()
    assert done.checksum.startswith("sha256:") and done.size == tar.stat().st_size


def test_each_overwrite_policy(tmp_path: Path) -> None:
    first = _tarball(tmp_path, "a", "one")
    other = _tarball(tmp_path, "b", "two")
    url = (tmp_path / "store" / "s.tar.gz").as_uri()
    upload_tarball(first, url)
    with pytest.raises(DestinationTakenError, match="already exists") as refused:
        upload_tarball(other, url, policy=OverwritePolicy.REFUSE)
    assert "--replace" in refused.value.hint
    assert (tmp_path / "store" / "s.tar.gz").read_bytes() == first.read_bytes()
    kept = upload_tarball(first, url, policy=OverwritePolicy.KEEP_IF_SAME)
    assert kept.action == "kept"
    with pytest.raises(DestinationTakenError, match="with other content"):
        upload_tarball(other, url, policy="keep-if-same")  # type: ignore[arg-type]
    assert (tmp_path / "store" / "s.tar.gz").read_bytes() == first.read_bytes()
    replaced = upload_tarball(other, url, policy=OverwritePolicy.REPLACE)
    assert replaced.action == "replaced"
    assert (tmp_path / "store" / "s.tar.gz").read_bytes() == other.read_bytes()


def test_destination_url() -> None:
    assert destination_url("file:///d/", "/a/b/", "n.tar.gz") == "file:///d/a/b/n.tar.gz"
    assert destination_url("/d", "", "n.tar.gz") == "file:///d/n.tar.gz"
    with pytest.raises(UsageError):
        destination_url(" ", "", "n")


def test_grid_proxy_is_looked_for_only_for_gsiftp_and_srm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tar = _tarball(tmp_path, "a", "one")
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "no-proxy"))
    with pytest.raises(GridProxyMissingError, match=r"no grid proxy found \(X509_USER_PROXY="):
        upload_tarball(tar, "gsiftp://gridftp.example.org/pnfs/sbx/a.tar.gz")
    with pytest.raises(GridProxyMissingError) as caught:
        upload_tarball(tar, "srm://srm.example.org/pnfs/sbx/a.tar.gz")
    assert "voms-proxy-init" in caught.value.hint
    upload_tarball(tar, (tmp_path / "plain" / "a.tar.gz").as_uri())  # file://: no proxy needed
    proxy = tmp_path / "x509up"
    proxy.write_text("-----BEGIN CERTIFICATE-----\n")
    assert find_grid_proxy({"X509_USER_PROXY": str(proxy)}) == proxy


def test_scp_destinations() -> None:
    assert is_scp("scp://alice@host:2222/pub/sbx/a.tar.gz")
    assert is_scp("gaasp:/disks/ftphome/pub/a.tar.gz")
    assert not is_scp("file:///tmp/a") and not is_scp("/tmp/a:b") and not is_scp("https://h/a")
    target = parse_scp("scp://alice@host:2222/pub/sbx/a.tar.gz")
    assert (target.login, target.port, target.path) == ("alice@host", 2222, "/pub/sbx/a.tar.gz")
    assert scp_argv(Path("/t/a.tar.gz"), target) == [
        "scp", "-q", "-o", "BatchMode=yes", "-P", "2222", "--", "/t/a.tar.gz",
        "alice@host:/pub/sbx/a.tar.gz",
    ]  # fmt: skip
    assert ssh_argv(target, "test", "-e", target.path)[-3:] == [
        "alice@host",
        "--",
        "test -e /pub/sbx/a.tar.gz",
    ]
    with pytest.raises(UsageError, match="quoting"):
        parse_scp("host:dir/a b;rm -rf x")
    with pytest.raises(UsageError):
        parse_scp("scp://host/")
