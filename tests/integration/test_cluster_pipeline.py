"""The fenced transition pipeline of one poller among several, in process (issue 19)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from netmon.cluster import membership
from netmon.cluster.groups import owner, shard_of
from netmon.daemon import Daemon
from netmon.kernel import utcnow
from netmon.monitor.state import State, Transition
from tests.conftest import _pg_url
from tests.monitoring import import_inventory, monitor_config, running

pytestmark = pytest.mark.postgres

DEVICES = 12
INVENTORY = (
    "units:\n"
    + "".join(f"  - {{code: X{i}, name: Xã {i}, level: commune, type: xã, parent: P}}\n" for i in range(DEVICES))
    + "  - {code: P, name: Tỉnh, level: province}\ndevices:\n"
    + "".join(f"  - {{name: r{i}, unit: X{i}, role: router, address: 127.67.0.{i + 1}}}\n" for i in range(DEVICES))
)


@pytest.fixture
def pg_url(pg_engine: sa.Engine) -> Iterator[str]:
    yield from _pg_url(pg_engine)


def _states(daemon: Daemon, name: str) -> list[str]:
    with daemon.engine.connect() as conn:
        query = sa.text("select state from state_changes where object_name = :n order by id")
        return list(conn.execute(query, {"n": name}).scalars())


def _down(name: str) -> Transition:
    return Transition(kind="device", name=name, old=State.UP, new=State.DOWN, ts=utcnow())


async def test_a_lost_lease_drops_what_was_queued_and_rejoins(pg_url: str, tmp_path: Path) -> None:
    import_inventory(pg_url, INVENTORY, tmp_path, {})
    poller = {"name": "a", "failover_delay": 4, "heartbeat": 0.5}
    async with running(monitor_config(pg_url, {}, poller=poller)) as daemon:
        node = daemon.runtime.cluster
        assert node is not None
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: set(daemon.live.states("device").values()) == {State.UP})
            await daemon.wait_until(lambda: daemon.flushed)
        epoch, fenced = node.epoch, daemon.pipeline.fenced
        with daemon.engine.begin() as conn:  # the lease lapses, as after a pause past failover_delay
            conn.execute(sa.text("update poller_members set lease_until = clock_timestamp() where name = 'a'"))
        daemon.pipeline.publish([_down("r0")])  # observed under the lapsed lease
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: daemon.flushed and node.epoch > epoch)
        assert daemon.pipeline.fenced == fenced + 1
        assert _states(daemon, "r0") == ["up"]  # nothing stale written
        assert len(node.owned) == DEVICES  # rejoined, owning everything again


async def test_a_new_member_takes_its_share_and_what_it_owns_is_not_written_here(pg_url: str, tmp_path: Path) -> None:
    import_inventory(pg_url, INVENTORY, tmp_path, {})
    poller = {"name": "a", "failover_delay": 30, "heartbeat": 5}
    async with running(monitor_config(pg_url, {}, poller=poller)) as daemon:
        node = daemon.runtime.cluster
        assert node is not None
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: set(daemon.live.states("device").values()) == {State.UP})
            await daemon.wait_until(lambda: daemon.flushed)
        await asyncio.to_thread(membership.join, daemon.engine, "b", ["default"], 30)  # b joins; a has not looked
        members = await asyncio.to_thread(membership.live_members, daemon.engine)
        inventory = node.inventory
        owners = {f"r{i}": owner(shard_of(inventory, inventory.devices[f"r{i}"]), members) for i in range(DEVICES)}
        kept = next(name for name, who in owners.items() if who == "a")
        given = next(name for name, who in owners.items() if who == "b")
        daemon.pipeline.publish([_down(kept), _down(given)])  # the fence finds the view stale: recompute
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: daemon.flushed)
        assert _states(daemon, kept)[-1] == "down"
        assert "down" not in _states(daemon, given)  # b's now: a writes nothing of it
        assert {name for _, name in node.owned} == {name for name, who in owners.items() if who == "a"}
        assert given not in daemon.live.inventory.devices  # no longer polled here


async def test_a_reload_removes_only_what_left_the_inventory_not_what_another_poller_owns(
    pg_url: str, tmp_path: Path
) -> None:
    import_inventory(pg_url, INVENTORY, tmp_path, {})
    poller = {"name": "a", "failover_delay": 30, "heartbeat": 5}
    async with running(monitor_config(pg_url, {}, poller=poller)) as daemon:
        node = daemon.runtime.cluster
        assert node is not None
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: set(daemon.live.states("device").values()) == {State.UP})
            await daemon.wait_until(lambda: daemon.flushed)
        await asyncio.to_thread(membership.join, daemon.engine, "b", ["default"], 30)
        await node.recover(lease_lost=False)  # as the heartbeat would: b now owns its share
        theirs = {f"r{i}" for i in range(DEVICES)} - {name for _, name in node.owned}
        assert theirs  # b owns something
        gone = sorted(name for _, name in node.owned)[0]
        with daemon.engine.begin() as conn:  # taken out of the inventory (as `inventory import --prune`)
            conn.execute(sa.text("delete from devices where name = :n"), {"n": gone})
        await daemon.reload()
        async with asyncio.timeout(20):
            await daemon.wait_until(lambda: daemon.flushed)
        assert _states(daemon, gone)[-1] == "removed"
        for name in theirs:
            assert "removed" not in _states(daemon, name)  # b's: not in a's live view, and not removed
        assert theirs.isdisjoint(daemon.live.inventory.devices)
        assert gone not in node.inventory.devices
