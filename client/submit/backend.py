"""What a batch backend is: a template, a submit command, a status command.

A submission is one batch job of ``tasks`` pilots (a Slurm array, an HTCondor cluster, a
parametric grid job, N local processes). :class:`Backend` renders its description from a
:class:`PilotSpec` and the files of the submission folder (:class:`Folder`), submits it with
the system's own tool, and reads the state of each pilot back as a :class:`JobState`.
"""

from __future__ import annotations

import abc
import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Dict, List, Mapping, Sequence, Tuple

from grid_lrt.shared.errors import UsageError

from .templates import TEMPLATES, render

__all__ = [
    "Backend",
    "Folder",
    "JobState",
    "PilotSpec",
    "Submitted",
    "check_token_type",
]


class JobState(str, enum.Enum):
    """A pilot's state, in the same words for every batch system."""

    PENDING = "pending"
    RUNNING = "running"
    HELD = "held"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def active(self) -> bool:
        """Still in the queue (it may yet claim tokens)."""
        return self in (JobState.PENDING, JobState.RUNNING, JobState.HELD)

    def __str__(self) -> str:
        return self.value


_TOKEN_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")


def check_token_type(t_type: str) -> str:
    """``t_type`` if it can go into a job description as it is (letters, digits, ``_.-``)."""
    if not _TOKEN_TYPE.match(t_type):
        raise UsageError(
            f"token type {t_type!r} cannot go into a job description",
            hint="token types for submission use letters, digits, '_', '.' and '-' only",
        )
    return t_type


@dataclass(frozen=True)
class PilotSpec:
    """What to submit: ``jobs`` pilots that drain the tokens of ``token_type``."""

    token_type: str
    jobs: int
    cpus: int = 1
    memory_mb: int = 2048
    walltime_minutes: int = 720
    partition: str = ""
    max_parallel: int = 0
    whole_nodes: bool = False
    requirements: str = "true"
    worker_python: str = "python3"
    launcher_args: Tuple[str, ...] = ()
    options: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_token_type(self.token_type)
        for name in ("jobs", "cpus", "memory_mb", "walltime_minutes"):
            if int(getattr(self, name)) < 1:
                raise UsageError(f"{name.replace('_', ' ')} must be 1 or more")
        for value in (self.partition, self.worker_python, *self.launcher_args, *self.options):
            if "\n" in value or "\r" in value:
                raise UsageError(f"{value!r}: no line breaks in job options")


@dataclass(frozen=True)
class Folder:
    """The submission folder: what the pilots get, and where their logs go."""

    path: Path
    launcher: Path
    credentials: Path
    bootstrap: Path
    logs: Path


@dataclass
class Submitted:
    """What a submit command answered: the batch job's id and each pilot's id."""

    job_id: str
    task_ids: List[str] = field(default_factory=list)
    extra: Dict[str, object] = field(default_factory=dict)


class Backend(abc.ABC):
    """One batch system."""

    name: ClassVar[str]
    #: The command that submits; its absence is reported before anything is written.
    submit_tool: ClassVar[str]
    #: Default cap on this user's pilots in the queue (``--auto``); clusters limit it.
    default_cap: ClassVar[int] = 100
    #: File name of the rendered description in the submission folder.
    description_name: ClassVar[str] = ""

    def template(self) -> str:
        return TEMPLATES[self.name]

    @abc.abstractmethod
    def values(self, spec: PilotSpec, folder: Folder) -> Dict[str, str]:
        """The template's variables, quoted for its language."""

    def render(self, spec: PilotSpec, folder: Folder) -> str:
        return render(self.template(), self.values(spec, folder))

    @abc.abstractmethod
    def submit(self, spec: PilotSpec, folder: Folder, description: Path) -> Submitted:
        """Hand the description to the batch system."""

    @abc.abstractmethod
    def states(self, job_id: str, tasks: Sequence[str]) -> Mapping[str, JobState]:
        """The state of each pilot (by task id) of the batch job ``job_id``."""

    def task_ids(self, submitted: Submitted, jobs: int) -> List[str]:
        """The pilots' ids, as the launcher records them in ``batch_job_id``."""
        return submitted.task_ids or [f"{submitted.job_id}_{n}" for n in range(1, jobs + 1)]
