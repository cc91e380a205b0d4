# Developers and CI run the same scripts. `make help` lists the targets.
.PHONY: help demo test lint bench bench-daemon clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

demo:  ## set up and run netmon on SQLite under ./var with the example province; as root, cut and restore an uplink
	scripts/demo.sh

test:  ## set up and run the whole suite: ruff, mypy --strict, pytest (SQLite and PostgreSQL)
	scripts/test.sh

lint:  ## ruff and mypy only
	scripts/bootstrap.sh dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

bench:  ## benchmarks (timings are reported, never asserted; the poll benchmark needs root)
	scripts/ensure-system.sh postgresql snmpd snmp fping prometheus prometheus-snmp-exporter iproute2
	scripts/ensure-services.sh
	scripts/bootstrap.sh dev
	.venv/bin/python -m tests.bench.import_10k
	.venv/bin/python -m tests.bench.exposition_bench
	.venv/bin/python -m tests.bench.prometheus_ingest
	.venv/bin/python -m tests.bench.poll_bench

DEVICES ?= 1000
DB ?= sqlite
BENCH_ARGS ?=
bench-daemon:  ## whole-daemon benchmark: netmon run + scale lab + Prometheus + MQTT (DEVICES=1000 DB=sqlite|postgres BENCH_ARGS=--profile)
	scripts/ensure-system.sh postgresql mosquitto snmpd snmp fping prometheus prometheus-snmp-exporter iproute2 nftables
	scripts/ensure-services.sh
	scripts/bootstrap.sh dev
	.venv/bin/python -m tests.bench.daemon_bench --devices $(DEVICES) --db $(DB) $(BENCH_ARGS)

clean:  ## remove the venv and the demo database
	rm -rf .venv var
