"""GRID_LRT's API names, as thin façades over grid-lrt's core.

Notebooks written for GRID_LRT port by changing imports: ``TokenHandler`` and ``TokenSet``
(:mod:`.tokenhandler`, :mod:`.tokenset`; seed path ``grid_lrt.client.token``), the view rows
(:mod:`.viewresults`). The seed import paths re-export these; new code (and ``lrt``) uses the
core underneath: ``grid_lrt.shared.pool`` (the token pool), ``grid_lrt.client.typeviews``,
``grid_lrt.client.tokendocs`` and ``grid_lrt.client.token_archive``.
"""
