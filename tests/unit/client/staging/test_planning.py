"""Issue 11: a SURL list split into requests within the LTA's limits (≤ 1,000 files, < 5 TB,
one site and OBSID each), sizes read from the list."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_lrt.client.staging.planning import fits, plan_requests, read_sized_list
from grid_lrt.shared.errors import ConfigError

SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc/{o}/L{o}_SB{i:03d}.tar"
JUELICH = (
    "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/x/{o}/L{o}_SB{i:03d}.tar"
)


def links(template: str, obsid: int, n: int) -> list[str]:
    return [template.format(o=obsid, i=i) for i in range(n)]


def test_2400_files_make_requests_of_at_most_1000_per_site_and_obsid() -> None:
    listed = links(SARA, 1, 1500) + links(JUELICH, 2, 600) + links(SARA, 3, 300)
    batches = plan_requests(listed)
    assert [(b.site, b.obsid, len(b)) for b in batches] == [
        ("juelich", "L2", 600),
        ("sara", "L1", 1000),
        ("sara", "L1", 500),
        ("sara", "L3", 300),
    ]
    assert sorted(s for b in batches for s in b.surls) == sorted(listed)
    assert batches[1].surls == listed[:1000]  # the list's order inside a group


def test_sizes_keep_a_request_under_5_tb(tmp_path: Path) -> None:
    listed = links(SARA, 1, 6)
    text = "".join(f"{link} {2 * 10**12}\n" for link in listed)
    path = tmp_path / "srm.txt"
    path.write_text("# sizes from the catalogue\n" + text + listed[0] + " 5\n")
    found = read_sized_list(path)
    assert found.links == listed and found.sizes[listed[0]] == 2 * 10**12
    batches = plan_requests(found.links, found.sizes)
    assert [len(b) for b in batches] == [2, 2, 2]  # 4 TB each: a third file would make 6 TB
    assert all(b.size is not None and b.size < 5 * 10**12 for b in batches)
    assert "4.00 TB" in batches[0].describe()


def test_a_file_over_the_limit_and_a_bad_size(tmp_path: Path) -> None:
    link = links(SARA, 1, 1)[0]
    with pytest.raises(ConfigError, match=r"alone is 6\.00 TB"):
        plan_requests([link], {link: 6 * 10**12})
    path = tmp_path / "srm.txt"
    path.write_text(f"{link} 12GB\n")
    with pytest.raises(ConfigError, match=r"srm.txt, line 1: '12GB'"):
        read_sized_list(path)


def test_in_flight_limit() -> None:
    assert fits(1000, 4000) and not fits(1000, 4001) and fits(5000, 0)
