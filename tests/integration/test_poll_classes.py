"""The poll-class seam in a running daemon: every poll, trap-triggered ones too, goes through poll_target()."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, ClassVar

from netmon.kernel import Sample, Status, Target
from netmon.pollers import registry
from netmon.pollers.classes.snmp import Snmp
from netmon.pollers.samples import SystemSample
from tests.conftest import AgentUnderTest, free_udp_port
from tests.monitoring import FAST, import_inventory, monitor_config, running

COLD_START = "1.3.6.1.6.3.1.1.5.1"


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
