"""``lrt tokens archive`` (issue 9, findings 8, 9 and 14): nothing is lost, nothing escapes.

* ``--delete`` asks (or ``--yes``), deletes only finished tokens (done, error) unless
  ``--all-states``, and only the revisions it archived: a token written in between is kept and
  reported; a failed deletion is reported and the command exits 1;
* an existing archive (tarball or folder) is never replaced or merged into: the next free
  name ``tokens_<type>.1.tar.gz``, ``<type>.1/`` ... is used;
* ids and attachment names become safe file names inside the archive folder;
* ``--dest`` naming a file is a message, not a traceback.
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import unquote

import pytest
import yaml

from grid_lrt.client import token_archive
from grid_lrt.client.cli.main import main
from grid_lrt.shared.schema import inline_attachment, new_token
from tests.integration.client.conftest import CliEnv

TYPE = "arch"

STATES: Dict[str, Dict[str, Any]] = {
    "todo": {},
    "locked": {"lock": 5},
    "done": {"lock": 5, "done": 6, "output": 0},
    "error": {"lock": 5, "done": 6, "output": 21},
}


def add(env: CliEnv, *states: str, t_type: str = TYPE) -> List[str]:
    """One token per state name, ``t_<state>``, each with a small attachment."""
    docs = []
    for state in states:
        doc = new_token(t_type, f"t_{state}", STATES[state])
        doc["_attachments"] = {"srm.txt": inline_attachment(b"srm://x\n", "text/plain")}
        docs.append(doc)
    assert env.pool.create(docs).ok
    return [d["_id"] for d in docs]


def remaining(env: CliEnv, t_type: str = TYPE) -> List[str]:
    return env.pool.ids(t_type)


def archive(dest: Path, *extra: str) -> int:
    return main(["tokens", "archive", TYPE, "--dest", str(dest), *extra])


def test_delete_asks_and_without_a_terminal_does_nothing(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(cli_env, "done", "error")
    assert archive(tmp_path / "a", "--delete") == 2
    err = capsys.readouterr().err
    assert "not confirmed" in err and "--yes" in err
    assert remaining(cli_env) == ["t_done", "t_error"]
    assert not (tmp_path / "a").exists(), "nothing archived either"


def test_delete_takes_only_finished_tokens_unless_all_states(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(cli_env, "todo", "locked", "done", "error")
    assert archive(tmp_path, "--delete", "--yes") == 0
    out = capsys.readouterr().out
    assert "archived 4 tokens" in out and "deleted 2" in out
    assert "kept 2 not finished (locked 1, todo 1)" in out and "--all-states" in out
    assert remaining(cli_env) == ["t_locked", "t_todo"]
    with tarfile.open(tmp_path / "tokens_arch.tar.gz") as tar:
        assert sorted(n for n in tar.getnames() if n.endswith(".dump")) == [
            f"arch/t_{s}.dump" for s in ("done", "error", "locked", "todo")
        ]
    assert archive(tmp_path, "--delete", "--yes", "--all-states") == 0
    assert "deleted 2" in capsys.readouterr().out
    assert remaining(cli_env) == []
    assert (tmp_path / "tokens_arch.1.tar.gz").is_file()


def test_a_token_written_after_it_was_archived_is_kept_and_reported(
    cli_env: CliEnv,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add(cli_env, "done", "error")
    real = token_archive.archive_type

    def archive_then_a_late_write(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)

        def late(doc: Dict[str, Any]) -> bool:
            doc["launcher_status"] = "a late closing write"
            return True

        assert cli_env.pool.update(["t_error"], late).changed == ["t_error"]
        return out

    monkeypatch.setattr(token_archive, "archive_type", archive_then_a_late_write)
    assert archive(tmp_path, "--delete", "--yes") == 1
    captured = capsys.readouterr()
    assert "deleted 1" in captured.out
    assert "t_error" in captured.out + captured.err and "changed" in captured.out + captured.err
    assert remaining(cli_env) == ["t_error"], "the newer revision was not archived: kept"
    assert cli_env.db["t_error"]["launcher_status"] == "a late closing write"


def test_a_failed_deletion_is_reported_and_exits_1(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(cli_env, "done", "error")
    guard = (
        "function (doc) { if (doc._deleted && doc._id === 't_done') "
        "{ throw({forbidden: 'keep t_done'}); } }"
    )
    cli_env.db.save({"_id": "_design/guard", "validate_doc_update": guard})
    assert archive(tmp_path, "--delete", "--yes") == 1
    captured = capsys.readouterr()
    assert "and deleted them" not in captured.out
    assert "t_done" in captured.err and "keep t_done" in captured.err
    assert remaining(cli_env) == ["t_done"]


def test_a_second_archive_never_replaces_the_first(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(cli_env, "done")
    dest = tmp_path / "out"
    assert archive(dest) == 0
    first = (dest / "tokens_arch.tar.gz").read_bytes()
    assert archive(dest) == 0
    out = capsys.readouterr().out
    assert str(dest / "tokens_arch.1.tar.gz") in out
    assert (dest / "tokens_arch.tar.gz").read_bytes() == first
    assert archive(dest, "--no-compress") == 0
    assert archive(dest, "--no-compress") == 0
    assert sorted(p.name for p in dest.iterdir()) == [
        "arch",
        "arch.1",
        "tokens_arch.1.tar.gz",
        "tokens_arch.tar.gz",
    ]


def test_a_folder_of_the_same_name_is_neither_packed_nor_removed(
    cli_env: CliEnv, tmp_path: Path
) -> None:
    add(cli_env, "done")
    mine = tmp_path / "arch"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own notes")
    assert archive(tmp_path) == 0
    assert (mine / "notes.txt").read_text() == "my own notes"
    with tarfile.open(tmp_path / "tokens_arch.tar.gz") as tar:
        assert "arch/notes.txt" not in tar.getnames()


def test_dest_that_is_a_file_is_a_clear_error(
    cli_env: CliEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add(cli_env, "done")
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert archive(afile) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --dest {afile} is a file") and "unexpected" not in err
    assert remaining(cli_env) == ["t_done"] and afile.read_text() == "x"


# -- finding 9: traversal -------------------------------------------------------------------------

EVIL_IDS = [
    "../../victim/autostart/x",
    "/absolute/token",
    "nul\x00byte",
    "long-" + "x" * 400,
    ".hidden",
    "-rf",
    "t_a_attachment_b.dump",
]
EVIL_ATTACHMENTS = ["../../../victim/autostart/evil.sh", "/etc/cron.d/evil", "a\x00b", "y" * 300]


def add_evil(env: CliEnv) -> None:
    docs = []
    for token_id in EVIL_IDS:
        doc = new_token(TYPE, token_id, {"done": 1})
        doc["_attachments"] = {
            name: inline_attachment(name.encode("utf-8", "replace"), "text/plain")
            for name in EVIL_ATTACHMENTS
        }
        docs.append(doc)
    plain = new_token(TYPE, "t_a", {"done": 1})
    plain["_attachments"] = {"b.dump": inline_attachment(b"an attachment named b.dump", "x/y")}
    docs.append(plain)
    assert env.pool.create(docs).ok


def files_under(root: Path) -> List[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("compress", [False, True])
def test_ids_and_attachment_names_cannot_leave_the_archive(
    cli_env: CliEnv, tmp_path: Path, compress: bool
) -> None:
    add_evil(cli_env)
    victim = tmp_path / "victim" / "autostart"
    victim.mkdir(parents=True)
    dest = tmp_path / "dest"  # dest/arch/../../victim is tmp_path/victim
    assert archive(dest, *([] if compress else ["--no-compress"])) == 0
    assert list(victim.iterdir()) == [], "nothing was written outside --dest"
    if compress:
        with tarfile.open(dest / "tokens_arch.tar.gz") as tar:
            names = tar.getnames()
            assert all(n == "arch" or n.startswith("arch/") for n in names)
            assert not any(".." in n.split("/") for n in names)
            tar.extractall(dest / "x", filter="data")
        folder = dest / "x" / "arch"
    else:
        folder = dest / "arch"
    tarball = [dest / "tokens_arch.tar.gz"] if compress else []
    assert files_under(dest) == sorted([*files_under(folder), *tarball]), "nothing else"
    files = files_under(folder)
    assert all(p.parent == folder for p in files), files
    assert all(len(p.name.encode()) <= 255 for p in files)
    dumps = {
        p.name: yaml.safe_load(p.read_text())
        for p in files
        if p.name.endswith(".dump") and "_attachment_" not in p.name
    }
    assert sorted(d["_id"] for d in dumps.values()) == sorted([*EVIL_IDS, "t_a"])
    for name, dump in dumps.items():
        if "~" not in name:  # not shortened: the name decodes to the id
            assert unquote(name[: -len(".dump")]) == dump["_id"]
    # 8 tokens: 8 dumps, 7 x 4 evil attachments and t_a's b.dump, each in its own file
    assert len(files) == 8 + 7 * 4 + 1
    assert (folder / "t_a_attachment_b.dump").read_bytes() == b"an attachment named b.dump"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_archiving_shows_progress_at_a_terminal(
    cli_env: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(cli_env, "done", "error")
    screen = _Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert archive(tmp_path / "out") == 0
    assert "archiving:" in screen.getvalue() and "/2 [" in screen.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(["-q", "tokens", "archive", TYPE, "--dest", str(tmp_path / "q")]) == 0
    assert "archiving" not in quiet.getvalue()  # -q: no bar even at a terminal
