"""Interfaces read by GET at the walked ifIndexes (netmon.pollers.ifplan), against a real UDP agent.

The agent (tests/oddagent.py) counts the requests it answers and can change its table between
two polls: an interface added, removed, replaced or renamed, a restart, a GET too big to answer.
Each poll's rows are checked against what the agent serves at that moment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netmon.config import Config, SnmpProfile
from netmon.inventory.models import Role
from netmon.pollers.base import InterfacesSample, Status, Target
from netmon.pollers.snmp import SnmpPoller
from tests.oddagent import IF_NAME, OddAgent, interface_table

ADDRESS = "127.77.13.4"
FAST = Config.model_validate({"polling": {"snmp": {"timeout": 0.5, "retries": 1}}}).polling.snmp


def _profiles(agent: OddAgent) -> dict[str, SnmpProfile]:
    return Config.model_validate(
        {
            "snmp_profiles": {
                f"v{v}": {"version": v, "community": agent.community, "port": agent.port} for v in ("1", "2c")
            }
        }
    ).snmp_profiles


def _target(agent: OddAgent, version: str = "v2c") -> Target:
    return Target(device="plan", address=agent.address, unit="U", role=Role.SWITCH, snmp=version)


async def _poll(poller: SnmpPoller, agent: OddAgent, version: str = "v2c") -> tuple[InterfacesSample, int]:
    """One interface poll on the agent's sysUpTime; return it and the requests the agent answered for it."""
    before = agent.requests
    sample = await poller.interfaces(_target(agent, version), uptime=agent.table[(1, 3, 6, 1, 2, 1, 1, 3, 0)])
    assert sample.status is Status.OK, sample.error
    return sample, agent.requests - before


def _served(agent: OddAgent) -> dict[int, str]:
    """ifName by ifIndex, as the agent serves it now."""
    return {oid[-1]: value for oid, value in agent.table.items() if oid[:-1] == IF_NAME}


def _names(sample: InterfacesSample) -> dict[int, str]:
    return {row.if_index: row.name for row in sample.interfaces}


@pytest.fixture
def agent() -> Iterator[OddAgent]:
    with OddAgent(ADDRESS, table=interface_table(24, if_number=True)) as running:
        yield running


async def test_later_polls_get_the_walked_cells_in_a_few_requests(agent: OddAgent) -> None:
    poller = SnmpPoller(_profiles(agent), FAST)
    walked, walk_requests = await _poll(poller, agent)
    got, get_requests = await _poll(poller, agent)
    assert walked.interfaces == got.interfaces
    assert _names(got) == _served(agent)
    # 24 rows of two columns walked column by column (and the columns the agent lacks), against GETs of
    # the 48 cells and ifNumber.0, packed into requests of about a kilobyte each
    assert get_requests < walk_requests / 3
    assert sum(agent.gets[-get_requests:]) == 2 * 24 + 1


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(list(range(1, 26)), id="interface-added"),
        pytest.param(list(range(1, 24)), id="interface-removed"),
        # the same number of rows (ifNumber unchanged): row 24 gone, row 30 new
        pytest.param([*range(1, 24), 30], id="interface-replaced"),
    ],
)
async def test_a_changed_table_is_walked_again_in_the_same_poll(agent: OddAgent, rows: list[int]) -> None:
    poller = SnmpPoller(_profiles(agent), FAST)
    await _poll(poller, agent)
    agent.set_table(interface_table(len(rows), indexes=rows, if_number=True))
    changed, _ = await _poll(poller, agent)
    assert sorted(_names(changed)) == rows
    assert _names(changed) == _served(agent)
    again, requests = await _poll(poller, agent)  # and the new table is read by GET from then on
    assert again.interfaces == changed.interfaces
    assert requests <= 3


async def test_a_renamed_interface_is_seen_by_the_get(agent: OddAgent) -> None:
    poller = SnmpPoller(_profiles(agent), FAST)
    await _poll(poller, agent)
    table = interface_table(24, if_number=True)
    table[(*IF_NAME, 7)] = "uplink-to-tslcd"
    agent.set_table(table)
    renamed, requests = await _poll(poller, agent)
    assert _names(renamed)[7] == "uplink-to-tslcd"
    assert requests <= 3


async def test_an_agent_restart_is_walked_again(agent: OddAgent) -> None:
    poller = SnmpPoller(_profiles(agent), FAST)
    _, walk_requests = await _poll(poller, agent)
    agent.set_table(interface_table(24, if_number=True), uptime=10)  # sysUpTime went back: ifIndexes may move
    _, requests = await _poll(poller, agent)
    assert requests == walk_requests


async def test_an_agent_that_refuses_large_gets_is_asked_smaller_ones(agent: OddAgent) -> None:
    agent.max_get = 40  # tooBig above 40 varbinds (gufo gives it as a reply without varbinds)
    poller = SnmpPoller(_profiles(agent), FAST)
    walked, _ = await _poll(poller, agent)
    for _attempt in range(6):  # each refused GET halves the request size; that poll walks instead
        gets = len(agent.gets)
        sample, requests = await _poll(poller, agent)
        assert sample.interfaces == walked.interfaces
        if agent.gets[gets:] and all(n <= 40 for n in agent.gets[gets:]):
            break
    else:
        pytest.fail(f"never got a GET through: {agent.gets}")
    assert sum(agent.gets[gets:]) == 2 * 24 + 1
    assert requests == len(agent.gets[gets:])  # GETs only: no walk in this poll


async def test_an_agent_that_cannot_answer_any_get_is_walked(agent: OddAgent) -> None:
    agent.max_get = 1  # only one varbind per GET: under any reasonable request size
    poller = SnmpPoller(_profiles(agent), FAST)
    walked, walk_requests = await _poll(poller, agent)
    for _attempt in range(6):  # the request size halves down to the floor, then the device is walked
        gets = len(agent.gets)
        sample, requests = await _poll(poller, agent)
        assert sample.interfaces == walked.interfaces
        if not agent.gets[gets:]:
            break
    else:
        pytest.fail(f"still trying GETs: {agent.gets}")
    assert requests == walk_requests - 1  # the walk alone, without the ifNumber.0 that a plan needs
    again, requests = await _poll(poller, agent)
    assert (again.interfaces, requests) == (walked.interfaces, walk_requests - 1)


async def test_snmpv1_is_always_walked(agent: OddAgent) -> None:
    poller = SnmpPoller(_profiles(agent), FAST)
    first, walk_requests = await _poll(poller, agent, "v1")
    second, requests = await _poll(poller, agent, "v1")
    assert (second.interfaces, requests) == (first.interfaces, walk_requests)
    assert not agent.gets  # one missing OID would fail a whole v1 GET (RFC 1157 4.1.2)


async def test_a_walk_cut_short_is_not_planned() -> None:
    with OddAgent(ADDRESS, behaviour="loop", table=interface_table(3, if_number=True)) as looping:
        poller = SnmpPoller(_profiles(looping), FAST)
        first, walk_requests = await _poll(poller, looping)
        second, requests = await _poll(poller, looping)
    assert first.walk_notes
    assert second.walk_notes == first.walk_notes  # still walked, and still saying why the walk stopped
    assert requests == walk_requests


async def test_long_values_are_split_into_replies_that_fit() -> None:
    # 30 ifAlias of 255 characters: one GET of every cell would be a reply of ~9 kB, over gufo's
    # receive buffer and most agents' message size; each request is sized by the longest value of its column
    with OddAgent(ADDRESS, table=interface_table(30, alias_length=255, if_number=True)) as agent:
        poller = SnmpPoller(_profiles(agent), FAST)
        walked, _ = await _poll(poller, agent)
        got, requests = await _poll(poller, agent)
    assert got.interfaces == walked.interfaces
    assert {len(row.alias) for row in got.interfaces} == {255}
    assert sum(agent.gets[-requests:]) == 3 * 30 + 1  # every cell by GET, none lost to a cut reply
