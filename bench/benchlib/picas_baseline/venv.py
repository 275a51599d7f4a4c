"""The picas virtualenv, bench/.venv-picas: picas 1.1.2 is not a dependency of grid-lrt."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchlib import BENCH
from benchlib.picas_baseline import progress

DEFAULT_VENV = BENCH / ".venv-picas"
PICAS_REQUIREMENT = "picas==1.1.2"


def ensure_picas_venv(venv: Path = DEFAULT_VENV, python: str = "python3.11") -> Path:
    """Return the venv's python, creating the venv and installing picas 1.1.2 if needed."""
    exe = venv / "bin" / "python"
    probe = "import importlib.metadata as m; print(m.version('picas'))"
    if exe.exists():
        done = subprocess.run([str(exe), "-c", probe], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == PICAS_REQUIREMENT.split("==")[1]:
            return exe
    progress(f"creating {venv} with {PICAS_REQUIREMENT} (once; ~20 s)")
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(exe), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, PICAS_REQUIREMENT], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"pip install {PICAS_REQUIREMENT} into {venv} failed:\n{tail}")
    return exe
