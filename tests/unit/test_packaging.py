"""Packaging: every package folder is listed in pyproject.toml (runs on the client Python)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    mapping = {
        folder: package for package, folder in config["tool"]["setuptools"]["package-dir"].items()
    }
    assert set(mapping) == {"client", "launcher", "shared", "jdl"}
    on_disk = set()
    for top, package in mapping.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            on_disk.add(".".join((package, *rel)))
    assert on_disk == listed
