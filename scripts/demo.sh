#!/usr/bin/env bash
# The demo: an embedded SQLite database under ./var, the example province imported,
# then netmon's main job on it (for now: the inventory).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export NETMON_CONFIG=${NETMON_CONFIG:-config/netmon.example.yaml}
netmon=.venv/bin/netmon

$netmon check-config
$netmon db upgrade
$netmon inventory import config/inventory.example.yaml
$netmon inventory list --level district
$netmon inventory show SL-H01
