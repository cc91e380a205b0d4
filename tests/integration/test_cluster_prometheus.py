"""A real Prometheus scraping three pollers: the recording rules count every unit and device once (issue 19).

With the pollers of tests/integration/test_cluster_pollers.py (c1, c2 in `central`, r1 in
`remote`), the coverage and count rules give the one-poller numbers; while a central poller is
killed and taken over, and while it comes back and the objects move again, no rule ever counts
more than there is.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from netmon.cluster import membership
from netmon.inventory import schema
from tests.conftest import free_tcp_port
from tests.integration.test_cluster_pollers import CENTRAL, FAILOVER, _inventory, _poller, _services, _until, pg_url
from tests.monitoring import import_inventory
from tests.prom import running_prometheus

pytestmark = pytest.mark.postgres

RULES = Path(__file__).parents[2] / "config" / "prometheus" / "rules" / "netmon-recording.yml"
DEVICES = CENTRAL + 2
#: expression -> its value with one poller: every unit and device counted once.
EXPECTED = {
    'level:netmon_units:count{level="commune"}': DEVICES,
    'level:netmon_units:count{level="province"}': 1,
    "sum(unit:netmon_devices:count)": DEVICES,
    "count(device:netmon_device_available:bool)": DEVICES,
    'level_role:netmon_device_up:ratio{level="commune", role="router"}': 1,
}

__all__ = ["pg_url"]  # the fixture, shared with the three-poller test


def _values(prom: Any) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for expr in EXPECTED:
        answer = prom.query(expr)
        result = answer["data"]["result"] if answer.get("status") == "success" else []
        found[expr] = float(result[0]["value"][1]) if result else None
    return found


async def test_the_recording_rules_count_nothing_twice_across_pollers_and_takeovers(
    pg_url: str, tmp_path: Path
) -> None:
    prefix = f"netmon-test-{uuid.uuid4().hex[:12]}"
    async with _services() as services:
        import_inventory(pg_url, _inventory(services.ports, free_tcp_port()), tmp_path, {})
        engine = schema.create_engine(pg_url)
        pollers = [_poller(pg_url, tmp_path, name, groups, prefix) for name, groups in
                   (("c1", ["central"]), ("c2", ["central"]), ("r1", ["remote"]))]  # fmt: skip
        targets = [f"127.0.0.1:{p.port}" for p in pollers]
        try:
            for poller in pollers:
                poller.start()
            with running_prometheus(tmp_path / "prom", targets=targets, rule_files=[RULES]) as prom:
                await _until(lambda: len(membership.live_members(engine)) == 3, "three live pollers", 30)
                await _until(lambda: _values(prom) == EXPECTED, "the one-poller numbers", 30)
                seen: list[dict[str, float | None]] = []

                def watched(predicate: Any) -> Any:
                    def check() -> bool:
                        seen.append(_values(prom))
                        return bool(predicate())

                    return check

                victim = max(pollers[:2], key=lambda p: p.metric("netmon_poller_owned_objects"))
                heir = pollers[1] if victim is pollers[0] else pollers[0]
                victim.signal(signal.SIGKILL)
                assert victim.process is not None
                victim.process.wait(timeout=10)
                await _until(
                    watched(lambda: heir.metric("netmon_poller_owned_objects") == 2 * CENTRAL + 1),
                    "the takeover",
                    FAILOVER + 15,
                )
                await _until(watched(lambda: _values(prom) == EXPECTED), "the one-poller numbers after the takeover")
                victim.start()
                await _until(watched(lambda: victim.metric("netmon_poller_owned_objects") > 0), "the rebalance", 30)
                await _until(watched(lambda: _values(prom) == EXPECTED), "the one-poller numbers after the rebalance")
                for values in seen:  # missing while a killed poller's objects wait: never more than there is
                    for expr, value in values.items():
                        assert value is None or value <= EXPECTED[expr], (expr, value)
        finally:
            for poller in pollers:
                poller.stop()
            engine.dispose()
