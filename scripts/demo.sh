#!/usr/bin/env bash
# The demo: an embedded SQLite database under ./var, the example province imported, the lab's
# real snmpd agents brought up on loopback, then netmon's main job: `netmon run` polls every
# device, tracks state and outages, and serves /metrics and the API for DEMO_DURATION seconds
# (default 90; DEMO_DURATION=0 runs until Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-system.sh snmpd snmp mosquitto
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then   # the MQTT broker the events go to
  echo "demo: starting Mosquitto" >&2
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
scripts/bootstrap.sh
export NETMON_CONFIG=${NETMON_CONFIG:-config/netmon.example.yaml}
# shorter rounds than the example config's, so that the demo shows state changes quickly
export NETMON_POLLING__PING__INTERVAL=${NETMON_POLLING__PING__INTERVAL:-10}
export NETMON_POLLING__SNMP__INTERVAL=${NETMON_POLLING__SNMP__INTERVAL:-30}
netmon=.venv/bin/netmon

$netmon check-config
$netmon db upgrade
$netmon inventory import config/inventory.example.yaml
$netmon inventory show SL-LG        # a phường of the 2026 two-tier structure, directly under the province
$netmon inventory show SL-H01       # its history: the former Thành phố Lam Giang (district, until 2025-07-01)
$netmon lab up
trap '$netmon lab down' EXIT   # every agent the demo starts is stopped again
$netmon poll --once --unit SL-LG

duration=${DEMO_DURATION:-90}
args=()
[ "$duration" != 0 ] && args=(--duration "$duration")
echo "demo: netmon run${args[*]:+ ${args[*]}} (Ctrl-C stops it gracefully)"
$netmon run "${args[@]}" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon; $netmon lab down' EXIT
.venv/bin/python scripts/demo_peek.py   # waits for /readyz, then shows a few devices, links and metrics
wait $daemon
trap '$netmon lab down' EXIT
# Both structures: 2025 splits at 2025-07-01 (districts and Sở TT&TT before, two-tier after); the
# availability rows are "no data" (netmon did not run in 2025) and the CLI says so.
$netmon export indicators --period 2025 -o var/demo-indicators-2025.xlsx
$netmon export indicators --period live -o var/demo-indicators-live.csv
