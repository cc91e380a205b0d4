#!/usr/bin/env bash
# The whole test suite, as developers and CI run it: lint, types, then pytest against
# the real PostgreSQL and Mosquitto on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-system.sh
scripts/ensure-services.sh
scripts/bootstrap.sh dev

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Three workers on two cores: most tests wait on real rounds, agents and Prometheus, not on the CPU,
# and the namespace labs take turns through their machine-wide lock. NETMON_TEST_WORKERS=0 runs serially.
exec .venv/bin/pytest -n "${NETMON_TEST_WORKERS:-3}" "$@"
