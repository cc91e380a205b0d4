"""Discovery in the LLDP lab: real lldpd subagents in namespaces, real LLDP frames, real SNMP.

The tree: the station - core (router) - rtr1, rtr2 (routers); rtr1 - sw1 (switch); rtr2 - sw2
(switch) - vc1 (VC endpoint, LLDP-MED class III). Skips without root, namespaces or lldpd.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from netmon.cli import app
from netmon.config import load_config
from netmon.discovery.run import discover
from netmon.discovery.sweep import parse_networks
from netmon.discovery.watch import TopologyWatch, messages_for_changes
from netmon.inventory.spec import Inventory
from netmon.inventory.store import Store
from netmon.lab import lldplab
from netmon.lab.lldplab import LldpLab

COMMUNITY = "lldp-lab-c0mmunity"
ROLES = {"core": "router", "rtr1": "router", "rtr2": "router", "sw1": "switch", "sw2": "switch", "vc1": "vc_endpoint"}
PARENTS = {"rtr1": "core", "rtr2": "core", "sw1": "rtr1", "sw2": "rtr2", "vc1": "sw2"}

pytestmark = pytest.mark.skipif(lldplab.available() is not None, reason=str(lldplab.available()))


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env={"NETMON_CONFIG": None})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LldpLab]:
    workdir = tmp_path_factory.mktemp("lldp")
    config = _write_config(workdir, "sqlite:///" + str(workdir / "probe.db"))
    profiles = {"lab": load_config(config).snmp_profiles["lab"]}  # the agents know only this one
    with LldpLab(workdir / "lab", profiles) as built:
        built.add("core", "router", "netmon lab device")
        built.add("rtr1", "router", "netmon lab device")
        built.add("rtr2", "router", "netmon lab device")
        built.add("sw1", "bridge", "netmon lab device")
        built.add("sw2", "bridge", "netmon lab device")
        built.add("vc1", "telephone", "netmon lab device", med_class=3)
        built.attach_station("core")
        for child, parent in PARENTS.items():
            built.connect(parent, child)
        built.start()
        built.wait_neighbours()
        yield built


def _write_config(folder: Path, db_url: str) -> Path:
    path = folder / "netmon.yaml"
    config = {
        "database": {"url": db_url},
        "snmp_profiles": {
            "wrong": {"version": "2c", "community": "not-this-one", "timeout": 0.3, "retries": 0},
            "lab": {"version": "2c", "community": COMMUNITY, "timeout": 1.0, "retries": 1},
        },
        "discovery": {"allowed": ["198.19.0.0/16"], "rate": 5000, "timeout": 0.5},
        "mqtt": {"enabled": False},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def province(tmp_path: Path, db_url: str) -> Path:
    """A config on this test's database holding one province unit, HN."""
    config = _write_config(tmp_path, db_url)
    units = tmp_path / "units.yaml"
    units.write_text("units:\n  - {code: HN, name: Thành phố Hà Nội, level: province}\n", encoding="utf-8")
    assert run("db", "upgrade", "--config", config).exit_code == 0
    assert run("inventory", "import", units, "--config", config).exit_code == 0
    return config


def test_discover_finds_every_host_its_role_the_tree_and_a_proposal_that_imports(lab, province, tmp_path):
    proposed = tmp_path / "proposed.yaml"
    done = run(
        "discover", "198.19.255.0/24", "--profiles", "wrong,lab", "--unit", "HN", "-o", proposed, "--json",
        "--config", province,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    addresses = {node.name: node.address for node in lab.nodes.values()}
    assert sorted(result["answered"]) == sorted(addresses.values())
    guesses = result["guesses"]
    assert {name: g["role"] for name, g in guesses.items()} == ROLES
    assert {g["profile"] for g in guesses.values()} == {"lab"}  # "wrong" was tried first and did not answer
    assert all(any("LLDP capabilities" in r for r in g["reasons"]) for g in guesses.values())
    assert result["root"] == addresses["core"]
    rows = {row["name"]: row for row in result["proposal"]["devices"]}
    assert {name: row.get("parent") for name, row in rows.items() if name != "core"} == PARENTS
    links = {link["device"]: link for link in result["proposal"]["links"]}
    assert {device: link["interface"] for device, link in links.items()} == {
        child: lab.nodes[child].ports[parent] for child, parent in PARENTS.items()
    }
    assert all(link["capacity_mbps"] == 10000 for link in links.values())  # veth reports 10 Gbit/s
    assert {f["kind"] for f in result["findings"]} == {"new_device"}
    preview = run("inventory", "import", proposed, "--dry-run", "--config", province)
    assert preview.exit_code == 0, preview.output
    assert "would change" in preview.output
    assert run("inventory", "import", proposed, "--config", province).exit_code == 0
    again = run("discover", "198.19.255.0/24", "--profiles", "lab", "--json", "--config", province)
    assert json.loads(again.stdout)["findings"] == []  # imported: the network matches the inventory


def test_a_wrong_parent_is_reported_with_both_parents(lab, province, tmp_path):
    proposed = tmp_path / "proposed.yaml"
    assert run("discover", "198.19.255.0/24", "--unit", "HN", "-o", proposed, "--config", province).exit_code == 0
    data = yaml.safe_load(proposed.read_text(encoding="utf-8"))
    for row in data["devices"]:
        if row["name"] == "sw1":
            row["parent"] = "rtr2"  # on purpose: sw1 is behind rtr1
    proposed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert run("inventory", "import", proposed, "--config", province).exit_code == 0
    done = run("discover", "198.19.255.0/24", "--config", province)
    assert done.exit_code == 0, done.output
    assert "parent_differs: sw1 (declared rtr2, observed rtr1)" in done.stdout


def test_sweep_of_a_slash_16_completes(lab, tmp_path):
    config = load_config(_write_config(tmp_path, "sqlite:///" + str(tmp_path / "x.db")))
    started = time.monotonic()
    found = asyncio.run(discover(config, Inventory(units={}, devices={}, links={}), parse_networks(["198.19.0.0/16"])))
    elapsed = time.monotonic() - started
    # every interface address answers (and is folded into its device), the station's own address is left out
    assert set(found.found) == {node.address for node in lab.nodes.values()}
    assert "198.19.0.1" not in found.answered
    print(f"/16 sweep: {65_534} addresses in {elapsed:.1f} s, {65_534 / elapsed:.0f} packets/s")  # noqa: T201


def test_a_moved_uplink_gives_one_topology_event(lab, province):
    config = load_config(province)
    store = Store.open(config.database.url.reveal())
    try:
        assert run("discover", "198.19.255.0/24", "--unit", "HN", "-o", province.parent / "p.yaml", "--config",
                   province).exit_code == 0  # fmt: skip
        assert run("inventory", "import", province.parent / "p.yaml", "--config", province).exit_code == 0
        inventory = store.snapshot()
    finally:
        store.close()
    watch = TopologyWatch(config)
    assert asyncio.run(watch.poll(inventory)) == []  # the first poll learns
    assert asyncio.run(watch.poll(inventory)) == []  # nothing moved
    old = "rtr1" if "sw2" in lab.nodes["rtr1"].ports else "rtr2"  # the lab outlives one database's run
    new = "rtr2" if old == "rtr1" else "rtr1"
    lab.move("sw2", new)
    lab.wait_neighbours()
    changes = asyncio.run(watch.poll(inventory))
    assert [(c.device, c.old_parent, c.new_parent) for c in changes] == [("sw2", old, new)]
    assert changes[0].new_parent_port == lab.nodes[new].ports["sw2"]
    (message,) = messages_for_changes(changes, "netmon-test")
    assert message.topic == "netmon-test/events/topology"
    assert json.loads(message.payload)["device"] == "sw2"
    assert asyncio.run(watch.poll(inventory)) == []  # and only once
