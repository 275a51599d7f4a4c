#!/bin/sh
# grid-lrt pilot bootstrap (lrt-bootstrap.sh): the first thing a grid or HTCondor pilot runs.
# Its folder holds this script, the launcher zipapp and the credentials file, shipped in the
# job's input sandbox; no secret is on a command line or in an environment variable.
# Usage: sh lrt-bootstrap.sh TOKEN_TYPE
set -eu
type=${1:?usage: lrt-bootstrap.sh TOKEN_TYPE}
here=$(pwd)
# HTCondor (getenv = False) starts a job with no PATH at all: this shell finds python3 through
# its built-in default, but the launcher and the pipeline would get none (bash's own default
# ends in "."), so export the usual one.
env | grep -q '^PATH=' || export PATH=/usr/local/bin:/usr/bin:/bin
chmod 600 "$here/lrt-credentials"
export PICASRC="$here/lrt-credentials"
export LRT_WORKDIR="${LRT_WORKDIR:-${TMPDIR:-$here}}"
for py in python3 python3.13 python3.12 python3.11 python3.10 python3.9; do
    if command -v "$py" >/dev/null 2>&1; then
        exec "$py" "$here/grid-lrt-launcher.pyz" run "$type"
    fi
done
echo "lrt-bootstrap: no python3 on this worker (the launcher needs Python 3.9 or newer)" >&2
exit 14
