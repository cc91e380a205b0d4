"""End to end: Debian's Prometheus scrapes a running netmon; every rule and dashboard query is evaluated.

A small province is served by real snmpd agents (the lab) on loopback, with links on interfaces
the agents really have, so that traffic joins return data. Where the fault lab can be made, a
district behind a veth uplink is added and its link is cut to fire NetmonLinkDown end to end
(with the rules' `for:` shortened in a copy: the shipped durations are minutes).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netmon.config import SnmpProfile
from netmon.inventory.store import Store
from netmon.lab.agents import stop_agent
from netmon.lab.control import lab_up
from netmon.lab.faults import FaultLab, Site, available
from netmon.pollers.samples import HostSample
from tests.conftest import free_udp_port, lab_profiles
from tests.monitoring import import_inventory, monitor_config, running
from tests.prom import (
    RULE_FILES,
    SAMPLE_VALUES,
    PrometheusError,
    RunningPrometheus,
    panel_queries,
    running_prometheus,
    substitute,
)
from tests.webservers import Servers, serving

#: Panels that list failures: empty while the province is healthy, which is what they should show.
FAILURE_PANELS = {
    ("netmon-overview.json", "Units with open outages"),
    ("netmon-links.json", "Flapping links"),
    ("netmon-unit.json", "Devices not up"),
    ("netmon-unit.json", "Links not up"),
    ("netmon-unit.json", "Firing alerts"),
    ("netmon-devices.json", "Flapping interfaces"),
    ("netmon-poller.json", "Share of failed samples"),  # a ratio over failed samples: none while healthy
}
#: Whether the daemon schedules the http and tcp poll classes (netmon/pollers/http.py, tcp.py).
#: Until their registry line is in, services exist (state unknown) but are never checked, so
#: the panels of their checks are empty; with the line in, set True and they must have data.
SERVICE_CHECKS_SCHEDULED = True
SERVICE_PANELS = {("netmon-unit.json", "Service checks"), ("netmon-unit.json", "Service response time")}
#: The dashboards' variables, as a user picks them: the core router and the server (host panels).
VALUES = {**SAMPLE_VALUES, "device": "sl-ubnd-core-r1|sl-ubnd-srv1"}

INVENTORY = """
units:
  - {code: SL, name: Tỉnh Sông Lam, level: province, staff: 96}
  - {code: SL-H01, name: Thành phố Lam Giang, level: district, parent: SL, staff: 40}
  - {code: SL-H01-X01, name: Phường Tân Thịnh, level: ward, parent: SL-H01, staff: 12}
devices:
  - {name: sl-ubnd-core-r1, unit: SL, role: router, address: 127.21.1.1, snmp: lab}
  - {name: sl-ubnd-sw1, unit: SL, role: switch, address: 127.21.1.2, snmp: lab, parent: sl-ubnd-core-r1}
  - {name: sl-ubnd-srv1, unit: SL, role: server, address: 127.21.1.10, snmp: lab, parent: sl-ubnd-sw1}
  - {name: sl-ubnd-vc1, unit: SL, role: vc_endpoint, address: 127.21.1.20, parent: sl-ubnd-sw1}
  - {name: sl-h01-r1, unit: SL-H01, role: router, address: 127.21.10.1, snmp: lab, parent: sl-ubnd-core-r1}
  - {name: sl-h01-vc1, unit: SL-H01, role: vc_endpoint, address: 127.21.10.20, parent: sl-h01-r1}
  - {name: sl-h01-x01-r1, unit: SL-H01-X01, role: router, address: 127.21.11.1, snmp: lab, parent: sl-h01-r1}
links:
  - {name: sl-ubnd-lan, kind: lan, unit: SL, device: sl-ubnd-sw1, interface: lo, capacity_mbps: 1000}
  - {name: sl-ubnd-internet, kind: internet, unit: SL, device: sl-ubnd-core-r1, interface: lo, capacity_mbps: 500}
  - {name: sl-h01-man, kind: man, unit: SL-H01, device: sl-h01-r1, interface: lo, capacity_mbps: 1000}
  - {name: sl-h01-lan, kind: lan, unit: SL-H01, device: sl-h01-r1, capacity_mbps: 1000}
  - {name: sl-h01-x01-tslcd, kind: tslcd, unit: SL-H01-X01, device: sl-h01-x01-r1, interface: lo, capacity_mbps: 20}
"""


def _services_inventory(web: Servers) -> str:
    """The province portal over HTTPS (self-signed, 5 days left) and a TCP port, both on this test's servers."""
    return f"""
services:
  - {{name: sl-portal, unit: SL, device: sl-ubnd-srv1, check: http, url: "{web.tls}/", tls_verify: false}}
  - {{name: sl-mail, unit: SL, device: sl-ubnd-srv1, check: tcp, address: "{web.plain.removeprefix("http://")}"}}
"""


def _site_inventory(site: Site) -> str:
    return f"""
units:
  - {{code: SL-H02, name: Huyện Thử, level: district, parent: SL, staff: 30}}
devices:
  - {{name: sl-h02-r1, unit: SL-H02, role: router, address: {site.address}, parent: sl-ubnd-core-r1}}
links:
  - {{name: sl-h02-man, kind: man, unit: SL-H02, device: sl-h02-r1, capacity_mbps: 1000}}
"""


@pytest.fixture
def profiles() -> dict[str, SnmpProfile]:
    return {"lab": lab_profiles(free_udp_port("127.21.1.1"))["v2c"]}


@pytest.fixture
def fault_site(tmp_path: Path) -> Iterator[tuple[FaultLab, Site] | None]:
    if available() is not None:
        yield None
        return
    with FaultLab(tmp_path / "faults") as lab:
        yield lab, lab.add_site(60)


def _fast_rules(folder: Path) -> list[Path]:
    """Copy the rules with every `for:` cut to 2 s and every group evaluated each second, to fit a test."""
    folder.mkdir(parents=True)
    copies = []
    for path in RULE_FILES:
        copy = folder / path.name
        text = re.sub(r"(\n\s*for:) \S+", r"\1 2s", path.read_text(encoding="utf-8"))
        copy.write_text(re.sub(r"(\n\s*interval:) \S+", r"\1 1s", text), encoding="utf-8")
        copies.append(copy)
    return copies


def _evaluate(
    prom: RunningPrometheus, fault: tuple[FaultLab, Site] | None, expected_empty: set[tuple[str, str]]
) -> dict[str, list[str]]:
    """Runs in a worker thread while the daemon polls on the event loop."""
    prom.wait_for('up{job="netmon"} == 1', timeout=30)
    prom.wait_for("netmon_interface_received_bytes_total", timeout=30)
    prom.wait_for("rate(netmon_poll_rounds_total[1m]) > 0", timeout=30)
    found: dict[str, list[str]] = {"errors": [], "empty": [], "rules_empty": []}
    # 5-minute subqueries step on absolute 30 s marks: give every rule up to 90 s in all to have data
    deadline = time.monotonic() + 90
    for path in RULE_FILES:
        for name in re.findall(r"^\s*- record: (\S+)", path.read_text(encoding="utf-8"), re.MULTILINE):
            try:
                prom.wait_for(name, timeout=max(1.0, deadline - time.monotonic()))
            except PrometheusError:
                found["rules_empty"].append(name)
    for query in panel_queries():
        promql = substitute(query.expr, VALUES)
        answer = prom.query(promql)
        title = query.panel.split(" · ")[0]  # "English · Tiếng Việt"
        if answer.get("status") != "success":
            found["errors"].append(f"{query.dashboard} / {title}: {answer.get('error')}")
        elif not answer["data"]["result"] and (query.dashboard, title) not in expected_empty:
            found["empty"].append(f"{query.dashboard} / {title}: {promql}")
    if fault is not None:
        lab, site = fault
        lab.link(site, up=False)
        prom.wait_for('ALERTS{alertname="NetmonLinkDown", alertstate="firing", link="sl-h02-man"}', timeout=60)
        lab.link(site, up=True)
    return found


async def test_prometheus_scrapes_netmon_and_every_rule_and_panel_has_data(
    tmp_path: Path, profiles: dict[str, SnmpProfile], fault_site: tuple[FaultLab, Site] | None
) -> None:
    db_url = f"sqlite:///{tmp_path}/netmon.db"
    import_inventory(db_url, INVENTORY, tmp_path, profiles)
    async with serving(tmp_path / "web") as web:
        (tmp_path / "services").mkdir()
        import_inventory(db_url, _services_inventory(web), tmp_path / "services", profiles)
        await _run(tmp_path, db_url, profiles, fault_site)


async def _run(
    tmp_path: Path, db_url: str, profiles: dict[str, SnmpProfile], fault_site: tuple[FaultLab, Site] | None
) -> None:
    if fault_site is not None:
        (tmp_path / "site").mkdir()
        import_inventory(db_url, _site_inventory(fault_site[1]), tmp_path / "site", profiles)
    store = Store.open(db_url)
    try:
        agents = lab_up(store.snapshot(), profiles, tmp_path / "lab")
    finally:
        store.close()
    try:
        async with running(monitor_config(db_url, profiles)) as daemon:
            assert daemon.http is not None
            target = f"127.0.0.1:{daemon.http.port}"
            rules = _fast_rules(tmp_path / "rules")
            with running_prometheus(tmp_path / "prom", targets=[target], rule_files=rules) as prom:
                expected_empty = set(FAILURE_PANELS)
                async with asyncio.timeout(30):
                    await daemon.wait_until(lambda: daemon.live.fresh("sl-ubnd-srv1", HostSample.kind) is not None)
                host = daemon.live.fresh("sl-ubnd-srv1", HostSample.kind)
                assert isinstance(host, HostSample)
                assert host.ok
                if not host.cpu_load:  # some snmpd builds (containers) export no hrProcessorTable
                    expected_empty.add(("netmon-devices.json", "CPU load"))
                if SERVICE_CHECKS_SCHEDULED:
                    async with asyncio.timeout(60):
                        await daemon.wait_until(lambda: set(daemon.live.services) == {"sl-portal", "sl-mail"})
                else:
                    expected_empty |= SERVICE_PANELS
                found = await asyncio.to_thread(_evaluate, prom, fault_site, expected_empty)
    finally:
        for agent in agents:
            stop_agent(agent)
    assert found == {"errors": [], "empty": [], "rules_empty": []}, "\n".join(
        line for lines in found.values() for line in lines
    )
