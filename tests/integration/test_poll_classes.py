"""The poll-class seam in a running daemon: every poll, trap-triggered ones too, goes through poll_target()."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

from netmon.kernel import Sample, Status, Target
from netmon.lab.agents import AgentSpec, start_agent, stop_agent
from netmon.monitor.state import State
from netmon.pollers import registry
from netmon.pollers.classes.snmp import Snmp
from netmon.pollers.samples import SystemSample
from tests.conftest import AgentUnderTest, free_udp_port, lab_profiles
from tests.monitoring import FAST, import_inventory, monitor_config, running

COLD_START = "1.3.6.1.6.3.1.1.5.1"
_INTERFACE_FAMILIES = [
    *("netmon_interface_oper_up", "netmon_interface_admin_up", "netmon_interface_flapping"),
    *("netmon_interface_speed_bytes", "netmon_interface_received_bytes_total"),
    *("netmon_interface_transmitted_bytes_total", "netmon_interface_receive_errors_total"),
    *("netmon_interface_transmit_errors_total", "netmon_interface_receive_discards_total"),
    "netmon_interface_transmit_discards_total",
]


class _Raising(Snmp):
    """The snmp class with a poller that raises, as gufo documents for `get_many` (RuntimeError)."""

    polls: ClassVar[int] = 0
    polled: ClassVar[asyncio.Event | None] = None

    async def poll(self, target: Target) -> list[Sample]:
        type(self).polls += 1
        if type(self).polled is not None:
            type(self).polled.set()  # type: ignore[union-attr]
        raise RuntimeError("failed to send request")


def _inventory(address: str) -> str:
    return f"""
units:
  - {{code: P, name: Tỉnh Thử, level: province, staff: 10}}
devices:
  - {{name: sw-core, unit: P, role: switch, address: {address}, snmp: v2c}}
"""


async def _cold_start(conf: Path, listen: str, community: str) -> None:
    """Send a real SNMPv2c coldStart trap with net-snmp, from the device's address (clientaddr)."""
    env = {"PATH": os.environ["PATH"], "SNMPCONFPATH": str(conf), "SNMP_PERSISTENT_DIR": str(conf), "MIBS": ""}
    process = await asyncio.create_subprocess_exec(
        "snmptrap", "-v", "2c", "-c", community, listen, "", COLD_START,
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(10):
        _, err = await process.communicate()
    assert process.returncode == 0, err.decode()


async def test_a_trap_poll_whose_poller_raises_is_an_error_sample_and_the_daemon_keeps_running(
    db_url: str, tmp_path: Path, snmp_agent: AgentUnderTest
) -> None:
    profiles = {"v2c": snmp_agent.profiles["v2c"]}
    community = profiles["v2c"].community
    assert community is not None
    import_inventory(db_url, _inventory(snmp_agent.address), tmp_path, profiles)
    listen = f"127.0.0.1:{free_udp_port('127.0.0.1')}"
    conf = tmp_path / "snmp"
    conf.mkdir()
    (conf / "snmp.conf").write_text(f"clientaddr {snmp_agent.address}\n", encoding="utf-8")
    polling: dict[str, Any] = {**FAST["polling"], "snmp": {"interval": 600, "timeout": 1.0, "retries": 0}}
    config = monitor_config(db_url, profiles, polling=polling, traps={"enabled": True, "listen": listen})
    _Raising.polls, _Raising.polled = 0, asyncio.Event()
    with registry.registered(_Raising, "snmp"):
        async with running(config) as daemon:  # on exit, `running` re-raises whatever ended the daemon
            async with asyncio.timeout(15):
                await daemon.wait_until(lambda: daemon.live.rounds["snmp"] == 1)  # the scheduled round
            for traps in (1, 2):  # the second trap's poll proves the trap-poll loop outlived the first
                _Raising.polled.clear()
                await _cold_start(conf, listen, community.reveal())
                async with asyncio.timeout(15):
                    await _Raising.polled.wait()
                assert _Raising.polls == 1 + traps
            async with asyncio.timeout(15):
                await daemon.wait_until(lambda: daemon.live.samples.newest("sw-core", "snmp_system") is not None)
            sample = daemon.live.samples.newest("sw-core", SystemSample.kind)
            assert daemon.live.rounds["snmp"] == 1  # both later polls were the traps'
            assert daemon.traps is not None
            assert daemon.traps.counts["accepted"] == 2
    assert isinstance(sample, SystemSample)
    assert (sample.status, sample.error) == (Status.ERROR, "poller error: RuntimeError")


def _series(text: str, name: str, device: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{name}{{") and f'device="{device}"' in line]


async def _metrics(url: str) -> str:
    def get() -> str:
        text = ""
        for path in ("/metrics", "/metrics/interfaces"):
            with urllib.request.urlopen(f"{url}{path}", timeout=5) as reply:  # noqa: S310 (loopback)
                text += reply.read().decode()
        return text

    return await asyncio.to_thread(get)


async def test_a_stopped_agent_s_interface_series_leave_metrics_within_the_freshness_window(
    db_url: str, tmp_path: Path
) -> None:
    address = "127.77.0.41"
    port = free_udp_port(address)
    profiles = lab_profiles(port)
    agent = start_agent(AgentSpec(name="stopping", port=port, addresses=(address,), profiles=profiles), tmp_path)
    try:
        import_inventory(db_url, _inventory(address), tmp_path, {"v2c": profiles["v2c"]})
        polling: dict[str, Any] = {**FAST["polling"], "snmp": {"interval": 1, "timeout": 0.3, "retries": 0}}
        config = monitor_config(db_url, {"v2c": profiles["v2c"]}, polling=polling)
        window = Snmp.freshness(config.polling.snmp).total_seconds()
        async with running(config) as daemon:
            assert daemon.http is not None
            async with asyncio.timeout(15):
                await daemon.wait_until(lambda: bool(daemon.live.interfaces_of("sw-core")))
            text = await _metrics(daemon.http.url)
            assert all(_series(text, name, "sw-core") for name in _INTERFACE_FAMILIES if "flapping" not in name)
            assert _series(text, "netmon_snmp_up", "sw-core") == [
                'netmon_snmp_up{device="sw-core",level="province",role="switch",unit="P"} 1.0'
            ]
            assert stop_agent(agent)
            async with asyncio.timeout(window):  # the bound is the promise: gone within the window
                await daemon.wait_until(lambda: not daemon.live.interfaces_of("sw-core"))
            text = await _metrics(daemon.http.url)
            found = {name: _series(text, name, "sw-core") for name in _INTERFACE_FAMILIES}
            assert found == {name: [] for name in _INTERFACE_FAMILIES}
            assert _series(text, "netmon_snmp_up", "sw-core") == [
                'netmon_snmp_up{device="sw-core",level="province",role="switch",unit="P"} 0.0'
            ]
            assert daemon.live.state_of(("device", "sw-core")).state is State.UP  # ping still answers
    finally:
        stop_agent(agent)
