"""The campaign file: every mistake is a ConfigError naming the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import pytest

from grid_lrt.client.campaign.spec import load_campaign
from grid_lrt.shared.errors import ConfigError
from tests.unit.client.campaign.conftest import VALID, Writer


def _fails(path: Path, pattern: str, hint: str = "") -> ConfigError:
    with pytest.raises(ConfigError, match=pattern) as caught:
        load_campaign(path)
    assert str(path) in caught.value.message
    assert hint in caught.value.hint
    return caught.value


def test_a_valid_file_loads_with_defaults_and_resolved_paths(write: Writer, folder: Path) -> None:
    campaign = load_campaign(write(VALID))
    assert campaign.name == "test_campaign"
    assert campaign.workdir == folder / "lrt-campaign-test_campaign"
    cal, target = campaign.steps
    assert (cal.name, cal.type, cal.size, cal.srm) == ("cal", "t_cal", 4, folder / "links.txt")
    assert (cal.after, cal.hold, cal.group_by, cal.backend, cal.jobs) == (
        None,
        "",
        "obsid",
        "local",
        None,
    )
    assert target.hold == "after:cal" and target.group_by == "subband-group"
    assert target.srm is None and campaign.input_list(target) == folder / "links.txt"
    assert cal.line == 3 and target.line == 8


def test_options_sandbox_backend_jobs_workdir(write: Writer, folder: Path) -> None:
    text = VALID.replace("    size: 4\n", "    size: 4\n    sandbox: sbx\n    jobs: 3\n")
    text = text.replace("    size: 2\n", "    size: 2\n    sandbox: https://x.org/s.tar\n")
    campaign = load_campaign(write("workdir: out\n" + text))
    cal, target = campaign.steps
    assert cal.sandbox == str(folder / "sbx") and cal.jobs == 3
    assert target.sandbox == "https://x.org/s.tar"
    assert campaign.workdir == folder / "out"


def test_unreadable_file(folder: Path) -> None:
    _fails(folder / "nope.yaml", "cannot read campaign file", "campaign YAML")


def test_invalid_yaml_names_line_and_column(write: Writer) -> None:
    _fails(write("campaign: x\nsteps:\n  - name: a\n   bad: indent\n"), r"line 4, column \d+")


def test_empty_file(write: Writer) -> None:
    _fails(write("# nothing\n"), "is empty", "campaign: NAME")


def test_top_level_not_a_mapping(write: Writer) -> None:
    _fails(write("- a\n- b\n"), "line 1: the top level must be a mapping")


def test_unknown_top_level_key(write: Writer) -> None:
    _fails(write(VALID + "stepz: []\n"), r"line 15: unknown key 'stepz'", "known keys")


def test_no_campaign_name(write: Writer) -> None:
    _fails(write(VALID.replace("campaign: test_campaign\n", "")), "no 'campaign:' name")


def test_bad_campaign_name(write: Writer) -> None:
    _fails(write(VALID.replace("test_campaign", "'a b'")), r"line 1: 'campaign' must be a name")


@pytest.mark.parametrize("steps", ["steps: []\n", "steps: cal\n", ""])
def test_steps_must_be_a_non_empty_list(write: Writer, steps: str) -> None:
    _fails(write("campaign: c\n" + steps), "'steps' must be a list of at least one step")


def test_a_step_that_is_no_mapping(write: Writer) -> None:
    _fails(write("campaign: c\nsteps:\n  - cal\n"), "line 3: step 1 must be a mapping")


def test_unknown_step_key_suggests_the_right_one(write: Writer) -> None:
    text = VALID.replace("inputs-from: cal", "inputs_from: cal")
    _fails(write(text), r"line 11: unknown key 'inputs_from'", "did you mean 'inputs-from'?")


@pytest.mark.parametrize(
    "key,drop",
    [
        ("name", "  - name: cal\n    type"),
        ("type", "    type: t_cal\n"),
        ("config", "    config: seed.cfg\n    srm"),
    ],
)
def test_required_step_keys(write: Writer, key: str, drop: str) -> None:
    keep = {"name": "  - type", "type": "", "config": "    srm"}[key]
    _fails(write(VALID.replace(drop, keep, 1)), rf"line 3: step 1 has no '{key}'", f"add '{key}:'")


def test_missing_config_file(write: Writer) -> None:
    text = VALID.replace("config: seed.cfg\n    srm", "config: gone.cfg\n    srm")
    _fails(write(text), r"line 5: config: .*gone.cfg does not exist", "relative to the campaign")


def test_a_broken_seed_config_is_reported_with_its_own_line(write: Writer, folder: Path) -> None:
    (folder / "seed.cfg").write_text("apiVersion: 0\nToken:\n  lock: many\n")
    with pytest.raises(ConfigError, match=r"seed.cfg, line 3: token field 'lock'"):
        load_campaign(write(VALID))


@pytest.mark.parametrize(
    "change",
    [
        ("    srm: links.txt\n", ""),
        ("    srm: links.txt\n", "    srm: links.txt\n    inputs-from: cal\n"),
    ],
)
def test_exactly_one_of_srm_and_inputs_from(write: Writer, change: Tuple[str, str]) -> None:
    _fails(write(VALID.replace(*change)), "line 3: step 'cal' needs exactly one of", "srm:")


def test_missing_link_file(write: Writer) -> None:
    _fails(write(VALID.replace("links.txt", "nolinks.txt")), r"line 6: srm: .* does not exist")


def test_inputs_from_an_unknown_or_later_step(write: Writer) -> None:
    _fails(write(VALID.replace("inputs-from: cal", "inputs-from: other")), r"line 11: .*'other'")
    swapped = (
        "campaign: c\nsteps:\n"
        "  - {name: a, type: ta, config: seed.cfg, inputs-from: b}\n"
        "  - {name: b, type: tb, config: seed.cfg, srm: links.txt}\n"
    )
    _fails(write(swapped), r"line 3: inputs-from 'b' is not an earlier step \(it comes later\)")


def test_group_by_must_be_known_and_needs_after(write: Writer) -> None:
    text = VALID.replace("group_by: subband-group", "group_by: beam")
    _fails(write(text), r"line 14: group_by 'beam' is not known", "obsid, subband-group, none")
    text = VALID.replace("    size: 4\n", "    size: 4\n    group_by: obsid\n")
    _fails(write(text), r"line 8: step 'cal' has group_by but no 'after'", "add after: STEP")


def test_unknown_backend(write: Writer) -> None:
    text = VALID.replace("    size: 4\n", "    size: 4\n    backend: pbs\n")
    _fails(write(text), r"line 8: backend 'pbs' is not known", "local")


@pytest.mark.parametrize(
    "line,new",
    [
        (8, "    size: 4\n    jobs: 0\n"),
        (8, "    size: 4\n    jobs: many\n"),
        (7, "    size: true\n"),
    ],
)
def test_whole_numbers(write: Writer, line: int, new: str) -> None:
    key = new.splitlines()[-1].split(":")[0].strip()
    text = VALID.replace("    size: 4\n", new)
    _fails(write(text), rf"line {line}: '{key}' must be a whole number of at least 1")


def test_missing_sandbox(write: Writer) -> None:
    text = VALID.replace("    size: 4\n", "    size: 4\n    sandbox: nosuch\n")
    _fails(write(text), r"line 8: sandbox: .*nosuch does not exist", "a folder, a tarball")


def test_two_steps_with_one_name_or_type(write: Writer) -> None:
    _fails(write(VALID.replace("name: target", "name: cal")), r"line 8: step name 'cal' is used")
    _fails(write(VALID.replace("t_target", "t_cal")), r"line 9: token type 't_cal' is used by")


def test_after_an_unknown_step_or_itself(write: Writer) -> None:
    _fails(write(VALID.replace("after: cal", "after: cal2")), r"line 13: after 'cal2': no step")
    _fails(write(VALID.replace("after: cal", "after: target")), "cannot wait for itself")


def test_a_cycle_of_after(write: Writer) -> None:
    text = VALID.replace("    size: 4\n", "    size: 4\n    after: target\n")
    error = _fails(write(text), r"line 8: the steps wait for each other in a cycle", "remove one")
    assert "cal -> target -> cal" in error.message


def test_bad_workdir(write: Writer) -> None:
    _fails(write("workdir: 5\n" + VALID), r"line 1: 'workdir' must be a folder path")


def test_stage_marks_the_step_and_holds_its_tokens_for_staging(write: Writer) -> None:
    text = VALID.replace("    srm: links.txt\n", "    srm: links.txt\n    stage: true\n")
    cal, target = load_campaign(write(text)).steps
    assert cal.stage and cal.hold == "staging"
    assert not target.stage and target.hold == "after:cal"
    assert not load_campaign(write(VALID)).steps[0].stage


@pytest.mark.parametrize(
    "old,new,pattern,hint",
    [
        ("    srm: links.txt\n", "    srm: links.txt\n    stage: yes please\n",
         r"line 7: 'stage' must be true or false", "stage: true"),
        ("    inputs-from: cal\n", "    inputs-from: cal\n    stage: true\n",
         r"line 12: step 'target' stages but has no 'srm' list", "inputs-from reuses"),
    ],
)  # fmt: skip
def test_stage_mistakes(write: Writer, old: str, new: str, pattern: str, hint: str) -> None:
    _fails(write(VALID.replace(old, new)), pattern, hint)


def test_a_staged_step_cannot_wait_for_another(write: Writer) -> None:
    text = VALID.replace("    inputs-from: cal\n", "    srm: links.txt\n    stage: true\n")
    _fails(write(text), r"line 12: step 'target' has both 'stage' and 'after'", "starts the chain")
