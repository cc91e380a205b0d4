"""A running netmon polls the agent corpus and a looping agent; a real Prometheus scrapes it.

Duplicate interface names must give distinct series (Prometheus silently keeps one of two
identical label sets), and an agent whose walk never ends must not hold up later rounds.
"""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from netmon.config import Config
from tests.conftest import SIM_EXTRA_ADDRESSES, Simulator
from tests.monitoring import FAST, import_inventory, monitor_config, running
from tests.oddagent import OddAgent, interface_table
from tests.prom import RunningPrometheus, running_prometheus

LOOP_ADDRESS = "127.77.13.2"
FILES = ["duplicate-names", "mixed-ports", "text-encodings", "system-only", "big-aliases"]


def _inventory(addresses: dict[str, str]) -> str:
    devices = "\n".join(
        f"  - {{name: {name}, unit: P, role: router, address: {address}, snmp: {name}}}"
        for name, address in addresses.items()
    )
    return f"""
units:
  - {{code: P, name: Tỉnh Thử, level: province}}
devices:
{devices}
links:
  - {{name: p-man, kind: man, unit: P, device: duplicate-names, interface: ethernet0/0, capacity_mbps: 100}}
"""


def _scrape(port: int) -> str:
    text = ""
    for path in ("/metrics", "/metrics/interfaces"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            text += response.read().decode()
    return text


def _check(prom: RunningPrometheus) -> dict[str, float]:
    """Runs in a worker thread while the daemon polls on the event loop."""
    prom.wait_for('netmon_poll_rounds_total{poll_class="snmp"} >= 3', timeout=90)
    prom.wait_for('count(netmon_interface_admin_up{device="mixed-ports"}) == 5', timeout=60)
    answers = {
        "dupes": 'count(netmon_interface_oper_up{device="duplicate-names"})',
        "loop_up": 'netmon_snmp_up{device="looping"}',
        "system_only_up": 'netmon_snmp_up{device="system-only"}',
    }
    found = {}
    for key, expr in answers.items():
        result = prom.query(expr)["data"]["result"]
        found[key] = float(result[0]["value"][1]) if result else -1.0
    # Prometheus' own count of samples it dropped as duplicates of a series in one scrape
    with urllib.request.urlopen(f"{prom.url}/metrics", timeout=10) as response:  # noqa: S310 (loopback)
        own = response.read().decode()
    dropped = [
        sample.value
        for family in text_string_to_metric_families(own)
        for sample in family.samples
        if sample.name == "prometheus_target_scrapes_sample_duplicate_timestamp_total"
    ]
    found["duplicate_samples"] = sum(dropped) if dropped else -1.0
    return found


async def test_prometheus_sees_every_interface_once_and_rounds_go_on(tmp_path: Path, snmpsim_agent: Simulator) -> None:
    with OddAgent(LOOP_ADDRESS, behaviour="loop", table=interface_table(3)) as looping:
        addresses = dict(zip(FILES, SIM_EXTRA_ADDRESSES, strict=False)) | {"looping": LOOP_ADDRESS}
        raw = {name: {"version": "2c", "community": name, "port": snmpsim_agent.port} for name in FILES}
        raw["looping"] = {"version": "2c", "community": looping.community, "port": looping.port}
        profiles = Config.model_validate({"snmp_profiles": raw}).snmp_profiles
        db_url = f"sqlite:///{tmp_path}/netmon.db"
        import_inventory(db_url, _inventory(addresses), tmp_path, profiles)
        # SNMP every 3 s: snmpsim answers a dozen walks per device slowly on a busy machine
        polling = {**FAST["polling"], "snmp": {"interval": 3, "timeout": 1.0, "retries": 1}}
        metrics = {"interfaces": "all"}  # admin-down ports too: every row of every odd agent
        async with running(monitor_config(db_url, profiles, polling=polling, metrics=metrics)) as daemon:
            assert daemon.http is not None
            port = daemon.http.port
            with running_prometheus(tmp_path / "prom", targets=[f"127.0.0.1:{port}"]) as prom:
                found = await asyncio.to_thread(_check, prom)
            exposition = await asyncio.to_thread(_scrape, port)
            problems = dict(daemon.live.link_problems)
    series = Counter(
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    )
    assert [key for key, count in series.items() if count > 1] == []
    assert found == {"dupes": 7.0, "duplicate_samples": 0.0, "loop_up": 1.0, "system_only_up": 1.0}
    interfaces = {
        dict(labels)["interface"]
        for (name, labels) in series
        if name == "netmon_interface_oper_up" and dict(labels)["device"] == "duplicate-names"
    }
    assert interfaces == {f"ethernet0/0#{i}" for i in range(1, 6)} | {"vlanr#10", "vlanr#11"}
    values = {
        (name, dict(labels)["device"], dict(labels).get("interface")): value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        for name, labels, value in [(sample.name, tuple(sorted(sample.labels.items())), sample.value)]
        if name in ("netmon_interface_counter_bits", "netmon_snmp_walks_cut")
    }
    narrow = {key[2] for key in values if key[:2] == ("netmon_interface_counter_bits", "mixed-ports")}
    assert narrow == {"Se0/0", "Lo0", "Vlan5", "eth0"}  # Gi0/1 and Te0/2 have ifHC counters
    assert values[("netmon_snmp_walks_cut", "looping", None)] >= 1
    assert values[("netmon_snmp_walks_cut", "mixed-ports", None)] == 0
    assert problems == {
        "p-man": "interface 'ethernet0/0' is ambiguous on duplicate-names: "
        "ethernet0/0#1, ethernet0/0#2, ethernet0/0#3, ethernet0/0#4, ethernet0/0#5; name one of them in the link"
    }
