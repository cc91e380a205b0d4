"""Demo: the story of an outage. Cut a commune's uplink in the fault lab and show what netmon makes of it.

Needs root and network namespaces (netmon.lab.faults); without them it says what it skips and why,
and exits 3 so that scripts/demo.sh runs the plain demo instead. The commune is picked from the
stored inventory (netmon.lab.story.pick_cut), its devices are moved behind a fault-lab site for
the story and moved back afterwards. Prints the cut unit's code on the last line of stdout.

Every wait is bounded (WAIT seconds) and polls the daemon's API; nothing is left running.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from netmon.config import Config, load_config
from netmon.inventory.files import render_yaml
from netmon.inventory.store import Store
from netmon.lab.faults import FaultLab, Site, available
from netmon.lab.story import Cut, move_behind_site, pick_cut

SKIPPED = 3
WAIT = 90.0
NETMON = str(Path(sys.executable).parent / "netmon")
RULES = Path("config/prometheus/rules/netmon-alerts.yml")


def say(text: str = "") -> None:
    """Print a line of the story."""
    print(text, flush=True)  # noqa: T201 (a demo script talks to its user)


def until(check: Callable[[], Any], what: str) -> Any:
    """Poll *check* every 0.5 s until it returns something truthy; give up after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, urllib.error.URLError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.5)  # polling the daemon's API, bounded by the deadline
    raise SystemExit(f"demo: gave up after {WAIT:.0f} s waiting for {what}")


class Api:
    """The daemon's HTTP API on the configured listen address."""

    def __init__(self, config: Config) -> None:
        self.base = f"http://{config.http.listen}"

    def get(self, path: str) -> Any:
        """GET *path*: JSON, or text for /metrics."""
        with urllib.request.urlopen(self.base + path, timeout=5) as reply:  # noqa: S310 (configured loopback address)
            body = reply.read().decode()
        return body if path == "/metrics" else json.loads(body)

    def states(self, cut: Cut) -> dict[str, dict[str, Any]]:
        """Return name -> API row for the cut unit's devices and links."""
        devices = self.get(f"/api/v1/devices?unit={cut.unit}")["devices"]
        links = self.get(f"/api/v1/links?unit={cut.unit}")["links"]
        return {row["name"]: row for row in devices + links}


def listen(config: Config, seen: list[tuple[str, dict[str, Any]]]) -> mqtt.Client:
    """Subscribe to the events topic; append (topic, payload) to *seen*."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"netmon-demo-{os.getpid()}")
    topic = f"{config.mqtt.topic_prefix}/events/#"
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_message = lambda _c, _u, m: seen.append((m.topic, json.loads(m.payload)))
    client.connect(config.mqtt.host, config.mqtt.port, keepalive=30)
    client.loop_start()
    return client


def alert_for(kind: str) -> str:
    """Name the shipped alert rule on a down link of *kind*, with its expression, `for` and severity."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    for rule in (r for g in groups for r in g["rules"] if "alert" in r):
        expr = " ".join(rule["expr"].split())
        kinds = re.search(r'netmon_link_state\{kind=~"([^"]+)"', expr)
        if kinds and kind in kinds.group(1).split("|"):
            return f"{rule['alert']} ({rule['labels']['severity']}, after for: {rule['for']}): {expr}"
    return "(no shipped rule for this link kind)"


def show(api: Api, cut: Cut, header: str) -> None:
    """Print the cut unit's objects with their state and root cause."""
    say(header)
    for name, row in api.states(cut).items():
        kind = row.get("kind") or row.get("role")
        root = f"  root cause: {row['root_cause']}" if row.get("root_cause") else ""
        say(f"    {name:<22} {kind:<12} {row['state']:<12}{root}")


def story(config: Config, lab: FaultLab, cut: Cut, original: str) -> None:
    """Move the commune behind a site, run netmon, cut, restore, and tell what happened."""
    store = Store.open(config.database.url.reveal())
    try:
        inventory = store.snapshot()
    finally:
        store.close()
    router = inventory.devices[cut.router]
    profile = config.snmp_profiles[router.snmp] if router.snmp else None
    profiles = {router.snmp: profile} if router.snmp and profile else None
    site = lab.add_site(1, profiles=profiles, port=profile.port if profile else 161, hosts=len(cut.behind))
    moved = move_behind_site(inventory, cut, address=site.address, hosts=site.hosts, interface=site.site_link)
    _import(render_yaml(moved), Path("var/demo-inventory.yaml"))
    say(f"demo: {cut.unit_name} ({cut.unit}) now sits behind network namespace {site.namespace}")
    say(f"      uplink {cut.uplink} → router {cut.router} ({site.address}), {len(cut.behind)} devices behind it")
    seen: list[tuple[str, dict[str, Any]]] = []
    client = listen(config, seen)
    env = {**os.environ, "NETMON_POLLING__PING__INTERVAL": "3", "NETMON_POLLING__SNMP__INTERVAL": "6"}
    with Path("var/demo-run.log").open("w", encoding="utf-8") as log:
        daemon = subprocess.Popen([NETMON, "run"], stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    try:
        api = Api(config)
        _cut_and_restore(api, lab, site, cut, seen, kind=inventory.links[cut.uplink].kind.value)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        client.loop_stop()
        client.disconnect()
        _import(original, Path("var/demo-original.yaml"))


def _import(text: str, path: Path) -> None:
    path.write_text(text, encoding="utf-8")
    subprocess.run([NETMON, "inventory", "import", str(path)], check=True, capture_output=True, timeout=120)  # noqa: S603


def _cut_and_restore(
    api: Api, lab: FaultLab, site: Site, cut: Cut, seen: list[tuple[str, dict[str, Any]]], *, kind: str
) -> None:
    names = [cut.uplink, *cut.devices]
    until(lambda: all(api.states(cut).get(n, {}).get("state") == "up" for n in names), "the first round")
    show(api, cut, "demo: first rounds done, everything of the commune is up:")
    cut_at = time.monotonic()
    lab.link(site, up=False)
    say(f"demo: CUT: ip link set {site.host_link} down")

    def broken() -> bool:
        rows = api.states(cut)
        return rows[cut.uplink]["state"] == "down" and all(rows[n]["state"] == "unreachable" for n in cut.devices)

    until(broken, "the uplink down and the commune unreachable")
    show(api, cut, f"demo: {time.monotonic() - cut_at:.0f} s later (down_after rounds of failed pings):")
    opened = [o for o in api.get(f"/api/v1/outages?open=true&unit={cut.unit}")["outages"] if o["cause"] == "down"]
    say(f"demo: open outages with cause down: {', '.join(o['name'] for o in opened) or 'none'}")
    topic, payload = until(
        lambda: next((m for m in seen if m[1].get("object_name") == cut.uplink and m[1].get("cause") == "down"), None),
        "the MQTT event",
    )
    say(f"demo: MQTT {topic}: {json.dumps(payload, ensure_ascii=False)}")
    lines = api.get("/metrics").splitlines()
    # one series per link, labelled with its current state (docs/metrics.md): here state="down"
    state = next((m for m in lines if m.startswith("netmon_link_state{") and f'link="{cut.uplink}"' in m), "")
    say(f"demo: /metrics: {state}")
    say(f"demo: the alert that fires if it lasts: {alert_for(kind)}")
    restored_at = time.monotonic()
    lab.link(site, up=True)
    say(f"demo: RESTORE: ip link set {site.host_link} up")
    until(lambda: all(api.states(cut)[n]["state"] == "up" for n in names), "the commune back up")

    def closed() -> list[dict[str, Any]]:
        rows = api.get(f"/api/v1/outages?unit={cut.unit}")["outages"]
        return [o for o in rows if o["name"] == cut.uplink and o["ended_at"]]

    outage = until(closed, "the outage closed")[0]
    say(f"demo: everything up again {time.monotonic() - restored_at:.0f} s after the restore; the outage closed:")
    span = f"from {outage['started_at']} to {outage['ended_at']}"
    say(f"    {cut.uplink}: {outage['cause']} {span}, {outage['duration_seconds']:.0f} s")


def main() -> int:
    """Tell the story, or say why it is skipped (exit 3)."""
    reason = available()
    if reason is not None:
        say(f"demo: skipping the outage story (cut a commune's uplink in a network namespace): {reason}")
        return SKIPPED
    path = os.environ.get("NETMON_CONFIG")
    config = load_config(Path(path) if path else None)
    store = Store.open(config.database.url.reveal())
    try:
        inventory = store.snapshot()
    finally:
        store.close()
    cut = pick_cut(inventory)
    if cut is None:
        say("demo: skipping the outage story: no commune with its own uplink and devices behind it")
        return SKIPPED
    Path("var").mkdir(exist_ok=True)
    say("demo: setting up the fault lab (it waits while another lab on this machine holds 198.18.0.0/15)")
    with FaultLab(Path("var/faultlab").resolve()) as lab:
        story(config, lab, cut, render_yaml(inventory))
    say(cut.unit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
