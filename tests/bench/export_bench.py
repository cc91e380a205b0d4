"""Benchmark (issue 12, items 3 and 4): the XLSX export and the first transition batch, at 10,000 devices.

1. `netmon export indicators --period live --format xlsx` on a generated 10k province
   (`netmon.lab.generate.synthetic_province`, imported with the real console script into SQLite):
   wall time and peak RSS of the export process.
2. The first transition batch at start: every device, link and interface (4 per SNMP device, as
   the benchmark lab shows) judged for the first time by the real state engine, written by the
   real pipeline (ledger + MQTT outbox, one transaction) on SQLite: wall time, state-history rows
   and the MQTT messages queued.

Reports on stdout and, with `--output FILE --label NAME`, keeps the result under NAME in the
JSON file (other labels stay: run it on the code before and after a change, with "before" and
"after"). Never asserts a timing.

Usage: .venv/bin/python -m tests.bench.export_bench [--devices 10000] [--output FILE --label after]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
import yaml
from prometheus_client import CollectorRegistry

from netmon.inventory import schema
from netmon.lab.generate import synthetic_province
from netmon.monitor.pipeline import TransitionPipeline
from netmon.monitor.state import StateEngine, StateRules
from netmon.sinks.events import EVENT_KINDS
from netmon.sinks.outbox import Outbox
from netmon.sinks.prometheus import Instruments
from tests.conftest import EXAMPLE_CONFIG

NETMON = str(Path(sys.executable).with_name("netmon"))
_INTERFACES = 4  # every agent of the benchmark lab shows 4 interfaces


#: Runs a command and prints its peak RSS (KiB). A small process forks it: Linux carries the
#: forking process's RSS high-water mark into the child's ru_maxrss across exec, so a child
#: forked from this (large) benchmark would report the benchmark's own memory.
_WRAP = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "use = resource.getrusage(resource.RUSAGE_CHILDREN); print(use.ru_maxrss, use.ru_utime + use.ru_stime); "
    "sys.exit(code)"
)


def _timed(*args: str) -> tuple[float, float, float]:
    """Run the console script; return (wall s, peak RSS MiB, CPU s) of its process.

    The CPU time (user + system) depends less than the wall time on what else the machine runs.
    """
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAP, NETMON, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"netmon {' '.join(args)} failed with {done.returncode}: {done.stderr[-2000:]}")
    rss, cpu = done.stdout.split()[-2:]
    return time.perf_counter() - start, int(rss) / 1024, float(cpu)


def export_bench(doc: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Import *doc* into SQLite and time the live XLSX export."""
    inventory = workdir / "province.yaml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    config = workdir / "netmon.yaml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    config.write_text(text.replace("url: sqlite:///var/netmon.db", f"url: sqlite:///{workdir}/bench.db"), "utf-8")
    _timed("db", "upgrade", "--config", str(config))
    _timed("inventory", "import", str(inventory), "--config", str(config))
    out = workdir / "live.xlsx"
    args = ("export", "indicators", "--period", "live", "--format", "xlsx", "-o", str(out), "--config", str(config))
    wall, rss, cpu = _timed(*args)
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": round(rss, 1),
        "bytes": out.stat().st_size,
    }


def api_bench(workdir: Path) -> dict[str, Any]:
    """Time the live indicators answer at 10k: serialised whole (on the loop), every row once, and one page of it.

    Reads the inventory that `export_bench` imported; every object up. Skipped (None) on code
    without `netmon.api.pages`.
    """
    try:
        from netmon.api.pages import DEFAULT_LIMIT, Page, Rows, encode_rows, page_body  # noqa: PLC0415
    except ImportError:
        return {"skipped": "no netmon.api.pages in this code"}
    import asyncio  # noqa: PLC0415

    from netmon.config import Config  # noqa: PLC0415
    from netmon.indicators.compute import live_rows  # noqa: PLC0415
    from netmon.indicators.definitions import catalog_for  # noqa: PLC0415
    from netmon.indicators.row import IndicatorRow  # noqa: PLC0415
    from netmon.inventory.store import Store  # noqa: PLC0415
    from netmon.monitor.state import State  # noqa: PLC0415

    db = schema.create_engine(f"sqlite:///{workdir}/bench.db")
    inventory = Store(db).snapshot()
    db.dispose()
    states = {("device", name): State.UP for name in inventory.devices}
    states |= {("link", name): State.UP for name in inventory.links}
    start = time.perf_counter()
    rows = live_rows(inventory, states, catalog_for(Config().indicators))
    computed = time.perf_counter() - start
    start = time.perf_counter()
    whole = json.dumps({"indicators": [r.to_dict() for r in rows], "count": len(rows)}, ensure_ascii=False)
    on_loop = time.perf_counter() - start
    start = time.perf_counter()
    encoded = encode_rows([r.to_dict() for r in rows])
    in_worker = time.perf_counter() - start

    async def one_page() -> float:
        begin = time.perf_counter()
        answer = Rows(rows, IndicatorRow.to_dict)  # what the cache keeps: a page's rows are serialised when served
        await page_body("indicators", answer, Page(), lambda offset: f"/api/v1/indicators?offset={offset}")
        return time.perf_counter() - begin

    page = asyncio.run(one_page())
    return {
        "rows": len(rows),
        "compute_seconds": round(computed, 2),
        "whole_answer_bytes": len(whole.encode()),
        "before_serialise_whole_answer_on_the_loop_seconds": round(on_loop, 2),
        "serialise_every_row_in_a_worker_seconds": round(in_worker, 2),
        "serialised_rows_bytes": sum(map(len, encoded)),
        "after_default_page_rows": DEFAULT_LIMIT,
        "after_default_page_answer_seconds": round(page, 4),
    }


def first_batch_bench(doc: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Judge every object for the first time and write the batch as the recorder does (SQLite, MQTT on)."""
    keys = [("device", d["name"]) for d in doc["devices"]] + [("link", link["name"]) for link in doc["links"]]
    keys += [("interface", f"{d['name']}:{i}") for d in doc["devices"] if d.get("snmp") for i in range(_INTERFACES)]
    engine_ = StateEngine(StateRules(), dict.fromkeys(keys, ()))
    batch = engine_.observe(datetime.now(UTC), dict.fromkeys(keys, True))
    db = schema.create_engine(f"sqlite:///{workdir}/first.db")
    schema.upgrade(db)
    pipeline = TransitionPipeline(
        db,
        prefix="bench",
        instruments=Instruments.register(CollectorRegistry()),
        log=structlog.get_logger("bench"),
    )
    start = time.perf_counter()
    pipeline._apply(batch)
    wall = time.perf_counter() - start
    messages = Outbox(db).count()
    topics: dict[str, int] = {}
    for row in Outbox(db).pending(limit=10**7):
        kind = next((k for k in EVENT_KINDS if row.message.topic.endswith(f"/events/{k}")), "state (retained)")
        topics[kind] = topics.get(kind, 0) + 1
    db.dispose()
    return {"transitions": len(batch), "wall_seconds": round(wall, 2), "mqtt_messages": messages, "by_kind": topics}


def main() -> None:
    """Run both benchmarks and print (and optionally write) the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    doc = synthetic_province(args.devices)
    snmp = sum(1 for d in doc["devices"] if d.get("snmp"))
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "inventory": {
            "units": len(doc["units"]),
            "devices": len(doc["devices"]),
            "links": len(doc["links"]),
            "snmp_devices": snmp,
        },
        "machine": {"cpus": len(os.sched_getaffinity(0)), "loadavg": os.getloadavg()},
    }
    with tempfile.TemporaryDirectory(prefix="netmon-export-bench-") as tmp:
        result["xlsx_export"] = export_bench(doc, Path(tmp))
        result["api_live_indicators"] = api_bench(Path(tmp))
        result["first_transition_batch"] = first_batch_bench(doc, Path(tmp))
    text = json.dumps(result, indent=2)
    print(text)  # noqa: T201 (a benchmark reports on stdout)
    if args.output is not None:
        kept = json.loads(args.output.read_text(encoding="utf-8")) if args.output.exists() else {}
        kept[args.label] = result
        args.output.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
