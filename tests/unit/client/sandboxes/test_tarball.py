"""The reproducible tar.gz: same content, same bytes; normalised members; nothing unwanted."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from pathlib import Path

import pytest

from grid_lrt.client.sandboxes import SandboxError, write_tarball
from grid_lrt.client.sandboxes.tarball import member_names


def _tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "master.sh").write_text("#!/bin/bash\necho hi\n")
    (root / "master.sh").chmod(0o700)
    (root / "bin" / "lib.sh").write_text("f() { :; }\n")
    (root / "bin" / "lib.sh").chmod(0o600)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "sub").mkdir()
    (root / "sub" / ".git").write_text("gitdir: ../.git/modules/sub\n")
    (root / "sub" / "x.py").write_text("X = 1\n")
    (root / "sub" / "x.pyc").write_bytes(b"\x00compiled")
    (root / "sub" / "__pycache__").mkdir()
    (root / "sub" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00")
    (root / "link.sh").symlink_to("bin/lib.sh")
    return root


def test_same_content_gives_same_bytes_whatever_the_mtimes_and_modes(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    first = write_tarball(root, tmp_path / "a.tar.gz")
    for path in [root / "master.sh", root / "bin" / "lib.sh", root / "bin"]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (root / "bin" / "lib.sh").chmod(0o664)  # another umask
    (root / "master.sh").chmod(0o775)
    second = write_tarball(root, tmp_path / "b.tar.gz")
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    assert first.sha256 == second.sha256
    assert first.sha256 == hashlib.sha256((tmp_path / "a.tar.gz").read_bytes()).hexdigest()
    assert first.size == (tmp_path / "a.tar.gz").stat().st_size


def test_members_sorted_normalised_and_without_git_or_bytecode(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    result = write_tarball(root, tmp_path / "s.tar.gz")
    names = member_names(result.path)
    assert names == ["bin", "bin/lib.sh", "link.sh", "master.sh", "sub", "sub/x.py"]
    assert result.members == len(names)
    with tarfile.open(result.path, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {m.mtime for m in members.values()} == {0}
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {(0, 0, "", "")}
    assert members["bin"].mode == 0o755 and members["master.sh"].mode == 0o755
    assert members["bin/lib.sh"].mode == 0o644 and members["sub/x.py"].mode == 0o644
    assert members["link.sh"].issym() and members["link.sh"].linkname == "bin/lib.sh"


def test_gzip_header_has_no_mtime_and_no_file_name(tmp_path: Path) -> None:
    result = write_tarball(_tree(tmp_path / "tree"), tmp_path / "named.tar.gz")
    head = result.path.read_bytes()[:10]
    assert head[:2] == b"\x1f\x8b"
    assert head[3] & 0x08 == 0, "FNAME flag set"
    assert head[4:8] == b"\x00\x00\x00\x00", "gzip mtime not 0"
    assert gzip.decompress(result.path.read_bytes())  # a valid stream


def test_source_date_epoch_sets_member_mtimes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    result = write_tarball(_tree(tmp_path / "tree"), tmp_path / "e.tar.gz")
    with tarfile.open(result.path, "r:gz") as tar:
        assert {m.mtime for m in tar.getmembers()} == {1600000000}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(SandboxError, match="SOURCE_DATE_EPOCH"):
        write_tarball(tmp_path / "tree", tmp_path / "f.tar.gz")


def test_links_leaving_the_tree_are_refused(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    (root / "bin" / "escape").symlink_to("../../outside")
    with pytest.raises(SandboxError, match=r"bin/escape -> \.\./\.\./outside points outside"):
        write_tarball(root, tmp_path / "x.tar.gz")
    assert not (tmp_path / "x.tar.gz").exists()
    assert not list(tmp_path.glob(".*.part"))


def test_the_tarball_may_not_be_inside_the_tree(tmp_path: Path) -> None:
    root = _tree(tmp_path / "tree")
    with pytest.raises(SandboxError, match="inside the folder it packs"):
        write_tarball(root, root / "self.tar.gz")
