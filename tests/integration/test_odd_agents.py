"""The SNMP poller against agents that misbehave in ways snmpd and snmpsim cannot (tests/oddagent.py).

Non-increasing OIDs, columns without end, replies too large for the receive buffer, replies
from another source address; each checked against what net-snmp's tools make of the same agent.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest
from gufo.snmp import SnmpVersion
from gufo.snmp.aio.client import SnmpSession

from netmon.config import Config, SnmpProfile
from netmon.inventory.models import Role
from netmon.monitor.rates import LinkRates
from netmon.pollers.base import Status, Target
from netmon.pollers.counters import RateMemory, interface_counters
from netmon.pollers.snmp import SnmpPoller
from netmon.pollers.snmpexchange import Exchange
from netmon.pollers.snmpwalk import WalkLimits, idle_deadline, note_progress, walk_column
from tests.oddagent import IF_ALIAS, IF_NAME, OPER_STATUS, OddAgent, Typed, interface_table

ADDRESS = "127.77.13.2"
OTHER_ADDRESS = "127.77.13.3"
FAST = Config.model_validate({"polling": {"snmp": {"timeout": 0.5, "retries": 1}}}).polling.snmp
OPER = ".".join(map(str, OPER_STATUS))
NAME = ".".join(map(str, IF_NAME))
ALIAS = ".".join(map(str, IF_ALIAS))


def _profiles(agent: OddAgent) -> dict[str, SnmpProfile]:
    return Config.model_validate(
        {
            "snmp_profiles": {
                f"v{v}": {"version": v, "community": agent.community, "port": agent.port} for v in ("1", "2c")
            }
        }
    ).snmp_profiles


def _target(agent: OddAgent, version: str) -> Target:
    return Target(device="odd", address=agent.address, unit="U", role=Role.ROUTER, snmp=version)


def net_snmp(tool: str, agent: OddAgent, version: str, oid: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [tool, "-On", "-Oq", "-t", "1", "-r", "0", "-v", version.lstrip("v"), "-c", agent.community, *extra]
    return subprocess.run(
        [*command, f"{agent.address}:{agent.port}", oid], capture_output=True, text=True, timeout=60, check=False
    )


def _rows(output: str, oid: str) -> list[int]:
    return [
        int(line.split()[0].rsplit(".", 1)[1])
        for line in output.splitlines()
        if line.startswith(f".{oid}.") and "No more variables" not in line
    ]


@pytest.fixture
def looping() -> Iterator[OddAgent]:
    with OddAgent(ADDRESS, behaviour="loop", table=interface_table(3)) as agent:
        yield agent


# ---- 1. a walk that never ends -----------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2c"])
async def test_non_increasing_oids_end_the_walk(looping: OddAgent, version: str) -> None:
    poller = SnmpPoller(_profiles(looping), FAST)
    system = await poller.system(_target(looping, version))
    sample = await poller.interfaces(_target(looping, version), uptime=system.sys_uptime)
    assert (system.status, system.sys_name) == (Status.OK, "odd-agent")
    assert sample.status is Status.OK, sample.error
    assert looping.requests < 60  # every column stopped at its first repeated OID
    assert any(note.startswith(f"{OPER}: OID not increasing") for note in sample.walk_notes)
    # net-snmp stops at the same place: GETNEXT sees row 1 twice; a GETBULK of 10 sees rows 1..3, then 1
    tool, extra = ("snmpwalk", ()) if version == "v1" else ("snmpbulkwalk", ("-Cr10",))
    done = await asyncio.to_thread(net_snmp, tool, looping, version, NAME, *extra)
    assert "OID not increasing" in done.stderr
    expected = sorted(set(_rows(done.stdout, NAME)))
    assert sorted(row.if_index for row in sample.interfaces) == expected
    assert expected == ([1] if version == "v1" else [1, 2, 3])


# ---- every walk is bounded in requests, rows and time ------------------------------------------

BOUNDS = [
    pytest.param(WalkLimits(max_requests=5), "requests", 5, id="requests"),
    pytest.param(WalkLimits(max_rows=7), "rows", None, id="rows"),
    pytest.param(WalkLimits(seconds=0), "time", 0, id="time"),
]


@pytest.mark.parametrize("bulk", [False, True], ids=["getnext", "getbulk"])
@pytest.mark.parametrize(("limits", "stop", "requests"), BOUNDS)
async def test_a_column_without_end_is_bounded(
    limits: WalkLimits, stop: str, requests: int | None, *, bulk: bool
) -> None:
    with OddAgent(ADDRESS, behaviour="endless") as agent:
        session = SnmpSession(addr=agent.address, port=agent.port, community="odd", version=SnmpVersion.v2c, timeout=1)
        walk = await walk_column(session, OPER, repetitions=4 if bulk else 0, bulk=bulk, limits=limits)
    assert walk.stop == stop
    if requests is not None:
        assert walk.requests == requests
        assert len(walk.rows) == requests * (4 if bulk else 1)
    else:
        assert len(walk.rows) == limits.max_rows
    assert list(walk.rows) == list(range(1, len(walk.rows) + 1))


# ---- 3. a reply too large for the receive buffer -----------------------------------------------


async def test_too_big_replies_retry_with_fewer_repetitions() -> None:
    with OddAgent(ADDRESS, table=interface_table(30, alias_length=300)) as agent:
        session = SnmpSession(addr=agent.address, port=agent.port, community="odd", version=SnmpVersion.v2c, timeout=1)
        walk = await walk_column(session, ALIAS, repetitions=30, bulk=True)
        poller = SnmpPoller(_profiles(agent), FAST)
        sample = await poller.interfaces(_target(agent, "v2c"))
        done = await asyncio.to_thread(net_snmp, "snmpbulkwalk", agent, "v2c", ALIAS, "-Cr30")
    assert (walk.stop, len(walk.rows)) == ("end", 30)
    assert 0 < walk.repetitions < 30  # 30 rows of 300 characters do not fit 4 kB: halved until they did
    assert sample.status is Status.OK, sample.error
    assert sorted(row.if_index for row in sample.interfaces) == _rows(done.stdout, ALIAS) == list(range(1, 31))
    assert {len(row.alias) for row in sample.interfaces} == {300}


# ---- a GETBULK refused with tooBig or genErr instead of fewer rows ------------------------------

REFUSALS = [pytest.param(1, id="tooBig"), pytest.param(5, id="genErr")]


@pytest.mark.parametrize("error", REFUSALS)
async def test_a_refused_getbulk_is_not_the_end_of_the_column(error: int) -> None:
    """RFC 3416 4.2.3 has an agent send fewer rows; old ones refuse the GETBULK, which gufo gives as the end.

    The correct table is the agent's: 30 rows. A refusal read as the end would give none, silently.
    """
    with OddAgent(ADDRESS, table=interface_table(30), max_bulk=8, bulk_error=error) as agent:
        session = SnmpSession(addr=agent.address, port=agent.port, community="odd", version=SnmpVersion.v2c, timeout=1)
        walk = await walk_column(session, NAME, repetitions=40, bulk=True)
        sample = await SnmpPoller(_profiles(agent), FAST).interfaces(_target(agent, "v2c"))
        served = {oid[-1]: value for oid, value in agent.table.items() if oid[:-1] == IF_NAME}
        done = await asyncio.to_thread(net_snmp, "snmpbulkwalk", agent, "v2c", NAME, "-Cr8")
    assert (walk.stop, walk.rows) == ("end", {index: name.encode() for index, name in served.items()})
    assert 0 < walk.repetitions <= 8  # halved from 40 until the agent answered
    assert sample.status is Status.OK, sample.error
    assert {row.if_index: row.name for row in sample.interfaces} == served
    assert {row.oper_status for row in sample.interfaces} == {1}
    assert sample.walk_notes == ()
    assert _rows(done.stdout, NAME) == sorted(served)  # net-snmp, asking for no more than the agent takes


async def test_a_getbulk_at_the_end_of_the_view_is_confirmed_with_one_getnext() -> None:
    """The last column of an agent's view ends with endOfMibView: one GETNEXT confirms it, rows kept."""
    with OddAgent(ADDRESS, table=interface_table(5)) as agent:  # ifName.5 is the agent's last object
        session = SnmpSession(addr=agent.address, port=agent.port, community="odd", version=SnmpVersion.v2c, timeout=1)
        walk = await walk_column(session, NAME, repetitions=40, bulk=True)
    assert (walk.stop, sorted(walk.rows), walk.repetitions) == ("end", [1, 2, 3, 4, 5], 40)
    assert walk.requests == 3  # the rows; endOfMibView; the GETNEXT that confirms it


# ---- 14. a reply from another source address ---------------------------------------------------


async def test_a_reply_from_another_address_is_not_accepted() -> None:
    """netmon's socket is connected to the polled address: the reply is not heard (docs/monitoring.md)."""
    with OddAgent(ADDRESS, reply_from=OTHER_ADDRESS) as agent:
        done = await asyncio.to_thread(net_snmp, "snmpget", agent, "v2c", "1.3.6.1.2.1.1.5.0")
        sample = await SnmpPoller(_profiles(agent), FAST).system(_target(agent, "v2c"))
    assert done.returncode == 0  # net-snmp's tools accept it
    assert "odd-agent" in done.stdout
    assert (sample.status, sample.error) == (Status.TIMEOUT, "no reply after 2 attempts")


# ---- 9. the poll deadline moves on while the agent answers -------------------------------------


async def test_idle_deadline_moves_on_with_each_reply_up_to_the_cap() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with idle_deadline(10.0, 30.0) as timeout:
        first = timeout.when()
        assert first is not None
        assert started + 10.0 <= first <= loop.time() + 10.0
        note_progress()
        moved = timeout.when()
        assert moved is not None
        assert first <= moved <= started + 30.0
    async with idle_deadline(10.0, 4.0) as timeout:  # the cap wins over the idle time
        note_progress()
        assert (timeout.when() or 0) <= loop.time() + 4.0
    note_progress()  # outside any poll: nothing to move, no error


async def test_idle_deadline_cuts_silence_and_outlives_its_first_due_time_while_answers_come() -> None:
    with pytest.raises(TimeoutError):  # silence: cut at the idle time (bounded: the cap is 5 s)
        async with idle_deadline(0.05, 5.0):
            await asyncio.Event().wait()
    loop = asyncio.get_running_loop()
    async with idle_deadline(2.0, 30.0) as deadline:
        first = deadline.when()
        await asyncio.sleep(1.2)  # time passing is the subject here
        note_progress()
        await asyncio.sleep(1.2)  # past the first due time: the timer fired early and was moved on
        assert loop.time() > first
        assert not deadline.expired()
        assert deadline.when() > first


# ---- counters between two polls: a 32-bit wrap, a 64-bit counter started again ------------------

_IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)
_IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)


def _counters(tunnel_in: int, tunnel_out: int, eth_in: int, errors: int) -> dict[tuple[int, ...], object]:
    """tunnel0 (ifIndex 1): ifSpeed 0, HC counters and ifInErrors; eth1 (2): 100 Mbit/s, 32-bit counters only."""
    return {
        (*_IF, 5, 1): Typed("Gauge32", 0),
        (*_IF, 5, 2): Typed("Gauge32", 100_000_000),
        (*_IF, 8, 1): 1,
        (*_IF, 8, 2): 1,
        (*_IF, 10, 2): Typed("Counter32", eth_in),
        (*_IF, 14, 1): Typed("Counter32", errors),
        (*_IF, 16, 2): Typed("Counter32", 0),
        (*_IFX, 1, 1): "tunnel0",
        (*_IFX, 1, 2): "eth1",
        (*_IFX, 6, 1): Typed("Counter64", tunnel_in),
        (*_IFX, 10, 1): Typed("Counter64", tunnel_out),
    }


async def test_rates_across_a_wrap_and_a_counter_started_again() -> None:
    """Five minutes apart on the agent's clock, sysUpTime going on (no restart):

    - tunnel0's ifHCInOctets falls from 10^12 to 5,000 (its ifTable re-initialised; ifSpeed 0,
      so no line rate bounds it): no rate, never the 2^64-wide "wrap" (6 * 10^16 bytes/s);
    - its ifHCOutOctets goes on: 3 * 10^6 octets in 300 s, 80,000 bit/s;
    - eth1's 32-bit ifInOctets wraps: 2^32 - 4,294,000,000 + 1,000,000 octets in 300 s;
    - tunnel0's ifInErrors (Counter32, beside HC octets) wraps at 2^32: 11 errors, not 2^64 - ...
    """
    links = {"odd": [("l-tunnel", "tunnel0"), ("l-eth", "eth1")]}
    rates, memory = LinkRates(links), RateMemory()
    with OddAgent(ADDRESS, table=_counters(10**12, 10**9, 4_294_000_000, 2**32 - 6)) as agent:
        poller = SnmpPoller(_profiles(agent), FAST)
        first = await poller.interfaces(_target(agent, "v2c"))
        agent.set_table(_counters(5000, 10**9 + 3_000_000, 1_000_000, 5), uptime=4242 + 30_000)
        second = await poller.interfaces(_target(agent, "v2c"))
        done = await asyncio.to_thread(net_snmp, "snmpget", agent, "v2c", ".1.3.6.1.2.1.31.1.1.1.6.1")
    assert (first.status, second.status) == (Status.OK, Status.OK), (first.error, second.error)
    assert [(r.name, r.counter_bits, r.in_octets) for r in second.interfaces] == [
        ("tunnel0", 64, 5000),
        ("eth1", 32, 1_000_000),
    ]
    assert done.stdout.split()[-1] == "5000"  # net-snmp reads the same Counter64
    for sample in (first, second):
        rates.update(sample)
        errors = memory.update("odd", sample.sys_uptime or 0, 0.0, interface_counters(sample.interfaces))
    tunnel, eth = rates.traffic("l-tunnel"), rates.traffic("l-eth")
    assert tunnel is not None
    assert eth is not None
    assert (tunnel.in_bps, tunnel.out_bps) == (None, 80_000.0)
    assert eth.in_bps == (2**32 - 4_294_000_000 + 1_000_000) / 300 * 8
    assert errors["tunnel0"]["in_errors"] == 11 / 300


async def test_a_refused_getbulk_size_is_remembered_for_the_next_poll() -> None:
    """An agent that refuses GETBULKs above 8 rows: the halving (and its refused requests) is paid once.

    Without the memory every poll started again at the column's full size, refused, halved and
    confirmed each time: the same wasted requests at every poll of such a device. The poller keeps
    the dict between a device's polls (`SnmpPoller._open`); here two polls' exchanges share it.
    """
    caps: dict[str, int] = {}
    counts, walked = [], []
    with OddAgent(ADDRESS, table=interface_table(48), max_bulk=8, bulk_error=5) as agent:
        for _ in range(3):

            def session() -> SnmpSession:
                return SnmpSession(addr=agent.address, port=agent.port, community="odd", version=SnmpVersion.v2c)

            exchange = Exchange(session, 0, version="2c", text="cp1258", bulk_caps=caps)
            before = agent.requests
            walked.append(len(await exchange.walk(NAME)))
            counts.append(agent.requests - before)
    assert walked == [48, 48, 48]
    assert 0 < caps[NAME] <= 8
    assert counts[1] < counts[0]  # the first poll found the size the agent takes
    assert counts[2] == counts[1]  # later polls start there
