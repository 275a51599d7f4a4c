#!/usr/bin/env bash
# The test command: every nox session CI runs (lint, typecheck, tests, tests_py39, chaos,
# notebook).
# Installs nox into .venv-nox on first use; extra arguments go to nox (e.g. -s tests -- -k view).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -x .venv-nox/bin/nox ]; then
    python3.11 -m venv .venv-nox
    .venv-nox/bin/pip install -q --disable-pip-version-check "nox>=2025.2.9"
fi
exec .venv-nox/bin/nox "$@"
