"""SURLs and SURL lists the client's unit tests share."""

from __future__ import annotations

from tests.support.paths import DATA, SAMPLE

__all__ = ["DATA", "JUELICH_LINK", "POZNAN", "SAMPLE_FILE", "SARA", "SARA_FILE", "sara"]

SARA_FILE = DATA / "srm_50_sara.txt"
SAMPLE_FILE = SAMPLE / "srm_L229507_sara.txt"
SARA = "srm://srm.grid.sara.nl:8443/pnfs/grid.sara.nl/data/lofar/ops/projects/lc2_038/229507/"
JUELICH_LINK = (
    "srm://lofar-srm.fz-juelich.de:8443/pnfs/fz-juelich.de/data/lofar/ops/projects/lc7_012/"
    "583139/L583139_SB000_uv.MS_900c9fcf.tar"
)
POZNAN = "srm://lta-head.lofar.psnc.pl:8443/lofar/ops/projects/lc5_014/454004/"


def sara(sb: int, obsid: str = "L229507") -> str:
    return f"{SARA}{obsid}_SB{sb:03d}_uv.dppp.MS_0000abcd.tar"
