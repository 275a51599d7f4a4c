"""``python -m grid_lrt.client`` is ``lrt``."""

from grid_lrt.client.cli.main import run

run()
