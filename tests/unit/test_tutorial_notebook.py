"""docs/tutorial.ipynb is stored as clean nbformat 4 JSON: no outputs, valid Python cells.

`nox -s notebook` runs it end to end (and validates it against nbformat's schema); this test
is the cheap check that a notebook saved from Jupyter with its outputs, or hand-edited into
broken JSON, does not land.
"""

from __future__ import annotations

import ast
import json

from tests.support.paths import ROOT

NOTEBOOK = ROOT / "docs" / "tutorial.ipynb"
#: The keys nbformat 4's schema allows on each kind of cell (all required but attachments).
CELL_KEYS = {
    "markdown": {"cell_type", "id", "metadata", "source"},
    "code": {"cell_type", "id", "metadata", "source", "outputs", "execution_count"},
}


def _load() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def test_the_tutorial_is_nbformat_4_without_outputs() -> None:
    nb = _load()
    assert set(nb) == {"cells", "metadata", "nbformat", "nbformat_minor"}
    assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5  # 4.5: cells have ids
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    ids = [cell["id"] for cell in nb["cells"]]
    assert len(set(ids)) == len(ids)
    for cell in nb["cells"]:
        assert set(cell) == CELL_KEYS[cell["cell_type"]], cell["id"]
        assert isinstance(cell["source"], list) and cell["metadata"] == {}
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, cell["id"]


def test_the_code_cells_are_python() -> None:
    for cell in _load()["cells"]:
        if cell["cell_type"] == "code":
            ast.parse("".join(cell["source"]), filename=cell["id"])


def test_the_tutorial_uses_only_a_local_server_and_stops_it() -> None:
    code = ["".join(cell["source"]) for cell in _load()["cells"] if cell["cell_type"] == "code"]
    assert "serverctl.start_server(" in code[0] and 'os.environ["PICASRC"]' in code[0]
    assert "atexit.register(serverctl.stop_server" in code[0]  # when a later cell fails
    assert "serverctl.stop_server(" in code[-1]
    assert "https://" not in "".join(code)
