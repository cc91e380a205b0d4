"""The README's "Monitor your own devices" steps, followed as written, against real snmpd on port 161.

The config, inventory and command blocks are read from README.md (marked `<!-- own-devices:... -->`).
The devices' 10.10.0.x addresses become a fault-lab site's (198.18.N.x, inside a network namespace
this test creates; nothing leaves the machine) and the database a file in tmp; everything else is
the README's text. Skipped without root and namespaces.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from netmon.config import load_config
from netmon.lab.agents import AgentSpec, start_agent, stop_agent
from netmon.lab.faults import FaultLab, Site, available
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

README = ROOT / "README.md"


def block(name: str) -> str:
    """Return the fenced block that follows `<!-- own-devices:NAME -->` in the README."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- own-devices:{name} -->\n```\w*\n(.*?)```", text, re.DOTALL)
    assert match is not None, f"README.md has no own-devices:{name} block"
    return match.group(1)


def test_the_readme_blocks_are_what_the_steps_need() -> None:
    config = yaml.safe_load(block("config"))
    assert {p["port"] for p in config["snmp_profiles"].values()} == {161}
    assert {str(p["version"]) for p in config["snmp_profiles"].values()} == {"3", "2c"}
    inventory = yaml.safe_load(block("inventory"))
    assert {d.get("snmp") for d in inventory["devices"]} == {"core-v3", "access-v2c", None}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Site, Path]]:
    path = tmp_path / "netmon.yaml"
    path.write_text(block("config"), encoding="utf-8")
    profiles = load_config(path, environ={}).snmp_profiles
    with FaultLab(tmp_path / "lab") as lab:
        lab_site = lab.add_site(1, profiles=profiles, port=161, hosts=2)  # the router's agent (v3 and v2c)
        spec = AgentSpec(name="switch", port=161, addresses=(lab_site.hosts[0],), profiles=profiles)
        switch = start_agent(spec, tmp_path / "switch", namespace=lab_site.namespace)
        try:
            yield lab_site, tmp_path
        finally:
            stop_agent(switch)


def test_the_readme_steps_reach_real_devices_on_port_161(site: tuple[Site, Path]) -> None:
    lab_site, folder = site
    addresses = {"198.51.100.1": lab_site.address, "198.51.100.2": lab_site.hosts[0], "198.51.100.9": lab_site.hosts[1]}
    config = re.sub(r"url: \S+", f"url: sqlite:///{folder}/netmon.db", block("config"), count=1)
    config = config.replace("listen: 127.0.0.1:9105", "listen: 127.0.0.1:0")
    (folder / "netmon.yaml").write_text(config, encoding="utf-8")
    inventory = block("inventory")
    for old, new in addresses.items():
        inventory = inventory.replace(f"address: {old}", f"address: {new}")
    assert "198.51.100." not in inventory  # the README's documentation addresses (RFC 5737) never reach the network
    (folder / "my-province.yaml").write_text(inventory, encoding="utf-8")
    netmon = shutil.which("netmon", path=str(Path(sys.executable).parent))
    assert netmon is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETMON_")}  # ./netmon.yaml is found
    outputs = []
    for line in block("commands").splitlines():
        args = shlex.split(line, comments=True)
        if not args or args[:2] == ["netmon", "run"]:
            continue  # `netmon run` runs until stopped; the daemon has its own tests
        done = subprocess.run(
            [netmon, *args[1:]], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"{line}: {done.stderr}"
        outputs.append(done.stdout)
    assert "config OK: netmon.yaml" in outputs[0]
    assert "change-me" not in "".join(outputs)
    assert "imported: 5 to create" in outputs[3]  # the unit, three devices, the link
    assert re.search(r"^ping: 1 sample in .* \(1 ok\)$", outputs[4], re.MULTILINE), outputs[4]
    assert re.search(r"^snmp: 2 samples in .* \(2 ok\)$", outputs[4], re.MULTILINE), outputs[4]
    done = subprocess.run(
        [netmon, "poll", "--json"], cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    samples = {(s["device"], s["kind"]): s["status"] for s in json.loads(done.stdout)}
    assert samples == {
        ("hn-core-r1", "ping"): "ok",
        ("hn-core-sw1", "ping"): "ok",
        ("hn-ups1", "ping"): "ok",
        ("hn-core-r1", "snmp_system"): "ok",  # SNMPv3 authPriv on 161
        ("hn-core-r1", "snmp_interfaces"): "ok",
        ("hn-core-sw1", "snmp_system"): "ok",  # SNMPv2c on 161
        ("hn-core-sw1", "snmp_interfaces"): "ok",
    }
