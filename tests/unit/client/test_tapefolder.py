"""The demo's tape archive in a folder: files on tape until staged, then online on disk."""

from __future__ import annotations

from pathlib import Path

from grid_lrt.client.devtools.tapefolder import TapeFolder
from grid_lrt.shared import surl

LINKS = [
    f"srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/x/654321/"
    f"L654321_SB{n:03d}_uv.MS.tar"
    for n in range(4)
]


def test_files_are_on_tape_until_made_online(tmp_path: Path) -> None:
    archive = TapeFolder(tmp_path / "a")
    assert archive.write(LINKS, online=LINKS[:1]) == 4
    assert [archive.is_online(link) for link in LINKS] == [True, False, False, False]
    assert archive.door == (tmp_path / "a" / "disk").as_uri()
    assert archive.make_online(LINKS[:3]) == LINKS[1:3]  # the first was online already
    on_disk = tmp_path / "a" / "disk" / surl.path_of(LINKS[2]).lstrip("/")
    on_tape = tmp_path / "a" / "tape" / surl.path_of(LINKS[2]).lstrip("/")
    assert on_disk.read_bytes() == on_tape.read_bytes()
    assert not archive.is_online(LINKS[3])


def test_writing_again_keeps_what_exists_and_unknown_links_are_skipped(tmp_path: Path) -> None:
    archive = TapeFolder(tmp_path / "a")
    archive.write(LINKS[:2])
    assert archive.write(LINKS) == 2  # only the two new ones
    gone = LINKS[0].replace("SB000", "SB999")
    assert archive.make_online([gone]) == []  # not in the archive: nothing to stage
    assert not archive.is_online(gone)
