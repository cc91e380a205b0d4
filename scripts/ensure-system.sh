#!/usr/bin/env bash
# Install the Debian packages netmon's demo and tests need, only those that are missing.
# Usage: scripts/ensure-system.sh [PACKAGE...]   (default: the test set below)
set -euo pipefail

# package -> a file that shows it is installed
declare -A marker=(
  [postgresql]=/usr/bin/pg_ctlcluster
  [mosquitto]=/usr/sbin/mosquitto
  [snmpd]=/usr/sbin/snmpd
  [snmp]=/usr/bin/snmpwalk
  [nftables]=/usr/sbin/nft
  [iproute2]=/usr/sbin/ip
  [fping]=/usr/bin/fping
  [prometheus-snmp-exporter]=/usr/bin/prometheus-snmp-exporter
  [prometheus]=/usr/bin/promtool
  [prometheus-alertmanager]=/usr/bin/amtool
  [systemd]=/usr/bin/systemd-analyze
  [libreoffice-calc]=/usr/lib/libreoffice/program/soffice
  [poppler-utils]=/usr/bin/pdftoppm
  [fonts-dejavu-core]=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  [lldpd]=/usr/sbin/lldpd
)
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(postgresql mosquitto snmpd snmp nftables iproute2 prometheus prometheus-alertmanager systemd libreoffice-calc poppler-utils fonts-dejavu-core lldpd)

missing=()
for pkg in "${wanted[@]}"; do
  if [ -n "${marker[$pkg]:-}" ] && [ -e "${marker[$pkg]}" ]; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "ensure-system: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
