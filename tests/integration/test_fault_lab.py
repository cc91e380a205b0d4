"""Pollers against sites in network namespaces (198.18.0.0/15): link down, loss, latency, agent stopped.

Skipped where namespaces cannot be made; the latency case also where the kernel lacks netem.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from netmon.config import Config
from netmon.inventory.models import Role
from netmon.kernel import Status, Target
from netmon.lab.agents import is_running
from netmon.lab.faults import FaultLab, Site, available, netem_available
from netmon.pollers.ping import PingPoller
from netmon.pollers.snmp import SnmpPoller
from tests.conftest import lab_profiles

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

PROFILES = lab_profiles(161)
SNMP = Config.model_validate({"polling": {"snmp": {"timeout": 0.3, "retries": 1}}}).polling.snmp


def _ping(count: int = 4, timeout: float = 0.5) -> PingPoller:
    settings = {"count": count, "timeout": timeout, "packet_interval": 0.05}
    return PingPoller(Config.model_validate({"polling": {"ping": settings}}).polling.ping)


def _target(site: Site, snmp: str | None = None) -> Target:
    return Target(device=f"site-{site.index}", address=site.address, unit="U", role=Role.ROUTER, snmp=snmp)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultLab]:
    with FaultLab(tmp_path_factory.mktemp("faults")) as fault_lab:
        yield fault_lab


@pytest.fixture
def site(lab: FaultLab, request: pytest.FixtureRequest) -> Site:
    """A fresh site per test, with its own snmpd on the site address."""
    return lab.add_site(len(lab.sites) + 1, profiles=PROFILES)


async def test_a_healthy_site_answers(site: Site) -> None:
    sample = await _ping().poll(_target(site))
    assert (sample.status, sample.sent, sample.received) == (Status.OK, 4, 4)
    for profile in ("v2c", "v3-authpriv"):
        system = await SnmpPoller(PROFILES, SNMP).system(_target(site, profile))
        assert (system.status, system.sys_name) == (Status.OK, f"site-{site.index}")


async def test_every_second_echo_lost_is_half_loss(lab: FaultLab, site: Site) -> None:
    lab.drop_every(site, 2)
    sample = await _ping(count=6).poll(_target(site))
    assert (sample.status, sample.sent, sample.received) == (Status.OK, 6, 3)
    assert sample.loss_ratio == 0.5


async def test_link_down_is_unreachable_never_routed_away(lab: FaultLab, site: Site) -> None:
    lab.link(site, up=False)
    sample = await _ping(count=2).poll(_target(site))
    assert sample.status in (Status.UNREACHABLE, Status.TIMEOUT)
    assert sample.received == 0
    lab.link(site, up=True)
    assert (await _ping(count=2).poll(_target(site))).status is Status.OK


async def test_stopped_agent_times_out_while_the_host_still_pings(lab: FaultLab, site: Site) -> None:
    lab.pause_agent(site, paused=True)
    system = await SnmpPoller(PROFILES, SNMP).system(_target(site, "v2c"))
    assert (system.status, system.error) == (Status.TIMEOUT, "no reply after 2 attempts")
    assert (await _ping(count=2).poll(_target(site))).status is Status.OK
    lab.pause_agent(site, paused=False)


@pytest.mark.skipif(not netem_available(), reason="this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM)")
async def test_netem_latency_shows_in_rtt(lab: FaultLab, site: Site) -> None:
    lab.netem(site, delay_ms=40)
    sample = await _ping(count=3, timeout=1.0).poll(_target(site))
    assert sample.status is Status.OK
    assert sample.rtt_min is not None
    assert sample.rtt_min >= 0.040


def test_the_lab_cleans_up(tmp_path: Path) -> None:
    with FaultLab(tmp_path) as fault_lab:
        made = fault_lab.add_site(200, profiles=PROFILES)
        assert made.agent is not None
        assert is_running(made.agent)
    assert not is_running(made.agent)
    namespaces = {p.name for p in Path("/run/netns").iterdir()} if Path("/run/netns").exists() else set()
    assert made.namespace not in namespaces
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True, timeout=10).stdout
    assert made.host_link not in links
