"""What a user sees from the HTTP side: Vietnamese readable in the JSON, and a hint when the port is taken."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from netmon.daemon import Daemon
from netmon.errors import NetmonError
from tests.conftest import AgentUnderTest
from tests.monitoring import import_inventory, monitor_config, running

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province, staff: 10}
  - {code: P-W1, name: Phường Sông Hương, level: district, parent: P, staff: 2}
devices:
  - {name: p-r1, unit: P, role: router, address: 127.77.0.1, snmp: v2c}
"""


@pytest.fixture
def config_for(db_url: str, tmp_path: Path, snmp_agent: AgentUnderTest) -> Any:
    profiles = {"v2c": snmp_agent.profiles["v2c"]}
    import_inventory(db_url, INVENTORY, tmp_path, profiles)
    return lambda **sections: monitor_config(db_url, profiles, **sections)


def _raw(daemon: Daemon, path: str) -> bytes:
    assert daemon.http is not None
    with urllib.request.urlopen(f"{daemon.http.url}{path}", timeout=5) as reply:  # noqa: S310 (loopback)
        assert reply.headers.get_content_charset() == "utf-8"
        return bytes(reply.read())


async def test_the_api_writes_vietnamese_as_utf8_not_escapes(config_for: Any) -> None:
    async with running(config_for()) as daemon:
        body = await asyncio.to_thread(_raw, daemon, "/api/v1/indicators?period=live&level=district")
    text = body.decode("utf-8")
    assert "\\u" not in text
    assert "P-W1" in text
    assert any(ord(ch) > 127 for ch in text)  # the indicators' Vietnamese names


async def test_a_taken_port_names_the_setting_to_change(config_for: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(NetmonError, match=rf"http\.listen 127\.0\.0\.1:{port}: cannot listen: .*set http\.listen"):
            async with running(config_for(http={"listen": f"127.0.0.1:{port}"})):
                pass
