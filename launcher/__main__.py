"""``python -m grid_lrt.launcher`` is ``lrt-launcher``."""

from grid_lrt.launcher.cli import run

run()
