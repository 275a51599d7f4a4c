"""The sample campaign: two steps over one observation, its inputs, and a check of its results.

:func:`write_sample` copies the packaged campaign (``client/data/campaign``: a calibrator step
whose ``master.sh`` writes the sha256 of each subband's visibilities as its "solution", and a
target step that applies the calibrator's solution to each of its subbands) into a folder
and makes the observation's files:

* by default, the packaged 8 subbands as local files (``file://`` links, nothing to stage);
* with ``staged=True``, ``subbands`` SURLs of L654321 at SURF in a tape folder
  (:class:`~grid_lrt.client.devtools.tapefolder.TapeFolder` under ``archive/``), one in ten
  online and the rest on tape, and ``stage: true`` on the calibrator step: the campaign
  stages them from the LTA (StageIT) and its pilots read them through
  ``LRT_DATA_DOOR=file://.../archive/disk``.

:func:`check_sample` reads every target result back and checks it against its input: each
subband's line must carry the sha256 of that subband's visibilities in the archive twice (as
the target read it, and as the calibrator solved it).
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Dict, List, Optional
from urllib.parse import unquote, urlsplit

from grid_lrt.shared import surl
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import TokenPool
from grid_lrt.shared.schema import TokenState

from ..demodata import make_archive
from ..devtools.tapefolder import TapeFolder
from .plan import read_links
from .spec import Campaign

__all__ = ["SAMPLE_LINKS", "SampleCheck", "check_sample", "write_sample"]

SAMPLE_LINKS = "srm_L654321.txt"
_SURL = (
    "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc0_000/654321/"
    "L654321_SB{sb:03d}_uv.MS_{sb:04d}.tar"
)
_ONLINE_EVERY = 10  # one subband in ten is on disk already; the rest waits on tape


@dataclass
class SampleCheck:
    """What :func:`check_sample` found."""

    checked: int = 0  #: subbands whose result matches their input
    problems: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.problems


def _sizes(subbands: int) -> Dict[str, int]:
    cal = max(4, subbands // 12)
    return {"cal": cal, "target": max(2, cal // 2)}


def write_sample(folder: Path, *, subbands: Optional[int] = None, staged: bool = False) -> str:
    """Write the sample campaign into ``folder`` (new or empty); a line saying what it made."""
    folder = folder.absolute()
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty", hint="give a new or empty folder")
    if subbands is not None and not 1 <= subbands <= 488:
        raise UsageError(f"--subbands {subbands}: LOFAR observations have 1 to 488 subbands")
    data = resources.files("grid_lrt.client") / "data" / "campaign"
    with resources.as_file(data) as source:
        shutil.copytree(source, folder, dirs_exist_ok=True)
    links_file = folder / SAMPLE_LINKS
    links = [link for _obsid, _sb, link in read_links(links_file)]
    if subbands is not None:
        links = [_SURL.format(sb=sb) for sb in range(subbands)]
        _resize(folder / "campaign.yaml", _sizes(subbands))
    if staged:
        archive = TapeFolder(folder / "archive")
        archive.write(links, online=links[::_ONLINE_EVERY])
        _mark_staged(folder / "campaign.yaml")
        lines = links
        where = f"{len(links) - len(links[::_ONLINE_EVERY])} of them on tape in {archive.tape}"
    else:
        archive_root = folder / "archive"
        make_archive(archive_root, links)
        lines = [(archive_root / surl.path_of(link).lstrip("/")).as_uri() for link in links]
        where = f"as local files under {archive_root}"
    links_file.write_text(
        f"# {len(lines)} subbands of the sample observation L654321\n"
        + "".join(f"{line}\n" for line in lines),
        encoding="utf-8",
    )
    return f"sample campaign in {folder}: {len(lines)} input files, {where}"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:  # pragma: no cover - the packaged file and this code go together
        raise RuntimeError(f"the packaged {path.name} has no {old!r}")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _resize(path: Path, sizes: Dict[str, int]) -> None:
    _edit(path, "    size: 4 ", f"    size: {sizes['cal']} ")
    _edit(path, "    size: 2\n", f"    size: {sizes['target']}\n")


def _mark_staged(path: Path) -> None:
    _edit(
        path,
        "    srm: srm_L654321.txt\n",
        "    srm: srm_L654321.txt\n    stage: true             # from the LTA; held until online\n",
    )


def _local(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


def _input_sha(folder: Path, link: str) -> str:
    """The sha256 of the visibilities in the archive's tarball of ``link``."""
    tarball = _local(link) if link.startswith("file://") else None
    if tarball is None:
        tarball = TapeFolder(folder / "archive").tape / surl.path_of(link).lstrip("/")
    with tarfile.open(tarball) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("table.dat"))
        data = tar.extractfile(member)
        assert data is not None
        return hashlib.sha256(data.read()).hexdigest()


def check_sample(pool: TokenPool, campaign: Campaign) -> SampleCheck:
    """Check every subband's target result against its input file in the sample's archive."""
    check = SampleCheck()
    folder = campaign.path.parent
    links = {sb: link for _obsid, sb, link in read_links(campaign.input_list(campaign.steps[0]))}
    target = campaign.steps[-1]
    docs = list(pool.docs(pool.ids(target.type)))
    if not docs:
        check.problems.append(f"step {target.name} has no tokens")
    for doc in docs:
        token_id = str(doc["_id"])
        if doc.get("status") != TokenState.DONE.value or not doc.get("Results_location"):
            check.problems.append(f"{token_id}: not done")
            continue
        try:
            with tarfile.open(_local(str(doc["Results_location"]))) as tar:
                for sb in doc["campaign"]["subbands"]:
                    name = f"L654321_SB{sb:03d}.corrected.txt"
                    found = tar.extractfile(name)
                    text = found.read().decode() if found else ""
                    sha = _input_sha(folder, links[sb])
                    if text != f"SB{sb:03d} input={sha} solution={sha}\n":
                        check.problems.append(f"{token_id}: {name} does not match its input")
                    else:
                        check.checked += 1
        except (OSError, KeyError, tarfile.TarError) as exc:
            check.problems.append(f"{token_id}: cannot read its result: {exc}")
    return check
