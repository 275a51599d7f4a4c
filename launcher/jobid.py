"""The batch system's job id, from the variables each batch system sets in the job environment.

Layered systems report the outermost one (a DIRAC pilot in a gLite job on a PBS node is the
DIRAC job), as SURF's picas does. HTCondor has no job-id variable: its job ad file
(``$_CONDOR_JOB_AD``) holds ``GlobalJobId`` (or ``ClusterId``/``ProcId``). A pilot started by
``lrt submit --backend local`` has ``LRT_LOCAL_JOB_ID`` (``local-<host>-<pid>``), the last resort.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping, Optional, Tuple

__all__ = ["detect_batch_job"]

_AD_LINE = re.compile(r'^\s*(GlobalJobId|ClusterId|ProcId)\s*=\s*"?([^"\n]*)"?\s*$', re.M)


def _condor(env: Mapping[str, str]) -> Optional[str]:
    ad_path = env.get("_CONDOR_JOB_AD")
    if not ad_path:
        return None
    try:
        text = Path(ad_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    ad = {key: value.strip() for key, value in _AD_LINE.findall(text)}
    if ad.get("GlobalJobId"):
        return str(ad["GlobalJobId"])
    if ad.get("ClusterId"):
        return f"{ad['ClusterId']}.{ad.get('ProcId', '0')}"
    return None


def _simple(env: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    """The systems that name their job in one variable, outermost first."""
    if env.get("DIRACJOBID"):
        return "dirac", env["DIRACJOBID"]
    if env.get("GLITE_WMS_JOBID", "").startswith("http"):
        return "glite", env["GLITE_WMS_JOBID"]
    if env.get("CREAM_JOBID"):
        return "cream", env["CREAM_JOBID"]
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return "slurm", f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    if env.get("SLURM_JOB_ID"):
        return "slurm", env["SLURM_JOB_ID"]
    return None


def detect_batch_job(env: Optional[Mapping[str, str]] = None) -> Tuple[str, str]:
    """``(system, job id)`` of the job this process runs in, or ``("", "")`` outside one."""
    env = os.environ if env is None else env
    found = _simple(env)
    if found:
        return found
    condor = _condor(env)
    if condor:
        return "htcondor", condor
    if env.get("PBS_JOBID"):
        return "pbs", env["PBS_JOBID"]
    if env.get("LRT_LOCAL_JOB_ID"):
        return "local", env["LRT_LOCAL_JOB_ID"]
    return "", ""
