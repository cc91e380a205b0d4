"""The one freshness rule (netmon.monitor.latest) and the registry's config seam."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from netmon.config import Config, load_config
from netmon.errors import ConfigError
from netmon.kernel import Sample, Status, Target
from netmon.monitor.latest import LatestSamples
from netmon.pollers import registry
from netmon.pollers.classes.common import BasePollClass
from netmon.pollers.samples import InterfacesSample, PingSample, SystemSample

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
WINDOWS = {
    "ping": ("ping", timedelta(seconds=180), True),
    "snmp_system": ("snmp", timedelta(seconds=660), True),
    "snmp_interfaces": ("snmp", timedelta(seconds=660), False),
}


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _sample(kind: str, seconds: float, status: Status = Status.OK, device: str = "r1") -> Sample:
    kinds: dict[str, type[Sample]] = {
        "ping": PingSample,
        "snmp_system": SystemSample,
        "snmp_interfaces": InterfacesSample,
    }
    cls = kinds[kind]
    return cls(device=device, ts=_at(seconds), status=status)


# (what was recorded, the kind asked for, when, what comes back: None or (seconds, status))
CASES = [
    pytest.param([("snmp_interfaces", 0, "ok")], "snmp_interfaces", 10, (0, "ok"), id="fresh"),
    pytest.param([("snmp_interfaces", 0, "ok")], "snmp_interfaces", 661, None, id="older-than-window"),
    pytest.param([("snmp_interfaces", 0, "ok")], "snmp_interfaces", 660, (0, "ok"), id="window-edge-is-fresh"),
    pytest.param(
        [("snmp_system", 0, "ok"), ("snmp_interfaces", 1, "ok"), ("snmp_system", 60, "timeout")],
        "snmp_interfaces",
        61,
        None,
        id="agent-stopped-interfaces-stale-at-once",
    ),
    pytest.param(
        [("snmp_system", 0, "ok"), ("snmp_interfaces", 1, "ok"), ("snmp_system", 60, "timeout")],
        "snmp_system",
        61,
        (60, "timeout"),
        id="the-failure-itself-is-current",
    ),
    pytest.param(
        [("snmp_system", 60, "ok"), ("snmp_interfaces", 61, "timeout")],
        "snmp_system",
        62,
        (60, "ok"),
        id="a-failed-walk-alone-leaves-the-system-current",
    ),
    pytest.param(
        [("snmp_system", 0, "timeout"), ("snmp_system", 60, "ok"), ("snmp_interfaces", 61, "ok")],
        "snmp_interfaces",
        62,
        (61, "ok"),
        id="answers-again",
    ),
    pytest.param(
        [("ping", 60, "ok"), ("ping", 0, "timeout")], "ping", 61, (60, "ok"), id="a-late-older-sample-is-ignored"
    ),
    pytest.param([("snmp_system", 0, "timeout"), ("ping", 1, "ok")], "ping", 2, (1, "ok"), id="classes-apart"),
    pytest.param([], "ping", 0, None, id="never-polled"),
]


@pytest.mark.parametrize(("recorded", "kind", "now", "expected"), CASES)
def test_fresh(recorded: list[tuple[str, float, str]], kind: str, now: float, expected: Any) -> None:
    latest = LatestSamples(["r1"], WINDOWS)
    latest.record([_sample(k, seconds, Status(status)) for k, seconds, status in recorded])
    found = latest.fresh("r1", kind, _at(now))
    assert (None if found is None else ((found.ts - T0).total_seconds(), found.status.value)) == expected


def test_devices_outside_the_inventory_are_not_kept() -> None:
    latest = LatestSamples(["r1"], WINDOWS)
    latest.record([_sample("ping", 0, device="ghost")])
    assert latest.newest("ghost", "ping") is None


class _ToySample(Sample):
    kind: ClassVar[str] = "toy"


class _Toy(BasePollClass):
    name: ClassVar[str] = "toy"
    defaults: ClassVar[Mapping[str, Any]] = {"interval": 30, "timeout": 1.0, "retries": 0}
    sample_kinds: ClassVar[tuple[type[Sample], ...]] = (_ToySample,)

    async def poll(self, target: Target) -> list[Sample]:
        return [_ToySample(device=target.device, ts=T0, status=Status.OK)]


@pytest.fixture
def toy() -> Iterator[None]:
    with registry.registered(_Toy):
        yield


@pytest.mark.usefixtures("toy")
def test_a_registered_class_gets_its_settings_and_defaults() -> None:
    assert "toy" in registry.names()
    assert Config.model_validate({}).polling.of("toy").interval == 30
    config = Config.model_validate({"polling": {"toy": {"interval": 5}}})
    assert (config.polling.of("toy").interval, config.polling.of("toy").timeout) == (5, 1.0)
    assert registry.windows(config)["toy"] == ("toy", timedelta(seconds=70), True)


@pytest.mark.usefixtures("toy")
def test_a_registered_class_s_bad_setting_names_the_class_and_key(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text("polling:\n  toy:\n    interval: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"netmon\.yaml:1: polling: toy\.interval: Input should be greater than 0"):
        load_config(path)


def test_an_unregistered_class_is_an_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text("polling:\n  toy:\n    interval: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"netmon\.yaml:2: polling\.toy: unknown key"):
        load_config(path)
