#!/usr/bin/env bash
# Create .venv and install netmon with its pinned dependencies (constraints.txt).
# Usage: scripts/bootstrap.sh [dev]   -- "dev" adds the test and lint tools.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "bootstrap: netmon needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi

extras=""
[ "${1:-}" = "dev" ] && extras="[dev]"
stamp=".venv/.installed${extras:+-dev}"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ] && [ "$stamp" -nt constraints.txt ]; then
  exit 0
fi
if ! "$python" -m venv .venv 2>/dev/null; then
  echo "bootstrap: installing python3-venv" >&2
  scripts/ensure-system.sh python3-venv
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".${extras}"
touch "$stamp"
