"""Poll rounds: a hung agent is cut off at its deadline and never holds up the other devices."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from netmon.config import Config
from netmon.inventory.models import Role
from netmon.kernel import Sample, Status, Target
from netmon.lab.agents import AgentSpec, RunningAgent, start_agent, stop_agent
from netmon.monitor.rounds import Pollers, run_round
from netmon.pollers.classes.ping import Ping
from netmon.pollers.classes.snmp import Snmp
from netmon.pollers.share import LoopShare
from tests.conftest import AgentUnderTest, free_udp_port, lab_profiles

HUNG_ADDRESS = "127.77.0.3"


@pytest.fixture
def hung(tmp_path: Path) -> Iterator[tuple[RunningAgent, int]]:
    """A bound but stopped snmpd (SIGSTOP): it never answers."""
    port = free_udp_port(HUNG_ADDRESS)
    agent = start_agent(
        AgentSpec(name="hung", port=port, addresses=(HUNG_ADDRESS,), profiles=lab_profiles(port)), tmp_path
    )
    os.kill(agent.pid, signal.SIGSTOP)
    yield agent, port
    assert stop_agent(agent)


def _config(good_port: int, hung_port: int, **snmp: float) -> Config:
    community = {"version": "2c", "community": "t-community"}
    return Config.model_validate(
        {
            "polling": {"snmp": {"timeout": 0.4, "retries": 1, **snmp}},
            "snmp_profiles": {"good": {**community, "port": good_port}, "hung": {**community, "port": hung_port}},
        }
    )


def _targets(agent: AgentUnderTest) -> list[Target]:
    return [
        Target(device="hung", address=HUNG_ADDRESS, unit="U", role=Role.ROUTER, snmp="hung"),
        Target(device="good", address=agent.address, unit="U", role=Role.ROUTER, snmp="good"),
    ]


async def test_a_hung_agent_does_not_hold_up_the_round(
    snmp_agent: AgentUnderTest, hung: tuple[RunningAgent, int]
) -> None:
    pollers = Pollers(_config(snmp_agent.port, hung[1]))
    order: list[str] = []

    def seen(samples: Sequence[Sample]) -> None:
        order.extend(f"{s.device}:{s.kind}" for s in samples)

    targets = _targets(snmp_agent)
    async with asyncio.timeout(pollers["snmp"].deadline(targets[0]) + 10):  # a guard, not a measurement
        result = await run_round(pollers, "snmp", targets, concurrency=8, on_samples=seen)
    statuses = {(s.device, s.kind): (s.status, s.error) for s in result.samples}
    assert statuses == {
        ("good", "snmp_system"): (Status.OK, None),
        ("good", "snmp_interfaces"): (Status.OK, None),
        ("hung", "snmp_system"): (Status.TIMEOUT, "no reply after 2 attempts"),
    }
    # The good device was done while the hung one was still waiting out its own timeout.
    assert order == ["good:snmp_system", "good:snmp_interfaces", "hung:snmp_system"]


class _Broken(Snmp):
    """The snmp poll class with a bug on one device and a stuck poll on another: our own code, not a fake agent."""

    async def poll(self, target: Target) -> list[Sample]:
        if target.device == "buggy":
            raise KeyError("a bug")
        if target.device == "stuck":
            await asyncio.Event().wait()
        return await super().poll(target)


async def test_a_poller_bug_or_a_stuck_poll_is_a_sample(snmp_agent: AgentUnderTest) -> None:
    config = _config(snmp_agent.port, snmp_agent.port, interval=1)
    pollers = Pollers(config, {"snmp": _Broken(config, config.polling.snmp)})
    targets = [
        Target(device=name, address=snmp_agent.address, unit="U", role=Role.ROUTER, snmp="good")
        for name in ("buggy", "stuck", "fine")
    ]
    async with asyncio.timeout(pollers["snmp"].deadline(targets[0]) + 10):
        result = await run_round(pollers, "snmp", targets, concurrency=8)
    statuses = {(s.device, s.kind): (s.status, s.error) for s in result.samples}
    assert statuses == {
        ("buggy", "snmp_system"): (Status.ERROR, "poller error: KeyError"),
        ("stuck", "snmp_system"): (Status.TIMEOUT, "no answer within 1 s (round poll)"),
        ("fine", "snmp_system"): (Status.OK, None),
        ("fine", "snmp_interfaces"): (Status.OK, None),
    }
    assert result.by_status() == {"error": 1, "timeout": 1, "ok": 2}


class _Starts(Snmp):
    """The snmp poll class, noting the loop share's turns as each poll starts (no agent is asked)."""

    def __init__(self, config: Config) -> None:
        super().__init__(config, config.polling.snmp)
        self.turns_at_start: list[int] = []

        self.all_started = asyncio.Event()

    async def poll(self, target: Target) -> list[Sample]:
        self.turns_at_start.append(LoopShare.of().turns)
        if len(self.turns_at_start) == 5:
            self.all_started.set()
        await self.all_started.wait()  # no poll is recorded (another turn) before all have started
        return []


async def test_an_snmp_poll_starts_within_a_turn_of_the_loop_share() -> None:
    # opening a session and sending the first request is poll work: 56 polls start in one tick at 10k
    config = _config(161, 161)
    starts = _Starts(config)
    pollers = Pollers(config, {"snmp": starts})
    targets = [Target(device=f"d{i}", address="127.77.0.9", unit="U", role=Role.ROUTER, snmp="good") for i in range(5)]
    before = LoopShare.of().turns
    await run_round(pollers, "snmp", targets, concurrency=8)
    assert [turns - before for turns in starts.turns_at_start] == [1, 2, 3, 4, 5]


async def test_ping_round_on_loopback() -> None:
    pollers = Pollers(Config.model_validate({"polling": {"ping": {"count": 2, "packet_interval": 0}}}))
    await pollers.check()
    targets = [
        Target(device=f"d{i}", address=address, unit="U", role=Role.SWITCH)
        for i, address in enumerate(("127.77.1.1", "::1"))
    ]
    result = await run_round(pollers, "ping", targets, concurrency=8)
    assert {(s.device, s.status, s.sent, s.received) for s in result.samples} == {  # type: ignore[attr-defined]
        ("d0", Status.OK, 2, 2),
        ("d1", Status.OK, 2, 2),
    }


class _Gathering(Ping):
    """Ping that holds every poll until all the round's targets have started: a spread round never finishes."""

    def __init__(self, config: Config, expected: int) -> None:
        super().__init__(config, config.polling.ping)
        self.started: list[str] = []
        self._all = asyncio.Event()
        self._expected = expected

    async def poll(self, target: Target) -> list[Sample]:
        self.started.append(target.device)
        if len(self.started) == self._expected:
            self._all.set()
        await self._all.wait()
        return await super().poll(target)


async def test_a_small_round_starts_every_target_at_once_whatever_its_spread() -> None:
    """Issue 12: 3 devices are not spread over 3/4 of a 600 s interval; `/readyz` comes within a poll."""
    config = Config.model_validate({"polling": {"ping": {"count": 1, "packet_interval": 0, "timeout": 1}}})
    gathering = _Gathering(config, 3)
    pollers = Pollers(config, {"ping": gathering})
    await pollers.check()
    targets = [Target(device=f"d{i}", address=f"127.77.1.{i + 1}", unit="U", role=Role.SWITCH) for i in range(3)]
    async with asyncio.timeout(30):  # spread as before (150 s between starts), this would never end in time
        result = await run_round(pollers, "ping", targets, concurrency=8, spread=450.0)
    assert sorted(gathering.started) == ["d0", "d1", "d2"]
    assert {(s.device, s.status) for s in result.samples} == {(f"d{i}", Status.OK) for i in range(3)}
