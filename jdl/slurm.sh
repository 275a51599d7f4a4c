#!/bin/bash
# grid-lrt pilot jobs on Slurm: an array of @{jobs} tasks, at most @{max_parallel} at once.
# Rendered by `lrt submit --backend slurm`. No secret in here: the launcher reads the PiCaS
# credentials from the 0600 file that PICASRC names.
#SBATCH --job-name=@{job_name}
#SBATCH --array=1-@{jobs}%@{max_parallel}
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=@{cpus}
#SBATCH --mem=@{memory_mb}M
#SBATCH --time=@{walltime_minutes}
#SBATCH --output=@{log_dir}/pilot-%A_%a.out
#SBATCH --error=@{log_dir}/pilot-%A_%a.err
@{slurm_directives}
export PICASRC=@{credentials}
export LRT_WORKDIR="${LRT_WORKDIR:-${TMPDIR:-/tmp}}"
exec @{worker_python} @{launcher} run @{token_type}@{launcher_args}
