"""Where things are in the source tree, for tests anywhere in tests/."""

from __future__ import annotations

from pathlib import Path

#: The repository root.
ROOT = Path(__file__).resolve().parents[2]
#: Test data files (SURL lists of the three LTA sites).
DATA = ROOT / "tests" / "data"
#: The ported notebook scripts.
NOTEBOOKS = ROOT / "tests" / "notebook"
#: The sample observation and configuration shipped with the client (``lrt demo``).
SAMPLE = ROOT / "client" / "data" / "sample"
