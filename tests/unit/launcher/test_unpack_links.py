"""Links across the archives of one job (issue 9, finding 12).

Each archive was checked against the tree as it was when its links were written, so a link of
one archive could be turned outwards by a later one (``a -> b/c/b/c/../..`` while ``b/c`` does
not exist yet, then ``b/c -> ..``). Every link of the job is now resolved again after each
archive; one that leads out is removed and the archive refused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import pytest

from grid_lrt.launcher.unpack import LinkLedger, UnsafeArchiveError, safe_extract
from grid_lrt.launcher.unpack_links import inside
from grid_lrt.launcher.unpack_members import TarFilter
from tests.unit.launcher.archive_kit import Spec, write_tar, write_zip

DOTS = "b/c/b/c/../.."


def _job(tmp_path: Path) -> Path:
    dest = tmp_path / "job" / "Input"
    dest.mkdir(parents=True)
    return dest


def _links_out(root: Path) -> List[str]:
    real = os.path.realpath(root)
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_symlink() and not inside(os.path.realpath(p), real)
    ]


@pytest.mark.parametrize("shared", [True, False], ids=["one-ledger", "ledger-per-call"])
def test_a_later_archive_cannot_turn_an_earlier_link_outwards(
    tmp_path: Path, tar_filter: Optional[TarFilter], shared: bool
) -> None:
    dest = _job(tmp_path)
    links = LinkLedger() if shared else None
    first = write_tar(tmp_path / "one.tar", [("a", "sym", DOTS, 0o777)])
    second = write_tar(tmp_path / "two.tar", [("b", "dir", "", 0o755), ("b/c", "sym", "..", 0o777)])
    safe_extract(first, dest, tar_filter=tar_filter, links=links)
    assert os.path.realpath(dest / "a") == os.path.realpath(dest / "b" / "c")  # inside, for now
    with pytest.raises(UnsafeArchiveError) as excinfo:
        safe_extract(second, dest, tar_filter=tar_filter, links=links)
    assert excinfo.value.message == (
        f"unsafe archive member 'a': a link ({DOTS!r}) that leads outside Input once two.tar "
        "is extracted; the link was removed"
    )
    assert not (dest / "a").is_symlink() and _links_out(dest) == []


def test_the_issues_order_is_refused_too(tmp_path: Path, tar_filter: Optional[TarFilter]) -> None:
    dest = _job(tmp_path)
    safe_extract(
        write_tar(tmp_path / "one.tar", [("b", "dir", "", 0o755), ("b/c", "sym", "..", 0o777)]),
        dest,
        tar_filter=tar_filter,
    )
    with pytest.raises(UnsafeArchiveError, match="outside the destination"):
        safe_extract(write_tar(tmp_path / "two.tar", [("a", "sym", DOTS, 0o777)]), dest)
    assert _links_out(dest) == []


def test_replacing_a_link_is_checked_against_the_links_through_it(tmp_path: Path) -> None:
    """``b/c -> .``: ``a -> b/c/..`` is the destination; ``b/c -> ..`` would make it its parent."""
    dest = _job(tmp_path)
    links = LinkLedger()
    first: List[Spec] = [
        ("b", "dir", "", 0o755),
        ("b/c", "sym", ".", 0o777),
        ("a", "sym", "b/c/..", 0o777),
    ]
    safe_extract(write_zip(tmp_path / "one.zip", first), dest, links=links)
    with pytest.raises(UnsafeArchiveError, match=r"'a': a link .* leads outside Input"):
        safe_extract(
            write_zip(tmp_path / "two.zip", [("b/c", "sym", "..", 0o777)]), dest, links=links
        )
    assert _links_out(dest) == []


def test_links_of_the_job_folder_are_checked_after_an_input_archive(tmp_path: Path) -> None:
    """A sandbox link in the job folder, through Input/, turned outwards by an input archive."""
    dest = _job(tmp_path)
    job = dest.parent
    (job / "data").symlink_to("Input/b/c/../../..")  # lexically the job folder: inside it
    links = LinkLedger()
    links.seed(job)
    assert len(links) == 1
    archive = write_tar(tmp_path / "in.tar", [("b", "dir", "", 0o755), ("b/c", "sym", "..", 0o777)])
    with pytest.raises(UnsafeArchiveError, match=r"'data': a link .* leads outside job"):
        safe_extract(archive, dest, links=links)
    assert _links_out(job) == []


def test_links_that_stay_inside_are_kept(tmp_path: Path) -> None:
    dest = _job(tmp_path)
    links = LinkLedger()
    safe_extract(
        write_tar(
            tmp_path / "one.tar", [("lib", "dir", "", 0o755), ("cur", "sym", "lib/v2", 0o777)]
        ),
        dest,
        links=links,
    )
    safe_extract(
        write_tar(
            tmp_path / "two.tar",
            [("lib/v2", "dir", "", 0o755), ("lib/v1", "sym", "../lib/v2", 0o777)],
        ),
        dest,
        links=links,
    )
    assert len(links) == 2
    assert os.path.realpath(dest / "cur") == os.path.realpath(dest / "lib" / "v2")
