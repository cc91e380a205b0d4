"""The poll-class seam, proved: a toy class in this one file plus one registry line is scheduled,
exported, stateful and in the API of a running daemon, and no other file knows about it.

The registry line is `registry.registered(Toy)` (in a plugin or netmon itself: one line in
`netmon.pollers.registry.BUILTIN`). The toy polls nothing on the network: devices whose name
ends in "-bad" fail the check, the others pass.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from netmon.kernel import Sample, Status, Target, utcnow
from netmon.monitor.state import State
from netmon.pollers import registry
from netmon.pollers.classes.common import BasePollClass
from netmon.sinks.exposition import DeviceView, Family, Lines, label_text
from tests.monitoring import import_inventory, monitor_config, running


class ToySample(Sample):
    """The toy's sample kind."""

    kind: ClassVar[str] = "toy"


class Toy(BasePollClass):
    """A stateful poll class with its own settings, samples, state and metric."""

    name: ClassVar[str] = "toy"
    defaults: ClassVar[Mapping[str, Any]] = {"interval": 1, "timeout": 0.5, "retries": 0}
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = (ToySample,)
    stateful: ClassVar[bool] = True

    async def poll(self, target: Target) -> list[Sample]:
        status = Status.ERROR if target.device.endswith("-bad") else Status.OK
        return [ToySample(device=target.device, ts=utcnow(), status=status)]

    @classmethod
    def export(cls, view: DeviceView, out: Lines) -> None:
        sample = view.fresh(ToySample.kind)
        if sample is not None:
            out.add(TOY_UP, label_text(("device", "unit", "level"), view.labels[:3]), 1 if sample.ok else 0)


TOY_UP = Family("netmon_toy_up", "1 when the toy check passed.")


INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
devices:
  - {name: toy-good, unit: P, role: server, address: 127.77.0.61}
  - {name: toy-bad, unit: P, role: server, address: 127.77.0.62}
"""


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 (loopback)
        return str(reply.read().decode())


async def test_a_toy_poll_class_is_scheduled_exported_stateful_and_in_the_api(db_url: str, tmp_path: Path) -> None:
    import_inventory(db_url, INVENTORY, tmp_path, {})
    with registry.registered(Toy):  # the one registry line
        config = monitor_config(db_url, {}, state={"down_after": 2, "up_after": 1, "flap_changes": 3})
        async with running(config) as daemon:
            assert daemon.http is not None
            live = daemon.live

            def settled() -> bool:
                return (
                    live.state_of(("toy", "toy-good")).state is State.UP
                    and live.state_of(("toy", "toy-bad")).state is State.DOWN
                )

            async with asyncio.timeout(20):
                await daemon.wait_until(settled)
            stats = daemon.runtime.stats()["toy"]
            metrics = await asyncio.to_thread(_get, f"{daemon.http.url}/metrics")
            devices = json.loads(await asyncio.to_thread(_get, f"{daemon.http.url}/api/v1/devices"))["devices"]
    assert stats.rounds >= 2  # scheduled: down_after 2 needed two rounds
    assert stats.interval == 1
    assert 'netmon_toy_up{device="toy-good",level="province",unit="P"} 1.0' in metrics
    assert 'netmon_toy_up{device="toy-bad",level="province",unit="P"} 0.0' in metrics
    assert {d["name"]: d["checks"] for d in devices} == {"toy-good": {"toy": "up"}, "toy-bad": {"toy": "down"}}
