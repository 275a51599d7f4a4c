"""Safe extraction into a destination that already holds files and links; the library filter.

The checks of the member list cannot see the destination; the writer re-checks it as it goes
(and so does ``tarfile.data_filter`` where this Python has it). Tar cases run with and without
the filter (the ``tar_filter`` fixture): the same archives must be refused either way.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

from grid_lrt.launcher.unpack import DATA_FILTER, UnsafeArchiveError, safe_extract
from grid_lrt.launcher.unpack_members import TarFilter
from tests.unit.launcher.archive_kit import SANDBOX, needs_data_filter, write_tar, write_zip


def test_extract_over_existing_files_replaces_them(
    tmp_path: Path, tar_filter: Optional[TarFilter]
) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "master.sh").write_text("old")
    outside = tmp_path / "victim"
    outside.write_text("keep")
    (dest / "latest.parset").symlink_to(outside)  # a file is written in place of the link
    safe_extract(write_tar(tmp_path / "a.tar", SANDBOX), dest, tar_filter=tar_filter)
    assert (dest / "master.sh").read_text().startswith("#!/bin/sh")
    assert outside.read_text() == "keep"


def test_existing_link_in_destination_cannot_lead_outside(
    tmp_path: Path, tar_filter: Optional[TarFilter]
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dest = tmp_path / "job"
    dest.mkdir()
    (dest / "Input").symlink_to(outside)
    archive = write_tar(tmp_path / "a.tar", [("Input/sub/x.txt", "file", "x", 0o644)])
    with pytest.raises(UnsafeArchiveError, match="outside the destination"):
        safe_extract(archive, dest, tar_filter=tar_filter)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("link", ["Input/x", "Input/../Input", "ok/../Input/sub"])
def test_link_through_an_existing_link_of_the_destination_is_refused(
    tmp_path: Path, link: str, tar_filter: Optional[TarFilter]
) -> None:
    """The archive alone looks fine; the destination's own link would take this one out.

    ``tarfile.data_filter`` refuses it (it resolves links on the file system); so do our
    rules, so that a Python without the filter refuses the same archive.
    """
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    dest = tmp_path / "job"
    (dest / "ok").mkdir(parents=True)
    (dest / "Input").symlink_to(outside)
    archive = write_tar(tmp_path / "a.tar", [("l", "sym", link, 0o777)])
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(archive, dest, tar_filter=tar_filter)
    assert info.value.member == "l"
    assert info.value.reason == f"link target {link!r} is outside the destination"
    assert not (dest / "l").is_symlink()


def test_the_archives_own_links_in_a_link_target_are_fine(
    tmp_path: Path, tar_filter: Optional[TarFilter]
) -> None:
    dest = tmp_path / "job"
    (dest / "Input").mkdir(parents=True)
    (dest / "Input" / "data").write_text("d")
    (dest / "here").symlink_to("Input")  # a link of the destination that stays inside
    archive = write_tar(tmp_path / "a.tar", [("l", "sym", "here/data", 0o777)])
    safe_extract(archive, dest, tar_filter=tar_filter)
    assert (dest / "l").read_text() == "d"


@needs_data_filter
def test_every_tar_member_goes_through_the_filter_and_its_mode_is_used(tmp_path: Path) -> None:
    assert DATA_FILTER is not None
    seen: List[Tuple[str, str]] = []

    def stricter(info: tarfile.TarInfo, dest: str) -> Optional[tarfile.TarInfo]:
        """The standard filter, recorded, and taking group read from files."""
        seen.append((info.name, dest))
        kept = DATA_FILTER(info, dest) if DATA_FILTER is not None else None
        return None if kept is None else kept.replace(mode=(kept.mode or 0) & ~0o040)

    dest = tmp_path / "job"
    safe_extract(write_tar(tmp_path / "a.tar", SANDBOX), dest, tar_filter=stricter)
    assert seen == [(name, str(dest)) for name, *_ in SANDBOX]
    assert (dest / "master.sh").stat().st_mode & 0o777 == 0o715
    seen.clear()
    safe_extract(write_zip(tmp_path / "a.zip", SANDBOX), tmp_path / "z", tar_filter=stricter)
    assert seen == []  # zip files: our rules alone


@needs_data_filter
@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("SpecialFileError", "special file (tarfile.data_filter)"),
        ("AbsoluteLinkError", "absolute link target 'parsets/a.parset' (tarfile.data_filter)"),
        ("FilterError", "refused (tarfile.data_filter)"),
        (None, "refused by tarfile.data_filter"),
    ],
)
def test_a_refusal_of_the_filter_is_an_unsafe_archive(
    tmp_path: Path, error: Optional[str], reason: str
) -> None:
    """A future filter may refuse more than our rules: its refusal is ours (26), not a crash."""

    def refusing(info: tarfile.TarInfo, dest: str) -> Optional[tarfile.TarInfo]:
        if info.name != "latest.parset":
            return info
        if error is None:
            return None  # "skip it": a member we do not write is a refusal too
        cls: Any = getattr(tarfile, error)
        raise cls(info) if error != "FilterError" else cls("refused")

    dest = tmp_path / "job"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(write_tar(tmp_path / "a.tar", SANDBOX), dest, tar_filter=refusing)
    assert info.value.member == "latest.parset"
    assert info.value.reason == reason
