"""Sandboxes: the tarball a worker downloads (``SBXloc``) with ``master.sh``, scripts and
``tokvar.cfg``, built on the login node from the seed YAML's ``Sandbox:`` section.

* :mod:`.config`: the ``Sandbox:``/``Shell_variables:`` sections, checked
  (:class:`SandboxConfig`, :func:`load_sandbox_config`);
* :mod:`.gitrepos`: clone one repository at a branch/commit with ``git`` (:func:`clone`);
* :mod:`.tarball`: the reproducible ``.tar.gz`` (:func:`write_tarball`);
* :mod:`.build`: :func:`build_sandbox` -> :class:`SandboxBuild` (tarball, checksums, commits)
  and the manifest next to the tarball;
* :mod:`.publish`: :func:`upload_tarball` through the launcher's storage port (or scp) with
  an :class:`OverwritePolicy`, and :func:`record_in_tokens` (``SBXloc``/``SBXchecksum``);
* :mod:`.errors`: :class:`SandboxError` and its subclasses.

``lrt sandbox build|upload`` is the command line; GRID_LRT's ``Sandbox`` class is the façade
:mod:`grid_lrt.client.compat.sandbox` (seed path ``grid_lrt.client.sandbox``).

Example::

    from grid_lrt.client.sandboxes import build_sandbox, upload_tarball, OverwritePolicy

    build = build_sandbox("pref_cal1.cfg", "out")
    done = upload_tarball(build.path, "davs://webdav.example.org/sandbox/pref_cal1.tar.gz",
                          policy=OverwritePolicy.KEEP_IF_SAME)
"""

from __future__ import annotations

from .build import SandboxBuild, build_sandbox, read_manifest
from .config import BASE, GitSource, SandboxConfig, load_sandbox_config
from .errors import (
    DestinationTakenError,
    GitError,
    GridProxyMissingError,
    SandboxError,
    UploadVerifyError,
)
from .gitrepos import clone
from .publish import (
    OverwritePolicy,
    Upload,
    destination_url,
    find_grid_proxy,
    record_in_tokens,
    upload_tarball,
)
from .tarball import Tarball, write_tarball

__all__ = [
    "BASE",
    "DestinationTakenError",
    "GitError",
    "GitSource",
    "GridProxyMissingError",
    "OverwritePolicy",
    "SandboxBuild",
    "SandboxConfig",
    "SandboxError",
    "Tarball",
    "Upload",
    "UploadVerifyError",
    "build_sandbox",
    "clone",
    "destination_url",
    "find_grid_proxy",
    "load_sandbox_config",
    "read_manifest",
    "record_in_tokens",
    "upload_tarball",
    "write_tarball",
]
