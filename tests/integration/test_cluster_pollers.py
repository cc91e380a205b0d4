"""Three `netmon run` processes on one PostgreSQL schema (issue 19, "Done when").

Two pollers serve group `central` (c1, c2), one serves `remote` (r1). Devices answer ping on
loopback; TCP services are listeners this test opens; the service `svc-out` points at a port
where nothing listens until the test opens it: an outage made and ended on demand. One test
runs the whole story in order (each step needs the state the one before left):

1. takeover: SIGKILL the central poller that owns `svc-out` mid-outage; the other takes it over
   within failover_delay plus a round; the open outage keeps its id and closes once;
2. recovery: the killed poller starts again; objects rebalance and nothing flaps;
3. fencing: a poller paused (SIGSTOP) past its lease and resumed writes nothing stale;
4. no loss: every transition of `state_changes` reached MQTT (by id at least once, in order per
   object), `state_changes` has no repeated transition, no object had two open outages.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from netmon.cluster import membership
from netmon.cluster.groups import owner, shard_of
from netmon.inventory import schema
from netmon.inventory.store import Store
from tests.conftest import _pg_url, free_tcp_port
from tests.monitoring import FAST, import_inventory, monitor_config, write_config
from tests.mqtt import Subscriber, eventually, subscribed

pytestmark = pytest.mark.postgres

FAILOVER = 4.0  # seconds: short, so that the whole story runs in well under a minute
HEARTBEAT = 0.5
PING_ROUNDS = 'netmon_poll_rounds_total{poll_class="ping"'
CENTRAL = 8  # communes polled by the central group (a router and a TCP service each)


@dataclass
class Poller:
    """One `netmon run` subprocess."""

    name: str
    groups: list[str]
    config: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "NETMON_CONFIG": str(self.config)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "netmon", "run"], env=env, stdout=out, stderr=out)

    def signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as reply:
                return reply.status, reply.read().decode()
        except OSError:
            return 0, ""

    def metric(self, name: str) -> float:
        """Sum the samples of one metric family on this poller's /metrics (0 when unreachable)."""
        status, text = self.get("/metrics")
        if status != 200:
            return 0.0
        prefix = name if "{" in name else name + "{"
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def _inventory(ports: dict[str, int], dead: int) -> str:
    lines = ["units:", "  - {code: P, name: Tỉnh Thử, level: province, poller_group: central}"]
    devices, services = ["devices:"], ["services:"]
    for i in range(CENTRAL + 2):
        group = ", poller_group: remote" if i >= CENTRAL else ""
        lines.append(f"  - {{code: X{i}, name: Xã {i}, level: commune, type: xã, parent: P{group}}}")
        devices.append(f"  - {{name: r{i}, unit: X{i}, role: router, address: 127.66.0.{i + 1}}}")
        services.append(f'  - {{name: svc{i}, unit: X{i}, check: tcp, address: "127.0.0.1:{ports[f"svc{i}"]}"}}')
    services.append(f'  - {{name: svc-out, unit: X1, check: tcp, address: "127.0.0.1:{dead}"}}')
    return "\n".join([*lines, *devices, *services]) + "\n"


@asynccontextmanager
async def _listening(port: int) -> AsyncIterator[int]:
    async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port)
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


def _rows(engine: sa.Engine, query: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(query), params))


def _open_outages(engine: sa.Engine, name: str) -> list[int]:
    return [r.id for r in _rows(engine, "select id from outages where object_name = :n and ended_at is null", n=name)]


def _owner_of(engine: sa.Engine, name: str) -> str | None:
    inventory = Store(engine).snapshot()
    return owner(shard_of(inventory, inventory.services[name]), membership.live_members(engine))


async def _until(predicate: Any, what: str, within: float = 20.0) -> None:
    await eventually(predicate, within, what)


@pytest.fixture
def pg_url(pg_engine: sa.Engine) -> Iterator[str]:
    yield from _pg_url(pg_engine)


async def test_three_pollers_take_over_rebalance_fence_and_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
    async with _services() as services:
        dead = free_tcp_port()
        import_inventory(pg_url, _inventory(services.ports, dead), tmp_path, {})
        engine = schema.create_engine(pg_url)
        pollers = [_poller(pg_url, tmp_path, name, groups, prefix) for name, groups in
                   (("c1", ["central"]), ("c2", ["central"]), ("r1", ["remote"]))]  # fmt: skip
        try:
            async with subscribed(f"{prefix}/events/#") as events:
                await _story(engine, pollers, events, dead, services)
        finally:
            for poller in pollers:
                poller.stop()
            engine.dispose()
        logs = "".join(p.log.read_text(encoding="utf-8", errors="replace") for p in pollers).splitlines()
        # gufo-ping sets a result on a reply future that timed out while the process was stopped (SIGSTOP):
        # asyncio logs it from its callback; nothing of netmon's
        known = "gufo/ping/socket.py"
        assert [line for line in logs if "Traceback" in line and known not in line] == []


class _Services:
    """The TCP listeners of the services: one per service, closed and opened again on demand."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self.servers: dict[str, asyncio.Server] = {}

    async def open(self, name: str) -> None:
        async def answer(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", self.ports.get(name, 0))
        self.ports[name] = server.sockets[0].getsockname()[1]
        self.servers[name] = server

    async def close(self, name: str) -> None:
        server = self.servers.pop(name)
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def _services() -> AsyncIterator[_Services]:
    services = _Services()
    try:
        for i in range(CENTRAL + 2):
            await services.open(f"svc{i}")
        yield services
    finally:
        for name in list(services.servers):
            await services.close(name)


def _poller(url: str, folder: Path, name: str, groups: list[str], prefix: str) -> Poller:
    port = free_tcp_port()
    config = monitor_config(
        url,
        {},
        http={"listen": f"127.0.0.1:{port}"},
        mqtt={"enabled": True, "topic_prefix": prefix},
        poller={"name": name, "groups": groups, "failover_delay": FAILOVER, "heartbeat": HEARTBEAT},
    )
    path = write_config(config, folder / f"{name}.yaml", polling=FAST["polling"])  # the dump leaves out tcp
    return Poller(name=name, groups=groups, config=path, port=port, log=folder / f"{name}.log")


async def _story(  # noqa: PLR0915
    engine: sa.Engine, pollers: list[Poller], events: Subscriber, dead: int, services: _Services
) -> None:
    by_name = {p.name: p for p in pollers}
    for poller in pollers:
        poller.start()
    for poller in pollers:
        await _until(lambda p=poller: p.get("/readyz")[0] == 200, f"{poller.name} ready", 30)
    await _until(lambda: len(membership.live_members(engine)) == 3, "three live pollers")
    await _until(lambda: len(_open_outages(engine, "svc-out")) == 1, "the outage of svc-out")
    outage = _open_outages(engine, "svc-out")[0]
    owned = {p.name: p.metric("netmon_poller_owned_objects") for p in pollers}
    assert owned["r1"] == 4  # two routers, two services of the remote communes
    assert owned["c1"] + owned["c2"] == 2 * CENTRAL + 1  # every central object once
    assert owned["c1"] > 0
    assert owned["c2"] > 0

    # 1. takeover: kill the owner of the open outage
    victim = by_name[str(_owner_of(engine, "svc-out"))]
    heir = by_name["c2" if victim.name == "c1" else "c1"]
    victim.signal(signal.SIGKILL)
    assert victim.process is not None
    victim.process.wait(timeout=10)
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    await _until(lambda: heir.metric("netmon_poller_owned_objects") == 2 * CENTRAL + 1, "the takeover", FAILOVER + 10)
    takeover = loop.time() - killed_at
    await events.until(lambda ms: any(m.payload.get("kind") == "takeover" and m.payload["from"] == victim.name
                                      for m in ms if m.topic.endswith("/events/poller")))  # fmt: skip
    assert _open_outages(engine, "svc-out") == [outage]  # the same outage goes on
    async with _listening(dead):  # the service comes back: the heir closes the outage, once
        await _until(lambda: not _open_outages(engine, "svc-out"), "the outage closed")
        closed = _rows(engine, "select id, end_cause from outages where object_name = 'svc-out'")
        assert [(r.id, r.end_cause) for r in closed] == [(outage, "up")]

        # 2. recovery: the killed poller comes back; objects rebalance without flapping
        changes = _rows(engine, "select count(*) from state_changes")[0][0]
        victim.start()
        await _until(lambda: victim.metric("netmon_poller_owned_objects") > 0, "the rebalance", 30)
        rounds = victim.metric(PING_ROUNDS)
        await _until(lambda: victim.metric(PING_ROUNDS) >= rounds + 4, "rounds after the rebalance")
        assert _rows(engine, "select count(*) from state_changes")[0][0] == changes  # nothing flapped

        # 3. fencing: pause a central poller past its lease; the other takes over, and sees one of the paused
        # poller's services fail; resumed, the paused poller writes nothing stale, and rejoins with a new epoch
        paused, other = victim, heir
        mine = next(f"svc{i}" for i in range(CENTRAL) if _owner_of(engine, f"svc{i}") == paused.name)
        epoch = paused.metric("netmon_poller_epoch")
        paused.signal(signal.SIGSTOP)
        await _until(lambda: other.metric("netmon_poller_owned_objects") == 2 * CENTRAL + 1, "the second takeover", 20)
        await services.close(mine)
        await _until(lambda: len(_open_outages(engine, mine)) == 1, "the outage seen by the new owner")
        paused.signal(signal.SIGCONT)
        await _until(lambda: paused.metric("netmon_poller_epoch") > epoch, "the rejoin with a new epoch", 20)
        await _until(lambda: paused.metric("netmon_poller_owned_objects") > 0, "owning again")
        rounds = paused.metric(PING_ROUNDS)
        await _until(lambda: paused.metric(PING_ROUNDS) >= rounds + 4, "rounds after the rejoin")
        assert _rows(engine, "select count(*) from state_changes")[0][0] == changes + 1  # only the new owner's down
        await services.open(mine)
        await _until(lambda: not _open_outages(engine, mine), "the outage closed by whoever owns it now")
        assert len(_rows(engine, "select id from outages where object_name = :n", n=mine)) == 1

    # 4. no loss, no duplicate: state_changes against MQTT
    await _until(lambda: _rows(engine, "select count(*) from mqtt_outbox")[0][0] == 0, "the outbox drained")
    history: dict[str, list[str]] = {}
    for row in _rows(engine, "select object_name, state from state_changes order by id"):
        history.setdefault(row.object_name, []).append(row.state)
    for name, states in history.items():
        assert all(a != b for a, b in itertools.pairwise(states)), f"{name} repeats a transition: {states}"
    assert history["svc-out"] == ["down", "up"]
    assert history[mine] == ["up", "down", "up"]

    def received() -> dict[str, list[str]]:
        seen: set[str] = set()
        got: dict[str, list[str]] = {}
        for m in events.messages:
            if m.payload.get("kind") == "transition" and m.payload["id"] not in seen:
                seen.add(m.payload["id"])
                got.setdefault(m.payload["object_name"], []).append(m.payload["new"])
        return got

    # an object's first judgement (its first row here: the schema starts empty) is no transition
    # event (docs/monitoring.md, MQTT topics); every later change is, on whichever poller made it
    expected = {name: states[1:] for name, states in history.items() if len(states) > 1}
    await _until(lambda: received() == expected, "every transition on MQTT, in order per object")

    def indicators(poller: Poller) -> list[str]:
        return sorted(line for line in poller.get("/metrics")[1].splitlines() if line.startswith("netmon_indicator_"))

    # the live indicators cover the whole province on every poller (the others' objects from the database)
    await _until(lambda: indicators(pollers[0]) == indicators(pollers[1]) == indicators(pollers[2]) != [],
                 "the same live indicators on every poller")  # fmt: skip
    print(f"takeover took {takeover:.1f} s (failover_delay {FAILOVER} s, heartbeat {HEARTBEAT} s)")  # noqa: T201
