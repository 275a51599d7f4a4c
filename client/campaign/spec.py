"""The campaign file: steps of a processing chain, each a token type, checked with file/line
errors like the token configuration (:mod:`grid_lrt.client.tokenconfig`).

::

    campaign: L654321_demo           # the campaign's name (letters, digits, _ and -)
    workdir: work                    # optional: sandboxes, results, submissions (default
                                     # lrt-campaign-<name> next to this file)
    steps:
      - name: cal                    # unique step name
        type: L654321_cal            # the token type of its tokens (one type per step)
        config: cal.cfg              # seed token configuration (Token: fields)
        srm: srm_L654321.txt         # input links, one per line (or inputs-from: STEP)
        stage: true                  # optional: stage the srm list from the LTA first; the
                                     # tokens stay held until their files are online
        size: 4                      # subbands per token (default 10)
        sandbox: cal_sandbox         # optional: a folder, a tarball, a sandbox config or a URL
        backend: local               # optional: local (default), slurm, condor, dirac, glite
        jobs: 2                      # optional: at most 2 pilots queued at once (default auto)
      - name: target
        type: L654321_target
        config: target.cfg
        inputs-from: cal             # the same input links as step cal
        size: 2
        after: cal                   # held until cal is done for the token's group
        group_by: subband-group      # obsid (default) | subband-group | none

Relative paths are relative to the campaign file. Every error names the file and the line,
and says how to fix it (:class:`~grid_lrt.shared.errors.ConfigError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

import yaml

from grid_lrt.shared.errors import ConfigError

from ..sandboxes.config import load_sandbox_config
from ..submit.submission import BACKENDS
from ..tokenconfig import load_token_config, parse_yaml

__all__ = ["GROUP_BY", "STAGE_HOLD", "Campaign", "Step", "load_campaign"]

_TOP_KEYS = ("campaign", "workdir", "steps")
_STEP_KEYS = (
    "name",
    "type",
    "config",
    "srm",
    "inputs-from",
    "size",
    "sandbox",
    "after",
    "group_by",
    "backend",
    "jobs",
    "stage",
)
#: How a dependant token finds the tokens of the step it waits for.
GROUP_BY = ("obsid", "subband-group", "none")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_SANDBOX_CONFIGS = (".yaml", ".yml", ".cfg")
DEFAULT_SIZE = 10
#: The ``held`` value of a staged step's tokens until their files are online.
STAGE_HOLD = "staging"


@dataclass(frozen=True)
class Step:
    """One step of a campaign, its paths resolved against the campaign file."""

    name: str
    type: str
    config: Path
    srm: Optional[Path] = None
    inputs_from: Optional[str] = None
    size: int = DEFAULT_SIZE
    sandbox: Optional[str] = None
    after: Optional[str] = None
    group_by: str = "obsid"
    backend: str = "local"
    jobs: Optional[int] = None
    stage: bool = False
    line: int = 0

    @property
    def hold(self) -> str:
        """The ``held`` value of this step's tokens before release (``""``: never held)."""
        if self.stage:
            return STAGE_HOLD
        return f"after:{self.after}" if self.after else ""


@dataclass
class Campaign:
    """A parsed campaign file."""

    name: str
    path: Path
    workdir: Path
    steps: List[Step] = field(default_factory=list)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def input_list(self, step: Step) -> Path:
        """The link file of ``step``, following ``inputs-from`` to the step that names one."""
        while step.srm is None:
            step = self.step(str(step.inputs_from))
        return step.srm


class _Where:
    """File and line numbers of one mapping, for messages."""

    def __init__(self, path: Path, node: Optional[yaml.Node], fallback: int) -> None:
        self.path = path
        self.fallback = fallback
        self.lines: Dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _value in node.value:
                self.lines[str(key_node.value)] = key_node.start_mark.line + 1

    def at(self, key: Optional[str] = None) -> str:
        line = self.lines.get(key, self.fallback) if key else self.fallback
        return f"{self.path}, line {line}"

    def error(self, key: Optional[str], message: str, hint: str = "") -> ConfigError:
        return ConfigError(f"{self.at(key)}: {message}", hint=hint)


def _compose(path: Path) -> tuple[Any, Optional[yaml.Node]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read campaign file {path}: {exc.strerror}",
            hint="give the path of a campaign YAML file",
        ) from None
    return parse_yaml(path, text)


def _check_known(where: _Where, mapping: Mapping[Any, Any], known: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in known:
            near = [k for k in known if k.replace("-", "_") == str(key).replace("-", "_")]
            fix = f"did you mean {near[0]!r}? " if near else ""
            raise where.error(
                str(key), f"unknown key {key!r}", f"{fix}known keys: {', '.join(known)}"
            )


def _name(where: _Where, value: Any, key: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise where.error(
            key,
            f"{key!r} must be a name of letters, digits, '_' and '-', got {value!r}",
            hint=f"e.g. {key}: cal1",
        )
    return value


def _existing(where: _Where, base: Path, value: Any, key: str, what: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise where.error(key, f"{key!r} must be a file path, got {value!r}", hint=f"give {what}")
    path = (base / value).expanduser()
    if not path.exists():
        raise where.error(
            key,
            f"{key}: {path} does not exist",
            hint=f"give {what}; relative paths are relative to the campaign file",
        )
    return path


def _sandbox(where: _Where, base: Path, value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, str) and "://" in value:
        return value
    path = _existing(where, base, value, "sandbox", "a folder, a tarball, a config or a URL")
    if path.is_file() and path.suffix in _SANDBOX_CONFIGS:
        load_sandbox_config(path)  # its own file/line errors, before any token is made
    return str(path)


def _positive(where: _Where, value: Any, key: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise where.error(key, f"{key!r} must be a whole number of at least 1, got {value!r}", hint)
    return value


def _step(path: Path, node: Optional[yaml.Node], data: Any, number: int, line: int) -> Step:
    where = _Where(path, node, line)
    if not isinstance(data, dict):
        raise where.error(None, f"step {number} must be a mapping with name, type, config, ...")
    _check_known(where, data, _STEP_KEYS)
    for key in ("name", "type", "config"):
        if key not in data:
            raise where.error(None, f"step {number} has no {key!r}", f"add '{key}:' to the step")
    name = _name(where, data["name"], "name")
    t_type = _name(where, data["type"], "type")
    base = path.parent
    config = _existing(where, base, data["config"], "config", "a seed token configuration")
    load_token_config(config)
    if ("srm" in data) == ("inputs-from" in data):
        raise where.error(
            None,
            f"step {name!r} needs exactly one of 'srm' and 'inputs-from'",
            hint="srm: a file of input links, or inputs-from: an earlier step's name",
        )
    srm = (
        _existing(where, base, data["srm"], "srm", "a file of input links")
        if "srm" in data
        else None
    )
    inputs_from = (
        _name(where, data["inputs-from"], "inputs-from") if "inputs-from" in data else None
    )
    after = _name(where, data["after"], "after") if "after" in data else None
    group_by = data.get("group_by", "obsid")
    if not isinstance(group_by, str) or group_by not in GROUP_BY:
        raise where.error(
            "group_by",
            f"group_by {group_by!r} is not known",
            f"choose one of {', '.join(GROUP_BY)}",
        )
    if "group_by" in data and after is None:
        raise where.error(
            "group_by",
            f"step {name!r} has group_by but no 'after'",
            "group_by says how the step waits for its 'after' step; "
            "add after: STEP or remove group_by",
        )
    backend = data.get("backend", "local")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise where.error(
            "backend",
            f"backend {backend!r} is not known",
            f"choose one of {', '.join(sorted(BACKENDS))}",
        )
    jobs_value = data.get("jobs", "auto")
    jobs = (
        None
        if jobs_value == "auto"
        else _positive(
            where, jobs_value, "jobs", "jobs: N (at most N pilots queued at once) or jobs: auto"
        )
    )
    size = _positive(
        where, data.get("size", DEFAULT_SIZE), "size", "size: subbands per token, e.g. size: 10"
    )
    stage = data.get("stage", False)
    if not isinstance(stage, bool):
        raise where.error("stage", f"'stage' must be true or false, got {stage!r}", "stage: true")
    if stage and srm is None:
        raise where.error(
            "stage",
            f"step {name!r} stages but has no 'srm' list",
            "stage the list of the step that names it (srm:); inputs-from reuses its files",
        )
    if stage and after is not None:
        raise where.error(
            "stage",
            f"step {name!r} has both 'stage' and 'after'",
            "a staged step starts the chain: stage its inputs, and let later steps wait for it",
        )
    return Step(
        name=name,
        type=t_type,
        config=config,
        srm=srm,
        inputs_from=inputs_from,
        size=size,
        sandbox=_sandbox(where, base, data.get("sandbox")),
        after=after,
        group_by=group_by,
        backend=backend,
        jobs=jobs,
        stage=stage,
        line=line,
    )


def _check_links(path: Path, steps: List[Step], nodes: List[yaml.Node]) -> None:
    seen: Dict[str, Step] = {}
    types: Dict[str, Step] = {}
    for step, node in zip(steps, nodes):
        where = _Where(path, node, step.line)
        if step.name in seen:
            raise where.error(
                "name",
                f"step name {step.name!r} is used twice (also line {seen[step.name].line})",
                "give every step its own name",
            )
        if step.type in types:
            raise where.error(
                "type",
                f"token type {step.type!r} is used by step {types[step.type].name!r} too",
                "every step needs its own token type: its pilots drain that type",
            )
        if step.inputs_from is not None and step.inputs_from not in seen:
            later = any(s.name == step.inputs_from for s in steps)
            raise where.error(
                "inputs-from",
                f"inputs-from {step.inputs_from!r} is not an earlier step"
                + (" (it comes later)" if later else ""),
                "name a step listed above this one",
            )
        seen[step.name] = step
        types[step.type] = step
    for step, node in zip(steps, nodes):
        where = _Where(path, node, step.line)
        if step.after is None:
            continue
        if step.after == step.name:
            raise where.error(
                "after",
                f"step {step.name!r} cannot wait for itself",
                "name another step in 'after'",
            )
        if step.after not in seen:
            raise where.error(
                "after", f"after {step.after!r}: no step has that name", f"steps: {', '.join(seen)}"
            )
        chain = [step.name]
        current = seen[step.after]
        while current.after is not None and current.name not in chain:
            chain.append(current.name)
            current = seen[current.after]
        if current.name in chain:
            cycle = " -> ".join([*chain, current.name])
            raise where.error(
                "after",
                f"the steps wait for each other in a cycle: {cycle}",
                "remove one of these 'after' keys: a cycle never starts",
            )


def load_campaign(source: Union[str, Path]) -> Campaign:
    """Read and check a campaign file and the files it names.

    Raises:
        ConfigError: unreadable or invalid YAML, an unknown key, a missing or wrong value, a
            file that does not exist, a seed configuration with errors, two steps with one
            name or type, ``inputs-from`` not naming an earlier step, ``after`` naming no
            step or making a cycle. The message names the file and the line.
    """
    path = Path(source).absolute()
    data, root = _compose(path)
    if data is None:
        raise ConfigError(f"{path} is empty", hint="it needs 'campaign: NAME' and 'steps:'")
    where = _Where(path, root, 1)
    if not isinstance(data, dict):
        raise where.error(None, "the top level must be a mapping with 'campaign:' and 'steps:'")
    _check_known(where, data, _TOP_KEYS)
    if "campaign" not in data:
        raise where.error(None, "no 'campaign:' name", "add e.g. campaign: L654321_demo")
    name = _name(where, data["campaign"], "campaign")
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or not steps_data:
        raise where.error(
            "steps" if "steps" in data else None,
            "'steps' must be a list of at least one step",
            "steps:\n  - name: cal\n    type: ...",
        )
    workdir_value = data.get("workdir", f"lrt-campaign-{name}")
    if not isinstance(workdir_value, str) or not workdir_value.strip():
        raise where.error("workdir", f"'workdir' must be a folder path, got {workdir_value!r}")
    steps_node: Optional[yaml.Node] = None
    if isinstance(root, yaml.MappingNode):
        steps_node = next((v for k, v in root.value if k.value == "steps"), None)
    nodes: List[yaml.Node] = (
        list(steps_node.value) if isinstance(steps_node, yaml.SequenceNode) else []
    )
    steps = [
        _step(path, nodes[i], item, i + 1, nodes[i].start_mark.line + 1)
        for i, item in enumerate(steps_data)
    ]
    _check_links(path, steps, nodes)
    return Campaign(
        name=name, path=path, workdir=(path.parent / workdir_value).expanduser(), steps=steps
    )
