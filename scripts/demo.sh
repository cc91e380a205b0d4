#!/usr/bin/env bash
# The demo: an embedded SQLite database under ./var, the example province imported, the lab's
# real snmpd agents brought up on loopback, then the story of an outage (with root and network
# namespaces): a commune's uplink is cut in the fault lab, netmon shows the uplink down, the
# commune unreachable behind it, the MQTT event and the alert; the link comes back and the outage
# closes. Then `netmon run` serves /metrics and the API for DEMO_DURATION seconds (default 90;
# DEMO_DURATION=0 runs until Ctrl-C), and the run's indicators are exported.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-system.sh snmpd snmp mosquitto iproute2 nftables
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
mkdir -p var
$netmon inventory import config/inventory.example.yaml | tail -1
$netmon inventory show SL-LG        # a phường of the 2026 two-tier structure, directly under the province
$netmon inventory show SL-H01       # its history: the former Thành phố Lam Giang (district, until 2025-07-01)
$netmon lab up
trap '$netmon lab down' EXIT   # every agent the demo starts is stopped again
can_ping=1   # one line per poll class below; `netmon poll --json` has every sample
$netmon poll | grep -v "^  " || can_ping=0
echo "demo: the example services (http, tcp) have no server in the lab: 'refused' is their expected answer"

echo
cut_unit=""
set +e
.venv/bin/python scripts/demo_outage.py | tee var/demo-story.txt
story=${PIPESTATUS[0]}
set -e
if [ "$story" -eq 0 ]; then
  cut_unit=$(tail -1 var/demo-story.txt)
  echo
  echo "demo: netmon outages list --unit $cut_unit"
  $netmon outages list --unit "$cut_unit"
elif [ "$story" -ne 3 ]; then   # 3: skipped (no root or no namespaces), and it said why
  exit 1
fi

if [ "$can_ping" = 0 ]; then
  echo
  echo "demo: skipping \`netmon run\`: it needs ICMP, which this user may not send (see the line above;"
  echo "      README.md, Troubleshooting). The exports below use what is already recorded."
fi
duration=${DEMO_DURATION:-90}
args=()
[ "$duration" != 0 ] && args=(--duration "$duration")
if [ "$can_ping" = 1 ]; then
  echo
  echo "demo: netmon run${args[*]:+ ${args[*]}} (Ctrl-C stops it gracefully); its log goes to var/run.log"
  $netmon run "${args[@]}" >var/run.log 2>&1 &
  daemon=$!
  trap 'kill -TERM $daemon 2>/dev/null; wait $daemon; $netmon lab down' EXIT
  .venv/bin/python scripts/demo_peek.py || true   # waits for /readyz (while netmon runs), then devices, links, metrics
  wait $daemon || true
  trap '$netmon lab down' EXIT
fi

month=$(date +%Y-%m)
$netmon export indicators --period "$month" -o var/indicators-"$month".xlsx
# Both structures: 2025 splits at 2025-07-01 (districts and Sở TT&TT before, two-tier after); the
# availability rows are "no data" (netmon did not run in 2025) and the CLI says so.
$netmon export indicators --period 2025 -o var/indicators-2025.xlsx
$netmon report --period "$month" -o var/report-"$month".pdf
listen=$(.venv/bin/python -c 'import os; from pathlib import Path; from netmon.config import load_config; print(load_config(Path(os.environ["NETMON_CONFIG"])).http.listen)')
cat <<NEXT

What next (the commands read the demo's config: first, in this shell,
  export NETMON_CONFIG=$NETMON_CONFIG):
  netmon run                      .venv/bin/netmon run   (DEMO_DURATION=0 make demo keeps it running)
  metrics and API                 http://$listen/metrics  http://$listen/api/v1/devices?unit=SL-LG
  the database                    var/netmon.db (SQLite; config/netmon.example.yaml: database.url)
  outages                         .venv/bin/netmon outages list --since 1h${cut_unit:+ --unit $cut_unit}
  indicators                      .venv/bin/netmon export indicators --period $month -o q.xlsx   (var/indicators-$month.xlsx)
  the PDF report                  .venv/bin/netmon report --period $month -o report.pdf   (var/report-$month.pdf)
  Prometheus, Grafana, alerts     config/prometheus/ (scrape config, rules), grafana/ (provisioning, dashboards)
  your own devices                README.md, "Monitor your own devices"
NEXT
