#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, database "test") and Mosquitto (127.0.0.1:1883)
# are up for the tests, starting them the way this machine kind does when they are not.
set -euo pipefail

wait_for() {  # wait_for NAME HOST PORT
  for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/$2/$3") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "ensure-services: $1 did not come up on $2:$3" >&2
  return 1
}
up() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

if ! up 127.0.0.1 5432; then
  echo "ensure-services: starting PostgreSQL" >&2
  cluster=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
  wait_for PostgreSQL 127.0.0.1 5432
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "create database test"
fi

if ! up 127.0.0.1 1883; then
  echo "ensure-services: starting Mosquitto" >&2
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
  wait_for Mosquitto 127.0.0.1 1883
fi
