"""Building a sandbox tarball from its configuration: :func:`build_sandbox`.

Steps (each also callable alone, for the seed façade):

1. :func:`clone_base`: the base repository (``Sandbox.git``) into the tree's top folder;
   :func:`clone_scripts`: each ``git_scripts`` repository into ``<tree>/<folder>``; the
   commit of each is recorded (:func:`clone_sources` does both);
2. :func:`write_tokvar`: ``Shell_variables`` into ``<tree>/tokvar.cfg`` (``yaml.safe_dump``);
3. :func:`package`: the tree into ``<workdir>/<name>.tar.gz``
   (:func:`~.tarball.write_tarball`: reproducible, no ``.git``) and the manifest
   ``<workdir>/<name>.sandbox.json`` next to it.

The tree is built in a temporary folder and removed afterwards. Nothing changes the
caller's working directory: every path is absolute and git runs with its own ``cwd``.

The manifest (JSON) holds what the tarball is and what went in: ``name``, ``loc``,
``tarball`` (its file name), ``size``, ``sha256``, ``adler32``, ``checksum``
(``sha256:<hex>``, the token's ``SBXchecksum``), ``sources`` (per folder: ``url`` without
credentials, ``branch``, ``commit`` asked for, ``sha`` checked out; the base repository is
``.``), ``config`` (the YAML file) and ``built_at`` (UTC). It lies beside the tarball, not in
it, so that the tarball's bytes depend only on its content.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

from grid_lrt.shared.redact import redact_url

from ..tokenconfig import TokenConfig
from .config import BASE, SandboxConfig, load_sandbox_config
from .errors import SandboxError
from .gitrepos import clone
from .tarball import write_tarball

__all__ = [
    "MANIFEST_SUFFIX",
    "TOKVAR_FILE",
    "SandboxBuild",
    "build_sandbox",
    "clone_base",
    "clone_scripts",
    "clone_sources",
    "missing_token_keys",
    "package",
    "read_manifest",
    "write_tokvar",
]

log = logging.getLogger(__name__)

#: The variable mapping the launcher reads from the sandbox.
TOKVAR_FILE = "tokvar.cfg"
#: ``<name><MANIFEST_SUFFIX>`` is the manifest next to ``<name>.tar.gz``.
MANIFEST_SUFFIX = ".sandbox.json"


@dataclass(frozen=True)
class SandboxBuild:
    """A built sandbox: the tarball, its checksums and the commit of every repository in it."""

    path: Path
    name: str
    loc: str
    sha256: str
    adler32: str
    size: int
    commits: Dict[str, str] = field(default_factory=dict)
    manifest: Optional[Path] = None

    @property
    def checksum(self) -> str:
        """``sha256:<hex>``: the value for the tokens' ``SBXchecksum``."""
        return f"sha256:{self.sha256}"

    @property
    def base_commit(self) -> Optional[str]:
        """The commit of the base repository (``commits["."]``)."""
        return self.commits.get(BASE)

    def as_dict(self) -> Dict[str, Any]:
        return {
            "path": str(self.path),
            "name": self.name,
            "loc": self.loc,
            "size": self.size,
            "sha256": self.sha256,
            "adler32": self.adler32,
            "checksum": self.checksum,
            "commits": dict(self.commits),
            "manifest": str(self.manifest) if self.manifest else None,
        }


def clone_base(config: SandboxConfig, tree: Path) -> Dict[str, str]:
    """Clone the base repository into ``tree`` (which must not exist yet): ``{".": sha}``.

    Raises:
        GitError: The clone or checkout failed.
    """
    base = config.base
    return {BASE: clone(base.url, tree, branch=base.branch, commit=base.commit, folder=BASE)}


def clone_scripts(config: SandboxConfig, tree: Path) -> Dict[str, str]:
    """Clone every ``git_scripts`` repository into ``tree/<folder>``: ``{folder: sha}``.

    Raises:
        GitError: A clone or checkout failed (the repository is named).
        SandboxError: A folder already exists in the tree (the base repository has it).
    """
    commits: Dict[str, str] = {}
    for source in config.scripts:
        dest = tree / source.folder
        if dest.exists():
            raise SandboxError(
                f"git_scripts folder {source.folder!r} already exists in the base repository",
                hint="give the git_scripts entry another folder name",
            )
        commits[source.folder] = clone(
            source.url, dest, branch=source.branch, commit=source.commit, folder=source.folder
        )
    return commits


def clone_sources(config: SandboxConfig, tree: Path) -> Dict[str, str]:
    """:func:`clone_base` then :func:`clone_scripts`: ``{folder: sha}``, the base as ``"."``."""
    commits = clone_base(config, tree)
    commits.update(clone_scripts(config, tree))
    return commits


def write_tokvar(config: SandboxConfig, tree: Path) -> Optional[Path]:
    """Write ``Shell_variables`` as ``tree/tokvar.cfg``; None (and nothing written) when the
    config has none, so that a ``tokvar.cfg`` of the base repository stays."""
    if not config.shell_variables:
        return None
    target = tree / TOKVAR_FILE
    if target.exists():
        log.info(
            "replacing the base repository's %s with the config's Shell_variables", TOKVAR_FILE
        )
    text = yaml.safe_dump(config.shell_variables, default_flow_style=False, sort_keys=True)
    target.write_text(text, encoding="utf-8")
    return target


def missing_token_keys(config: SandboxConfig) -> List[str]:
    """``Shell_variables`` keys the ``Token`` section does not set (the seed's ``check_token``).

    ``_id`` (every token has one) and ``_attachments`` (files, not fields) are not counted.
    """
    return sorted(
        key
        for key in config.shell_variables
        if key not in ("_id", "_attachments") and key not in config.token
    )


def package(
    config: SandboxConfig,
    tree: Path,
    workdir: Path,
    commits: Dict[str, str],
    *,
    tarball_name: Optional[str] = None,
) -> SandboxBuild:
    """Pack ``tree`` into ``workdir/<name>.tar.gz`` and write the manifest next to it.

    Raises:
        SandboxError: The tarball or the manifest cannot be written.
    """
    name = tarball_name or config.tarball_name
    written = write_tarball(tree, workdir / name)
    stem = name[: -len(".tar.gz")] if name.endswith(".tar.gz") else name
    manifest = workdir / f"{stem}{MANIFEST_SUFFIX}"
    build = SandboxBuild(
        path=written.path,
        name=config.name,
        loc=config.loc,
        sha256=written.sha256,
        adler32=written.adler32,
        size=written.size,
        commits=dict(commits),
        manifest=manifest,
    )
    record = {
        "name": config.name,
        "loc": config.loc,
        "tarball": written.path.name,
        "size": written.size,
        "sha256": written.sha256,
        "adler32": written.adler32,
        "checksum": build.checksum,
        "members": written.members,
        "sources": {
            s.folder: {
                "url": redact_url(s.url),
                "branch": s.branch,
                "commit": s.commit,
                "sha": commits.get(s.folder),
            }
            for s in config.sources
        },
        "config": str(config.path.absolute()) if config.path else None,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        manifest.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SandboxError(f"cannot write {manifest}: {exc.strerror or exc}") from exc
    log.info("sandbox %s: %d bytes, sha256 %s", written.path, written.size, written.sha256)
    return build


def read_manifest(tarball: Path) -> Optional[Dict[str, Any]]:
    """The manifest written next to ``tarball`` by :func:`package`, or None."""
    name = tarball.name
    stem = name[: -len(".tar.gz")] if name.endswith(".tar.gz") else name
    path = tarball.with_name(f"{stem}{MANIFEST_SUFFIX}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def build_sandbox(
    config: Union[str, Path, TokenConfig, SandboxConfig], workdir: Union[str, Path]
) -> SandboxBuild:
    """Clone, write ``tokvar.cfg``, pack: ``<workdir>/<name>.tar.gz`` plus its manifest.

    Args:
        config: The YAML file, or an already read configuration.
        workdir: Folder for the tarball and the manifest (created if missing).

    Raises:
        ConfigError: The configuration is wrong (file, line and key named).
        GitError: A repository cannot be cloned or checked out.
        SandboxError: Anything else that stops the build.
    """
    sbx = load_sandbox_config(config)
    out = Path(workdir).absolute()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SandboxError(f"cannot create the output folder {out}: {exc.strerror}") from exc
    with tempfile.TemporaryDirectory(prefix=f"lrt-sandbox-{sbx.name}-") as tmp:
        tree = Path(tmp) / "tree"
        commits = clone_sources(sbx, tree)
        write_tokvar(sbx, tree)
        return package(sbx, tree, out, commits)
