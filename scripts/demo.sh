#!/usr/bin/env bash
# The demo: an embedded SQLite database under ./var, the example province imported, the lab's
# real snmpd agents brought up on loopback, then netmon's main job: polling every device.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-system.sh snmpd snmp
scripts/bootstrap.sh
export NETMON_CONFIG=${NETMON_CONFIG:-config/netmon.example.yaml}
netmon=.venv/bin/netmon

$netmon check-config
$netmon db upgrade
$netmon inventory import config/inventory.example.yaml
$netmon inventory show SL-H01
$netmon lab up
trap '$netmon lab down' EXIT   # every agent the demo starts is stopped again
$netmon poll --once
