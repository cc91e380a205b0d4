"""The whole-daemon benchmark's world: the benchmark inventory, the lab serving it, a database of its own.

The inventory keeps the synthetic province's units, parents and links (netmon/lab/generate.py)
and gives every device the benchmark mix of tests/bench/poll_bench.py: 70 % routers with 4
interfaces, 30 % switches with 48, every device polled by ping and SNMP.

Two labs serve it:

* ``namespace`` (root): two populations of netmon.lab.scale, one wildcard snmpd per namespace, so
  routers really show 4 interfaces and switches 48. Takes the machine-wide fault-lab lock.
* ``loopback`` (no root): netmon.lab.control's agents, at most 100 addresses each; every agent
  shows the host's own interfaces, so the mix is in the roles only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from netmon.config import Config, SnmpProfile
from netmon.inventory import schema
from netmon.inventory.spec import DeviceSpec, Inventory
from netmon.lab.control import lab_down, lab_up
from netmon.lab.faults import FaultLab, available
from netmon.lab.generate import synthetic_province
from netmon.lab.scale import add_population, hosts
from tests.conftest import PG_URL, free_udp_port
from tests.monitoring import import_inventory

__all__ = [
    "COMMUNITY",
    "ROUTER_SHARE",
    "BenchWorld",
    "bench_database",
    "bench_world",
    "false_transitions",
    "lab_processes",
    "processes_naming",
]

COMMUNITY = "bench"
ROUTER_SHARE = 0.7
_ROUTERS, _SWITCHES = "198.19.0.0/17", "198.19.128.0/17"
_LOOPBACK_FIRST = "127.64.0.1"  # synthetic_province's addresses start here


@dataclass(frozen=True)
class BenchWorld:
    """What the benchmark polls: the inventory's devices, their addresses, and the SNMP profile."""

    lab: str
    profile: SnmpProfile
    inventory: dict[str, list[dict[str, Any]]]
    #: The lab's agent processes (snmpd), for their CPU time.
    agent_pids: tuple[int, ...] = ()

    @property
    def addresses(self) -> list[str]:
        """Return every device address, in inventory order."""
        return [row["address"] for row in self.inventory["devices"]]

    @property
    def mix(self) -> dict[str, int]:
        """Count the devices by role."""
        roles = [row["role"] for row in self.inventory["devices"]]
        return {role: roles.count(role) for role in sorted(set(roles))}


def _profile(port: int) -> SnmpProfile:
    data = {"snmp_profiles": {"bench": {"version": "2c", "community": COMMUNITY, "port": port}}}
    return Config.model_validate(data).snmp_profiles["bench"]


def bench_inventory(devices: int, *, namespace: bool, interface: str) -> dict[str, list[dict[str, Any]]]:
    """Return the synthetic province of *devices* devices reshaped to the benchmark mix.

    Device i is a switch when i % 10 >= 7 (30 %), else a router. With *namespace*, routers get
    addresses of 198.19.0.0/17 and switches of 198.19.128.0/17 (the two populations); else the
    loopback addresses of the generator stay. Every link sits on *interface*, one the agents have.
    """
    doc = synthetic_province(devices)
    rows = doc["devices"][:devices]
    kept = {row["name"] for row in rows}
    switch = [i % 10 >= 7 for i in range(len(rows))]
    routers = hosts(ipaddress.IPv4Network(_ROUTERS), switch.count(False)) if namespace else None
    switches = hosts(ipaddress.IPv4Network(_SWITCHES), switch.count(True)) if namespace else None
    for row, is_switch in zip(rows, switch, strict=True):
        row["role"] = "switch" if is_switch else "router"
        row["snmp"] = "bench"
        if row.get("parent") not in kept:
            row.pop("parent", None)
        if routers is not None and switches is not None:
            row["address"] = next(switches) if is_switch else next(routers)
    links = [dict(link, interface=interface) for link in doc["links"] if link["device"] in kept]
    return {"units": doc["units"], "devices": rows, "links": links}


def processes_naming(text: str) -> dict[int, str]:
    """Return the running processes whose command line mentions *text* (a work folder): pid -> command line."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        if any(text.encode() in arg for arg in args):
            found[int(cmdline.parent.name)] = " ".join(a.decode(errors="replace") for a in args)
    return found


def lab_processes(workdir: Path) -> tuple[int, ...]:
    """Return the pids of the processes whose command line names *workdir* (the lab's agents)."""
    return tuple(sorted(processes_naming(str(workdir.resolve()))))


def _renice(pids: tuple[int, ...], nice: int) -> None:
    """Lower the agents' priority: they stand for remote devices, whose CPU is not the poller's host's.

    On one 2-core machine, an agent woken by a request on loopback is often run on the poller's
    core at once (a sync wakeup), and the daemon's loop waits for it in the middle of its send.
    """
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.setpriority(os.PRIO_PROCESS, pid, nice)


@contextlib.contextmanager
def bench_world(devices: int, lab: str, workdir: Path, *, nice: int = 0) -> Iterator[BenchWorld]:
    """Start the lab for *devices* devices (*lab*: namespace | loopback | auto); stop all of it on exit.

    *nice* is given to the lab's agent processes (0: as started).
    """
    if lab == "auto":
        lab = "namespace" if available() is None else "loopback"
    workdir.mkdir(parents=True, exist_ok=True)
    if lab == "namespace":
        reason = available()
        if reason is not None:
            raise SystemExit(f"daemon bench: the namespace lab is not available: {reason} (use --lab loopback)")
        profile = _profile(161)
        doc = bench_inventory(devices, namespace=True, interface="port1")
        with FaultLab(workdir / "faults") as faults:
            for index, (name, prefix, ports) in enumerate(
                (("routers", _ROUTERS, 4), ("switches", _SWITCHES, 48)), start=101
            ):
                add_population(
                    faults,
                    index,
                    name=name,
                    prefix=prefix,
                    interfaces=ports,
                    profiles={"bench": profile},
                    workdir=workdir / "agents",
                )
            pids = lab_processes(workdir)
            _renice(pids, nice)
            yield BenchWorld(lab=lab, profile=profile, inventory=doc, agent_pids=pids)
        return
    profile = _profile(free_udp_port(_LOOPBACK_FIRST))
    doc = bench_inventory(devices, namespace=False, interface="lo")
    devices_ = {row["name"]: DeviceSpec.model_validate(row) for row in doc["devices"]}
    inventory = Inventory(units={}, devices=devices_, links={})  # all the lab needs
    state = workdir / "lab"
    lab_up(inventory, {"bench": profile}, state)
    try:
        pids = lab_processes(workdir)
        _renice(pids, nice)
        yield BenchWorld(lab=lab, profile=profile, inventory=doc, agent_pids=pids)
    finally:
        lab_down(state)


@contextlib.contextmanager
def bench_database(kind: str, world: BenchWorld, workdir: Path) -> Iterator[str]:
    """Yield the URL of a migrated database holding *world*'s inventory: a SQLite file or a PostgreSQL schema."""
    profiles = {"bench": world.profile}
    text = yaml.safe_dump(world.inventory, allow_unicode=True, sort_keys=False)
    if kind == "sqlite":
        path = workdir / "netmon.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        import_inventory(url, text, workdir, profiles)
        yield url
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = schema.create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'create schema "{name}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{name}"
        try:
            import_inventory(url, text, workdir, profiles)
            yield url
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'drop schema "{name}" cascade'))
    finally:
        admin.dispose()


def false_transitions(url: str, *, host_interfaces: bool = False) -> dict[str, Any]:
    """Count the state changes the run wrote: on the lab every device answers, so down/unreachable is false.

    With *host_interfaces* (the loopback lab, whose agents serve this machine's own interfaces), an
    interface's change is not counted as false: other processes (a test's veth pair, a namespace
    going away) really take those interfaces down. Every change is still listed in `state_changes`.
    """
    engine = schema.create_engine(url)
    try:
        with engine.connect() as conn:
            counts = "select object_kind, state, count(*), count(distinct object_name) from state_changes"
            rows = conn.execute(sa.text(counts + " group by object_kind, state")).all()
            outages = conn.execute(sa.text("select count(*) from outages")).scalar_one()
    finally:
        engine.dispose()
    changes = {f"{kind}:{state}": {"changes": n, "objects": objects} for kind, state, n, objects in rows}
    false = {
        k: v
        for k, v in changes.items()
        if k.split(":")[1] in ("down", "unreachable") and not (host_interfaces and k.startswith("interface:"))
    }
    return {
        "state_changes": changes,
        "false_transitions": sum(v["changes"] for v in false.values()),
        "false_objects": sum(v["objects"] for v in false.values()),
        "outages": int(outages),
    }
