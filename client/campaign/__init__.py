"""Campaigns: chained pipeline steps (calibrator, then target) from one YAML file.

:mod:`.spec` reads and checks the file, :mod:`.plan` makes each step's tokens, :mod:`.release`
releases a step's held tokens when their group of the earlier step is done, and :mod:`.run`
drives it all (``lrt campaign run``/``status``).
"""
