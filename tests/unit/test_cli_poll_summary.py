"""`netmon poll` says what a system-group answer held, an absent object included (it printed "None" and "up 0 s")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netmon.cli.poll import _summary
from netmon.pollers.base import Status, SystemSample

T = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "uptime", "said"),
    [
        pytest.param("sw-01", 123_456, "ok 'sw-01', up 1235 s", id="both"),
        pytest.param(None, 123_456, "ok no sysName, up 1235 s", id="no-sysname"),
        pytest.param("", None, "ok '', no sysUpTime", id="empty-name-no-uptime"),
    ],
)
def test_a_system_answer_is_said_as_the_agent_gave_it(name: str | None, uptime: int | None, said: str) -> None:
    sample = SystemSample(device="d", ts=T, status=Status.OK, sys_name=name, sys_uptime=uptime)
    assert _summary(sample) == said
