"""No secret (SNMP community, v3 keys, API tokens) in a run's logs, /metrics, API answers, audit or events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from netmon.api.tokens import TokenStore
from netmon.config import SnmpProfile
from netmon.inventory import schema
from netmon.lab.agents import AgentSpec, start_agent, stop_agent
from netmon.pollers.base import utcnow
from netmon.secrets import Secret
from tests.conftest import free_tcp_port, free_udp_port, lab_profiles
from tests.monitoring import import_inventory, monitor_config, write_config

INVENTORY = """
units:
  - {code: P, name: Tỉnh Thử, level: province}
devices:
  - {name: r-v2c, unit: P, role: router, address: 127.77.3.1, snmp: v2c}
  - {name: r-v3, unit: P, role: server, address: 127.77.3.2, snmp: v3-authpriv}
  - {name: r-wrong, unit: P, role: switch, address: 127.77.3.3, snmp: wrong}
links:
  - {name: p-lan, kind: lan, unit: P, device: r-v2c, interface: lo}
"""
WRONG = "not-the-community-9f2"
TIMED_OUT = 'netmon_poll_samples_total{poll_class="snmp",status="timeout"}'


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[dict[str, SnmpProfile]]:
    """A real snmpd serving the three devices' addresses."""
    profiles = lab_profiles(free_udp_port("127.77.3.1"))
    port = profiles["v2c"].port
    spec = AgentSpec(name="secrets", port=port, addresses=("127.77.3.1", "127.77.3.2", "127.77.3.3"), profiles=profiles)
    running = start_agent(spec, tmp_path / "snmpd")
    yield profiles
    stop_agent(running)


def test_no_secret_in_logs_metrics_or_api(agent: dict[str, SnmpProfile], tmp_path: Path) -> None:
    v2c, v3 = agent["v2c"], agent["v3-authpriv"]
    wrong = v2c.model_copy(update={"community": Secret(WRONG)})
    profiles = {"v2c": v2c, "v3-authpriv": v3, "wrong": wrong}
    secrets = {WRONG}
    for profile in profiles.values():
        secrets |= {s.reveal() for s in (profile.community, profile.auth_key, profile.priv_key) if s is not None}
    db_url = f"sqlite:///{tmp_path}/netmon.db"
    import_inventory(db_url, INVENTORY, tmp_path, profiles)
    token, wrong_token = _make_token(db_url), "nmt_" + "x" * 43  # the second does not exist: not logged either
    secrets |= {token, wrong_token}
    port = free_tcp_port()
    config = monitor_config(db_url, profiles, http={"listen": f"127.0.0.1:{port}"}, logging={"level": "debug"})
    path = write_config(config, tmp_path / "netmon.yaml")
    env = {**os.environ, "NETMON_CONFIG": str(path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "netmon", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    answers: list[str] = []
    body = ""
    try:
        deadline = time.monotonic() + 30
        while True:  # until every device has a state and the wrong community has timed out
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                    body = reply.read().decode()
                if TIMED_OUT in body and 'state="unknown"} 1.0' not in body:
                    break
            except OSError:
                pass
            lines = [x for x in body.splitlines() if "samples_total" in x or 'unknown"} 1' in x]
            assert time.monotonic() < deadline, f"the daemon did not come up: {lines}"
            time.sleep(0.2)  # polling the endpoint for a condition, bounded by the deadline
        answers += _writes(f"http://127.0.0.1:{port}", token, wrong_token)
        for path_ in ("/metrics", "/api/v1/devices", "/api/v1/links", "/api/v1/outages", "/api/v1/maintenance",
                      "/api/v1/audit"):  # fmt: skip
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path_}", timeout=5) as reply:
                answers.append(reply.read().decode())
        process.send_signal(signal.SIGHUP)  # a reload logs the config's shape too
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert TIMED_OUT in answers[3]  # the wrong community
    assert '"name": "r-v3"' in answers[4] or '"r-v3"' in answers[4]
    assert '"action": "maintenance.create"' in answers[-1]  # the audit trail names the token, not its value
    assert '"audit"' in out + err
    everything = "\n".join([out, err, *answers])
    assert len(everything) > 1000
    assert [secret for secret in secrets if secret in everything] == []
    _check_listings(env, secrets)
    check = subprocess.run(
        [sys.executable, "-m", "netmon", "check-config", "--json"], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert [secret for secret in secrets if secret in check.stdout + check.stderr] == []


def _make_token(db_url: str) -> str:
    engine = schema.create_engine(db_url)
    try:
        token, _ = TokenStore(engine).create("test-secrets", "write", None, utcnow())
    finally:
        engine.dispose()
    return token


def _writes(base: str, token: str, wrong: str) -> list[str]:
    """POST a window with *token*, then with a *wrong* token and a garbage header; return the three answers."""
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = json.dumps({"name": "w", "objects": ["device:r-v2c"], "ends_at": ends, "reason": "test"}).encode()
    answers = []
    for header in (f"Bearer {token}", f"Bearer {wrong}", f"Basic {wrong}"):
        request = urllib.request.Request(  # noqa: S310 (loopback)
            f"{base}/api/v1/maintenance", data=body, method="POST", headers={"Authorization": header}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310 (loopback)
                answers.append(reply.read().decode())
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
            answers.append(exc.read().decode() + str(exc.headers))
    return answers


def _check_listings(env: dict[str, str], secrets: set[str]) -> None:
    """`token list` and `audit list` name the token, never show it."""
    for command in (["token", "list", "--json"], ["audit", "list", "--json"]):
        listed = subprocess.run(
            [sys.executable, "-m", "netmon", *command], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert listed.returncode == 0, listed.stderr
        assert "test-secrets" in listed.stdout
        assert [secret for secret in secrets if secret in listed.stdout + listed.stderr] == []
