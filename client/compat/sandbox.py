"""GRID_LRT's ``Sandbox`` and ``UnauthorizedSandbox`` (``GRID_LRT/sandbox.py`` v0.5), as a
façade over :mod:`grid_lrt.client.sandboxes`.

Same method names and step order; the work is the core's, which fixes the seed's bugs:

* nothing changes the working directory: ``enter_sbx_folder`` only sets
  :attr:`Sandbox.current_folder` (the folder the next steps work in) and ``cleanup`` never
  ``chdir``s (the seed ``chdir``ed into the build folder and, on cleanup, into the package);
* git runs without a shell, a failed clone or checkout raises
  :class:`~grid_lrt.client.sandboxes.GitError` naming the repository (the seed went on with
  whatever was there), and the commit of every repository is recorded (:attr:`Sandbox.commits`);
* the tarball is a reproducible ``.tar.gz`` without ``.git`` (the seed ran ``tar -cf name.tar *``
  in a shell, uncompressed, with the base repository's ``.git``);
* the upload goes to ONE computed URL, used for the existence check, the removal and the copy
  (the seed's ``upload_sbx`` passed a ``loc`` that ``upload_gsi_sbx`` ignored for the check),
  through the storage port, with an explicit overwrite policy, verified after the copy;
  ``upload_sandbox`` no longer also copies to the seed author's ssh host;
* the YAML is read with the safe loader and checked (file and line in the message);
* ``Sandbox(authorize=True)`` checks for a grid proxy only when uploading to gsiftp/srm, and
  raises :class:`~grid_lrt.client.sandboxes.GridProxyMissingError` instead of printing.

Example::

    from grid_lrt.client.sandbox import Sandbox

    s = Sandbox(upload_base="davs://webdav.example.org/lofar/sandbox")
    s.build_sandbox("pref_cal1.cfg")
    s.upload_sandbox()               # -> s.sbxloc, s.sbxchecksum for the tokens
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from grid_lrt.launcher.storage import storage_for
from grid_lrt.shared.errors import ConfigError, UsageError

from ..sandboxes.build import (
    SandboxBuild,
    clone_base,
    clone_scripts,
    missing_token_keys,
    package,
    write_tokvar,
)
from ..sandboxes.config import BASE, SandboxConfig, load_sandbox_config
from ..sandboxes.publish import OverwritePolicy, Upload, destination_url, upload_tarball

__all__ = ["SEED_GSI_BASE", "SEED_SSH_BASE", "Sandbox", "UnauthorizedSandbox"]

log = logging.getLogger(__name__)

#: Where GRID_LRT uploaded sandboxes (its ``diskonly`` base since August 2019).
SEED_GSI_BASE = (
    "gsiftp://gridftp.grid.sara.nl:2811/pnfs/grid.sara.nl/data/lofar/user/sksp/diskonly/sandbox"
)
#: GRID_LRT's ssh fallback (served as ftp.strw.leidenuniv.nl/pub/apmechev/sandbox/).
SEED_SSH_BASE = "gaasp:/disks/ftphome/pub/apmechev/sandbox"

PathLike = Union[str, Path]


class Sandbox:
    """Builds a sandbox tarball from a YAML configuration and uploads it.

    Args:
        cfgfile: The YAML file (read now when given; else by ``build_sandbox``).
        authorize: Check for a grid proxy before uploading to gsiftp:// or srm:// (the seed
            checked grid credentials in the constructor; :class:`UnauthorizedSandbox` skips it).
        upload_base: Folder URL the tarball goes under (``<base>/<loc>/<name>.tar.gz``);
            default :data:`SEED_GSI_BASE`.
        overwrite: Policy for an existing destination: ``"replace"`` (the seed's behaviour,
            default), ``"refuse"`` or ``"keep-if-same"``.

    Raises:
        UsageError: Unknown keyword arguments.
    """

    def __init__(self, cfgfile: Optional[PathLike] = None, **kwargs: Any) -> None:
        known = {"authorize", "upload_base", "overwrite"}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UsageError(
                f"Sandbox() got unknown arguments: {', '.join(unknown)}",
                hint="Sandbox(cfgfile, authorize=True, upload_base=URL, overwrite='replace')",
            )
        self.authorized = bool(kwargs.get("authorize", True))
        self.upload_base: str = str(kwargs.get("upload_base") or SEED_GSI_BASE)
        self.overwrite = OverwritePolicy(kwargs.get("overwrite", OverwritePolicy.REPLACE))
        self.config: Optional[SandboxConfig] = None
        self.tmpdir: Optional[Path] = None
        self.current_folder: Optional[Path] = None
        self.sbxtarfile: Optional[Path] = None
        self.commits: Dict[str, str] = {}
        self.build: Optional[SandboxBuild] = None
        self.upload: Optional[Upload] = None
        self.sbxloc: Optional[str] = None
        self.sbxchecksum: Optional[str] = None
        if cfgfile:
            self.parseconfig(cfgfile)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.config is not None and self.config.remove_when_done:
            self.cleanup()

    # ---- the seed's attributes -------------------------------------------------------------

    @property
    def sbx_def(self) -> Dict[str, Any]:
        """The ``Sandbox`` section (as the seed kept it)."""
        cfg = self._config()
        return {
            "name": cfg.name,
            "loc": cfg.loc,
            "git": {"location": cfg.base.url, "branch": cfg.base.branch},
            "git_scripts": {
                s.folder: {
                    k: v
                    for k, v in (("git_url", s.url), ("branch", s.branch), ("commit", s.commit))
                    if v is not None
                }
                for s in cfg.scripts
            },
            "remove_when_done": cfg.remove_when_done,
        }

    @property
    def shell_vars(self) -> Dict[str, Any]:
        return dict(self._config().shell_variables)

    @property
    def tok_vars(self) -> Dict[str, Any]:
        return dict(self._config().token)

    def _config(self) -> SandboxConfig:
        if self.config is None:
            raise UsageError(
                "no sandbox configuration read yet",
                hint="pass cfgfile to Sandbox(), or call parseconfig(path) or build_sandbox(path)",
            )
        return self.config

    def _tree(self) -> Path:
        if self.tmpdir is None:
            self.create_sbx_folder()
        assert self.tmpdir is not None
        return self.tmpdir / "sandbox"

    # ---- building -------------------------------------------------------------------------

    def parseconfig(self, yamlfile: PathLike) -> SandboxConfig:
        """Read and check the YAML file (``Sandbox``, ``Shell_variables``, ``Token``)."""
        self.config = load_sandbox_config(yamlfile)
        return self.config

    def create_sbx_folder(self) -> Path:
        """A new empty build folder (``tempfile.mkdtemp``); the tree goes into its ``sandbox/``,
        the tarball and manifest beside it. Replaces an earlier folder of this object."""
        if self.tmpdir is not None:
            self.delete_sbx_folder()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="lrt-sbx-"))
        self.current_folder = self.tmpdir
        self.commits = {}
        return self.tmpdir

    def enter_sbx_folder(self, directory: Optional[PathLike] = None) -> Path:
        """Make ``directory`` (default: the build folder) the current sandbox folder.

        Unlike the seed this does NOT ``chdir``: the process's working directory is never
        changed. It only sets :attr:`current_folder`, which is returned.
        """
        if directory is None:
            folder = self.tmpdir or self.create_sbx_folder()
        else:
            folder = Path(directory)
        self.current_folder = folder.absolute()
        return self.current_folder

    def copy_base_scripts(self, basetype: Optional[str] = None) -> str:
        """Clone the base repository (``Sandbox.git``) into the tree; returns its commit.

        Raises:
            ConfigError: No ``git`` in the configuration (checked when it is read).
            GitError: The clone or checkout failed.
        """
        del basetype  # the seed's "backwards compatible" argument, unused there too
        return self.copy_git_scripts()

    def copy_git_scripts(self) -> str:
        """Clone the base repository and check out its branch/commit; returns the commit."""
        cfg = self._config()
        tree = self._tree()
        if tree.exists():
            shutil.rmtree(tree)
        self.commits.update(clone_base(cfg, tree))
        return self.commits[BASE]

    def load_git_scripts(self) -> Dict[str, str]:
        """Clone every ``git_scripts`` repository into ``<tree>/<folder>``; returns their commits.

        Raises:
            UsageError: The base repository is not cloned yet (``copy_base_scripts`` first).
            GitError: A clone or checkout failed.
        """
        cfg = self._config()
        tree = self._tree()
        if not tree.is_dir():
            raise UsageError("the base repository is not cloned yet", hint="copy_base_scripts()")
        done = clone_scripts(cfg, tree)
        self.commits.update(done)
        return done

    def make_tokvar_dict(self) -> Optional[Path]:
        """Write ``Shell_variables`` into the tree as ``tokvar.cfg`` (``yaml.safe_dump``)."""
        tree = self._tree()
        tree.mkdir(parents=True, exist_ok=True)
        return write_tokvar(self._config(), tree)

    def check_token(self) -> List[str]:
        """Write ``tokvar.cfg`` and return the ``Shell_variables`` keys that ``Token`` lacks
        (logged as warnings; the seed printed ``<key> missing``)."""
        missing = missing_token_keys(self._config())
        for key in missing:
            log.warning("Shell_variables key %r is not set by the Token section", key)
        self.make_tokvar_dict()
        return missing

    def zip_sbx(self, zipname: Optional[str] = None) -> Path:
        """Pack the tree into ``<build folder>/<name>.tar.gz`` (or ``zipname``) and write its
        manifest; returns the tarball's path (also :attr:`sbxtarfile`)."""
        cfg = self._config()
        tree = self._tree()
        assert self.tmpdir is not None
        self.build = package(cfg, tree, self.tmpdir, self.commits, tarball_name=zipname)
        self.sbxtarfile = self.build.path
        return self.sbxtarfile

    def build_sandbox(self, sbx_config: Optional[PathLike] = None) -> SandboxBuild:
        """All the steps: read, new folder, clone the base and the git_scripts, tokvar, pack."""
        if sbx_config is not None:
            self.parseconfig(sbx_config)
        self._config()
        self.create_sbx_folder()
        self.copy_base_scripts()
        self.load_git_scripts()
        self.check_token()
        self.zip_sbx()
        assert self.build is not None
        return self.build

    # ---- uploading ------------------------------------------------------------------------

    def _target(self, loc: Optional[str], upload_name: Optional[str]) -> str:
        if self.sbxtarfile is None:
            raise UsageError("no sandbox tarball yet", hint="build_sandbox(cfgfile) first")
        name = upload_name or self.sbxtarfile.name
        if "/" in name:
            raise UsageError(f"upload_name {name!r} must be a file name, not a path")
        base = loc if loc is not None else self.upload_base
        return destination_url(base, self._config().loc, name)

    def sandbox_url(self, loc: Optional[str] = None, upload_name: Optional[str] = None) -> str:
        """The one URL the tarball is uploaded to: ``<loc or upload_base>/<Sandbox.loc>/<name>``."""
        return self._target(loc, upload_name)

    def upload_gsi_sbx(self, loc: Optional[str] = None, upload_name: Optional[str] = None) -> str:
        """Upload the tarball under ``loc`` (a base folder URL; default :attr:`upload_base`)
        with :attr:`overwrite`, verify it, and set :attr:`sbxloc`/:attr:`sbxchecksum`."""
        url = self._target(loc, upload_name)
        assert self.sbxtarfile is not None
        self.upload = upload_tarball(
            self.sbxtarfile, url, policy=self.overwrite, authorize=self.authorized
        )
        self.sbxloc = self.upload.url
        self.sbxchecksum = self.upload.checksum
        return self.sbxloc

    def upload_sbx(self, loc: Optional[str] = None, upload_name: Optional[str] = None) -> str:
        """Upload to ``loc`` (seed name; the same as :meth:`upload_gsi_sbx`, now honouring it)."""
        return self.upload_gsi_sbx(loc=loc, upload_name=upload_name)

    def upload_ssh_sandbox(
        self, upload_name: Optional[str] = None, dest: str = SEED_SSH_BASE
    ) -> str:
        """Copy the tarball over ssh to ``<dest>/<Sandbox.loc>/<name>`` (``host:path`` or
        ``scp://host/path``); sets :attr:`sbxloc` to the scp URL."""
        return self.upload_gsi_sbx(loc=dest, upload_name=upload_name)

    def upload_sandbox(self, upload_name: Optional[str] = None, loc: Optional[str] = None) -> str:
        """Upload (:meth:`upload_sbx`), then ``cleanup`` when ``remove_when_done``; returns the
        URL for the tokens' ``SBXloc`` (``sbxchecksum`` holds the ``SBXchecksum``)."""
        url = self.upload_sbx(loc=loc, upload_name=upload_name)
        if self._config().remove_when_done:
            self.cleanup()
        return url

    def sandbox_exists(self, sbxfile: str) -> bool:
        """True when the URL ``sbxfile`` exists on its storage."""
        return storage_for(sbxfile).exists(sbxfile)

    def delete_gsi_sandbox(self, sbxfile: str) -> None:
        """Delete the file at the URL ``sbxfile``."""
        storage_for(sbxfile).remove(sbxfile)

    # ---- cleaning up ----------------------------------------------------------------------

    def delete_sbx_folder(self) -> None:
        """Remove the build folder (tree, tarball, manifest). The working directory stays."""
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.tmpdir = None
        self.current_folder = None

    def cleanup(self) -> None:
        """:meth:`delete_sbx_folder` (the seed also ``chdir``ed back; nothing to undo here)."""
        self.delete_sbx_folder()

    def get_result_loc(self) -> str:
        """The token's ``RESULTS_DIR`` (the seed read ``Sandbox.results``, which the v0 files
        this reader accepts do not have).

        Raises:
            ConfigError: The Token section has no ``RESULTS_DIR``.
        """
        cfg = self._config()
        value = cfg.token.get("RESULTS_DIR")
        if not value:
            raise ConfigError(
                f"{cfg.path or 'the configuration'}: the Token section has no RESULTS_DIR",
                hint="add RESULTS_DIR: <URL of the results folder> to Token",
            )
        return str(value)


class UnauthorizedSandbox(Sandbox):
    """A :class:`Sandbox` that never checks for a grid proxy (``authorize=False``)."""

    def __init__(self, cfgfile: Optional[PathLike] = None, **kwargs: Any) -> None:
        kwargs["authorize"] = False
        super().__init__(cfgfile, **kwargs)
