#!/usr/bin/env bash
# Install the pinned pouchdb-server (tools/couch/package-lock.json) used as a CouchDB stand-in by
# the test suite (tests/couchserver.py). Idempotent: does nothing if it is already installed.
#
# Usage: tools/install-pouchdb.sh [--force]
#   --force   reinstall even if node_modules/pouchdb-server is present
#
# --ignore-scripts skips the optional sqlite3 native build (~70 s, not needed for --in-memory or
# LevelDB mode; leveldown ships prebuilt N-API binaries). See
# shared/reference/test-infrastructure.md §1.1.
set -euo pipefail

usage() { echo "usage: $0 [--force]" >&2; }

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$0: unknown argument: $arg" >&2; usage; exit 2 ;;
    esac
done

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
couch_dir="$script_dir/couch"
bin="$couch_dir/node_modules/pouchdb-server/bin/pouchdb-server"

if [[ ! -f "$couch_dir/package-lock.json" ]]; then
    echo "$0: missing $couch_dir/package-lock.json" >&2
    exit 1
fi

if [[ $force -eq 0 && -f "$bin" ]]; then
    echo "pouchdb-server already installed: $bin"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "$0: npm not found; install Node.js 18+ and npm: apt-get install nodejs npm" >&2
    exit 127
fi

start=$SECONDS
log="$(mktemp "${TMPDIR:-/tmp}/install-pouchdb.XXXXXX.log")"
if ! (cd "$couch_dir" && npm ci --ignore-scripts --no-audit --no-fund) >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$0: npm ci failed in $couch_dir" >&2
    exit 1
fi
rm -f "$log"

if [[ ! -f "$bin" ]]; then
    echo "$0: npm ci succeeded but $bin is missing" >&2
    exit 1
fi
echo "installed pouchdb-server $(cd "$couch_dir" && node -p 'require("pouchdb-server/package.json").version' 2>/dev/null || echo '?') into $couch_dir/node_modules ($((SECONDS - start)) s, npm ci)"
