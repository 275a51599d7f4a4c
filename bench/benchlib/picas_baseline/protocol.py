"""What the driver and the picas processes (``setup``, ``worker``) agree on."""

from __future__ import annotations

from benchlib import BENCH

#: The script the picas venv runs with the verbs ``setup`` and ``worker``.
SCRIPT = BENCH / "picas_baseline.py"
PASSWORD_ENV = "PICAS_BASELINE_PASSWORD"
DESIGN_DOC = "Monitor"
START_TIMEOUT = 180.0  # workers importing picas on a loaded 2-core machine

# picas's views, as SURF's examples/create_views.py (picasclient) makes them.
CONDITIONS = {
    "todo": "doc.lock == 0 && doc.done == 0",
    "locked": "doc.lock > 0 && doc.done == 0",
    "done": "doc.lock > 0 && doc.done > 0 && parseInt(doc.exit_code) == 0",
    "error": "doc.lock > 0 && doc.done > 0 && parseInt(doc.exit_code) != 0",
}
