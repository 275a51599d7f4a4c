"""Execute a notebook end to end with nbclient; exit 1 on the first cell that fails.

Usage: python tools/run_notebook.py NOTEBOOK [--timeout SECONDS] [--output EXECUTED.ipynb]

What `nox -s notebook` runs for docs/tutorial.ipynb. The kernel is this interpreter (a
``python3`` kernelspec written to a temporary JUPYTER_PATH, so no kernel of the user's or the
system's is used and nothing is registered anywhere), and everything Jupyter and IPython
would keep in the home folder (runtime files, profile, config) lives in that temporary folder
too; the kernel talks to this process over Unix sockets there, not TCP. The notebook runs
there (its working folder and TMPDIR). Afterwards every local server started under it is
stopped, whether the notebook stopped it or failed before it could, and the folder is
removed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional


def _kernelspec(root: Path) -> None:
    """A ``python3`` kernel of this interpreter, found first through JUPYTER_PATH."""
    spec = root / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (grid-lrt)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel, indent=1) + "\n")


def _isolate(root: Path) -> None:
    """Jupyter's and IPython's folders, and TMPDIR, inside ``root`` (the kernel inherits them)."""
    _kernelspec(root)
    (root / "tmp").mkdir()
    os.environ.update(
        JUPYTER_PATH=str(root / "jupyter"),
        JUPYTER_DATA_DIR=str(root / "data"),
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(root / "ipython"),
        TMPDIR=str(root / "tmp"),
    )


def _stop_servers(root: Path) -> List[Path]:
    """Stop every local server whose folder is under ``root``; the folders that had one."""
    from grid_lrt.client.serverctl import STATE, stop_server

    stopped = []
    for record in sorted(root.rglob(STATE)):
        if stop_server(record.parent):
            stopped.append(record.parent)
    return stopped


def run(notebook: Path, timeout: int, output: Optional[Path]) -> int:
    """Execute ``notebook``; 0 when every cell ran, 1 when one failed or timed out."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)  # the stored file is a valid nbformat 4 notebook
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lrt-notebook-") as tmp:
        root = Path(tmp)
        _isolate(root)
        work = root / "work"
        work.mkdir()
        client = NotebookClient(
            nb,
            # Unix sockets in the temporary folder, no TCP port (an absolute path: the kernel
            # runs in the notebook's folder)
            config=Config({"KernelManager": {"transport": "ipc", "ip": str(root / "ipc")}}),
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(work)}},
        )
        try:
            client.execute()
            failure = ""
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            failure = str(exc)
        finally:
            leftovers = _stop_servers(root)
        if output is not None:
            nbformat.write(nb, output)
    for folder in leftovers:
        print(f"{notebook}: stopped the server the notebook left running in {folder}")
    elapsed = time.monotonic() - started
    if failure:
        print(f"{notebook}: FAILED after {elapsed:.0f} s\n{failure}", file=sys.stderr)
        return 1
    cells = sum(1 for cell in nb.cells if cell.cell_type == "code")
    print(f"{notebook}: {cells} code cells ran in {elapsed:.0f} s")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell (120)")
    parser.add_argument("--output", type=Path, help="also write the executed notebook here")
    args = parser.parse_args(argv)
    return run(args.notebook.resolve(), args.timeout, args.output)


if __name__ == "__main__":
    sys.exit(main())
