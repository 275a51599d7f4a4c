"""A submission: its folder, how many pilots (``--auto``), submit, then record.

The submission folder (mode 0700; ``--folder``, default ``~/lrt-submissions/<type>-<time>``,
which must be visible to the worker nodes for Slurm and local pilots) holds:

* ``grid-lrt-launcher.pyz``: the launcher zipapp (built here unless ``--launcher FILE``);
* ``lrt-credentials``: the PiCaS server, database, user and password (mode 0600): the one
  place the password goes; the pilots read it through ``PICASRC``;
* ``lrt-bootstrap.sh``: the grid/HTCondor pilot's first step (``jdl/bootstrap.sh``);
* the rendered description (``pilots.slurm``, ``pilots.sub``, ``pilots.jdl``), ``logs/``, and
  ``submission.json`` (the job record, also kept in the token database).

Nothing is half-recorded: the tool is looked for before anything is written, and a failed
submit command removes the folder it was given.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Type

from grid_lrt.shared.credentials import PicasCredentials
from grid_lrt.shared.errors import UsageError
from grid_lrt.shared.pool import CouchTokenPool
from grid_lrt.shared.schema import TokenState

from ..staging.macaroon_store import KeptMacaroon
from ..zipapp.build import build_zipapp
from .backend import Backend, Folder, JobState, PilotSpec
from .condor import CondorBackend
from .grid import DiracBackend, GliteBackend
from .ledger import JobRecord, Ledger
from .local import LocalBackend
from .slurm import SlurmBackend
from .templates import BOOTSTRAP
from .tools import job_environment, require

__all__ = [
    "BACKENDS",
    "auto_jobs",
    "backend_for",
    "default_folder",
    "plan_folder",
    "poll",
    "submissions_root",
    "submit",
]

BACKENDS: Dict[str, Type[Backend]] = {
    b.name: b for b in (SlurmBackend, CondorBackend, DiracBackend, GliteBackend, LocalBackend)
}
LAUNCHER_NAME = "grid-lrt-launcher.pyz"
CREDENTIALS_NAME = "lrt-credentials"
BOOTSTRAP_NAME = "lrt-bootstrap.sh"


def backend_for(name: str) -> Backend:
    try:
        return BACKENDS[name]()
    except KeyError:
        raise UsageError(
            f"unknown backend {name!r}", hint=f"choose one of {', '.join(sorted(BACKENDS))}"
        ) from None


def submissions_root() -> Path:
    """``$LRT_SUBMIT_DIR``, else ``~/lrt-submissions``: where submission folders are made."""
    return Path(os.environ.get("LRT_SUBMIT_DIR") or Path.home() / "lrt-submissions")


def default_folder(t_type: str) -> Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return submissions_root() / f"{t_type}-{stamp}"


def plan_folder(path: Path) -> Folder:
    """Where each file of a submission folder goes (nothing is written)."""
    return Folder(
        path=path,
        launcher=path / LAUNCHER_NAME,
        credentials=path / CREDENTIALS_NAME,
        bootstrap=path / BOOTSTRAP_NAME,
        logs=path / "logs",
    )


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def credentials_text(creds: PicasCredentials, macaroons: Sequence[KeptMacaroon] = ()) -> str:
    """The pilots' credentials file: PiCaS, and the macaroons of staged data (StageIT)."""
    return (
        "# PiCaS credentials of grid-lrt pilots (read by the launcher through PICASRC)\n"
        f"url={creds.url}\ndatabase={creds.database}\nuser={creds.user}\n"
        f"password={creds.password}\n" + "".join(m.line() + "\n" for m in macaroons)
    )


def _make_folder(
    path: Path,
    creds: PicasCredentials,
    launcher: Optional[Path],
    wheels: Optional[Path],
    macaroons: Sequence[KeptMacaroon],
) -> Folder:
    folder = plan_folder(path.resolve())
    try:
        folder.path.mkdir(mode=0o700, parents=True, exist_ok=False)
    except FileExistsError:
        raise UsageError(
            f"{folder.path} exists", hint="give a new --folder for each submission"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot create {folder.path}: {exc.strerror}") from None
    folder.logs.mkdir()
    _write_private(folder.credentials, credentials_text(creds, macaroons))
    bootstrap = (resources.files("grid_lrt.jdl") / BOOTSTRAP).read_text(encoding="utf-8")
    folder.bootstrap.write_text(bootstrap, encoding="utf-8")
    folder.bootstrap.chmod(0o755)
    if launcher is not None:
        shutil.copyfile(launcher, folder.launcher)
    else:
        env_wheels = os.environ.get("LRT_LAUNCHER_WHEELS")
        build_zipapp(folder.launcher, wheels=wheels or (Path(env_wheels) if env_wheels else None))
    return folder


def submit(
    pool: CouchTokenPool,
    backend: Backend,
    spec: PilotSpec,
    creds: PicasCredentials,
    *,
    folder: Path,
    launcher: Optional[Path] = None,
    wheels: Optional[Path] = None,
    macaroons: Sequence[KeptMacaroon] = (),
) -> JobRecord:
    """Prepare ``folder``, submit ``spec.jobs`` pilots, record them; the record.

    ``macaroons`` (kept by ``lrt stage macaroons``) go into the credentials file with the
    PiCaS password, for inputs read from a WebDAV door.

    Raises:
        ToolMissingError: the backend's submit command is not here (nothing was written).
        ToolFailedError: it failed (the folder is removed again).
        SubmitError: the record could not be written (the pilots run all the same).
    """
    require(backend.submit_tool, job_environment())
    if launcher is not None and not launcher.is_file():
        raise UsageError(f"--launcher {launcher}: no such file")
    made = _make_folder(folder, creds, launcher, wheels, macaroons)
    description = made.path / backend.description_name
    try:
        description.write_text(backend.render(spec, made), encoding="utf-8")
        submitted = backend.submit(spec, made, description)
    except BaseException:
        shutil.rmtree(made.path, ignore_errors=True)
        raise
    record = JobRecord(
        backend=backend.name,
        job_id=submitted.job_id,
        token_type=spec.token_type,
        tasks=backend.task_ids(submitted, spec.jobs),
        folder=str(made.path),
        starts=_starts(submitted.extra.get("starts")),
    )
    (made.path / "submission.json").write_text(
        json.dumps(record.to_doc(), indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    Ledger(pool).add(record)
    return record


def _starts(value: object) -> Dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def poll(ledger: Ledger, record: JobRecord) -> Mapping[str, JobState]:
    """The pilots' states now (stored in the record for ``--auto`` and other login nodes)."""
    backend = backend_for(record.backend)
    if isinstance(backend, LocalBackend):
        states = backend.local_states(record.tasks, Path(record.folder), record.starts)
    else:
        states = dict(backend.states(record.job_id, record.tasks))
    ledger.save_states(record, states)
    return states


def auto_jobs(
    pool: CouchTokenPool, backend: Backend, t_type: str, *, cap: Optional[int] = None
) -> Dict[str, int]:
    """How many pilots ``--auto`` submits: enough for the work, within the queue cap.

    ``work`` is the todo and waiting (held) tokens; ``queued`` the pilots of this type that
    are still pending or running (polled now); the answer is ``min(work, cap) - queued``,
    never below 0: no work, no pilots.
    """
    counts = pool.counts(t_type)
    work = counts[TokenState.TODO] + counts[TokenState.WAITING]
    ledger = Ledger(pool)
    queued = 0
    for record in ledger.records(t_type, backend.name):
        if record.active_tasks() == 0:
            continue
        states = poll(ledger, record)
        queued += sum(1 for s in states.values() if s.active)
    limit = backend.default_cap if cap is None else cap
    return {
        "work": work,
        "queued": queued,
        "cap": limit,
        "jobs": max(0, min(work, limit) - queued),
    }
