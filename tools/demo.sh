#!/usr/bin/env bash
# The demo: set up .venv (first run only), install the local CouchDB-compatible server
# (pouchdb-server, first run only) and run `lrt demo` end to end on this machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -x .venv/bin/lrt ]; then
    python3.11 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -e .
fi
bash tools/install-pouchdb.sh >/dev/null
exec .venv/bin/lrt demo "$@"
