"""Pilot jobs on batch systems: job descriptions rendered from ``jdl/``, submitted with each
system's own tool, recorded in the token database, and polled.

* :mod:`.templates`: the templates of ``jdl/`` and their rendering (every missing variable
  named at once);
* :mod:`.tools`: running a batch system's command (``sbatch``, ``condor_submit`` ...) with an
  environment that holds no secret, its failures as :class:`SubmitError`;
* :mod:`.backend`: what a backend is (:class:`Backend`), job states, the registry;
* :mod:`.slurm`, :mod:`.condor`, :mod:`.grid` (DIRAC, gLite), :mod:`.local`: the backends;
* :mod:`.ledger`: the batch jobs recorded in the token database (documents no token view
  counts), so that every login node of the user sees them;
* :mod:`.submission`: the submission folder (launcher zipapp, 0600 credentials file,
  bootstrap), sizing (``--auto``), and submit-then-record.
"""
