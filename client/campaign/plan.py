"""What a campaign step's tokens are: its inputs in groups, one token per chunk of subbands.

The link file of a step holds one URL per line (``srm://``/``gsiftp://`` SURLs, normalised,
or any other URL the launcher reads, such as ``file:///abs/path``); blank lines and ``#``
comments are skipped. Each link's OBSID (``L<digits>``) and subband (``SB<n>_``) come from
its name. Per OBSID, the subbands are cut into chunks of ``size`` consecutive numbers (as
:func:`~grid_lrt.client.staging.chunking.slice_dicts` does): one token per chunk, its links
attached as ``srm.txt``, its id the GRID_LRT one (``t_<type>_<OBSID>[_<PIPELINE_STEP>]_SB<nnn>``).

Besides the seed configuration's ``Token`` fields, every token gets:

* ``OBSID``, ``STARTSB`` (the first subband, ``%03d``);
* ``campaign``: ``{"name", "step", "obsid", "subbands": [n, ...]}``: how the campaign finds
  the token's group;
* ``SBXloc``: the step's sandbox, unless the seed sets one;
* an ``upload`` block ``{"location": <workdir>/results/<step>}`` (one tarball per token, named
  by its id), unless the seed sets ``upload`` or ``RESULTS_DIR``;
* ``held: "after:<step>"`` when the step has ``after:`` (state ``waiting``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Tuple

from grid_lrt.shared import surl
from grid_lrt.shared.errors import ConfigError, LrtError

from ..sandboxes.build import build_sandbox
from ..sandboxes.tarball import write_tarball
from ..tokenconfig import load_token_config
from ..tokendocs import chunk_tokens
from .spec import Campaign, Step

__all__ = ["Chunk", "read_links", "results_folder", "sandbox_url", "step_chunks", "step_tokens"]


@dataclass
class Chunk:
    """One token's share of a step's inputs."""

    obsid: str
    start: int
    subbands: List[int] = field(default_factory=list)
    links: List[str] = field(default_factory=list)


def read_links(path: Path) -> List[Tuple[str, int, str]]:
    """``(obsid, subband, link)`` of every line of a link file, in file order.

    Raises:
        ConfigError: unreadable file, a line that is no URL, or holds no OBSID or subband
            (file and line named).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read link file {path}: {exc}") from None
    found: List[Tuple[str, int, str]] = []
    seen: Dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        link = line.strip()
        if not link or link.startswith("#"):
            continue
        where = f"{path}, line {number}"
        link = link.split()[0]
        if surl.is_surl(link):
            link = surl.normalise(link)
        elif "://" not in link:
            raise ConfigError(
                f"{where}: {link!r} is not a URL",
                hint="write srm://..., gsiftp://..., https://... or file:///abs/path",
            )
        if link in seen:
            raise ConfigError(
                f"{where}: {link} is listed twice (also line {seen[link]})",
                hint="remove the duplicate line",
            )
        seen[link] = number
        try:
            obsid = surl.obsid_of(link)
            subband = int(surl.subband_of(link))
        except (LrtError, ValueError) as exc:
            reason = exc.message if isinstance(exc, LrtError) else "its subband is not a number"
            raise ConfigError(
                f"{where}: {reason}",
                hint="file names look like L654321_SB000_uv.MS.tar: the OBSID and the subband "
                "number make the token groups",
            ) from None
        found.append((obsid, subband, link))
    if not found:
        raise ConfigError(f"{path} lists no links", hint="one input URL per line")
    return found


def step_chunks(campaign: Campaign, step: Step) -> List[Chunk]:
    """The step's chunks, by OBSID then first subband."""
    path = campaign.input_list(step)
    by_obsid: Dict[str, Dict[int, List[str]]] = {}
    for obsid, subband, link in read_links(path):
        by_obsid.setdefault(obsid, {}).setdefault(subband, []).append(link)
    chunks: List[Chunk] = []
    for obsid in sorted(by_obsid):
        subbands = by_obsid[obsid]
        first = min(subbands)
        mine: Dict[int, Chunk] = {}
        for number in sorted(subbands):
            start = first + (number - first) // step.size * step.size
            chunk = mine.setdefault(start, Chunk(obsid, start))
            chunk.subbands.append(number)
            chunk.links.extend(subbands[number])
        chunks.extend(mine[start] for start in sorted(mine))
    return chunks


def results_folder(campaign: Campaign, step: Step) -> Path:
    return campaign.workdir / "results" / step.name


def sandbox_url(campaign: Campaign, step: Step) -> str:
    """The step's sandbox as an ``SBXloc`` URL (built or packed under the workdir), or "".

    A URL is used as it is; a tarball as ``file://``; a folder is packed into
    ``<workdir>/sandboxes/<step>.tar.gz`` (the same bytes every time); a sandbox config
    (``.yaml``/``.yml``/``.cfg`` with a ``Sandbox:`` section) is built there with its git
    sources (:func:`~grid_lrt.client.sandboxes.build.build_sandbox`).
    """
    if not step.sandbox:
        return ""
    if "://" in step.sandbox:
        return step.sandbox
    path = Path(step.sandbox)
    out = campaign.workdir / "sandboxes"
    out.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        return write_tarball(path, out / f"{step.name}.tar.gz").path.as_uri()
    if path.suffix in (".yaml", ".yml", ".cfg"):
        return build_sandbox(path, out / step.name).path.as_uri()
    return path.absolute().as_uri()


def step_tokens(campaign: Campaign, step: Step, sandbox: str = "") -> List[Dict[str, Any]]:
    """The token documents of ``step`` (the same documents every time: re-running creates
    none twice)."""
    seed = dict(load_token_config(step.config).token)
    seed.pop("type", None)
    if sandbox and not seed.get("SBXloc"):
        seed["SBXloc"] = sandbox
    if not seed.get("upload") and not seed.get("RESULTS_DIR"):
        seed["upload"] = {"location": results_folder(campaign, step).absolute().as_uri()}
    docs: List[Dict[str, Any]] = []
    for chunk in step_chunks(campaign, step):
        fields = {**seed, "OBSID": chunk.obsid}
        (doc,) = chunk_tokens(
            step.type,
            {chunk.start: chunk.links},
            fields,
            id_append=chunk.obsid,
            file_upload="srm.txt",
            hold=step.hold,
        )
        doc["campaign"] = {
            "name": campaign.name,
            "step": step.name,
            "obsid": chunk.obsid,
            "subbands": list(chunk.subbands),
        }
        docs.append(doc)
    return docs
